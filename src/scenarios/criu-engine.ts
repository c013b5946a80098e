// CRIU restore by the checkpoint engine (src/checkpoint/restore, helper "criu"): the real
// image directory dumped on the reference machine (../shared/traces/criu/images-loop) is
// restored by the engine, which issues the restorer's syscalls through its own model kernel
// from criu's recorded layout. The study runs it beside the hand-encoded CRIU scenario
// (criu-restore.ts): two independent encodings of the same restore that must agree.
//
// The engine makes its own Kernel, so `run` ignores the one it is given. What the steps
// touched is known exactly only for the step the restore stopped at (the engine's kernel is
// left in the state of that call); the earlier steps, which succeeded under every policy
// that reached them, are reported as `ordinary`.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { ImageError } from "../checkpoint/images/errors.js";
import { type RestoreStep, restore, type Strategy } from "../checkpoint/restore/restore.js";
import { argRanges, kindsIn, primaryKind, resultRange } from "./kinds.js";
import type { CallRecord, CallResult, PageRange, Scenario } from "./types.js";

/** Where the dumped program lived when it was dumped, and where its binary is in the corpus. */
const DUMPED_EXE = "/tmp/ct/loop";

function resultOf(step: RestoreStep): CallResult {
  if (step.status === "unsupported") return { unsupported: step.note ?? "not modeled" };
  if (/^0x[0-9a-f]+$/.test(step.result)) return { ret: BigInt(step.result) };
  return { errno: 0, name: step.result };
}

function words(step: RestoreStep): bigint[] {
  return step.args.map((a) => (/^(0x[0-9a-f]+|\d+)$/.test(a) ? BigInt(a) : 0n));
}

function engineScenario(corpus: string, strategy: Strategy, label: string): Scenario {
  const images = join(corpus, "criu", "images-loop");
  return {
    name: `criu-engine-${label}`,
    what: `CRIU restore of the recorded image directory by the checkpoint engine (strategy ${strategy}), from criu's recorded layout`,
    source:
      "../shared/traces/criu/images-loop (criu dump on the reference machine); src/checkpoint/restore/restore.ts (criu/pie/restorer.c, parasite-vdso.c)",
    run: (_kernel, ctx) => {
      let r: ReturnType<typeof restore>;
      try {
        r = restore(images, { policy: ctx.policy, strategy, mapPath: [[DUMPED_EXE, join(corpus, "criu", "loop")]] });
      } catch (e) {
        if (e instanceof ImageError) throw new Error(`criu engine: ${e.message}`);
        throw e;
      }
      const steps = r.steps.filter((s) => s.status !== "skipped");
      const mm = r.kernel.process(r.pid).mm;
      return steps.map((s, seq): CallRecord => {
        const w = words(s);
        const result = resultOf(s);
        const touched: PageRange[] = [...argRanges(s.name, w)];
        if ("ret" in result) {
          const after = resultRange(s.name, w, result.ret);
          if (after !== null) touched.push(after);
        }
        const stopped = s.status === "failed" || s.status === "unsupported";
        const k = stopped ? kindsIn(mm, argRanges(s.name, w)) : { kinds: [], sealed: [] };
        const rec: CallRecord = {
          seq,
          pid: s.pid,
          name: s.name,
          call: s.call,
          result,
          kind: primaryKind(k),
          kinds: k.kinds,
          touched,
          step: `${s.phase} ${s.mirrors}`,
          accepted: !stopped,
        };
        if (stopped) rec.reaction = r.reason ?? "the restore stops";
        return rec;
      });
    },
  };
}

/** The engine's restores of the corpus's image directory (none when the corpus lacks it). */
export function criuEngineScenarios(corpus: string): Scenario[] {
  if (!existsSync(join(corpus, "criu", "images-loop")) || !existsSync(join(corpus, "criu", "loop"))) return [];
  return [engineScenario(corpus, "auto", "auto"), engineScenario(corpus, "proxy", "proxy"), engineScenario(corpus, "park", "park")];
}

// Every vdso strategy under one sealing policy: which restore succeeds, and for each failure
// the first failing step and why (the sealed mappings it runs into).

import type { SealPolicy } from "../../kernel/policy/policy.js";
import type { CheckpointImages } from "../images/image-set.js";
import { type RestoreOptions, type RestoreResult, type RestoreStep, restore, STRATEGIES, type Strategy } from "./restore.js";

export interface StrategyOutcome {
  strategy: Strategy;
  ok: boolean;
  vdso_path: string | null;
  failed_step: RestoreStep | null;
  explanation: string;
}

const hex = (v: number) => `0x${v.toString(16)}`;

/** Why a restore failed, in terms of the VMAs the failing call touched. */
export function explain(r: RestoreResult): string {
  const f = r.failed_step;
  if (f === null) return `restores: every step succeeded (vdso: ${r.vdso_path ?? "none in the image"})`;
  if (f.status === "unsupported") return `cannot tell: ${f.call} is not supported by the model (${f.note ?? ""})`;
  const range = rangeOf(f);
  let sealed = "";
  if (range !== null && f.result === "EPERM") {
    const hits = r.kernel
      .process(r.pid)
      .mm.tree.toArray()
      .filter((v) => v.sealed && v.start * 4096 < range[1] && v.end * 4096 > range[0]);
    if (hits.length > 0)
      sealed = `: the range holds sealed ${hits.map((v) => `${v.special?.name ?? "VMA"} ${hex(v.start * 4096)}-${hex(v.end * 4096)}`).join(", ")}`;
  }
  return `fails at step ${f.n} (${f.mirrors}): ${f.call} → ${f.result}${sealed}${f.note !== undefined ? ` (${f.note})` : ""}`;
}

/** The byte range an mm call acts on (its source for mremap), or null. */
function rangeOf(s: RestoreStep): [number, number] | null {
  if (!["munmap", "mprotect", "mremap", "madvise", "mmap", "mseal"].includes(s.name) || s.args.length < 2) return null;
  const a = Number(BigInt(s.args[0] as string));
  const len = Number(BigInt(s.args[1] as string));
  return [a, a + len];
}

/** Run every strategy under `policy` (same images, same options otherwise). */
export function searchStrategies(img: CheckpointImages, policy: string | SealPolicy, opts: RestoreOptions = {}): StrategyOutcome[] {
  return STRATEGIES.map((strategy) => {
    const r = restore(img, { ...opts, policy, strategy });
    return { strategy, ok: r.ok, vdso_path: r.vdso_path, failed_step: r.failed_step, explanation: explain(r) };
  });
}

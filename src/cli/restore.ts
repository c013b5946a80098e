// `aspace restore DIR [--policy P] [--strategy S|all] [--keep-seals] [--map-path OLD=NEW] [--json]`:
// restore a CRIU image directory as CRIU 4.2's restorer would, executed by the model, and
// say whether it succeeds under the sealing policy, and if not, the first failing step.
// Exit 0: restored; 1: the restore fails (every strategy, with `all`); 2: unusable input.
import { type Command, InvalidArgumentError } from "commander";
import pc from "picocolors";
import { parsePathMap } from "../checkpoint/host.js";
import { readImageDir } from "../checkpoint/images/dir.js";
import { type RestoreResult, restore, STRATEGIES, type Strategy } from "../checkpoint/restore/restore.js";
import { explain, searchStrategies } from "../checkpoint/restore/search.js";
import { policyByName } from "../kernel/policy/index.js";
import { checkpointInputError } from "./checkpoint.js";

function strategyArg(v: string): Strategy | "all" {
  if (v === "all" || (STRATEGIES as readonly string[]).includes(v)) return v as Strategy | "all";
  throw new InvalidArgumentError(`--strategy is one of ${STRATEGIES.join(", ")}, all`);
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** The JSON shape of one restore (the kernel object is left out). */
export function restoreJson(r: RestoreResult) {
  return {
    ok: r.ok,
    policy: r.policy,
    strategy: r.strategy,
    vdso_path: r.vdso_path,
    failed_step: r.failed_step,
    reason: r.reason,
    explanation: explain(r),
    seals: r.seals,
    tasks: r.tasks,
    steps: r.steps,
    maps_after: r.maps_after,
  };
}

function formatRestore(r: RestoreResult): string {
  const lines = r.steps.map((s) => {
    const res =
      s.status === "ok"
        ? pc.green(s.result)
        : s.status === "skipped"
          ? pc.dim(s.result === "skipped" ? "(not modeled)" : s.result)
          : pc.red(s.result);
    const what = s.note === undefined ? s.mirrors : `${s.mirrors}: ${s.note}`;
    return `${String(s.n).padStart(3)} ${s.phase} ${s.call.padEnd(58)} → ${res}  ${pc.dim(what)}`;
  });
  const head = `restore under policy ${pc.bold(r.policy)}, strategy ${r.strategy}: ${r.ok ? pc.green("restored") : pc.red("fails")}\n${explain(r)}\n`;
  const seals =
    r.seals.recorded > 0
      ? `sealed VMAs: ${r.seals.recorded} recorded in the image, ${r.seals.sealed_after} sealed after the restore\n`
      : "";
  return `${head}${seals}${lines.join("\n")}\n/proc/PID/maps after:\n${r.maps_after}`;
}

export function registerRestore(program: Command, setStatus: (n: number) => void): void {
  program
    .command("restore")
    .description("Restore a CRIU image directory as CRIU's restorer does, executed by the model under a sealing policy; show every step")
    .argument("<dir>", "the image directory (criu dump or aspace checkpoint)")
    .option("--policy <name>", "sealing policy (none, sysmap, sysmap+prctl-optout, sysmap+cap-cr, sysmap+bootparam)", "none")
    .option("--strategy <s>", `vdso strategy: ${STRATEGIES.join(", ")}, or all to try each`, strategyArg, "auto")
    .option("--keep-seals", "re-seal the VMAs the image records as sealed (aspace extension), as the very last step")
    .option("--map-path <OLD=NEW>", "a mapped file recorded at OLD is at NEW on this machine (repeatable)", collect, [])
    .option("--json", "print {ok, policy, strategy, failed_step, steps, maps_after, ...} as JSON (with all: {policy, outcomes})")
    .action((dir: string, o: { policy: string; strategy: Strategy | "all"; keepSeals?: boolean; mapPath: string[]; json?: boolean }) => {
      try {
        const policy = policyByName(o.policy);
        const img = readImageDir(dir);
        const mapPath = parsePathMap(o.mapPath);
        if (o.strategy === "all") {
          const outcomes = searchStrategies(img, policy, { mapPath, keepSeals: o.keepSeals === true });
          if (o.json) process.stdout.write(`${JSON.stringify({ policy: policy.name, outcomes })}\n`);
          else {
            process.stdout.write(`restore of ${dir} under policy ${pc.bold(policy.name)}, every strategy:\n`);
            for (const x of outcomes)
              process.stdout.write(`  ${x.ok ? pc.green("ok  ") : pc.red("FAIL")} ${x.strategy.padEnd(12)} ${x.explanation}\n`);
          }
          setStatus(outcomes.some((x) => x.ok) ? 0 : 1);
          return;
        }
        const r = restore(img, { policy, strategy: o.strategy, keepSeals: o.keepSeals === true, mapPath });
        process.stdout.write(o.json ? `${JSON.stringify(restoreJson(r))}\n` : formatRestore(r));
        setStatus(r.ok ? 0 : 1);
      } catch (e) {
        const msg = e instanceof Error && e.message.startsWith("--map-path") ? e.message : checkpointInputError(e);
        if (msg === null) throw e;
        process.stderr.write(`aspace restore: ${msg}\n`);
        setStatus(2);
      }
    });
}

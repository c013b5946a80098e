// `aspace checkpoint (--scenario NAME | --from-log LOG --pid N) -o DIR`: dump a modeled
// process to a CRIU image directory (written to a temporary directory, fsynced, renamed).
import { type Command, InvalidArgumentError } from "commander";
import { dumpProcess } from "../checkpoint/dump.js";
import { writeImageDir } from "../checkpoint/images/dir.js";
import { ImageError } from "../checkpoint/images/errors.js";
import { buildScenario, referenceVdsoImage, SCENARIOS, ScenarioError } from "../checkpoint/scenarios.js";
import type { Kernel } from "../kernel/kernel.js";
import { UnknownPolicyError } from "../kernel/policy/index.js";
import { Unsupported } from "../kernel/unsupported.js";
import { hostResolver } from "../oracle/host-files.js";
import { NotAStraceLogError, replayLogModel } from "../trace/replay/index.js";

/** Errors that mean "unusable input" (exit 2), printed without a stack. */
export function checkpointInputError(e: unknown): string | null {
  if (e instanceof ImageError || e instanceof ScenarioError || e instanceof UnknownPolicyError || e instanceof NotAStraceLogError)
    return e.message;
  if (e instanceof Unsupported) return `cannot do this faithfully: ${e.reason}`;
  return null;
}

function pidArg(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError("--pid must be a whole number.");
  return Number(v);
}

/**
 * Replay an strace log up to (not including) the exit of traced PID `pid`, and return the
 * model's process for it: the state a checkpoint at that moment would capture.
 */
async function fromLog(log: string, pid: number, policy: string): Promise<{ kernel: Kernel; pid: number }> {
  const { kernel, pidOf } = await replayLogModel(log, { policy, resolver: hostResolver(), useMeta: false, stopBeforeExitOf: pid });
  const modelPid = pidOf(pid);
  if (modelPid === null) throw new ScenarioError(`${log}: traced PID ${pid} has no modeled process (not in the log, or not modeled)`);
  return { kernel, pid: modelPid };
}

export function registerCheckpoint(program: Command, setStatus: (n: number) => void): void {
  program
    .command("checkpoint")
    .description("Dump a modeled process to a CRIU image directory (crash-safe: temporary directory, fsync, rename)")
    .option("--scenario <name>", `a built-in modeled process: ${SCENARIOS.join(", ")}`)
    .option("--from-log <log>", "replay an strace -f log and dump one of its processes just before it exits")
    .option("--pid <n>", "with --from-log: the traced PID to dump", pidArg)
    .requiredOption("-o, --output <dir>", "the image directory to write")
    .option("--policy <name>", "the sealing policy of the modeled kernel", "none")
    .option("--force", "replace an existing directory")
    .option("--json", "print {dir, pid, vmas, pages, sealed, files, warnings} as JSON")
    .action(
      async (o: { scenario?: string; fromLog?: string; pid?: number; output: string; policy: string; force?: boolean; json?: boolean }) => {
        try {
          if ((o.scenario === undefined) === (o.fromLog === undefined))
            throw new ScenarioError("give exactly one of --scenario NAME or --from-log LOG --pid N");
          if (o.fromLog !== undefined && o.pid === undefined) throw new ScenarioError("--from-log needs --pid N (the traced PID to dump)");
          const src =
            o.scenario !== undefined ? buildScenario(o.scenario, o.policy) : await fromLog(o.fromLog as string, o.pid as number, o.policy);
          const warnings: string[] = [];
          const img = dumpProcess(src.kernel, src.pid, { vdsoImage: referenceVdsoImage(), unknownPages: "approximate", warnings });
          writeImageDir(o.output, img, { overwrite: o.force === true });
          const t = img.tasks[0];
          const summary = {
            dir: o.output,
            pid: src.pid,
            vmas: t?.mm?.vmas.length ?? 0,
            pages: (t?.pages?.length ?? 0) / 4096,
            sealed: t?.mm?.vmas.filter((v) => v.aspaceSealed === true).length ?? 0,
            files: img.files.map((f) => f.reg?.name ?? ""),
            warnings,
          };
          if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
          else {
            process.stdout.write(
              `wrote ${summary.dir}: pid ${summary.pid}, ${summary.vmas} VMAs, ${summary.pages} pages, ${summary.sealed} sealed (aspace_sealed), files: ${summary.files.join(", ")}\n`,
            );
            for (const w of warnings) process.stdout.write(`  approximated: ${w}\n`);
          }
          setStatus(0);
        } catch (e) {
          const msg = checkpointInputError(e);
          if (msg === null) throw e;
          process.stderr.write(`aspace checkpoint: ${msg}\n`);
          setStatus(2);
        }
      },
    );
}

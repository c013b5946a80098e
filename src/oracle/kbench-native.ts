// Driver for the native executor's kbench mode (`executor --kbench FILE`, native/executor.c):
// replays a kbench trace (plain text, see the header of /work/shared/traces/kbench/*.trace.gz)
// on the live kernel inside a fresh 128 MiB arena and reports how long the timed ops took and how
// many results differ from the recorded ones.
import { spawn } from "node:child_process";
import { ExecutorError, executorPath } from "./executor.js";

export type KbenchNativeResult = {
  /** Timed ops replayed (setup ops excluded). */
  ops: number;
  /** Wall time of the timed loop alone (parsing and arena setup excluded). */
  seconds: number;
  /** Results that differ from the recorded ones (setup ops included). */
  mismatches: number;
};

const RESULT = /^\{"ops":(\d+),"seconds":([0-9.]+),"mismatches":(\d+)\}$/;

/** Replays the plain-text kbench trace at `plainTextPath` on the live kernel. */
export function runKbenchNative(plainTextPath: string, opts: { timeoutMs?: number } = {}): Promise<KbenchNativeResult> {
  const exe = executorPath();
  const timeoutMs = opts.timeoutMs ?? 300_000;
  return new Promise((resolve, reject) => {
    const child = spawn(exe, ["--kbench", plainTextPath], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const finish = (e: Error | null, r?: KbenchNativeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(r as KbenchNativeResult);
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(new ExecutorError(`executor --kbench ${plainTextPath} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) =>
      finish(new ExecutorError(`cannot run executor ${exe}: ${e.message} (run \`node native/build.js\`)`, { cause: e })),
    );
    child.on("close", (code, signal) => {
      const stderr = Buffer.concat(err).toString("utf8").trim();
      if (code !== 0) {
        const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        finish(new ExecutorError(`executor --kbench ${how}${stderr ? `: ${stderr}` : ""}`));
        return;
      }
      const line = Buffer.concat(out).toString("utf8").trim();
      const m = RESULT.exec(line);
      if (!m) {
        finish(new ExecutorError(`executor --kbench printed ${JSON.stringify(line)}, expected {"ops":N,"seconds":S,"mismatches":M}`));
        return;
      }
      finish(null, { ops: Number(m[1]), seconds: Number(m[2]), mismatches: Number(m[3]) });
    });
  });
}

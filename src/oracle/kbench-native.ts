// Driver for the native executor's kbench mode (`executor --kbench FILE`, native/executor.c):
// replays a kbench trace (plain text, see the header of /work/shared/traces/kbench/*.trace.gz)
// on the live kernel inside a fresh 128 MiB arena and reports how long the timed ops took and how
// many results differ from the recorded ones.
import { ExecutorError, spawnExecutor } from "./executor.js";

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
export async function runKbenchNative(plainTextPath: string, opts: { timeoutMs?: number } = {}): Promise<KbenchNativeResult> {
  const raw = await spawnExecutor(["--kbench", plainTextPath], null, opts.timeoutMs ?? 300_000);
  const line = raw.stdout.trim();
  const m = RESULT.exec(line);
  if (!m) throw new ExecutorError(`executor --kbench printed ${JSON.stringify(line)}, expected {"ops":N,"seconds":S,"mismatches":M}`);
  return { ops: Number(m[1]), seconds: Number(m[2]), mismatches: Number(m[3]) };
}

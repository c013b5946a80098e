// replayLog(input, options): read an strace log (path, "-" for stdin, or lines), replay it
// through the model, and return the report. Streaming: the log is never held whole.

import { existsSync, readFileSync } from "node:fs";
import type { Kernel } from "../../kernel/kernel.js";
import { readLogBatches } from "../strace/lines.js";
import { StraceParser } from "../strace/parser.js";
import { Replayer, type ReplayOptions } from "./replayer.js";
import type { ReplayReport } from "./types.js";

/** The input is not an strace log at all (no line reads as a call, signal or exit). */
export class NotAStraceLogError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = "NotAStraceLogError";
  }
}

/**
 * The environment named in a `NAME.meta.txt` beside `NAME.strace` (the shared traces record
 * theirs as `environment: env -i A=B C=D ... (clean environment, ...)`), or null.
 */
export function metaEnvironment(logPath: string): { env: string[]; file: string } | null {
  const file = logPath.replace(/\.strace(\.gz)?$/, ".meta.txt");
  if (file === logPath || !existsSync(file)) return null;
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith("environment:"));
  if (line === undefined) return null;
  const m = /env -i((?: [A-Za-z_][A-Za-z0-9_]*=\S*)+)/.exec(line);
  if (m === null) return null;
  return { env: m[1].trim().split(" "), file };
}

export interface ReplayLogOptions extends ReplayOptions {
  /** Read the environment from `NAME.meta.txt` beside a `NAME.strace` (default true). */
  useMeta?: boolean;
}

/** Replay a log. `input` is a path ("-" = stdin) or the lines themselves. */
export async function replayLog(
  input: string | AsyncIterable<string> | Iterable<string>,
  options: ReplayLogOptions = {},
): Promise<ReplayReport> {
  return (await replayLogModel(input, options)).report;
}

export interface ReplayModelOptions extends ReplayLogOptions {
  /**
   * Stop before the exit (`exit_group`/`exit` call) of this traced PID: nothing from that
   * line on is replayed, so the model holds the process as it was just before it exited.
   */
  stopBeforeExitOf?: number;
}

/** A replay with its model kept: the report, the modeled kernel, and traced PID → model pid. */
export interface ReplayModel {
  report: ReplayReport;
  kernel: Kernel;
  /** The model's pid of a traced PID at the end of the replay (null: not in the log, not modeled, exited). */
  pidOf(tracedPid: number): number | null;
  /** The line where `stopBeforeExitOf` stopped the replay, or null when it read the whole log. */
  stoppedAt: number | null;
}

function isExit(name: string): boolean {
  return name === "exit_group" || name === "exit";
}

/** Replay a log and keep the model (for checkpoints and other engines that need its state). */
export async function replayLogModel(
  input: string | AsyncIterable<string> | Iterable<string>,
  options: ReplayModelOptions = {},
): Promise<ReplayModel> {
  const source = typeof input === "string" ? input : "<lines>";
  const r = new Replayer(options, source);
  if (typeof input === "string" && input !== "-" && options.useMeta !== false) {
    const meta = metaEnvironment(input);
    if (meta !== null) r.setBaseEnv(meta.env, `from ${meta.file}`);
  }
  const parser = new StraceParser();
  const stopPid = options.stopBeforeExitOf;
  const t0 = performance.now();
  let n = 0;
  let stoppedAt: number | null = null;
  const feed = (text: string): boolean => {
    n++;
    r.line(text, n);
    for (const ev of parser.push(text)) {
      if (stopPid !== undefined && (ev.kind === "call" || ev.kind === "unfinished") && ev.pid === stopPid && isExit(ev.name)) {
        stoppedAt = ev.line;
        return false;
      }
      r.event(ev);
    }
    return true;
  };
  if (typeof input === "string") {
    batches: for await (const batch of readLogBatches(input)) for (const text of batch) if (!feed(text)) break batches;
  } else {
    for await (const text of input) if (!feed(text)) break;
  }
  if (stoppedAt === null) for (const ev of parser.finish()) r.event(ev);
  if (parser.recognized === 0) {
    throw new NotAStraceLogError(n === 0 ? "the log is empty" : `no line of ${n} reads as strace output`, source);
  }
  const report = r.finish();
  report.lines = n;
  report.seconds = (performance.now() - t0) / 1000;
  return { report, kernel: r.kernel, pidOf: (pid) => r.pidOf(pid), stoppedAt };
}

// Replay speed: log lines per second of the strace parser alone and of parse + replay
// through the model, on a real trace repeated to about a million lines (target ≥ 200 k/s).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CLEAN_ENV } from "../trace/record.js";
import { Replayer } from "../trace/replay/replayer.js";
import { StraceParser } from "../trace/strace/parser.js";

export const DEFAULT_REPLAY_TRACE = fileURLToPath(new URL("../../../shared/traces/gcc_hello.strace", import.meta.url));

export type ReplayBench = {
  trace: string;
  trace_lines: number;
  repeats: number;
  lines: number;
  parse_lines_per_second: number;
  replay_lines_per_second: number;
  parse_seconds: number[];
  replay_seconds: number[];
  /** The fastest run (the least disturbed by other work on a shared machine). */
  parse_lines_per_second_best: number;
  replay_lines_per_second_best: number;
  /** The same by CPU time of this process (user + system): steadier on a shared, busy machine. */
  parse_lines_per_cpu_second: number;
  replay_lines_per_cpu_second: number;
  /** Memory syscalls modeled / matched in one replay of the trace (so the speed is of real work). */
  modeled_per_copy: number;
  matched_per_copy: number;
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Parse-only: one parser over the trace's lines repeated `repeats` times (args classified
 * for every call, as the replayer would need them). Parse + replay: the copies as one log
 * through one Replayer (PIDs are reused after their tasks exit, as in long real logs).
 */
export function benchReplay(o: { trace?: string; targetLines?: number; runs?: number } = {}): ReplayBench {
  const trace = o.trace ?? DEFAULT_REPLAY_TRACE;
  const lines = readFileSync(trace, "utf8").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const repeats = Math.max(1, Math.round((o.targetLines ?? 1_000_000) / lines.length));
  const runs = o.runs ?? 3;
  const parseSeconds: number[] = [];
  const replaySeconds: number[] = [];
  const parseCpu: number[] = [];
  const replayCpu: number[] = [];
  const cpuSeconds = (since: NodeJS.CpuUsage) => {
    const u = process.cpuUsage(since);
    return (u.user + u.system) / 1e6;
  };
  let modeled = 0;
  let matched = 0;
  for (let run = 0; run < runs; run++) {
    let t0 = performance.now();
    let c0 = process.cpuUsage();
    const p = new StraceParser();
    let sink = 0;
    for (let r = 0; r < repeats; r++) {
      for (const l of lines) {
        for (const ev of p.push(l)) if (ev.kind === "call") sink += ev.args.length;
      }
    }
    p.finish();
    parseSeconds.push((performance.now() - t0) / 1000);
    parseCpu.push(cpuSeconds(c0));
    if (sink < 0) throw new Error("unreachable");
    // One log of `repeats` copies, as `aspace replay` reads a long log: one replayer, one
    // kernel; each copy's PIDs are reused after the previous copy's tasks exited.
    t0 = performance.now();
    c0 = process.cpuUsage();
    const rp = new Replayer({ policy: "none", env: CLEAN_ENV }, trace);
    const parser = new StraceParser();
    let n = 0;
    for (let r = 0; r < repeats; r++) {
      for (const l of lines) {
        rp.line(l, ++n);
        for (const ev of parser.push(l)) rp.event(ev);
      }
    }
    for (const ev of parser.finish()) rp.event(ev);
    const rep = rp.finish();
    modeled = rep.modeled / repeats;
    matched = rep.matched / repeats;
    replaySeconds.push((performance.now() - t0) / 1000);
    replayCpu.push(cpuSeconds(c0));
  }
  const total = lines.length * repeats;
  return {
    trace,
    trace_lines: lines.length,
    repeats,
    lines: total,
    parse_lines_per_second: Math.round(total / median(parseSeconds)),
    replay_lines_per_second: Math.round(total / median(replaySeconds)),
    parse_seconds: parseSeconds.map((s) => Math.round(s * 1000) / 1000),
    replay_seconds: replaySeconds.map((s) => Math.round(s * 1000) / 1000),
    parse_lines_per_second_best: Math.round(total / Math.min(...parseSeconds)),
    replay_lines_per_second_best: Math.round(total / Math.min(...replaySeconds)),
    parse_lines_per_cpu_second: Math.round(total / median(parseCpu)),
    replay_lines_per_cpu_second: Math.round(total / median(replayCpu)),
    modeled_per_copy: modeled,
    matched_per_copy: matched,
  };
}

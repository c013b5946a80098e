// `aspace bench` (`npm run bench`): how fast the model is, next to the live kernel.
//
// - model ops/s: the kbench trace (1M ops recorded on the live kernel) replayed through the
//   model; the trace is parsed first, only the replay is timed (kbench's parseTrace/replayParsed);
// - kernel ops/s: the same trace replayed on this machine's kernel by the native executor
//   (`executor --kbench`), in the same bench run;
// - mmap+munmap cost: a fresh 1-page MAP_FIXED mmap then munmap in a gap of an address space
//   that already holds N VMAs (N = 16, 1024, 65536, 1048576), built through the syscall surface;
// - bytes per VMA: the V8 heap growth (after full GCs) while building the largest of those
//   address spaces, divided by its VMA count.
//
// Each measurement runs in a child process (`aspace bench-stage ...` under `node --expose-gc`),
// so one stage's garbage does not weigh on the next, gc() is available, and a stage that hangs
// is stopped by a timeout instead of stopping the whole bench. Figures are medians of several runs.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, release, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kernel } from "../index.js";
import { runKbenchNative } from "../oracle/kbench-native.js";
import { benchCheckpoint, type CheckpointBench } from "./bench-checkpoint.js";
import { benchReplay, type ReplayBench } from "./bench-replay.js";
import { loadKbench } from "./engines.js";
import { readMaybeGzip, writeFileAtomic } from "./files.js";

export const DEFAULT_TRACE = fileURLToPath(new URL("../../../shared/traces/kbench/mixed-1M.trace.gz", import.meta.url));
export const DEFAULT_SIZES = [16, 1024, 65536, 1048576];
const BIN = fileURLToPath(new URL("../../bin/aspace.js", import.meta.url));

const P = 4096;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_FIXED_PRIVATE_ANON = 0x10 | 0x02 | 0x20;
/** (int)-1 as the u64 word the model's mmap takes for fd. */
const FD_NONE = 0xffffffff;
/** Where the benchmark address spaces start: 4 GiB, far from mmap_base. */
const VMA_BASE = 0x100000000;

export type BenchOptions = {
  trace: string;
  runs: number;
  sizes: number[];
  stageTimeoutSeconds: number;
  log: (msg: string) => void;
};

type Section<T> = T | { error: string };

export type ModelStage = { source: string; ops: number; mismatches: number; seconds: number[] };
export type VmaStage = {
  vmas: number;
  build_seconds: number;
  iterations: number;
  ns_per_pair: number[];
  heap_bytes_per_vma: number | null;
};

export type BenchReport = {
  trace: string;
  runs: number;
  model: Section<{ source: string; ops: number; ops_per_second: number; seconds_median: number; seconds: number[]; mismatches: number }>;
  kernel: Section<{ ops: number; ops_per_second: number; seconds_median: number; seconds: number[]; mismatches: number }>;
  /** model ops/s ÷ kernel ops/s (below 1: the model is slower than the kernel). */
  model_over_kernel: number | null;
  /** Median ns for one 1-page MAP_FIXED mmap plus its munmap, by existing VMA count. */
  mmap_munmap_ns: Record<string, Section<{ ns_per_pair: number; iterations: number; runs: number[]; build_seconds: number }>>;
  /** V8 heap bytes per VMA, measured over the largest size. */
  bytes_per_vma: Section<{ bytes: number; vmas: number }>;
  environment: { node: string; kernel: string; cpu: string; date: string };
  /** strace log lines per second, parse only and parse + replay (src/report/bench-replay.ts). */
  replay?: Section<ReplayBench>;
  checkpoint?: Section<CheckpointBench>;
};

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const round = (x: number, digits = 0) => Number(x.toFixed(digits));

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs `aspace bench-stage ARGS` under `node --expose-gc`; its stdout is one JSON value. */
function runStage(args: string[], timeoutSeconds: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", BIN, "bench-stage", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutSeconds * 1000);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString("utf8").trim();
      if (timedOut) return reject(new Error(`did not finish within ${timeoutSeconds} s (raise it with --stage-timeout)`));
      if (code !== 0)
        return reject(
          new Error(
            `${signal ? `killed by ${signal}` : `exit status ${code}`}${stderr ? `: ${stderr.split("\n").slice(-3).join(" | ")}` : ""}`,
          ),
        );
      try {
        resolve(JSON.parse(Buffer.concat(out).toString("utf8")));
      } catch {
        reject(new Error(`printed no JSON${stderr ? `: ${stderr}` : ""}`));
      }
    });
  });
}

export async function runBench(o: BenchOptions): Promise<{ report: BenchReport; status: number }> {
  const report: BenchReport = {
    trace: o.trace,
    runs: o.runs,
    model: { error: "not run" },
    kernel: { error: "not run" },
    model_over_kernel: null,
    mmap_munmap_ns: {},
    bytes_per_vma: { error: "not run" },
    environment: { node: process.version, kernel: release(), cpu: cpus()[0]?.model ?? "unknown", date: new Date().toISOString() },
  };

  // The live kernel: the executor reads plain text, so the trace is gunzipped to a temp file.
  o.log(`bench: kernel: replaying ${o.trace} with the native executor, ${o.runs} runs`);
  try {
    const text = await readMaybeGzip(o.trace);
    const dir = await mkdtemp(join(tmpdir(), "aspace-kbench-"));
    try {
      const plain = join(dir, "trace.txt");
      await writeFile(plain, text);
      const runs = [];
      for (let i = 0; i < o.runs; i++) {
        const r = await runKbenchNative(plain, { timeoutMs: o.stageTimeoutSeconds * 1000 });
        o.log(`bench: kernel run ${i + 1}/${o.runs}: ${r.ops} ops in ${r.seconds.toFixed(3)} s, ${r.mismatches} mismatches`);
        runs.push(r);
      }
      const secs = runs.map((r) => r.seconds);
      const med = median(secs);
      const ops = runs[0]?.ops ?? 0;
      report.kernel = {
        ops,
        ops_per_second: round(ops / med),
        seconds_median: round(med, 4),
        seconds: secs,
        mismatches: Math.max(...runs.map((r) => r.mismatches)),
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } catch (e) {
    report.kernel = { error: message(e) };
    o.log(`bench: kernel: ${message(e)}`);
  }

  o.log(`bench: model: replaying ${o.trace}, ${o.runs} runs`);
  try {
    const s = (await runStage(["model", o.trace, String(o.runs)], o.stageTimeoutSeconds)) as ModelStage;
    const med = median(s.seconds);
    report.model = {
      source: s.source,
      ops: s.ops,
      ops_per_second: round(s.ops / med),
      seconds_median: round(med, 4),
      seconds: s.seconds.map((x) => round(x, 4)),
      mismatches: s.mismatches,
    };
    o.log(`bench: model: ${s.ops} ops, median ${med.toFixed(3)} s, ${s.mismatches} mismatches`);
  } catch (e) {
    report.model = { error: message(e) };
    o.log(`bench: model: ${message(e)}`);
  }
  if (!("error" in report.model) && !("error" in report.kernel)) {
    report.model_over_kernel = round(report.model.ops_per_second / report.kernel.ops_per_second, 4);
  }

  const largest = Math.max(...o.sizes);
  for (const n of o.sizes) {
    o.log(`bench: mmap+munmap at ${n} VMAs`);
    try {
      const s = (await runStage(["vmas", String(n), String(Math.max(o.runs, 5))], o.stageTimeoutSeconds)) as VmaStage;
      const ns = median(s.ns_per_pair);
      report.mmap_munmap_ns[String(n)] = {
        ns_per_pair: round(ns, 1),
        iterations: s.iterations,
        runs: s.ns_per_pair.map((x) => round(x, 1)),
        build_seconds: round(s.build_seconds, 3),
      };
      if (n === largest) {
        report.bytes_per_vma =
          s.heap_bytes_per_vma === null ? { error: "gc() unavailable" } : { bytes: round(s.heap_bytes_per_vma, 1), vmas: n };
      }
      o.log(`bench: ${n} VMAs: ${ns.toFixed(0)} ns per mmap+munmap (built in ${s.build_seconds.toFixed(2)} s)`);
    } catch (e) {
      report.mmap_munmap_ns[String(n)] = { error: message(e) };
      if (n === largest) report.bytes_per_vma = { error: message(e) };
      o.log(`bench: ${n} VMAs: ${message(e)}`);
    }
  }

  o.log("bench: strace replay speed (gcc trace repeated to ~1M lines)");
  try {
    report.replay = benchReplay({ runs: o.runs });
    o.log(
      `bench: replay: parse ${report.replay.parse_lines_per_second} lines/s, parse+replay ${report.replay.replay_lines_per_second} lines/s`,
    );
  } catch (e) {
    report.replay = { error: message(e) };
  }

  o.log("bench: checkpoint dump+restore of 1 GiB of touched memory vs memcpy");
  try {
    report.checkpoint = benchCheckpoint({ runs: o.runs });
    o.log(
      `bench: checkpoint: ${report.checkpoint.dump_restore_over_memcpy} of memcpy (${report.checkpoint.dump_restore_over_memcpy_fresh} of memcpy into fresh memory)` +
        (report.checkpoint.tmpfs === null
          ? ""
          : `; images on ${report.checkpoint.tmpfs.dir}: ${report.checkpoint.tmpfs.dump_restore_over_memcpy}, bare file I/O there ${report.checkpoint.tmpfs.io_floor_over_memcpy}`),
    );
  } catch (e) {
    report.checkpoint = { error: message(e) };
  }

  const sections = [report.model, report.kernel, report.bytes_per_vma, ...Object.values(report.mmap_munmap_ns)];
  const failed = sections.some((s) => "error" in s);
  const mismatched =
    (!("error" in report.model) && report.model.mismatches > 0) || (!("error" in report.kernel) && report.kernel.mismatches > 0);
  return { report, status: failed ? 2 : mismatched ? 1 : 0 };
}

export async function writeBenchReport(report: BenchReport, out?: string): Promise<void> {
  const text = `${JSON.stringify(report, null, 2)}\n`;
  process.stdout.write(text);
  if (out !== undefined) await writeFileAtomic(out, text);
}

// ---------------------------------------------------------------------------------------------
// Stages (run in the child process).

type Gc = () => void;
function gcOrNull(): Gc | null {
  const g = (globalThis as { gc?: Gc }).gc;
  return typeof g === "function" ? g : null;
}

function fullGc(gc: Gc | null): void {
  if (!gc) return;
  gc();
  gc();
}

/** Replays the trace `runs` times through the model; only the replay is timed. */
export async function stageModel(trace: string, runs: number): Promise<ModelStage> {
  const kb = await loadKbench();
  const text = await readMaybeGzip(trace);
  const gc = gcOrNull();
  const seconds: number[] = [];
  let mismatches = 0;
  let ops = 0;
  if (kb.parseTrace && kb.replayParsed) {
    const parsed = kb.parseTrace(text);
    ops = parsed.count;
    for (let i = 0; i < runs; i++) {
      fullGc(gc);
      const t0 = process.hrtime.bigint();
      const r = kb.replayParsed(parsed);
      seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
      mismatches = Math.max(mismatches, r.mismatches);
    }
    return { source: "src/oracle/kbench.ts parseTrace + replayParsed (replay timed alone)", ops, mismatches, seconds };
  }
  for (let i = 0; i < runs; i++) {
    fullGc(gc);
    const r = await kb.runOps(text, {});
    seconds.push(r.seconds);
    ops = r.ops;
    mismatches = Math.max(mismatches, r.mismatches);
  }
  return { source: "src/oracle/kbench.ts runOps (its own timing; no parseTrace/replayParsed exported)", ops, mismatches, seconds };
}

/**
 * An address space of `n` 1-page anonymous VMAs at VMA_BASE, alternately PROT_READ and
 * PROT_READ|PROT_WRITE (so that no two merge), with a 3-page hole in the middle; `gap` is the
 * hole's middle page, which touches no VMA.
 */
export function buildVmas(n: number): { kernel: Kernel; pid: number; gap: number } {
  const kernel = new Kernel({ config: { maxMapCount: 2_000_000 } });
  const pid = kernel.spawnEmpty().pid;
  const hole = n >> 1;
  const args = [0, P, 0, MAP_FIXED_PRIVATE_ANON, FD_NONE, 0];
  for (let slot = 0, made = 0; made < n; slot++) {
    if (slot >= hole && slot < hole + 3) continue;
    const addr = VMA_BASE + slot * P;
    args[0] = addr;
    args[2] = made % 2 === 0 ? PROT_READ : PROT_READ | PROT_WRITE;
    const r = kernel.syscallRaw(pid, "mmap", args);
    if (r !== addr) throw new Error(`building ${n} VMAs: mmap #${made} returned ${r}`);
    made++;
  }
  const count = kernel.process(pid).mm.mapCount;
  if (count !== n) throw new Error(`building ${n} VMAs: the model holds ${count} (adjacent VMAs merged?)`);
  return { kernel, pid, gap: VMA_BASE + (hole + 1) * P };
}

/** One timed run: `iters` pairs of mmap(gap, 1 page, MAP_FIXED) + munmap(gap); ns per pair. */
function churn(kernel: Kernel, pid: number, gap: number, iters: number): number {
  const mm = [gap, P, PROT_READ, MAP_FIXED_PRIVATE_ANON, FD_NONE, 0];
  const un = [gap, P];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) {
    if (kernel.syscallRaw(pid, "mmap", mm) !== gap) throw new Error("mmap in the gap failed");
    if (kernel.syscallRaw(pid, "munmap", un) !== 0) throw new Error("munmap of the gap failed");
  }
  return Number(process.hrtime.bigint() - t0) / iters;
}

export function stageVmas(n: number, runs: number): VmaStage {
  const gc = gcOrNull();
  fullGc(gc);
  const h0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const { kernel, pid, gap } = buildVmas(n);
  const buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  fullGc(gc);
  const heap = gc ? (process.memoryUsage().heapUsed - h0) / n : null;
  // Size the runs to about 0.25 s each, and do one such run untimed (JIT warm-up).
  const probe = churn(kernel, pid, gap, 2000);
  const iterations = Math.max(200, Math.min(500_000, Math.round(0.25e9 / Math.max(probe, 1))));
  churn(kernel, pid, gap, iterations);
  const ns: number[] = [];
  for (let i = 0; i < runs; i++) ns.push(churn(kernel, pid, gap, iterations));
  if (kernel.process(pid).mm.mapCount !== n) throw new Error("the VMA count changed during the runs");
  return { vmas: n, build_seconds: buildSeconds, iterations, ns_per_pair: ns, heap_bytes_per_vma: heap };
}

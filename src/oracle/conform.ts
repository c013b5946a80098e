// aspace conform: differential testing of the model against the live kernel. Random programs
// (generator.ts) run on the kernel through the native executor and on the model
// (model-runner.ts); every op result, the final maps text, the VmFlags of every VMA and the
// Rss of VMAs the program made must agree. A divergent program is shrunk (shrink.ts) and
// turned into a ready-to-paste vitest test.

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { gunzipSync } from "node:zlib";
import { parseMapsLine } from "../kernel/procfs/parse.js";
import { type ExecResult, type OpResult, type Program, runPrograms, type SmapsLine } from "./executor.js";
import { type GenTargets, generateProgram, materialize, programSeed, targetsFromExec } from "./generator.js";
import { collectFileFacts, type FileFactsMap, type ModelEnv, type ModelRun, parseOp, readHostEnv } from "./model-runner.js";
import { shrinkOps } from "./shrink.js";

export interface ConformOptions {
  programs: number;
  seed: number;
  /** Ops per program (after the arena setup). */
  ops: number;
  /** Also aim at the executor's real layout (vdso, vvar, heap, gaps), not only the arena. */
  whole?: boolean;
  /** Programs with two processes: fork, prctl, process_vm_readv/writev, pidfd_open,
   *  process_madvise, /proc/PID/mem (generator.ts, ProcGen). */
  procs?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** A model run that takes longer is a divergence ("model hung"); default 5000 ms. */
  modelTimeoutMs?: number;
}

export interface ConformReport {
  programs: number;
  /** Syscall ops the kernel ran (accesses not counted). */
  syscalls: number;
  divergences: number;
  /** Programs that agreed up to an op the model declared unsupported (not compared further). */
  unsupported: number;
  /** Programs that agreed except for blocks khugepaged collapsed on the kernel while they
   *  ran (khugepagedCollapseExplains): asynchronous, so no model can predict them. */
  khugepaged: number;
  /** The first (at most 5) divergent programs, shrunk. Ops name their files `$DIR/fN`. */
  first: Array<{ seed: number; index: number; program: string[]; divergence: string; test: string }>;
  seconds: number;
}

const BATCH = 64;
const MAX_REPORTED = 5;

// ---------------------------------------------------------------------------------------------
// Comparison.

export type DivergenceKind = "failed" | "died" | "result" | "maps" | "flags" | "rss" | "peer-maps" | "peer-flags" | "peer-rss";

export interface Divergence {
  kind: DivergenceKind;
  /** The op (results) or VMA/line index (maps, flags, rss) concerned. */
  index: number;
  /** The op's name, for results: shrinking keeps a divergence of the same kind and op. */
  opName: string;
  text: string;
}

/** A result as the executor prints it. */
export function formatResult(r: OpResult | undefined): string {
  if (r === undefined) return "(none)";
  switch (r.kind) {
    case "ret":
      return `0x${r.value.toString(16)}`;
    case "errno":
      return `-${r.name}`;
    case "fault":
      return `${r.signal} 0x${r.offset.toString(16)}`;
    case "hash":
      return `0x${r.value.toString(16)} ${r.hash.toString(16).padStart(8, "0")}`;
  }
}

/** Shared anonymous memory (a shmem inode) and MAP_HUGETLB memory (a hugetlbfs inode) have
 *  inode numbers the model cannot know: `?` on both sides (and the padding redone, since it
 *  depends on the number's width). */
export function normalizeMapsLine(line: string): string {
  const m = /^(\S+ \S+ \S+ \S+) \d+ +(\/dev\/zero \(deleted\)|\/anon_hugepage \(deleted\))$/.exec(line);
  return m ? `${m[1]} ? ${m[2]}` : line;
}

export function normalizeMaps(lines: readonly string[]): string[] {
  return lines.map(normalizeMapsLine);
}

const opName = (line: string | undefined) => (line ?? "").trim().split(/\s+/)[0] ?? "";

function resultDivergence(program: Program, kernel: ExecResult, model: ModelRun): Divergence | null {
  const n = Math.min(kernel.results.length, model.unsupported?.index ?? Number.POSITIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    const k = formatResult(kernel.results[i]);
    const m = formatResult(model.results[i]);
    if (k === m) continue;
    const err = model.errors.find((e) => e.startsWith(`op ${i}:`));
    const op = program.ops[i];
    return {
      kind: "result",
      index: i,
      opName: opName(op),
      text: `op ${i} (${op}): kernel ${k}, model ${m}${err ? ` (model threw: ${err.slice(err.indexOf(":") + 2)})` : ""}`,
    };
  }
  return null;
}

function mapsDivergence(kernel: readonly string[], model: readonly string[], who: "" | "peer" = ""): Divergence | null {
  const k = normalizeMaps(kernel);
  const m = normalizeMaps(model);
  for (let i = 0; i < Math.max(k.length, m.length); i++) {
    if (k[i] === m[i]) continue;
    const show = (l: string | undefined) => (l === undefined ? "(no line)" : JSON.stringify(l));
    const kind = who === "peer" ? "peer-maps" : "maps";
    const title = who === "peer" ? "peer's final maps" : "final maps";
    return { kind, index: i, opName: "", text: `${title} line ${i}: kernel ${show(k[i])}, model ${show(m[i])}` };
  }
  return null;
}

/** VmFlags of every VMA; Rss only for VMAs made of the program's own pages. Assumes the
 *  maps agree. */
export function smapsDifference(kernel: ExecResult, model: ModelRun): Divergence | null {
  return smapsDiff(kernel, kernel.finalSmaps ?? [], kernel.finalMaps ?? [], model.finalSmaps, "");
}

function smapsDiff(
  kernel: ExecResult,
  ks: readonly SmapsLine[],
  kmaps: readonly string[],
  ms: readonly SmapsLine[],
  who: "" | "peer",
): Divergence | null {
  const whose = who === "peer" ? "the peer's " : "";
  for (let i = 0; i < Math.min(ks.length, ms.length); i++) {
    const k = ks[i] as SmapsLine;
    const m = ms[i] as SmapsLine;
    const range = `${k.start.toString(16)}-${k.end.toString(16)}`;
    if (k.flags.join(" ") !== m.flags.join(" ")) {
      return {
        kind: who === "peer" ? "peer-flags" : "flags",
        index: i,
        opName: "",
        text: `VmFlags of ${whose}${range}: kernel "${k.flags.join(" ")}", model "${m.flags.join(" ")}"`,
      };
    }
    if (!holdsAdoptedPages(kernel, k, kmaps[i]) && k.rssKb !== m.rssKb && !khugepagedCollapseExplains(k, m)) {
      return {
        kind: who === "peer" ? "peer-rss" : "rss",
        index: i,
        opName: "",
        text: `Rss of ${whose}${range}: kernel ${k.rssKb} kB, model ${m.rssKb} kB`,
      };
    }
  }
  return null;
}

/**
 * khugepaged wakes every scan_sleep_millisecs (10 s on this machine) and collapses blocks of
 * THP-enabled VMAs into huge pages on its own schedule, so a program that ran across one of
 * its scans can end with a block resident on the kernel that the model (which has no clock)
 * leaves as 4 KiB pages. That is the explanation of an Rss difference when the difference is
 * exactly the pages added by collapsing some of the VMA's partly resident 2 MiB blocks
 * (hpage_collapse_scan_pmd needs a present page, max_ptes_none = 511 lets the rest be empty),
 * the added pages are anonymous, and the kernel shows at least that many huge pages.
 */
export function khugepagedCollapseExplains(k: SmapsLine, m: SmapsLine): boolean {
  const added = k.rssKb - m.rssKb;
  if (added <= 0 || m.hugeBlockPages === undefined) return false;
  if (k.anonKb - m.anonKb !== added) return false;
  // Fewest collapsed blocks that add exactly `sum` kB, over subsets of the partly resident blocks.
  const fewest = new Map<number, number>([[0, 0]]);
  for (const resident of m.hugeBlockPages) {
    if (resident === 0 || resident >= 512) continue;
    const gain = (512 - resident) * 4;
    for (const [sum, blocks] of [...fewest]) {
      const next = sum + gain;
      if (next <= added && (fewest.get(next) ?? Number.POSITIVE_INFINITY) > blocks + 1) fewest.set(next, blocks + 1);
    }
  }
  const blocks = fewest.get(added);
  return blocks !== undefined && (k.anonHugeKb ?? 0) >= blocks * 2048;
}

/** How many VMAs of the final state differ only by a khugepaged collapse (counted, not hidden). */
export function khugepagedCollapses(kernel: ExecResult, model: ModelRun): number {
  const ks = kernel.finalSmaps ?? [];
  let n = 0;
  for (let i = 0; i < Math.min(ks.length, model.finalSmaps.length); i++) {
    const k = ks[i] as SmapsLine;
    const m = model.finalSmaps[i] as SmapsLine;
    if (k.rssKb !== m.rssKb && khugepagedCollapseExplains(k, m)) n++;
  }
  return n;
}

/** The peer's final state: both sides have one or neither, it exited 0, maps and smaps agree. */
function peerDivergence(kernel: ExecResult, model: ModelRun): Divergence | null {
  const kp = kernel.peer ?? null;
  const mp = model.peer ?? null;
  if (kp === null && mp === null) return null;
  if (kp === null || mp === null) {
    const text = `peer: kernel ${kp === null ? "has none" : "has one"}, model ${mp === null ? "has none" : "has one"}`;
    return { kind: "peer-maps", index: 0, opName: "", text };
  }
  if (kp.status !== "exit 0" || kp.finalMaps === null || kp.finalSmaps === null) {
    return { kind: "died", index: kernel.results.length, opName: "", text: `kernel's peer died: ${kp.status}` };
  }
  return mapsDivergence(kp.finalMaps, mp.finalMaps, "peer") ?? smapsDiff(kernel, kp.finalSmaps, kp.finalMaps, mp.finalSmaps, "peer");
}

/** The model does not know which of the executor's initial pages are resident: a VMA that
 *  intersects the initial layout, or that carries a name of it ([vdso] moved by mremap, the
 *  executable), may hold such pages. */
function holdsAdoptedPages(kernel: ExecResult, v: { start: bigint; end: bigint }, mapsLine: string | undefined): boolean {
  if (kernel.initSmaps.some((i) => i.start < v.end && i.end > v.start)) return true;
  const name = mapsLine === undefined ? "" : parseMapsLine(mapsLine).name;
  return name !== "" && kernel.initMaps.some((l) => parseMapsLine(l).name === name);
}

/** The first way the model's run differs from the kernel's, or null if they agree. */
export function compareRuns(program: Program, kernel: ExecResult, model: ModelRun | ModelFailure): Divergence | null {
  if ("failure" in model) return { kind: "failed", index: 0, opName: "", text: model.failure };
  const r = resultDivergence(program, kernel, model);
  if (r !== null) return r;
  // Unsupported is the model's "no answer", never a guess: nothing after it is compared.
  if (model.unsupported !== null && model.unsupported.index < kernel.results.length) return null;
  if (kernel.died !== null || kernel.finalMaps === null) {
    // The generator never means to kill the executor, so a death is a generator (or
    // executor) bug, or a kernel behaviour the model does not predict: report it either way.
    return { kind: "died", index: kernel.results.length, opName: "", text: `kernel died: ${kernel.died ?? "no final snapshot"}` };
  }
  return mapsDivergence(kernel.finalMaps, model.finalMaps) ?? smapsDifference(kernel, model) ?? peerDivergence(kernel, model);
}

/** What shrinking must preserve: the kind of divergence and, for a result, the op. */
function signature(d: Divergence): string {
  return d.kind === "result" ? `result:${d.opName}` : d.kind;
}

// ---------------------------------------------------------------------------------------------
// Running programs on both sides.

export interface BothRun {
  program: Program;
  kernel: ExecResult;
  model: ModelRun | ModelFailure;
  divergence: Divergence | null;
}

/** The model did not answer: it looped (or crashed outside an op). */
export type ModelFailure = { failure: string };

// The worker's code: a plain script (no file of its own) that registers tsx, loads the model
// runner from source and answers one program per message.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ready = import(workerData.tsxApi)
  .then((api) => api.register())
  .then(() => import(workerData.runner));
parentPort.on("message", async (m) => {
  const { runOnModel } = await ready;
  try {
    parentPort.postMessage({ run: runOnModel(m.program, m.init, m.files, m.env) });
  } catch (e) {
    parentPort.postMessage({ failure: "model threw: " + (e && e.stack ? e.stack : String(e)) });
  }
});
`;

/** tsx's ESM register API (the import condition: its CommonJS build cannot load the hooks). */
function tsxEsmApiUrl(): string {
  const pkgPath = createRequire(import.meta.url).resolve("tsx/package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { exports: Record<string, { import: { default: string } }> };
  const entry = pkg.exports["./esm/api"]?.import.default ?? "./dist/esm/api/index.mjs";
  return pathToFileURL(join(dirname(pkgPath), entry)).href;
}

/**
 * Runs the model in a worker thread so that a model that loops forever becomes a divergence
 * ("model hung") instead of hanging the whole run: past the timeout the worker is terminated
 * and the next program gets a fresh one.
 */
export class ModelWorker {
  private worker: Worker | null = null;
  constructor(private readonly timeoutMs = 5000) {}

  private start(): Worker {
    if (this.worker !== null) return this.worker;
    const tsxApi = tsxEsmApiUrl();
    const runner = new URL("./model-runner.ts", import.meta.url).href;
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { tsxApi, runner } });
    this.worker.unref();
    return this.worker;
  }

  run(
    program: Program,
    init: ExecResult,
    files: FileFactsMap,
    env: ModelEnv,
    timeoutMs = this.timeoutMs,
  ): Promise<ModelRun | ModelFailure> {
    const w = this.start();
    return new Promise((resolve) => {
      const done = (r: ModelRun | ModelFailure) => {
        clearTimeout(timer);
        w.off("message", onMessage);
        w.off("error", onError);
        resolve(r);
      };
      const onMessage = (m: { run?: ModelRun; failure?: string }) => done(m.run ?? { failure: m.failure ?? "no answer" });
      const onError = (e: Error) => {
        this.kill();
        done({ failure: `model worker failed: ${e.message}` });
      };
      const timer = setTimeout(() => {
        this.kill();
        done({ failure: `model hung: no answer within ${timeoutMs} ms` });
      }, timeoutMs);
      w.on("message", onMessage);
      w.on("error", onError);
      w.postMessage({ program, init, files, env });
    });
  }

  kill(): void {
    void this.worker?.terminate();
    this.worker = null;
  }
}

/** Host facts, the scratch directory, the model's worker, and a counter that gives every run
 *  fresh files. close() removes the scratch directory and stops the worker. */
export class ConformSession {
  private runs = 0;
  readonly root = mkdtempSync(join(tmpdir(), "aspace-conform-"));
  readonly env: ModelEnv = readHostEnv();
  private readonly model: ModelWorker;

  constructor(opts: { modelTimeoutMs?: number } = {}) {
    this.model = new ModelWorker(opts.modelTimeoutMs);
  }

  /** Runs programs (ops with `$DIR`) on the kernel, then on the model; one executor process. */
  async runBoth(templates: readonly string[][], opts: { modelTimeoutMs?: number } = {}): Promise<BothRun[]> {
    const dirs = templates.map(() => {
      const d = join(this.root, `r${this.runs++}`);
      mkdirSync(d);
      return d;
    });
    const programs = templates.map((ops, i) => ({ name: `p${i}`, ops: materialize(ops, dirs[i] as string) }));
    const kernel = await runPrograms(programs);
    const out: BothRun[] = [];
    for (const [i, program] of programs.entries()) {
      const k = kernel[i] as ExecResult;
      // stat() right after the run: the facts are this run's files (fresh inode numbers).
      const facts = collectFileFacts(program.ops, { createdUnder: dirs[i] });
      rmSync(dirs[i] as string, { recursive: true, force: true });
      const model = await this.model.run(program, k, facts, this.env, opts.modelTimeoutMs);
      // Described with the template's ops: `$DIR/f0` reads better than a scratch path.
      const template = { name: program.name, ops: templates[i] as string[] };
      out.push({ program, kernel: k, model, divergence: compareRuns(template, k, model) });
    }
    return out;
  }

  close(): void {
    this.model.kill();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** CONFIG_MEMORY_FAILURE of the running kernel; true (the cautious answer) if unknown. */
export function hostHasMemoryFailure(): boolean {
  try {
    const config = gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
    return /^CONFIG_MEMORY_FAILURE=y$/m.test(config);
  } catch {
    return true;
  }
}

async function probeTargets(session: ConformSession): Promise<GenTargets> {
  const [probe] = await session.runBoth([[]]);
  if (probe === undefined) throw new Error("the executor returned no result for the probe");
  return targetsFromExec(probe.kernel, { memoryFailure: hostHasMemoryFailure() });
}

/** Not a syscall: accesses and pokes (fork, memread and memwrite are). */
const isAccess = (line: string) => {
  const op = parseOp(line);
  return op.kind === "access" || op.kind === "poke";
};

// ---------------------------------------------------------------------------------------------
// Shrinking and the repro test.

// Every hung candidate costs the whole timeout; a model run normally takes milliseconds.
const HUNG_SHRINK_TIMEOUT_MS = 1000;

async function shrinkDivergent(session: ConformSession, ops: readonly string[], d: Divergence): Promise<{ ops: string[]; run: BothRun }> {
  const want = signature(d);
  const opts = d.kind === "failed" ? { modelTimeoutMs: HUNG_SHRINK_TIMEOUT_MS } : {};
  const shrunk = await shrinkOps(ops, async (cands) => {
    const runs = await session.runBoth(cands, opts);
    return runs.map((r) => r.divergence !== null && signature(r.divergence) === want);
  });
  const [run] = await session.runBoth([shrunk], opts);
  return { ops: shrunk, run: run as BothRun };
}

const q = (s: string) => JSON.stringify(s);

/** A vitest test (a whole file) that replays the program on both sides. */
export function testSource(info: { seed: number; index: number; ops: readonly string[]; run: BothRun }): string {
  const { run } = info;
  const div = run.divergence?.text ?? "(no divergence on the last run)";
  const width = Math.max(...info.ops.map((o) => o.length), 10);
  const expected = info.ops.map((op, i) => {
    const k = i < run.kernel.results.length ? formatResult(run.kernel.results[i]) : "(not reached: the child died)";
    const m = "failure" in run.model ? k : formatResult(run.model.results[i]);
    return `//   ${String(i).padStart(2)}  ${op.padEnd(width)}  → ${k}${k === m ? "" : `   (model: ${m})`}`;
  });
  const hungNote =
    run.divergence?.kind === "failed" ? [`// The model gave no answer (${run.divergence.text}); the test fails or times out.`] : [];
  const mapsNote =
    run.divergence?.kind === "result" || run.divergence?.kind === "failed"
      ? []
      : ["// Kernel final maps:", ...(run.kernel.finalMaps ?? []).map((l) => `//   ${l}`)];
  const title = `conform program seed ${info.seed} (index ${info.index}): ${div.length > 100 ? `${div.slice(0, 97)}...` : div}`;
  return [
    `// Shrunk by aspace conform (program seed ${info.seed}, index ${info.index}).`,
    `// Divergence: ${div}`,
    "// Kernel results (Linux, live) per op:",
    ...expected,
    ...hungNote,
    ...mapsNote,
    'import { mkdtempSync, rmSync } from "node:fs";',
    'import { tmpdir } from "node:os";',
    'import { join } from "node:path";',
    'import { expect, it } from "vitest";',
    'import { compareRuns, normalizeMaps } from "../src/oracle/conform.js";',
    'import { executorAvailable, runPrograms } from "../src/oracle/executor.js";',
    'import { materialize } from "../src/oracle/generator.js";',
    'import { collectFileFacts, readHostEnv, runOnModel } from "../src/oracle/model-runner.js";',
    "",
    `it(${q(title)}, async () => {`,
    '  const dir = mkdtempSync(join(tmpdir(), "aspace-repro-"));',
    "  try {",
    "    const ops = [",
    ...info.ops.map((o) => `      ${q(o)},`),
    "    ];",
    '    const program = { name: "repro", ops: materialize(ops, dir) };',
    "    const [kernel] = await runPrograms([program]);",
    '    if (kernel === undefined) throw new Error("no executor result");',
    "    expect(kernel.died).toBeNull();",
    "    const model = runOnModel(program, kernel, collectFileFacts(program.ops, { createdUnder: dir }), readHostEnv());",
    "    expect(model.results).toEqual(kernel.results);",
    "    expect(normalizeMaps(model.finalMaps)).toEqual(normalizeMaps(kernel.finalMaps ?? []));",
    "    expect(compareRuns(program, kernel, model)).toBeNull();",
    "  } finally {",
    "    rmSync(dir, { recursive: true, force: true });",
    "  }",
    "});",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// The run.

/** Generates `programs` programs from `seed`, runs them on the kernel and the model, compares,
 *  and shrinks the first few divergent ones. */
export async function runConform(opts: ConformOptions): Promise<ConformReport> {
  const t0 = performance.now();
  const session = new ConformSession({ modelTimeoutMs: opts.modelTimeoutMs });
  try {
    const targets = await probeTargets(session);
    const seeds = Array.from({ length: opts.programs }, (_, i) => programSeed(opts.seed, i));
    const templates = seeds.map(
      (seed) => generateProgram({ seed, ops: opts.ops, whole: opts.whole ?? false, procs: opts.procs ?? false, targets }).ops,
    );
    let syscalls = 0;
    let divergences = 0;
    let unsupported = 0;
    let khugepaged = 0;
    const divergent: Array<{ index: number; run: BothRun }> = [];
    for (let at = 0; at < templates.length; at += BATCH) {
      const runs = await session.runBoth(templates.slice(at, at + BATCH));
      runs.forEach((run, j) => {
        syscalls += run.program.ops.slice(0, run.kernel.results.length).filter((l) => !isAccess(l)).length;
        if (run.divergence === null) {
          if ("results" in run.model && run.model.unsupported !== null) unsupported++;
          if ("results" in run.model && khugepagedCollapses(run.kernel, run.model) > 0) khugepaged++;
          return;
        }
        divergences++;
        if (divergent.length < MAX_REPORTED) divergent.push({ index: at + j, run });
      });
      opts.onProgress?.(Math.min(at + BATCH, templates.length), templates.length);
    }
    const first: ConformReport["first"] = [];
    for (const { index, run } of divergent) {
      const seed = seeds[index] as number;
      const shrunk = await shrinkDivergent(session, templates[index] as string[], run.divergence as Divergence);
      first.push({
        seed,
        index,
        program: shrunk.ops,
        divergence: shrunk.run.divergence?.text ?? (run.divergence as Divergence).text,
        test: testSource({ seed, index, ops: shrunk.ops, run: shrunk.run }),
      });
    }
    return { programs: opts.programs, syscalls, divergences, unsupported, khugepaged, first, seconds: (performance.now() - t0) / 1000 };
  } finally {
    session.close();
  }
}

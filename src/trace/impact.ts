// What a sealing policy changes for a program: run the same subject (a scenario, or a
// recorded strace log through the replayer) under `none` and under the policy, and compare
// the two sequences of calls one by one. One code path for both kinds of subject.
//
// After the first changed result the program's real behaviour is unknown (a real program
// would react to the error). The comparison goes on best-effort, under one rule: a call that
// changed leaves the pages it touched in an unknown state (e.g. a munmap that failed under
// the policy but succeeded under `none` leaves the mapping in place), so every later call
// touching those pages, in either run, is `unknown` and adds its own pages to the unknown
// set; calls elsewhere are compared as before.

import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Resolver } from "../kernel/fs/vfs.js";
import type { SealPolicy } from "../kernel/policy/policy.js";
import { formatResult, overlaps } from "../scenarios/kinds.js";
import { hasExecve, makeKernel, REFERENCE_LAYOUT_NOTE } from "../scenarios/process.js";
import { type CallRecord, type CallResult, KIND_ORDER, type MappingKind, type PageRange, type Scenario } from "../scenarios/types.js";
import { argRanges, resultRange } from "./call-ranges.js";
import { NotAStraceLogError, readBundle, replayLog } from "./replay/index.js";
import type { CallRecord as ReplayCallRecord } from "./replay/types.js";

/** One subject's calls under one policy. */
export interface SubjectRun {
  subject: string;
  type: "scenario" | "log";
  policy: string;
  calls: CallRecord[];
  /** The subject could not run at all under this policy (e.g. the model cannot execve it). */
  error?: string;
  /** How the run was made, when that qualifies its answer. */
  notes?: string[];
  /** Log subjects: the log's lines, to show what the program did after a call. */
  lineText?: (line: number) => string | undefined;
}

export type CallStatus = "same" | "changed" | "unknown" | "not-run";

export interface ComparedCall {
  seq: number;
  pid: number;
  step: string;
  line?: number;
  call: string;
  kind: MappingKind;
  /** Result under `none` (null: `none` never got there). */
  base: string | null;
  /** Result under the policy (null: the program had stopped before this call). */
  result: string | null;
  status: CallStatus;
}

/** The call at which a subject stops working under a policy. */
export interface FirstFailure {
  pid: number;
  seq: number;
  step: string;
  line?: number;
  call: string;
  /** "-1 EPERM", "0x2000", "unsupported (…)". */
  result: string;
  /** What `none` returned for the same call (null: not comparable). */
  base: string | null;
  kind: MappingKind;
  /** What the program does right after it: the next log lines of the task, or the program's reaction. */
  next: string[];
}

export type ImpactStatus = "ok" | "breaks" | "unsupported" | "mismatch" | "error";

export interface PolicyImpact {
  subject: string;
  type: "scenario" | "log";
  policy: string;
  status: ImpactStatus;
  ok: boolean;
  first_failure: FirstFailure | null;
  /** The first changed call of every task (logs may have several). */
  first_per_task: FirstFailure[];
  /** Calls whose result differs from `none`, and calls made unknown by them. */
  changed: ComparedCall[];
  /** Changed calls per kind of mapping touched. */
  by_kind: Partial<Record<MappingKind, number>>;
  counts: { calls: number; same: number; changed: number; unknown: number; not_run: number; unsupported: number };
  /** Why the policy's result is what it is, in words, when that is not obvious. */
  notes: string[];
}

function sameResult(a: CallResult, b: CallResult): boolean {
  if ("ret" in a) return "ret" in b && a.ret === b.ret;
  if ("errno" in a) return "errno" in b && a.name === b.name;
  return "unsupported" in b;
}

const THEN_LINES = 3;

function nextOf(run: SubjectRun, rec: CallRecord): string[] {
  if (rec.reaction !== undefined) return [rec.reaction];
  if (rec.line === undefined || run.lineText === undefined) return [];
  const out: string[] = [];
  // The next lines of the same task (an strace -f line starts with the pid).
  for (let l = rec.line + 1; out.length < THEN_LINES && l < rec.line + 200; l++) {
    const t = run.lineText(l);
    if (t === undefined) break;
    const m = /^(?:\[pid\s+)?(\d+)/.exec(t);
    if (m === null || Number(m[1]) === rec.pid) out.push(t);
  }
  return out;
}

function failureOf(run: SubjectRun, rec: CallRecord, base: CallRecord | undefined): FirstFailure {
  const f: FirstFailure = {
    pid: rec.pid,
    seq: rec.seq,
    step: rec.step,
    call: rec.call,
    result: formatResult(rec.result),
    base: base === undefined ? null : formatResult(base.result),
    kind: rec.kind,
    next: nextOf(run, rec),
  };
  if (rec.line !== undefined) f.line = rec.line;
  return f;
}

/**
 * Compare `run` (one policy) with `base` (the same subject under `none`). For `none`
 * itself pass the same run twice: its status then says whether the subject works at all
 * in the model (every scenario step accepted; every log call as recorded).
 */
export function compareRuns(base: SubjectRun, run: SubjectRun): PolicyImpact {
  const impact: PolicyImpact = {
    subject: run.subject,
    type: run.type,
    policy: run.policy,
    status: "ok",
    ok: true,
    first_failure: null,
    first_per_task: [],
    changed: [],
    by_kind: {},
    counts: { calls: run.calls.length, same: 0, changed: 0, unknown: 0, not_run: 0, unsupported: 0 },
    notes: [...(run.notes ?? [])],
  };
  if (run.error !== undefined || base.error !== undefined) {
    impact.status = "error";
    impact.ok = false;
    impact.notes.push(run.error ?? `under none: ${base.error}`);
    return impact;
  }
  const unknown: PageRange[] = [];
  const firstByTask = new Map<number, FirstFailure>();
  const n = Math.max(base.calls.length, run.calls.length);
  for (let i = 0; i < n; i++) {
    const b = base.calls[i];
    const r = run.calls[i];
    if (r !== undefined && "unsupported" in r.result) impact.counts.unsupported++;
    if (r === undefined) {
      impact.counts.not_run++;
      continue;
    }
    let status: CallStatus;
    if (b === undefined) status = "unknown";
    else if (overlaps(r.touched, unknown) || overlaps(b.touched, unknown)) status = "unknown";
    else status = sameResult(b.result, r.result) ? "same" : "changed";
    if (status === "same") {
      impact.counts.same++;
      continue;
    }
    unknown.push(...r.touched, ...(b?.touched ?? []));
    if (status === "unknown") impact.counts.unknown++;
    else {
      impact.counts.changed++;
      impact.by_kind[r.kind] = (impact.by_kind[r.kind] ?? 0) + 1;
      if (!firstByTask.has(r.pid)) firstByTask.set(r.pid, failureOf(run, r, b));
    }
    const c: ComparedCall = {
      seq: r.seq,
      pid: r.pid,
      step: r.step,
      call: r.call,
      kind: r.kind,
      base: b === undefined ? null : formatResult(b.result),
      result: formatResult(r.result),
      status,
    };
    if (r.line !== undefined) c.line = r.line;
    impact.changed.push(c);
  }
  impact.first_per_task = [...firstByTask.values()];
  decideStatus(impact, base, run);
  return impact;
}

/** ok / breaks / unsupported / mismatch, and the first failure that decides it. */
function decideStatus(impact: PolicyImpact, base: SubjectRun, run: SubjectRun): void {
  if (run.type === "scenario") {
    // A scenario's program checks its own results: it works iff it never stopped.
    const stop = run.calls.find((c) => !c.accepted);
    if (stop === undefined) return;
    impact.ok = false;
    impact.status = "unsupported" in stop.result ? "unsupported" : "breaks";
    impact.first_failure = failureOf(run, stop, base.calls[stop.seq]);
    return;
  }
  // A log: under `none` the recorded results are the truth; under a policy, a result that
  // differs from `none` is where the program's real behaviour would change.
  if (base === run) {
    const miss = run.calls.find((c) => c.recorded !== undefined && !("unsupported" in c.result) && !sameResult(c.recorded, c.result));
    if (miss === undefined) {
      notModeled(impact);
      return;
    }
    impact.ok = false;
    impact.status = "mismatch";
    impact.first_failure = failureOf(run, miss, undefined);
    impact.first_failure.base = miss.recorded === undefined ? null : formatResult(miss.recorded);
    impact.notes.push("the model differs from the recorded kernel result here: a model bug, not a policy effect");
    return;
  }
  const first = impact.first_per_task.sort((a, b) => a.seq - b.seq)[0];
  if (first === undefined) {
    notModeled(impact);
    return;
  }
  impact.ok = false;
  impact.status = "breaks";
  impact.first_failure = first;
  impact.notes.push("after this call the program's real behaviour is unknown (it would see an error it never saw when recorded)");
}

/**
 * The share of a log's calls the model must run for its answer to count (issue 4's target:
 * at least 99 % of memory calls modeled). Below it the log is `unsupported`, not `ok`.
 */
export const MODELED_SHARE = 0.99;

/** A log whose calls the model mostly could not run says nothing: unsupported, not ok. */
function notModeled(impact: PolicyImpact): void {
  const { calls, unsupported } = impact.counts;
  if (unsupported === 0 || calls - unsupported >= MODELED_SHARE * calls) return;
  impact.ok = false;
  impact.status = "unsupported";
  impact.notes.push(`${unsupported} of ${calls} calls are not modeled (need ${MODELED_SHARE * 100} %)`);
}

/** Run a scenario under a policy, on a fresh kernel. */
export function runScenario(s: Scenario, policy: SealPolicy, resolver: Resolver): SubjectRun {
  const files = s.files ?? {};
  const composed: Resolver = (path) => files[path] ?? resolver(path);
  const kernel = makeKernel(policy, composed);
  const notes = hasExecve(kernel) ? [] : [REFERENCE_LAYOUT_NOTE];
  try {
    return { subject: s.name, type: "scenario", policy: policy.name, calls: s.run(kernel, { policy, resolver: composed }), notes };
  } catch (e) {
    return { subject: s.name, type: "scenario", policy: policy.name, calls: [], error: e instanceof Error ? e.message : String(e) };
  }
}

/** Changed calls grouped by mapping kind, in KIND_ORDER. */
export function groupByKind(impact: PolicyImpact): Array<{ kind: MappingKind; calls: ComparedCall[] }> {
  return KIND_ORDER.map((kind) => ({ kind, calls: impact.changed.filter((c) => c.status === "changed" && c.kind === kind) })).filter(
    (g) => g.calls.length > 0,
  );
}

/** How a log is named in reports: its file name, or DIR/trace.strace for an `aspace record` directory. */
export function logSubjectName(path: string): string {
  const parts = path.split("/").filter((x) => x !== "");
  const base = parts.at(-1) ?? path;
  return base === "trace.strace" && parts.length > 1 ? `${parts.at(-2)}/${base}` : base;
}

/** Runs one recorded log under one policy through the replayer. */
export type LogRunner = (path: string, policy: SealPolicy, resolver: Resolver) => Promise<SubjectRun>;

/** A result as strace prints it ("0x7ffff7fc8000", "0", "-1 EPERM (Operation not permitted)"). */
export function resultFromText(text: string): CallResult {
  const e = /^-1 (E[A-Z0-9]+)/.exec(text);
  if (e !== null) return { errno: 0, name: e[1] as string };
  const v = /^(0x[0-9a-f]+|\d+)/.exec(text);
  if (v !== null) return { ret: BigInt(v[1] as string) };
  return { unsupported: `result '${text}' is not a number or an errno` };
}

/** The top-level arguments of an strace argument list (commas inside {} [] () "" stay). */
function splitTop(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === "\\") {
        cur += c + (text[i + 1] ?? "");
        i++;
        continue;
      }
      if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "{" || c === "[" || c === "(" || c === "<") depth++;
    else if (c === "}" || c === "]" || c === ")" || c === ">") depth--;
    else if (c === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
      continue;
    }
    cur += c;
  }
  if (cur.trim() !== "") out.push(cur.trim());
  return out;
}

/** A numeric argument as strace prints it (NULL, hex, decimal); null if symbolic. */
function wordOf(a: string | undefined): bigint | null {
  if (a === undefined) return null;
  if (a === "NULL") return 0n;
  const m = /^(-?)(0x[0-9a-f]+|\d+)$/.exec(a);
  if (m === null) return null;
  const v = BigInt(m[2] as string);
  return m[1] === "-" ? BigInt.asUintN(64, -v) : v;
}

/** The words kinds.ts needs from a logged call: numbers, and the FIXED flags by name. */
function wordsOf(name: string, argsText: string): bigint[] {
  const a = splitTop(argsText);
  const w = a.map((x) => wordOf(x) ?? 0n);
  if (name === "mmap" && a[3] !== undefined && wordOf(a[3]) === null) w[3] = /MAP_FIXED/.test(a[3]) ? 0x10n : 0n;
  if (name === "mremap" && a[3] !== undefined && wordOf(a[3]) === null) w[3] = /MREMAP_FIXED/.test(a[3]) ? 2n : 0n;
  return w;
}

const VMA_KIND: Record<string, MappingKind> = {
  vdso: "vdso",
  vvar: "vvar",
  vvar_vclock: "vvar",
  sigpage: "sigpage",
  vectors: "vectors",
  uprobes: "uprobes",
  "user-sealed": "user-sealed",
};

/** One replayed call as a CallRecord of the study (ranges from its arguments and result). */
export function fromReplayRecord(r: ReplayCallRecord, seq: number): CallRecord {
  const words = wordsOf(r.name, r.args);
  const result: CallResult = r.predicted === null ? { unsupported: r.reason ?? "not modeled" } : resultFromText(r.predicted);
  const touched: PageRange[] = [...argRanges(r.name, words)];
  if ("ret" in result) {
    const after = resultRange(r.name, words, result.ret);
    if (after !== null) touched.push(after);
  }
  const kind = VMA_KIND[r.vmaKind ?? ""] ?? "ordinary";
  return {
    seq,
    pid: r.pid ?? 0,
    name: r.name,
    call: `${r.name}(${r.args})`,
    result,
    kind,
    kinds: [kind],
    touched,
    step: `line ${r.line}`,
    line: r.line,
    recorded: resultFromText(r.recorded),
    accepted: true,
  };
}

/** Replay `path` under `policy`; every call the replayer looked at becomes a CallRecord. */
export const runLog: LogRunner = async (path, policy, resolver) => {
  const calls: CallRecord[] = [];
  const subject = logSubjectName(path);
  try {
    // `aspace record` writes bundle.json beside the log: what replay needs when files differ.
    const beside = join(dirname(path), "bundle.json");
    const bundle = existsSync(beside) ? readBundle(beside) : null;
    await replayLog(path, { policy, resolver, bundle, onCall: (r) => calls.push(fromReplayRecord(r, calls.length)) });
  } catch (e) {
    if (e instanceof NotAStraceLogError) throw e;
    return { subject, type: "log", policy: policy.name, calls, error: e instanceof Error ? e.message : String(e) };
  }
  return { subject, type: "log", policy: policy.name, calls, lineText: lazyLines(path) };
};

/** Logs larger than this are not read again for context lines (they stream through replay). */
const CONTEXT_MAX_BYTES = 64 * 1024 * 1024;

/** The log's lines by number, read on first use (only when a failure needs context). */
function lazyLines(path: string): (line: number) => string | undefined {
  let lines: string[] | null = null;
  return (n) => {
    if (lines === null) {
      try {
        lines = statSync(path).size <= CONTEXT_MAX_BYTES ? readFileSync(path, "utf8").split("\n") : [];
      } catch {
        lines = [];
      }
    }
    return lines[n - 1];
  };
}

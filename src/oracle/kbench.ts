// The kbench trace: 1,000,000 address-space operations recorded on the live kernel
// (../shared/traces/kbench/README.md). runOps() replays such a trace through the model,
// reports every result that differs from the kernel's, and compares the final arena maps
// and VmFlags/Rss with the kernel's. parseTrace()/replayParsed() are split so that the
// benchmark can time the model alone.

import { FdTable } from "../kernel/fs/fdtable.js";
import { userAccess } from "../kernel/mm/access.js";
import { makeConfig } from "../kernel/mm/config.js";
import { REFERENCE_ROOT } from "../kernel/mm/creds.js";
import { sysMadvise } from "../kernel/mm/madvise.js";
import { Mm } from "../kernel/mm/mm.js";
import { sysMmap } from "../kernel/mm/mmap.js";
import { sysMprotect } from "../kernel/mm/mprotect.js";
import { sysMremap } from "../kernel/mm/mremap.js";
import { sysMseal } from "../kernel/mm/mseal.js";
import { sysMunmap } from "../kernel/mm/munmap.js";
import { DEFAULT_RLIMITS } from "../kernel/mm/rlimits.js";
import { mapsLine, smapsCounters, vmFlagNames } from "../kernel/procfs/maps.js";
import { legacyBaseFor, mmapBaseFor } from "../kernel/task/layout.js";
import { errnoByName, errnoName } from "../kernel/uapi/errno.js";
import {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_READ,
  PROT_WRITE,
} from "../kernel/uapi/mman.js";

export class TraceFormatError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = "TraceFormatError";
  }
}

export const OP_MMAP = 0;
export const OP_MUNMAP = 1;
export const OP_MPROTECT = 2;
export const OP_MSEAL = 3;
export const OP_MREMAP = 4;
export const OP_MADVISE = 5;
export const OP_TOUCH = 6;
const OP_NAMES = ["mmap", "munmap", "mprotect", "mseal", "mremap", "madvise", "touch"];

/** Expected results: ≥ 0 a value, < 0 −errno, SEGV a fault. */
const RET_SEGV = -1000;

export interface ParsedTrace {
  count: number;
  op: Uint8Array;
  off: Float64Array;
  len: Float64Array;
  prot: Uint8Array;
  arg: Float64Array;
  ret: Float64Array;
  line: Uint32Array;
  arenaBytes: number;
}

const PROTS: Record<string, number> = { NONE: 0, R: PROT_READ, RW: PROT_READ | PROT_WRITE, "-": 0 };

function hexField(s: string, line: number, what: string): number {
  if (!/^-?0x[0-9a-fA-F]+$|^-?[0-9]+$/.test(s)) throw new TraceFormatError(`bad ${what} '${s}'`, line);
  const neg = s.startsWith("-");
  const v = Number.parseInt(neg ? s.slice(1) : s, s.includes("0x") ? 16 : 10);
  if (!Number.isSafeInteger(v)) throw new TraceFormatError(`${what} out of range '${s}'`, line);
  return neg ? -v : v;
}

/** Parse the text of a kbench trace (header lines start with '#'). */
export function parseTrace(text: string): ParsedTrace {
  const lines = text.split("\n");
  let cap = lines.length;
  const t: ParsedTrace = {
    count: 0,
    op: new Uint8Array(cap),
    off: new Float64Array(cap),
    len: new Float64Array(cap),
    prot: new Uint8Array(cap),
    arg: new Float64Array(cap),
    ret: new Float64Array(cap),
    line: new Uint32Array(cap),
    arenaBytes: 0x8000000,
  };
  let sawHeader = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const ln = i + 1;
    if (raw === "") continue;
    if (raw.startsWith("#")) {
      sawHeader = true;
      const m = /arena: (0x[0-9a-f]+) bytes/.exec(raw);
      if (m) t.arenaBytes = Number.parseInt(m[1], 16);
      continue;
    }
    if (!sawHeader) throw new TraceFormatError("missing '# kbench trace' header", ln);
    const f = raw.trim().split(/\s+/);
    if (f.length !== 7) throw new TraceFormatError(`expected 7 columns, got ${f.length}`, ln);
    const op = OP_NAMES.indexOf(f[0]);
    if (op < 0) throw new TraceFormatError(`unknown op '${f[0]}'`, ln);
    const n = t.count++;
    t.op[n] = op;
    t.off[n] = hexField(f[1], ln, "offset");
    t.len[n] = hexField(f[2], ln, "length");
    const prot = PROTS[f[3]];
    if (prot === undefined) throw new TraceFormatError(`bad prot '${f[3]}'`, ln);
    t.prot[n] = prot;
    t.arg[n] = op === OP_MREMAP ? hexField(f[5], ln, "new offset") : 0;
    const r = f[6];
    if (r === "SEGV") t.ret[n] = RET_SEGV;
    else if (r.startsWith("-E")) {
      const e = errnoByName(r.slice(1));
      if (e === undefined) throw new TraceFormatError(`unknown errno '${r}'`, ln);
      t.ret[n] = -e;
    } else t.ret[n] = hexField(r, ln, "result");
    t.line[n] = ln;
  }
  if (!sawHeader) throw new TraceFormatError("empty trace (no header)", 1);
  void cap;
  cap = 0;
  return t;
}

/** The arena base the trace was recorded at (its maps header), so addresses line up. */
export const DEFAULT_ARENA_BASE = 0x7f4db7e07000;

/** Set up the recorded initial state: arena VMA flanked by NORESERVE guards. */
export function setupArena(base: number, arenaBytes: number): { mm: Mm; files: FdTable } {
  const cfg = makeConfig();
  const mm = new Mm(cfg, REFERENCE_ROOT, { ...DEFAULT_RLIMITS }, mmapBaseFor(cfg, DEFAULT_RLIMITS.stack), legacyBaseFor(cfg));
  const files = new FdTable();
  const anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
  sysMmap(mm, files, base, arenaBytes, 0, anon, -1 >>> 0, 0);
  sysMmap(mm, files, base - 4096, 4096, 0, anon | MAP_NORESERVE, -1 >>> 0, 0);
  sysMmap(mm, files, base + arenaBytes, 4096, 0, anon | MAP_NORESERVE, -1 >>> 0, 0);
  return { mm, files };
}

/** Run op `i` of the trace on the model: the result in the trace's encoding. */
export function runOne(mm: Mm, files: FdTable, base: number, t: ParsedTrace, i: number): number {
  const a = base + t.off[i];
  const len = t.len[i];
  let r: number;
  switch (t.op[i]) {
    case OP_MMAP:
      r = sysMmap(mm, files, a, len, t.prot[i], MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, 0xffffffff, 0);
      return r < 0 ? r : r - base;
    case OP_MUNMAP:
      return sysMunmap(mm, a, len);
    case OP_MPROTECT:
      return sysMprotect(mm, a, len, t.prot[i]);
    case OP_MSEAL:
      return sysMseal(mm, a, len, 0);
    case OP_MREMAP:
      r = sysMremap(mm, a, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, base + t.arg[i]);
      return r < 0 ? r : r - base;
    case OP_MADVISE:
      return sysMadvise(mm, a, len, MADV_DONTNEED);
    default: {
      const res = userAccess(mm, a, len, "touch");
      return res.ok ? 0 : RET_SEGV;
    }
  }
}

export interface Mismatch {
  line: number;
  op: string;
  kernel: string;
  model: string;
}

function showRet(r: number): string {
  if (r === RET_SEGV) return "SEGV";
  if (r < 0) return `-${errnoName(-r)}`;
  return r === 0 ? "0" : `0x${r.toString(16)}`;
}

function opText(t: ParsedTrace, i: number): string {
  const h = (n: number) => `0x${n.toString(16)}`;
  const name = OP_NAMES[t.op[i]];
  return t.op[i] === OP_MREMAP
    ? `${name} ${h(t.off[i])} ${h(t.len[i])} -> ${h(t.arg[i])}`
    : `${name} ${h(t.off[i])} ${h(t.len[i])} prot=${t.prot[i]}`;
}

/** Replay a parsed trace on a fresh arena; returns the mm and the mismatching ops. */
export function replayParsed(
  t: ParsedTrace,
  opts: { base?: number; maxMismatches?: number } = {},
): { mm: Mm; mismatches: number; first: Mismatch[] } {
  const base = opts.base ?? DEFAULT_ARENA_BASE;
  const { mm, files } = setupArena(base, t.arenaBytes);
  const keep = opts.maxMismatches ?? 20;
  let mismatches = 0;
  const first: Mismatch[] = [];
  for (let i = 0; i < t.count; i++) {
    const r = runOne(mm, files, base, t, i);
    if (r !== t.ret[i]) {
      mismatches++;
      if (first.length < keep) first.push({ line: t.line[i], op: opText(t, i), kernel: showRet(t.ret[i]), model: showRet(r) });
    }
  }
  return { mm, mismatches, first };
}

/** The model's maps lines covering the arena and its guards. */
export function arenaMaps(mm: Mm, base: number, arenaBytes: number): string[] {
  const lo = Math.floor(base / 4096) - 1;
  const hi = Math.floor((base + arenaBytes) / 4096) + 1;
  return mm.tree.range(lo, hi).map((v) => mapsLine(mm, v));
}

/** The model's per-VMA "start end perms rss_kB VmFlags" lines, as offsets (mixed-1M.vmflags format). */
export function arenaVmflags(mm: Mm, base: number, arenaBytes: number): string[] {
  const lo = Math.floor(base / 4096) - 1;
  const hi = Math.floor((base + arenaBytes) / 4096) + 1;
  const off = (p: number) => {
    const d = p * 4096 - base;
    return d < 0 ? `-0x${(-d).toString(16)}` : `0x${d.toString(16)}`;
  };
  return mm.tree.range(lo, hi).map((v) => {
    const perms = mapsLine(mm, v).split(" ")[1];
    return `${off(v.start)} ${off(v.end)} ${perms} ${smapsCounters(mm, v).rssKb} ${vmFlagNames(v)
      .map((n) => `${n} `)
      .join("")}`;
  });
}

export interface RunOpsReport {
  ops: number;
  mismatches: number;
  maps_equal: boolean | null;
  vmflags_equal: boolean | null;
  seconds: number;
  first_mismatches: Mismatch[];
  maps_diff: string[];
  maps: string;
}

function firstDiff(a: string[], b: string[], label: string): string[] {
  const out: string[] = [];
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n && out.length < 10; i++) {
    if (a[i] !== b[i]) out.push(`${label} line ${i + 1}: kernel '${a[i] ?? "(none)"}' model '${b[i] ?? "(none)"}'`);
  }
  if (a.length !== b.length) out.push(`${label}: kernel has ${a.length} lines, model ${b.length}`);
  return out;
}

/**
 * runOps(text, {expectedMaps, expectedVmflags}): replay and compare. The expected files
 * are the kernel's (mixed-1M.maps with its arena_base header, mixed-1M.vmflags).
 */
export function runOps(text: string, opts: { expectedMaps?: string; expectedVmflags?: string } = {}): RunOpsReport {
  const t = parseTrace(text);
  let base = DEFAULT_ARENA_BASE;
  let kernelMaps: string[] | null = null;
  if (opts.expectedMaps !== undefined) {
    const m = /arena_base (0x[0-9a-f]+)/.exec(opts.expectedMaps);
    if (m) base = Number.parseInt(m[1], 16);
    kernelMaps = opts.expectedMaps.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  }
  const t0 = performance.now();
  const { mm, mismatches, first } = replayParsed(t, { base });
  const seconds = (performance.now() - t0) / 1000;
  const maps = arenaMaps(mm, base, t.arenaBytes);
  const diff: string[] = [];
  let mapsEqual: boolean | null = null;
  if (kernelMaps !== null) {
    const d = firstDiff(kernelMaps, maps, "maps");
    mapsEqual = d.length === 0;
    diff.push(...d);
  }
  let vmflagsEqual: boolean | null = null;
  if (opts.expectedVmflags !== undefined) {
    const k = opts.expectedVmflags.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    const d = firstDiff(k, arenaVmflags(mm, base, t.arenaBytes), "vmflags");
    vmflagsEqual = d.length === 0;
    diff.push(...d);
  }
  return {
    ops: t.count,
    mismatches,
    maps_equal: mapsEqual,
    vmflags_equal: vmflagsEqual,
    seconds,
    first_mismatches: first,
    maps_diff: diff,
    maps: `${maps.join("\n")}\n`,
  };
}

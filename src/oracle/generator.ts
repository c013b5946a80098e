// Seeded random programs for differential testing (aspace conform): op lines in the executor's
// language (docs/executor-protocol.md) over the whole address-space syscall surface.
//
// Arena mode (the default) fences an arena at ARENA with PROT_NONE guard VMAs and aims most
// addresses into it, with some absolute odd values (0, unaligned, beyond TASK_SIZE, huge).
// Whole mode additionally aims at the executor's real layout: [vdso], [vvar], [vvar_vclock],
// [vsyscall], the heap and the gaps near the mmap base and below the stack.
//
// The one hard rule: a program must not destroy the executor child that runs it. Ops that
// could unmap, remap, re-protect, discard or overwrite the executor's own text/data/bss/stack
// or the heap below the initial break are filtered out (endangersExecutor) and drawn again.
// [vdso]/[vvar] are fair game: the executor makes raw syscalls and never calls the vDSO.
//
// File paths are written as `$DIR/fN`; the runner substitutes a fresh directory per run
// (materialize), so that every run creates its own files.

import { parseMapsLine } from "../kernel/procfs/parse.js";
import type { ExecResult, Program } from "./executor.js";

export const ARENA = 0x200000000n;
export const DIR_TOKEN = "$DIR";
const PAGE = 4096n;
const TASK_SIZE = 0x7ffffffff000n;
const TWO64 = 1n << 64n;
const VSYSCALL = 0xffffffffff600000n;

// ---------------------------------------------------------------------------------------------
// PRNG: mulberry32, deterministic across platforms.

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)] as T;
  }
  /** A key of `w` with probability proportional to its weight. */
  weighted<K extends string>(w: Readonly<Record<K, number>>): K {
    const keys = Object.keys(w) as K[];
    let total = 0;
    for (const k of keys) total += w[k];
    let x = this.next() * total;
    for (const k of keys) {
      x -= w[k];
      if (x < 0) return k;
    }
    return keys[keys.length - 1] as K;
  }
}

/** The seed of program `index` of a run seeded `seed` (a splitmix-style hash). */
export function programSeed(seed: number, index: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// What the generator knows about the executor child's layout.

export interface Range {
  start: bigint;
  end: bigint;
}

export interface GenTargets {
  startBrk: bigint;
  /** The break at program start; the heap below it holds the executor's TLS. */
  brk: bigint;
  /** The executor's own VMAs (file, .bss, heap below the initial break, stack). */
  protectedRanges: Range[];
  /** [vdso], [vvar], [vvar_vclock]: whole-mode targets. */
  specials: Range[];
  stack: Range;
  /** Lowest special mapping: top-down mmaps land just below it. */
  mmapTop: bigint;
  /** The host has CONFIG_MEMORY_FAILURE: MADV_HWPOISON/SOFT_OFFLINE would poison or migrate
   *  real pages, so they are not generated. */
  memoryFailure: boolean;
  /** The executor binary's path (its first maps line), if known: --procs opens it read-only
   *  (never truncates it) for PR_SET_MM_MAP's exe_fd. */
  exePath?: string;
}

const SPECIAL = new Set(["[vdso]", "[vvar]", "[vvar_vclock]"]);

export function targetsFromExec(init: ExecResult, opts: { memoryFailure: boolean }): GenTargets {
  const protectedRanges: Range[] = [];
  const specials: Range[] = [];
  let stack: Range | null = null;
  for (const line of init.initMaps) {
    const m = parseMapsLine(line);
    if (m.start >= 1n << 47n) continue; // [vsyscall]: not a VMA anything can change
    const r = { start: m.start, end: m.end };
    if (SPECIAL.has(m.name)) specials.push(r);
    else protectedRanges.push(r);
    if (m.name === "[stack]") stack = r;
  }
  if (stack === null) throw new Error("the executor's initial maps has no [stack]");
  let mmapTop = stack.start;
  for (const r of specials) if (r.start < mmapTop) mmapTop = r.start;
  const first = init.initMaps[0] === undefined ? null : parseMapsLine(init.initMaps[0]).name;
  const exePath = first?.startsWith("/") && !/\s/.test(first) ? { exePath: first } : {};
  return {
    startBrk: init.info.startBrk,
    brk: init.info.brk,
    protectedRanges,
    specials,
    stack,
    mmapTop,
    memoryFailure: opts.memoryFailure,
    ...exePath,
  };
}

// ---------------------------------------------------------------------------------------------
// The executor's safety: which ops could kill it.

/** An op; `proc` 1 is run by the peer (printed with the "@1" prefix). String args are tokens
 *  (paths, "%0"/"%1" pids). */
type Op = { name: string; args: Array<bigint | string>; proc?: 0 | 1 };

const pageAlign = (x: bigint) => ((x + PAGE - 1n) / PAGE) * PAGE;
const pageDown = (x: bigint) => x - (x % PAGE);

function intersectsAny(rs: readonly Range[], start: bigint, end: bigint): boolean {
  return rs.some((r) => start < r.end && end > r.start);
}

/** The range an op may change, or null when the kernel refuses it before touching anything
 *  (lengths that wrap past 2^64 or exceed TASK_SIZE). Conservative: [page(start), start+len). */
function touchedRange(start: bigint, len: bigint): Range | null {
  const aligned = pageAlign(len);
  if (len !== 0n && (aligned === 0n || aligned >= TWO64)) return null; // PAGE_ALIGN wrapped
  if (start + aligned >= TWO64) return null; // end <= start: EINVAL/ENOMEM
  return { start: pageDown(start), end: start + (len === 0n ? 1n : len) };
}

const DESTRUCTIVE_ADVICE = new Set([4n, 8n, 9n, 24n, 100n, 101n, 102n]); // DONTNEED FREE REMOVE DONTNEED_LOCKED HWPOISON SOFT_OFFLINE GUARD_INSTALL
const MAP_FIXED = 0x10n;
const MAP_FIXED_NOREPLACE = 0x100000n;
const MREMAP_FIXED = 2n;

/** Could this op unmap, move, re-protect, discard or overwrite the executor's own memory? */
export function endangersExecutor(op: Op, t: GenTargets): boolean {
  // As the executor will read them: u64 words (formatOp wraps the same way).
  const a = op.args.map((x) => (typeof x === "bigint" ? BigInt.asUintN(64, x) : 0n));
  // munmap/mprotect/madvise/mmap(MAP_FIXED) refuse a range that wraps past 2^64 up front.
  const hits = (start: bigint, len: bigint) => {
    const r = touchedRange(start, len);
    return r !== null && intersectsAny(t.protectedRanges, r.start, r.end);
  };
  // Accesses and mremap get no such check: a wrapping range is taken as everything above start.
  const hitsUnchecked = (start: bigint, len: bigint) => {
    const end = start + (len === 0n ? 1n : len);
    return intersectsAny(t.protectedRanges, pageDown(start), end < TWO64 ? end : TWO64);
  };
  switch (op.name) {
    case "munmap":
    case "mprotect":
    case "pkey_mprotect":
      return hits(a[0] as bigint, a[1] as bigint);
    case "write":
      return hitsUnchecked(a[0] as bigint, a[1] as bigint);
    case "poke":
      return hitsUnchecked(a[0] as bigint, 8n);
    case "memwrite": // FOLL_FORCE: it writes read-only text too
      return hitsUnchecked(a[1] as bigint, a[2] as bigint);
    case "madvise":
      return DESTRUCTIVE_ADVICE.has(a[2] as bigint) && hits(a[0] as bigint, a[1] as bigint);
    case "mmap": {
      const flags = a[3] as bigint;
      // MAP_FIXED replaces what is there; with FIXED_NOREPLACE it fails with EEXIST instead.
      return (flags & MAP_FIXED) !== 0n && (flags & MAP_FIXED_NOREPLACE) === 0n && hits(a[0] as bigint, a[1] as bigint);
    }
    case "mremap": {
      const [old, oldLen, newLen, flags, dst] = a as [bigint, bigint, bigint, bigint, bigint];
      if (hitsUnchecked(old, oldLen)) return true;
      return (flags & MREMAP_FIXED) !== 0n && hitsUnchecked(dst, newLen);
    }
    case "brk": {
      // Never shrink below the initial break: the heap below it holds the executor's TLS
      // (static glibc), and losing it kills the child. Values below start_brk are refused
      // by the kernel and harmless.
      const v = a[0] as bigint;
      return v >= t.startBrk && pageAlign(v) < pageAlign(t.brk);
    }
    case "close":
      return (a[0] as bigint) >= 100n; // the executor's report goes through fd 100
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting.

function num(x: bigint): string {
  const v = BigInt.asUintN(64, x);
  if (v >= TWO64 - 0x100000n) return `-${TWO64 - v}`;
  if (v < 256n) return v.toString();
  return `0x${v.toString(16)}`;
}

function formatOp(op: Op): string {
  const line = [op.name, ...op.args.map((x) => (typeof x === "string" ? x : num(x)))].join(" ");
  return op.proc === 1 ? `@1 ${line}` : line;
}

/** Substitutes the program's file directory. */
export function materialize(ops: readonly string[], dir: string): string[] {
  return ops.map((o) => o.split(DIR_TOKEN).join(dir));
}

// ---------------------------------------------------------------------------------------------
// The generator.

export interface GenOptions {
  seed: number;
  ops: number;
  whole?: boolean;
  /** Fork a peer early and mix prctl, process_vm_readv/writev, pidfd_open, process_madvise
   *  and /proc/PID/mem ops into both processes' programs (procs.ts). */
  procs?: boolean;
  targets: GenTargets;
}

const ODD_ADDRS: readonly bigint[] = [
  0n,
  1n,
  0xfffn,
  0x1000n,
  0x10000n,
  0x7fffn,
  TASK_SIZE - PAGE,
  TASK_SIZE,
  1n << 47n,
  VSYSCALL,
  TWO64 - PAGE,
  TWO64 - 1n,
  1n << 63n,
  0xffff800000000000n,
];
// Odd lengths either fail up front (above TASK_SIZE, wrapping) or are tiny: a length that
// succeeded and got populated (MAP_POPULATE, mlockall) could eat the machine's memory.
const ODD_LENS: readonly bigint[] = [0n, 1n, 0xfffn, 0x1001n, TWO64 - 1n, TWO64 - PAGE, 1n << 63n, TASK_SIZE, 1n << 47n];
const OUTSIDE_HINTS: readonly bigint[] = [0x100000000n, 0x300000000n, 0x7f0000000000n, 0x40000000n, 0x1000n, 0x10000n, 0x80000000n];
const ADVICE: readonly bigint[] = [
  0n,
  1n,
  2n,
  3n,
  4n,
  8n,
  9n,
  10n,
  11n,
  12n,
  13n,
  14n,
  15n,
  16n,
  17n,
  18n,
  19n,
  20n,
  21n,
  22n,
  23n,
  24n,
  25n,
  100n,
  101n,
  102n,
  103n,
  5n,
  6n,
  7n,
  26n,
  99n,
  104n,
  TWO64 - 1n,
];
const OP_WEIGHTS = {
  mmap: 22,
  munmap: 8,
  mprotect: 8,
  pkey: 2,
  mremap: 10,
  madvise: 12,
  mseal: 3,
  brk: 3,
  mlock: 5,
  msync: 2,
  open: 4,
  close: 1,
  touch: 8,
  rtouch: 3,
  write: 4,
  read: 4,
} as const;

export class Gen {
  readonly rng: Rng;
  readonly arenaPages: number;
  /** Open fds as the kernel allocates them (lowest free); 0-2 and the report fd are taken. */
  protected fds = new Set<number>([0, 1, 2, 100]);
  protected mine: number[] = [];
  private files = 0;

  constructor(
    readonly opts: GenOptions,
    readonly t: GenTargets,
  ) {
    this.rng = new Rng(opts.seed);
    this.arenaPages = this.rng.int(256, 1024);
  }

  get arenaEnd(): bigint {
    return ARENA + BigInt(this.arenaPages) * PAGE;
  }

  /** Guard VMAs around the arena keep merges and searches inside it. */
  setup(): Op[] {
    const guard = 0x4032n; // MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_NORESERVE
    return [
      { name: "mmap", args: [ARENA - PAGE, PAGE, 0n, guard, -1n, 0n] },
      { name: "mmap", args: [this.arenaEnd, PAGE, 0n, guard, -1n, 0n] },
    ];
  }

  // --- values ---

  arenaPage(): bigint {
    return ARENA + BigInt(this.rng.int(-2, this.arenaPages + 1)) * PAGE;
  }

  /** Whole-mode targets in the real layout. */
  layoutAddr(): bigint {
    const r = this.rng;
    switch (r.int(0, 6)) {
      case 0: {
        const s = r.pick(this.t.specials);
        return s.start + BigInt(r.int(0, Number((s.end - s.start) / PAGE))) * PAGE;
      }
      case 1:
        return VSYSCALL;
      case 2:
        return pageAlign(this.t.brk) + BigInt(r.int(-1, 8)) * PAGE;
      case 3:
        return this.t.mmapTop - BigInt(r.int(1, 64)) * PAGE;
      case 4:
        return this.t.stack.start - BigInt(r.int(1, 300)) * PAGE; // in and below the guard gap
      case 5:
        return this.t.startBrk;
      default:
        return BigInt(r.int(0x10, 0x3ff)) * PAGE; // below the executable
    }
  }

  addr(): bigint {
    const r = this.rng;
    if (this.opts.whole && r.chance(0.3)) return this.layoutAddr();
    const x = r.next();
    if (x < 0.8) return this.arenaPage();
    if (x < 0.87) return this.arenaPage() + BigInt(r.int(1, 4095));
    return r.pick(ODD_ADDRS);
  }

  pages(max: number): bigint {
    return BigInt(this.rng.int(1, max)) * PAGE;
  }

  len(): bigint {
    const r = this.rng;
    const x = r.next();
    if (x < 0.6) return this.pages(8);
    if (x < 0.75) return this.pages(this.arenaPages);
    if (x < 0.8) return BigInt(r.int(1, 2)) * 0x200000n;
    if (x < 0.9) return this.pages(8) + r.pick([1n, -1n, 0xfffn, -0xfffn]);
    return r.pick(ODD_LENS);
  }

  prot(): bigint {
    const r = this.rng;
    const x = r.next();
    if (x < 0.85) return BigInt(r.pick([0, 1, 3, 3, 3, 4, 5, 7, 2, 6]));
    if (x < 0.9) return BigInt(r.pick([1, 3])) | 0x8n; // PROT_SEM
    if (x < 0.95) return BigInt(r.pick([1, 3, 0])) | r.pick([0x01000000n, 0x02000000n]); // GROWSDOWN/UP
    return r.pick([0x10n, 0x80000000n, TWO64 - 1n, 0x100000003n]);
  }

  // --- ops ---

  mmap(): Op {
    const r = this.rng;
    const file = this.mine.length > 0 && r.chance(0.25);
    let flags = BigInt(r.weighted({ 2: 70, 1: 12, 3: 8, 8: 6, 0: 2, 15: 2 }));
    // MAP_ANONYMOUS, sometimes with a file's fd (ignored); without it and without a file of
    // ours: fd 0 (a pipe: no mmap op, ENODEV) or a closed fd. Not fds 1/2: they are sockets,
    // whose mmap op fails late (sock_no_mmap), which the model's VFS cannot describe.
    const anon = file ? r.chance(0.05) : r.chance(0.97);
    if (anon) flags |= 0x20n;
    const fixed = r.next();
    if (fixed < 0.4) flags |= MAP_FIXED;
    else if (fixed < 0.5) flags |= MAP_FIXED_NOREPLACE;
    else if (fixed < 0.53) flags |= MAP_FIXED | MAP_FIXED_NOREPLACE;
    const extra: Array<[number, bigint]> = [
      [0.05, 0x100n], // GROWSDOWN
      [0.05, 0x20000n], // STACK
      [0.1, 0x4000n], // NORESERVE
      [0.1, 0x8000n], // POPULATE
      [0.05, 0x2000n], // LOCKED
      [0.03, 0x40n], // 32BIT
      [0.02, 0x10000n], // NONBLOCK
      [0.02, 0x40000n], // HUGETLB
      [0.02, 0x80000n], // SYNC
      [0.01, 0x4000000n], // UNINITIALIZED
      [0.01, 0x80n], // ABOVE4G (ignored by mmap)
      [0.01, 1n << 32n], // junk above the u32 flags (SHARED_VALIDATE refuses it)
    ];
    for (const [p, bit] of extra) if (r.chance(p)) flags |= bit;
    const fd = file ? BigInt(r.pick(this.mine)) : anon ? (r.chance(0.95) ? -1n : BigInt(r.int(0, 4))) : r.pick([0n, 9n, -1n]);
    const off = file ? this.fileOffset() : r.chance(0.95) ? 0n : r.pick([PAGE, 1n, 1n << 62n]);
    const addr = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0n || r.chance(0.5) ? this.addr() : this.hint();
    return { name: "mmap", args: [addr, this.len(), this.prot(), flags, fd, off] };
  }

  hint(): bigint {
    const r = this.rng;
    if (r.chance(0.4)) return 0n;
    if (this.opts.whole && r.chance(0.3)) return this.layoutAddr();
    return r.chance(0.5) ? r.pick(OUTSIDE_HINTS) : this.t.mmapTop - BigInt(r.int(1, 64)) * PAGE + BigInt(r.pick([0, 0, 1, 0x800]));
  }

  fileOffset(): bigint {
    const r = this.rng;
    const x = r.next();
    if (x < 0.5) return 0n;
    if (x < 0.85) return BigInt(r.int(1, 6)) * PAGE;
    return r.pick([0x10n, 1n << 62n, TWO64 - PAGE, 1n << 44n]);
  }

  mremap(): Op {
    const r = this.rng;
    const flags = r.weighted({ 0: 20, 1: 30, 3: 25, 5: 10, 7: 6, 2: 3, 4: 3, 8: 3 });
    const oldLen = r.chance(0.05) ? 0n : this.len();
    const grow = r.next();
    let newLen: bigint;
    if (grow < 0.4) newLen = oldLen + this.pages(8);
    else if (grow < 0.6) newLen = oldLen > PAGE ? oldLen - PAGE : PAGE;
    else if (grow < 0.8) newLen = oldLen;
    else newLen = this.len();
    return { name: "mremap", args: [this.addr(), oldLen, newLen, BigInt(flags), this.addr()] };
  }

  madvise(): Op {
    const r = this.rng;
    let advice = r.pick(ADVICE);
    // Without CONFIG_MEMORY_FAILURE these are EINVAL; with it they poison real pages.
    if ((advice === 100n || advice === 101n) && this.t.memoryFailure) advice = 0n;
    if (r.chance(0.15)) advice = r.pick([102n, 103n, 22n, 23n]); // guards and populate, more often
    return { name: "madvise", args: [this.addr(), this.len(), advice] };
  }

  brk(): Op {
    const r = this.rng;
    const base = pageAlign(this.t.brk);
    const x = r.next();
    let v: bigint;
    if (x < 0.2) v = 0n;
    else if (x < 0.7) v = base + BigInt(r.int(0, 64)) * PAGE;
    else if (x < 0.85) v = base + BigInt(r.int(0, 64)) * PAGE + BigInt(r.int(1, 4095));
    // No target gigabytes away: after mlockall(MCL_FUTURE) the kernel would populate all of
    // it (a brk to the arena took longer than the executor's 5 s alarm).
    else v = r.pick([1n, this.t.startBrk - PAGE, TASK_SIZE, TWO64 - 1n, base + 0x1000000n]);
    return { name: "brk", args: [v] };
  }

  mlock(): Op {
    const r = this.rng;
    switch (r.weighted({ mlock: 30, mlock2: 25, munlock: 25, mlockall: 12, munlockall: 8 })) {
      case "mlock":
        return { name: "mlock", args: [this.addr(), this.len()] };
      case "mlock2":
        return { name: "mlock2", args: [this.addr(), this.len(), BigInt(r.pick([0, 0, 1, 1, 2, 3]))] };
      case "munlock":
        return { name: "munlock", args: [this.addr(), this.len()] };
      case "mlockall":
        return { name: "mlockall", args: [BigInt(r.pick([1, 2, 3, 5, 6, 7, 0, 4, 8]))] };
      default:
        return { name: "munlockall", args: [] };
    }
  }

  pkey(): Op {
    const r = this.rng;
    switch (r.int(0, 2)) {
      case 0:
        return { name: "pkey_mprotect", args: [this.addr(), this.len(), this.prot(), r.pick([TWO64 - 1n, 0n, 1n, 15n, 16n])] };
      case 1:
        return { name: "pkey_alloc", args: [r.pick([0n, 0n, 1n]), r.pick([0n, 1n, 2n, 3n, 4n])] };
      default:
        return { name: "pkey_free", args: [r.pick([0n, 1n, 15n, TWO64 - 1n])] };
    }
  }

  open(): Op {
    const r = this.rng;
    const fd = this.lowestFreeFd();
    this.fds.add(fd);
    this.mine.push(fd);
    if (r.chance(0.12)) return { name: "open", args: ["/dev/zero", 2n, TWO64 - 1n] };
    const oflags = BigInt(r.weighted({ 2: 60, 0: 28, 1: 6, 3: 3, 1026: 3 }));
    // A re-open (size -1) of an existing file keeps its contents and size.
    if (this.files > 0 && r.chance(0.2)) return { name: "open", args: [`${DIR_TOKEN}/f${r.int(0, this.files - 1)}`, oflags, TWO64 - 1n] };
    const size = r.pick([0n, PAGE, 2n * PAGE, 3n * PAGE, 5000n, 16n * PAGE]);
    return { name: "open", args: [`${DIR_TOKEN}/f${this.files++}`, oflags, size] };
  }

  close(): Op {
    const r = this.rng;
    const fd = this.mine.length > 0 && r.chance(0.9) ? r.pick(this.mine) : r.int(0, 9);
    this.fds.delete(fd);
    const i = this.mine.indexOf(fd);
    if (i >= 0) this.mine.splice(i, 1);
    return { name: "close", args: [BigInt(fd)] };
  }

  lowestFreeFd(): number {
    let fd = 0;
    while (this.fds.has(fd)) fd++;
    return fd;
  }

  /** Accesses: short ones (the model reads byte by byte), mostly at page starts. */
  access(name: "touch" | "rtouch" | "write" | "read"): Op {
    const r = this.rng;
    const len = name === "read" || name === "write" ? r.pick([1n, 0x10n, PAGE, 2n * PAGE, 3n * PAGE, 0n, PAGE + 1n]) : this.accessLen();
    const addr = r.chance(0.85) ? this.addr() : this.addr() + BigInt(r.int(1, 4095));
    if (name === "write") return { name, args: [addr, len, BigInt(r.int(0, 255))] };
    return { name, args: [addr, len] };
  }

  accessLen(): bigint {
    const r = this.rng;
    const x = r.next();
    if (x < 0.7) return this.pages(8);
    if (x < 0.85) return this.pages(this.arenaPages);
    return r.pick([0n, 1n, 0x10n, PAGE + 1n]);
  }

  op(): Op {
    const r = this.rng;
    const kind = r.weighted(OP_WEIGHTS);
    switch (kind) {
      case "mmap":
        return this.mmap();
      case "munmap":
        return { name: "munmap", args: [this.addr(), this.len()] };
      case "mprotect":
        return { name: "mprotect", args: [this.addr(), this.len(), this.prot()] };
      case "pkey":
        return this.pkey();
      case "mremap":
        return this.mremap();
      case "madvise":
        return this.madvise();
      case "mseal":
        return { name: "mseal", args: [this.addr(), this.len(), r.chance(0.9) ? 0n : r.pick([1n, 2n])] };
      case "brk":
        return this.brk();
      case "mlock":
        return this.mlock();
      case "msync":
        return { name: "msync", args: [this.addr(), this.len(), BigInt(r.pick([0, 1, 2, 4, 3, 6, 5, 8]))] };
      case "open":
        return this.open();
      case "close":
        return this.close();
      default:
        return this.access(kind);
    }
  }

  /** An op that cannot kill the executor (redrawn until it is) and whose result the model
   *  can know. */
  safeOp(): Op {
    return this.safe(() => this.op());
  }

  /** The first op `draw` makes that cannot kill the executor and whose result the model can know. */
  safe(draw: () => Op): Op {
    for (;;) {
      const op = draw();
      if (this.endangers(op) || this.readsUnknownBytes(op)) continue;
      this.noteSpecials(op);
      return op;
    }
  }

  /** Could the op kill the executor? */
  protected endangers(op: Op): boolean {
    return endangersExecutor(op, this.t);
  }

  /** Once an op may have remapped, re-protected or written a special mapping, its bytes can
   *  turn up anywhere: `read` is not generated any more. */
  protected specialsTouched = false;

  private noteSpecials(op: Op): void {
    if (op.name === "read" || op.name === "rtouch" || op.name === "touch") return;
    const [a, l] = op.args;
    if (typeof a !== "bigint" || typeof l !== "bigint") return;
    const r = touchedRange(a, l);
    if (r !== null && intersectsAny(this.t.specials, r.start, r.end)) this.specialsTouched = true;
  }

  /** The model does not know the bytes of the executor's own memory or of [vdso]/[vvar]
   *  (the latter change with the clock): `read` must not hash them. */
  private readsUnknownBytes(op: Op): boolean {
    if (op.name !== "read" && op.name !== "memread") return false;
    if (this.specialsTouched) return true;
    const [a, l] = op.name === "read" ? op.args : op.args.slice(1);
    const r = touchedRange(a as bigint, l as bigint);
    return r !== null && (intersectsAny(this.t.protectedRanges, r.start, r.end) || intersectsAny(this.t.specials, r.start, r.end));
  }
}

/** A random program: arena setup, then `opts.ops` ops. Deterministic in (seed, ops, whole, targets). */
export function generateProgram(opts: GenOptions, name = `s${opts.seed}`): Program {
  if (opts.procs) return generateProcsProgram(opts, name);
  const g = new Gen(opts, opts.targets);
  const ops = g.setup();
  while (ops.length < opts.ops + 2) ops.push(g.safeOp());
  return { name, ops: ops.map(formatOp) };
}

// ---------------------------------------------------------------------------------------------
// Two processes (--procs): process 0 forks a peer early; then both run the memory ops above,
// mixed with prctl (PR_SET_MM_MAP valid and with each invalid field, single-field PR_SET_MM,
// PR_SET_VMA, THP disable, PR_GET_AUXV), process_vm_readv/writev, pidfd_open +
// process_madvise and /proc/PID/mem reads and writes, each aimed at either process.
//
// Structs and iovec arrays are laid out with `poke` in a scratch VMA (SCRATCH) that the
// program maps first and that no other op may change (it joins the protected ranges), so
// what the kernel reads there is exactly what the generator wrote. Every address the remote
// ops read or write is an arena address or one that is never mapped: never the executor's
// own memory, so they cannot kill either process or make bytes the model does not know.

export const SCRATCH = 0x300000000n;
const SCRATCH_PAGES = 4n;
const MM_MAP = SCRATCH; // struct prctl_mm_map (104 bytes)
const LIOV = SCRATCH + 0x200n; // local iovec array
const RIOV = SCRATCH + 0x300n; // remote iovec array
const AUXV = SCRATCH + PAGE; // an auxv for PR_SET_MM_MAP (up to 2 pages)
const MAP_SIZE_OUT = SCRATCH + 3n * PAGE; // PR_SET_MM_MAP_SIZE's u32
/** A read-write region mapped at setup that remote ops aim at most (so transfers move bytes);
 *  unlike the scratch VMA, other ops may change it. */
export const SHARED_TARGET = 0x310000000n;
const SHARED_TARGET_PAGES = 8;
const PRCTL_MM_MAP_SIZE = 104n;
const AUXV_MAX = 448n;

const PR_SET_MM = 35n;
const PR_SET_MM_MAP = 14n;
const PR_SET_MM_MAP_SIZE = 15n;
const PR_SET_VMA = 0x53564d41n;
const PR_SET_THP_DISABLE = 41n;
const PR_GET_THP_DISABLE = 42n;
const PR_GET_AUXV = 0x41555856n;
/** Never mapped in an executor child: below the executable, non-canonical, the vsyscall page. */
const UNMAPPED: readonly bigint[] = [0n, 0x10000n, 0x1000n, 1n << 47n, VSYSCALL, TWO64 - PAGE];

interface ProcState {
  fds: Set<number>;
  mine: number[];
  pidfds: number[];
  /** saved_auxv is what this generator set (PR_GET_AUXV's bytes are then known to the model). */
  auxvKnown: boolean;
}

class ProcGen extends Gen {
  private readonly state: [ProcState, ProcState | null];
  private cur: 0 | 1 = 0;

  constructor(opts: GenOptions) {
    const scratch = { start: SCRATCH, end: SCRATCH + SCRATCH_PAGES * PAGE };
    const t = { ...opts.targets, protectedRanges: [...opts.targets.protectedRanges, scratch] };
    super(opts, t);
    this.state = [{ fds: this.fds, mine: this.mine, pidfds: [], auxvKnown: false }, null];
  }

  /** Also: the peer is a fork, so the executor's own memory must not be MADV_DONTFORK or
   *  MADV_WIPEONFORK (the peer would start without its stack or with zeroed data). */
  protected override endangers(op: Op): boolean {
    if (super.endangers(op)) return true;
    if (op.name !== "madvise" || (op.args[2] !== 10n && op.args[2] !== 18n)) return false;
    const r = touchedRange(BigInt.asUintN(64, op.args[0] as bigint), BigInt.asUintN(64, op.args[1] as bigint));
    return r !== null && intersectsAny(this.t.protectedRanges, r.start, r.end);
  }

  override setup(): Op[] {
    return [
      ...super.setup(),
      { name: "mmap", args: [SCRATCH, SCRATCH_PAGES * PAGE, 3n, 0x32n, -1n, 0n] },
      { name: "mmap", args: [SHARED_TARGET, BigInt(SHARED_TARGET_PAGES) * PAGE, 3n, 0x32n, -1n, 0n] },
    ];
  }

  private use(p: 0 | 1): ProcState {
    const st = this.state[p] as ProcState;
    this.cur = p;
    this.fds = st.fds;
    this.mine = st.mine;
    return st;
  }

  /** The fork: the peer starts with copies of process 0's fds. */
  fork(): Op {
    const s0 = this.state[0];
    this.state[1] = { fds: new Set(s0.fds), mine: [...s0.mine], pidfds: [...s0.pidfds], auxvKnown: s0.auxvKnown };
    return { name: "fork", args: [] };
  }

  /** The next ops: one memory op, or a group of pokes and the process op that reads them. */
  next(): Op[] {
    const r = this.rng;
    const p: 0 | 1 = this.state[1] !== null && r.chance(0.4) ? 1 : 0;
    const st = this.use(p);
    const ops = r.chance(0.4) ? this.procGroup(st) : [this.safeOp()];
    for (const op of ops) op.proc ??= p;
    return ops;
  }

  private pid(): string {
    return this.state[1] === null || this.rng.chance(0.3) ? `%${this.cur}` : `%${1 - this.cur}`;
  }

  /** An address a remote op may read or write: the arena (often its start), or never mapped. */
  private remoteAddr(): bigint {
    const r = this.rng;
    if (r.chance(0.1)) return r.pick(UNMAPPED);
    const x = r.next();
    const a =
      x < 0.45
        ? SHARED_TARGET + BigInt(r.int(0, SHARED_TARGET_PAGES)) * PAGE
        : x < 0.7
          ? ARENA + BigInt(r.int(0, 16)) * PAGE
          : this.arenaPage();
    return r.chance(0.8) ? a : a + BigInt(r.int(1, 4095));
  }

  private remoteLen(): bigint {
    const r = this.rng;
    return r.pick([0n, 1n, 8n, 0x100n, PAGE, 2n * PAGE, 3n * PAGE, PAGE + 7n, 5n * PAGE]);
  }

  private poke(addr: bigint, value: bigint): Op {
    return { name: "poke", args: [addr, BigInt.asUintN(64, value)] };
  }

  private procGroup(st: ProcState): Op[] {
    const kind = this.rng.weighted({ mmMap: 20, prctl: 12, pvm: 22, pidfd: 6, pmadvise: 14, memio: 18, sealed: 8 });
    switch (kind) {
      case "mmMap":
        return this.setMmMap(st);
      case "prctl":
        return [this.prctl(st)];
      case "pvm":
        return this.processVm();
      case "pidfd":
        return [this.pidfdOpen(st)];
      case "pmadvise":
        return this.processMadvise(st);
      case "memio":
        return [this.memio()];
      default:
        return this.sealedTarget();
    }
  }

  /** PR_SET_MM_MAP with a struct that is valid or wrong in one way (validate_prctl_map_addr's
   *  rules, auxv, exe_fd), or the size/pointer wrong. A valid struct keeps start_brk and brk
   *  where brk() ops cannot unmap the executor (never below the initial start_brk, brk at the
   *  initial break or at start_brk). */
  private setMmMap(st: ProcState): Op[] {
    const r = this.rng;
    const t = this.t;
    const exe = t.protectedRanges[1] ?? t.protectedRanges[0] ?? { start: 0x400000n, end: 0x401000n };
    const data = t.protectedRanges[4] ?? exe;
    const stackTop = t.stack.end - PAGE;
    const f: bigint[] = [
      exe.start,
      exe.end,
      data.start,
      data.end,
      t.startBrk,
      r.chance(0.8) ? t.brk : t.startBrk,
      r.chance(0.7) ? stackTop : r.chance(0.5) ? ARENA + BigInt(r.int(0, 8)) * PAGE + 0x10n : SCRATCH + 0x800n,
      stackTop + 0x100n,
      stackTop + 0x200n,
      stackTop + 0x200n,
      stackTop + 0x300n,
    ];
    let auxv = 0n;
    let auxvSize = 0n;
    let exeFd = 0xffffffffn;
    let size = PRCTL_MM_MAP_SIZE;
    let ptr = MM_MAP;
    let auxvValid = false;
    const pokes: Op[] = [];
    switch (r.weighted({ valid: 30, low: 12, high: 10, order: 12, auxv: 12, exefd: 8, size: 4, ptr: 4 })) {
      case "low": // below mmap_min_addr
        f[r.int(0, 10)] = r.pick([0n, 0xfffn]);
        break;
      case "high": // at or above TASK_SIZE
        f[r.int(0, 10)] = r.pick([TASK_SIZE, 1n << 63n, TWO64 - PAGE]);
        break;
      case "order": {
        const pair = r.pick([0, 2, 4, 7, 9]);
        const [a, b] = [f[pair] as bigint, f[pair + 1] as bigint];
        // start_code must be below end_code; the others may be equal.
        if (pair === 0 && r.chance(0.5)) f[1] = a;
        else [f[pair], f[pair + 1]] = [b + PAGE, a];
        break;
      }
      case "auxv": {
        auxvSize = r.pick([8n, 16n, 64n, 0x100n, AUXV_MAX, AUXV_MAX + 1n, AUXV_MAX + 8n, 0x1000n]);
        auxv = r.chance(0.8) ? AUXV : r.pick([0n, 0x10000n]);
        auxvValid = auxv === AUXV && auxvSize <= AUXV_MAX;
        for (let i = 0n; i < (auxvSize < 64n ? auxvSize : 64n); i += 8n) pokes.push(this.poke(AUXV + i, BigInt(r.int(0, 40))));
        break;
      }
      case "exefd":
        // The executor itself (executable, but the old exe is still mapped: EBUSY), one of the
        // program's files (mode 0644: EACCES), a pipe or socket (EACCES), a closed fd (EBADF).
        if (t.exePath !== undefined && r.chance(0.4)) {
          const fd = this.lowestFreeFd();
          st.fds.add(fd);
          pokes.push({ name: "open", args: [t.exePath, 0n, TWO64 - 1n] });
          exeFd = BigInt(fd);
        } else {
          exeFd = BigInt(st.mine.length > 0 && r.chance(0.5) ? r.pick(st.mine) : r.pick([0, 1, 50, 0x7fffffff]));
        }
        break;
      case "size":
        size = r.pick([0n, 103n, 105n, 0x1000n]);
        break;
      case "ptr":
        ptr = r.pick(UNMAPPED);
        break;
      default:
        break;
    }
    for (const [i, v] of f.entries()) pokes.push(this.poke(MM_MAP + BigInt(i) * 8n, v));
    pokes.push(this.poke(MM_MAP + 88n, auxv));
    pokes.push(this.poke(MM_MAP + 96n, auxvSize | (exeFd << 32n)));
    if (auxvValid) st.auxvKnown = true;
    return [...pokes, { name: "prctl", args: [PR_SET_MM, PR_SET_MM_MAP, ptr, size, 0n] }];
  }

  /** The other prctl options the model answers. */
  private prctl(st: ProcState): Op {
    const r = this.rng;
    switch (r.weighted({ single: 20, mapSize: 8, badArgs: 6, vma: 6, thpSet: 14, thpGet: 10, auxv: 10 })) {
      case "single": // CAP_SYS_RESOURCE is missing: EPERM (arg checks first)
        return { name: "prctl", args: [PR_SET_MM, BigInt(r.int(1, 13)), this.remoteAddr(), 0n, 0n] };
      case "mapSize":
        return { name: "prctl", args: [PR_SET_MM, PR_SET_MM_MAP_SIZE, r.chance(0.7) ? MAP_SIZE_OUT : r.pick(UNMAPPED), 0n, 0n] };
      case "badArgs":
        return { name: "prctl", args: [PR_SET_MM, BigInt(r.int(0, 16)), MM_MAP, r.pick([0n, 1n, 104n]), r.pick([0n, 1n])] };
      case "vma":
        return { name: "prctl", args: [PR_SET_VMA, r.pick([0n, 1n]), ARENA, PAGE, SCRATCH + 0x900n] };
      case "thpSet":
        return {
          name: "prctl",
          args: [PR_SET_THP_DISABLE, r.pick([0n, 1n, 1n, 2n]), r.pick([0n, 0n, 2n, 1n, 4n]), r.pick([0n, 0n, 1n]), 0n],
        };
      case "thpGet":
        return { name: "prctl", args: [PR_GET_THP_DISABLE, r.pick([0n, 0n, 0n, 1n]), 0n, 0n, 0n] };
      default: {
        // PR_GET_AUXV copies saved_auxv, whose bytes the model knows only once the generator
        // set them: before that only a length of 0 or a pointer that cannot be written.
        const len = r.pick([0n, 8n, 0x100n, AUXV_MAX, 0x1000n]);
        const buf = st.auxvKnown && r.chance(0.7) ? ARENA + BigInt(r.int(0, 8)) * PAGE : r.chance(0.5) ? 0n : r.pick(UNMAPPED);
        const known = st.auxvKnown || len === 0n || UNMAPPED.includes(buf);
        return { name: "prctl", args: [PR_GET_AUXV, buf, known ? len : 0n, r.chance(0.9) ? 0n : 1n, 0n] };
      }
    }
  }

  /** An iovec array of 0-3 entries at `at` in the caller's scratch VMA. */
  private iovecs(at: bigint, n: number): Op[] {
    const r = this.rng;
    const out: Op[] = [];
    for (let i = 0; i < n; i++) {
      const len = r.chance(0.04) ? 1n << 63n : r.chance(0.85) ? r.pick([8n, 0x100n, PAGE, 2n * PAGE, PAGE + 7n]) : this.remoteLen();
      const base = r.chance(0.5)
        ? SHARED_TARGET + BigInt(r.int(0, SHARED_TARGET_PAGES - 1)) * PAGE + BigInt(r.pick([0, 0, 8, 0x800]))
        : this.remoteAddr();
      out.push(this.poke(at + BigInt(i) * 16n, base), this.poke(at + BigInt(i) * 16n + 8n, len));
    }
    return out;
  }

  private iovPtr(at: bigint): bigint {
    return this.rng.chance(0.95) ? at : this.rng.pick(UNMAPPED);
  }

  private vlen(n: number): bigint {
    return this.rng.chance(0.93) ? BigInt(n) : this.rng.pick([1025n, 1024n, BigInt(n + 1)]);
  }

  /** process_vm_readv/writev: partial transfers over unmapped, read-only or sealed pages. */
  private processVm(): Op[] {
    const r = this.rng;
    const nl = r.chance(0.1) ? 0 : r.int(1, 3);
    const nr = r.chance(0.1) ? 0 : r.int(1, 3);
    const name = r.chance(0.5) ? "process_vm_readv" : "process_vm_writev";
    const flags = r.chance(0.95) ? 0n : r.pick([1n, TWO64 - 1n]);
    return [
      ...this.iovecs(LIOV, nl),
      ...this.iovecs(RIOV, nr),
      { name, args: [this.pid(), this.iovPtr(LIOV), this.vlen(nl), this.iovPtr(RIOV), this.vlen(nr), flags] },
    ];
  }

  private pidfdOpen(st: ProcState, fixedFlags?: bigint): Op {
    const r = this.rng;
    const flags = fixedFlags ?? (r.chance(0.85) ? 0n : r.pick([0x800n, 1n, 0x80n]));
    // A pidfd takes the lowest free fd (it is not mappable: not one of `mine`).
    if (flags !== 1n) {
      const fd = this.lowestFreeFd();
      st.fds.add(fd);
      st.pidfds.push(fd);
    }
    return { name: "pidfd_open", args: [this.pid(), flags] };
  }

  /** process_madvise through a pidfd (or PIDFD_SELF, or a bad fd): remote advice is COLD,
   *  PAGEOUT, WILLNEED or COLLAPSE only; the rest EINVAL. */
  private processMadvise(st: ProcState): Op[] {
    const r = this.rng;
    const n = r.int(0, 3);
    const open: Op[] = st.pidfds.length === 0 && r.chance(0.7) ? [this.pidfdOpen(st, 0n)] : [];
    const fd = st.pidfds.length > 0 && r.chance(0.8) ? BigInt(r.pick(st.pidfds)) : r.pick([0n, 77n, -10000n, -10001n, -20000n]);
    const advice = r.weighted({ 20: 20, 21: 8, 3: 14, 25: 4, 4: 6, 0: 4, 14: 3, 99: 3, 8: 3 });
    const flags = r.chance(0.95) ? 0n : 1n;
    return [
      ...open,
      ...this.iovecs(LIOV, n),
      { name: "process_madvise", args: [fd, this.iovPtr(LIOV), this.vlen(n), BigInt(advice), flags] },
    ];
  }

  /** /proc/PID/mem: FOLL_FORCE reads and writes (read-only and sealed pages included). */
  private memio(): Op {
    const r = this.rng;
    const len = r.pick([0n, 1n, 16n, PAGE, 2n * PAGE, PAGE + 1n, 4n * PAGE]);
    if (this.opts.whole && r.chance(0.15) && this.t.specials.length > 0) {
      // Whole mode: write [vdso] (FOLL_FORCE breaks COW) or [vvar] (VM_IO|VM_PFNMAP: EIO).
      // From then on no op reads the special mappings (specialsTouched).
      this.specialsTouched = true;
      const s = r.pick(this.t.specials);
      const at = s.start + BigInt(r.int(0, Number((s.end - s.start) / PAGE) - 1)) * PAGE + BigInt(r.pick([0, 0x10]));
      return { name: "memwrite", args: [this.pid(), at, r.pick([1n, 16n, PAGE]), BigInt(r.int(0, 255))] };
    }
    if (r.chance(0.5)) return { name: "memread", args: [this.pid(), this.remoteAddr(), len] };
    return { name: "memwrite", args: [this.pid(), this.remoteAddr(), len, BigInt(r.int(0, 255))] };
  }

  /** A read-only (and often sealed) private mapping in the arena, written from outside. */
  private sealedTarget(): Op[] {
    const r = this.rng;
    const at = (r.chance(0.5) ? SHARED_TARGET : ARENA) + BigInt(r.int(0, 5)) * PAGE;
    const len = BigInt(r.int(1, 3)) * PAGE;
    const ops: Op[] = [{ name: "mmap", args: [at, len, r.pick([1n, 1n, 0n, 3n]), 0x32n, -1n, 0n] }];
    if (r.chance(0.5)) ops.push({ name: "write", args: [at, PAGE, BigInt(r.int(1, 255))] });
    if (r.chance(0.7)) ops.push({ name: "mseal", args: [at, len, 0n] });
    // The writer: this process or, once there is a peer, often the other one.
    const owner = this.cur;
    const writer: 0 | 1 = this.state[1] !== null && r.chance(0.5) ? ((1 - owner) as 0 | 1) : owner;
    const w = r.int(0, 2);
    const access: Op[] = [];
    if (w === 0) access.push({ name: "memwrite", args: [`%${owner}`, at + BigInt(r.int(0, 8)), r.pick([1n, 8n, PAGE, 2n * PAGE]), 0x5an] });
    else if (w === 1)
      access.push(...this.iovecs(LIOV, 1), this.poke(RIOV, at), this.poke(RIOV + 8n, PAGE), {
        name: "process_vm_writev",
        args: [`%${owner}`, LIOV, 1n, RIOV, 1n, 0n],
      });
    else access.push({ name: "memread", args: [`%${owner}`, at, 2n * PAGE] });
    for (const op of access) op.proc = writer;
    for (const op of ops) op.proc = owner;
    return [...ops, ...access];
  }
}

/** A --procs program: arena, scratch and target setup, 0-16 ops, `fork`, then ops in both processes. */
function generateProcsProgram(opts: GenOptions, name: string): Program {
  const g = new ProcGen(opts);
  const ops = g.setup();
  // Sometimes a longer history before the fork: fork copies whatever state it made.
  const before = g.rng.chance(0.3) ? g.rng.int(4, 16) : g.rng.int(0, 3);
  const total = opts.ops + ops.length;
  while (ops.length < before + 3) ops.push(...g.next());
  ops.push(g.fork());
  while (ops.length < total) ops.push(...g.next());
  return { name, ops: ops.map(formatOp) };
}

// Runs an executor program (docs/executor-protocol.md) through the model instead of the live
// kernel, with the executor's semantics op for op, so that the two results can be compared
// line by line. The model starts from the executor child's real initial state: its layout
// (maps + smaps + info), its open fds and the machine's limits.

import { readFileSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { makeInode, openFile } from "../kernel/fs/file.js";
import type { FileFacts } from "../kernel/fs/vfs.js";
import { Kernel } from "../kernel/kernel.js";
import type { AccessKind } from "../kernel/mm/access.js";
import { DEFAULT_CONFIG, type KernelConfig } from "../kernel/mm/config.js";
import type { Mm } from "../kernel/mm/mm.js";
import type { Rlimits } from "../kernel/mm/rlimits.js";
import type { Vma } from "../kernel/mm/vma.js";
import { smapsCounters, vmFlagNames } from "../kernel/procfs/maps.js";
import { parseMapsLine } from "../kernel/procfs/parse.js";
import type { Layout, LayoutVma } from "../kernel/task/layout.js";
import { errnoName } from "../kernel/uapi/errno.js";
import { toInt32, u64 } from "../kernel/uapi/u64.js";
import { Unsupported } from "../kernel/unsupported.js";
import type { ExecResult, OpResult, Program, SmapsLine } from "./executor.js";

// ---------------------------------------------------------------------------------------------
// Op parsing, exactly as native/executor.c parse_op()/parse_num().

const SYSCALL_ARITY: Readonly<Record<string, number>> = {
  mmap: 6,
  munmap: 2,
  mprotect: 3,
  pkey_mprotect: 4,
  pkey_alloc: 2,
  pkey_free: 1,
  mremap: 5,
  madvise: 3,
  mseal: 3,
  brk: 1,
  mlock: 2,
  mlock2: 3,
  munlock: 2,
  mlockall: 1,
  munlockall: 0,
  msync: 3,
  close: 1,
  prctl: 5,
  process_vm_readv: 6,
  process_vm_writev: 6,
  pidfd_open: 2,
  process_madvise: 5,
};
const ACCESS_ARITY: Readonly<Record<AccessKind, number>> = { touch: 2, rtouch: 2, write: 3, read: 2 };

/** Which of a program's two processes runs an op: 0 the executor child, 1 its peer. */
export type ProcIndex = 0 | 1;

export type ParsedOp = (
  | { kind: "bad" }
  /** pidRefs: bit k set when args[k] was "%N", the pid of process N (args[k] = N); absent if none. */
  | { kind: "sys"; name: string; args: bigint[]; pidRefs?: number }
  | { kind: "open"; path: string; oflags: bigint; size: bigint }
  | { kind: "access"; access: AccessKind; addr: bigint; len: bigint; byte: number }
  | { kind: "fork" }
  | { kind: "poke"; addr: bigint; value: bigint }
  | { kind: "memio"; write: boolean; args: bigint[]; pidRefs?: number }
) & {
  /** 1: the peer runs it ("@1" prefix); absent: process 0. */
  proc?: ProcIndex;
};

/** memread/memwrite's length limit (the executor's static buffer). */
export const MAX_MEMIO = 65536;

const TWO64 = 1n << 64n;
const U64_MAX = TWO64 - 1n;

/** parse_num(): decimal or 0x hex, optionally negative (two's complement); null if malformed. */
export function parseNum(tok: string): bigint | null {
  const neg = tok.startsWith("-");
  const s = neg ? tok.slice(1) : tok;
  let x: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) {
    // The executor refuses a 17th significant hex digit (x >> 60 before a shift).
    if (s.slice(2).replace(/^0+/, "").length > 16) return null;
    x = BigInt(`0x${s.slice(2)}`);
  } else if (/^[0-9]+$/.test(s)) {
    x = BigInt(s);
    if (x > U64_MAX) return null;
  } else {
    return null;
  }
  return neg ? (TWO64 - x) % TWO64 : x;
}

/** One op line as the child parses it. The driver sends lines it cannot frame as "?". */
export function parseOp(line: string): ParsedOp {
  if (/[\n\0]/.test(line) || line === "end") return { kind: "bad" };
  let tok = line.split(/[ \t\r]+/).filter((t) => t !== "");
  if (tok.length > 9) return { kind: "bad" };
  // "@0 OP ..." / "@1 OP ...": the process that runs it.
  let proc: ProcIndex = 0;
  if (tok[0]?.startsWith("@")) {
    if (tok[0] !== "@0" && tok[0] !== "@1") return { kind: "bad" };
    proc = tok[0] === "@1" ? 1 : 0;
    tok = tok.slice(1);
  }
  if (tok.length === 0 || tok.length > 8) return { kind: "bad" };
  const op = parseBody(tok as [string, ...string[]]);
  return op.kind === "bad" || proc === 0 ? op : { ...op, proc };
}

function parseBody([name, ...rest]: [string, ...string[]]): ParsedOp {
  if (name === "open") return parseOpen(rest);
  if (Object.hasOwn(ACCESS_ARITY, name)) return parseAccess(name as AccessKind, rest);
  if (name === "fork") return rest.length === 0 ? { kind: "fork" } : { kind: "bad" };
  if (name === "poke") {
    const nums = rest.length === 2 ? parseNums(rest) : null;
    return nums === null ? { kind: "bad" } : { kind: "poke", addr: nums[0] as bigint, value: nums[1] as bigint };
  }
  if (name === "memread" || name === "memwrite") {
    const write = name === "memwrite";
    if (rest.length !== (write ? 4 : 3)) return { kind: "bad" };
    const p = parsePidNums(rest);
    if (p === null) return { kind: "bad" };
    if ((p.args[2] as bigint) > BigInt(MAX_MEMIO) || (write && (p.args[3] as bigint) > 255n)) return { kind: "bad" };
    return { kind: "memio", write, ...p };
  }
  const arity = Object.hasOwn(SYSCALL_ARITY, name) ? SYSCALL_ARITY[name] : undefined;
  if (arity === undefined || rest.length !== arity) return { kind: "bad" };
  const p = parsePidNums(rest);
  return p === null ? { kind: "bad" } : { kind: "sys", name, ...p };
}

function parseNums(toks: string[]): bigint[] | null {
  const out: bigint[] = [];
  for (const t of toks) {
    const v = parseNum(t);
    if (v === null) return null;
    out.push(v);
  }
  return out;
}

/** Numbers, where "%0"/"%1" name the pid of process 0/1 (resolved when the op runs). */
function parsePidNums(toks: string[]): { args: bigint[]; pidRefs?: number } | null {
  let pidRefs = 0;
  const args: bigint[] = [];
  for (const [k, t] of toks.entries()) {
    if (t === "%0" || t === "%1") {
      pidRefs |= 1 << k;
      args.push(t === "%1" ? 1n : 0n);
      continue;
    }
    const v = parseNum(t);
    if (v === null) return null;
    args.push(v);
  }
  return pidRefs === 0 ? { args } : { args, pidRefs };
}

function parseOpen(rest: string[]): ParsedOp {
  if (rest.length !== 3) return { kind: "bad" };
  const nums = parseNums(rest.slice(1));
  if (nums === null) return { kind: "bad" };
  return { kind: "open", path: rest[0] as string, oflags: nums[0] as bigint, size: nums[1] as bigint };
}

function parseAccess(access: AccessKind, rest: string[]): ParsedOp {
  if (rest.length !== ACCESS_ARITY[access]) return { kind: "bad" };
  const nums = parseNums(rest);
  if (nums === null) return { kind: "bad" };
  const byte = access === "write" ? (nums[2] as bigint) : 0n;
  // The executor rejects a `write` byte above 255 as a malformed line.
  if (byte > 255n) return { kind: "bad" };
  return { kind: "access", access, addr: nums[0] as bigint, len: nums[1] as bigint, byte: Number(byte) };
}

// ---------------------------------------------------------------------------------------------
// File facts: what the model's VFS needs to know about paths the program opens.

/** A path's facts, from stat(2) after the executor ran the program. */
export interface PathFacts extends FileFacts {
  /** The file existed before the program ran. Otherwise it exists for the model only from the
   *  program's first `open` of it with a size ≥ 0 (that op creates it, O_CREAT). */
  preexisting: boolean;
}

export type FileFactsMap = ReadonlyMap<string, PathFacts>;

/** "maj:min" as maps prints st_dev (%02x:%02x), from the glibc encoding of dev_t. */
export function formatDev(dev: bigint): string {
  const major = (dev >> 8n) & 0xfffn;
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xfff00n);
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

/** stat() of a path as the model's resolver reports it, or null if it does not exist. */
export function statFileFacts(path: string, cwd = process.cwd()): FileFacts | null {
  const abs = resolve(cwd, path);
  try {
    const st = statSync(abs, { bigint: true });
    // /dev/zero is the character device 1:5 (drivers/char/mem.c): its mmap is special.
    const zeroDevice = st.isCharacterDevice() && formatDev(st.rdev) === "01:05";
    return {
      dev: formatDev(st.dev),
      ino: Number(st.ino),
      size: Number(st.size),
      regular: st.isFile(),
      noexec: mountedNoexec(abs),
      zeroDevice,
    };
  } catch {
    return null;
  }
}

/** Permission bits and owner: exec permission decides PR_SET_MM_MAP's exe_fd (EACCES). */
function ownerAndMode(abs: string): Pick<FileFacts, "mode" | "uid" | "gid"> {
  try {
    const st = statSync(abs);
    return { mode: st.mode, uid: st.uid, gid: st.gid };
  } catch {
    return {};
  }
}

/** The path's mount has MNT_NOEXEC (path_noexec(): mmap with PROT_EXEC is EPERM there). */
export function mountedNoexec(abs: string): boolean {
  let real: string;
  let info: string;
  try {
    real = realpathSync(abs);
    info = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return false;
  }
  let best = "";
  let noexec = false;
  for (const line of info.split("\n")) {
    // id parent maj:min root mountpoint options ...
    const f = line.split(" ");
    const mp = (f[4] ?? "").replace(/\\040/g, " ");
    const inside = mp === "/" || real === mp || real.startsWith(`${mp}/`);
    if (!inside || mp.length < best.length) continue;
    best = mp;
    noexec = (f[5] ?? "").split(",").includes("noexec");
  }
  return noexec;
}

/**
 * Facts for every path the ops `open`, stat'ed now (call it after the executor ran them).
 * Paths under `createdUnder` are the program's own files: they did not exist before it ran.
 */
export function collectFileFacts(ops: readonly string[], opts: { createdUnder?: string; cwd?: string } = {}): FileFactsMap {
  const cwd = opts.cwd ?? process.cwd();
  const under = opts.createdUnder === undefined ? null : resolve(cwd, opts.createdUnder);
  const out = new Map<string, PathFacts>();
  for (const line of ops) {
    const op = parseOp(line);
    if (op.kind !== "open" || out.has(op.path)) continue;
    const facts = statFileFacts(op.path, cwd);
    if (facts === null) continue;
    const abs = resolve(cwd, op.path);
    const created = under !== null && (abs === under || abs.startsWith(`${under}/`));
    out.set(op.path, { ...facts, ...ownerAndMode(abs), preexisting: !created });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The executor child's initial state.

const TASK_SIZE = 1n << 47n;

/** The executor's initial maps + smaps + info as a Layout the model adopts. The gate VMA
 *  ([vsyscall], above TASK_SIZE) is not in the model's tree: procfs prints it on its own. */
export function layoutFromExec(init: ExecResult): Layout {
  if (init.initMaps.length !== init.initSmaps.length) {
    throw new Error(`initial maps has ${init.initMaps.length} VMAs but smaps ${init.initSmaps.length}`);
  }
  const vmas: LayoutVma[] = [];
  init.initMaps.forEach((line, i) => {
    const m = parseMapsLine(line);
    const s = init.initSmaps[i] as SmapsLine;
    if (s.start !== m.start || s.end !== m.end) throw new Error(`initial smaps VMA ${i} does not match maps: ${line}`);
    if (m.start >= TASK_SIZE) return;
    vmas.push({
      start: Number(m.start / 4096n),
      end: Number(m.end / 4096n),
      flags: s.flags,
      pgoff: Number(m.offset / 4096n),
      path: m.name,
      dev: m.dev,
      ino: m.inode,
      anonKb: s.anonKb,
      rssKb: s.rssKb,
    });
  });
  const { info } = init;
  // /proc/self/exe is the executor binary, the file of its first VMA (PR_SET_MM_MAP's EBUSY rule).
  const first = vmas[0];
  const exePath = first?.path.startsWith("/") ? { exePath: first.path } : {};
  return {
    ...exePath,
    vmas,
    startBrk: Number(info.startBrk),
    brk: Number(info.brk),
    startStack: Number(info.startStack),
    rlimitStack: info.rlimitStack === null ? Number.POSITIVE_INFINITY : Number(info.rlimitStack),
    // The executor's saved auxv, as it reported it; without it PR_GET_AUXV gives bytes the
    // model marks unknown.
    savedAuxv: info.auxv ?? null,
  };
}

/** What the model must know about the machine that the executor's report does not say. */
export interface ModelEnv {
  config?: Partial<KernelConfig>;
  rlimits?: Partial<Rlimits>;
}

/** Host facts the executor's children inherit: vm sysctls and this process's rlimits. */
export function readHostEnv(): ModelEnv {
  const num = (path: string): number | null => {
    try {
      return Number(readFileSync(path, "utf8").trim());
    } catch {
      return null;
    }
  };
  const maxMapCount = num("/proc/sys/vm/max_map_count");
  const oc = num("/proc/sys/vm/overcommit_memory");
  const config: Partial<KernelConfig> = {
    ...(maxMapCount !== null ? { maxMapCount } : {}),
    ...(oc === 0 || oc === 1 || oc === 2 ? { overcommitMemory: oc } : {}),
  };
  return { config, rlimits: readRlimits() };
}

function readRlimits(): Partial<Rlimits> {
  let text: string;
  try {
    text = readFileSync("/proc/self/limits", "utf8");
  } catch {
    return {};
  }
  const soft = (label: string): number | undefined => {
    const m = new RegExp(`^${label}\\s+(\\S+)`, "m").exec(text);
    if (!m) return undefined;
    return m[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m[1]);
  };
  const out: Partial<Rlimits> = {};
  const data = soft("Max data size");
  const as = soft("Max address space");
  const memlock = soft("Max locked memory");
  if (data !== undefined) out.data = data;
  if (as !== undefined) out.as = as;
  if (memlock !== undefined) out.memlock = memlock;
  return out;
}

/** The config facts in the executor's info line: the mmap_min_addr sysctl. */
function configFromInfo(init: ExecResult, base: Partial<KernelConfig>): Partial<KernelConfig> {
  // The effective mmap_min_addr is max(sysctl, CONFIG_LSM_MMAP_MIN_ADDR); the default config
  // carries the reference kernel's LSM value.
  const lsmMin = base.mmapMinAddr ?? DEFAULT_CONFIG.mmapMinAddr;
  return { ...base, dacMmapMinAddr: init.info.mmapMinAddr, mmapMinAddr: Math.max(init.info.mmapMinAddr, lsmMin) };
}

/** The fd the executor child writes its report through (F_DUPFD_CLOEXEC from 100). */
export const EXECUTOR_OUT_FD = 100;

/**
 * The child's fds before the first op: 0 is the read end of the program pipe; 1, 2 and the
 * report's duplicate are the driver's stdio (libuv socketpairs: readable and writable).
 * None can be mmapped, but their access modes (EACCES) and their pseudo filesystems'
 * SB_I_NOEXEC (EPERM with PROT_EXEC) are checked first. A pipe has no mmap op (ENODEV at
 * once); a socket's op fails late (sock_no_mmap, after the other checks), which FileFacts
 * cannot express: the model sees all of them as pipes, and the generator maps only fd 0.
 */
function installStdio(kernel: Kernel, pid: number): void {
  const files = kernel.process(pid).files;
  const pipe = (name: string) => makeInode(name, { ino: 0, size: 0, regular: false, noexec: true });
  files.installAt(0, openFile(pipe("pipe:[stdin]"), true, false));
  const out = openFile(pipe("socket:[stdout]"), true, true);
  files.installAt(1, out);
  files.installAt(2, openFile(pipe("socket:[stderr]"), true, true));
  files.installAt(EXECUTOR_OUT_FD, out);
}

// ---------------------------------------------------------------------------------------------
// Running.

export interface ModelRun {
  /** One per op, in the executor's OpResult shape. */
  results: OpResult[];
  /** The model's /proc/self/maps lines (with [vsyscall]). */
  finalMaps: string[];
  /** One per VMA, in the executor's smaps digest shape (with the [vsyscall] gate VMA). */
  finalSmaps: SmapsLine[];
  /** Exceptions the model threw, "op K: message"; such an op's result is -EMODEL. */
  errors: string[];
  /** The model declared an op unsupported (it cannot answer it faithfully): the run stopped
   *  there, `results` ends before that op and the final state is not comparable. */
  unsupported: { index: number; reason: string } | null;
  /** The peer's final state, if the program forked one. */
  peer?: { finalMaps: string[]; finalSmaps: SmapsLine[] } | null;
}

/** The model pids of the program's processes: [process 0, the peer or null before `fork`]. */
type Pids = [number, number | null];

/** Runs the program's ops on a model process that adopted the executor's initial state. */
export function runOnModel(program: Program, init: ExecResult, files: FileFactsMap, env: ModelEnv = {}): ModelRun {
  const created = new Set<string>();
  // A program's own file exists for the model from the op that creates it, as on disk.
  const resolver = (path: string): FileFacts | null => {
    const f = files.get(path);
    if (f === undefined || (!f.preexisting && !created.has(path))) return null;
    return f;
  };
  const kernel = new Kernel({ config: configFromInfo(init, env.config ?? {}), rlimits: env.rlimits, resolver });
  const pid = kernel.spawnFromLayout(layoutFromExec(init)).pid;
  installStdio(kernel, pid);
  const pids: Pids = [pid, null];

  const results: OpResult[] = [];
  const errors: string[] = [];
  let unsupported: ModelRun["unsupported"] = null;
  for (const [i, line] of program.ops.entries()) {
    try {
      results.push(runOp(kernel, pids, parseOp(line), created));
    } catch (e) {
      // After an op the model cannot answer, its state is no guess worth comparing.
      if (e instanceof Unsupported) {
        unsupported = { index: i, reason: e.reason };
        break;
      }
      errors.push(`op ${i}: ${e instanceof Error ? e.message : String(e)}`);
      results.push({ kind: "errno", name: "EMODEL" });
    }
  }
  const peerPid = pids[1];
  const peer = peerPid === null ? null : { finalMaps: modelMaps(kernel, peerPid), finalSmaps: modelSmaps(kernel, peerPid, init) };
  return { results, finalMaps: modelMaps(kernel, pid), finalSmaps: modelSmaps(kernel, pid, init), errors, unsupported, peer };
}

const EBADOP: OpResult = { kind: "errno", name: "EBADOP" };

/** The args with "%N" replaced by process N's pid; null if N has no process (the executor's
 *  -EBADOP: %1 before the fork). */
function resolvePids(args: readonly bigint[], pidRefs: number | undefined, pids: Pids): bigint[] | null {
  if (pidRefs === undefined) return [...args];
  const out: bigint[] = [];
  for (const [k, a] of args.entries()) {
    if ((pidRefs & (1 << k)) === 0) {
      out.push(a);
      continue;
    }
    const p = pids[Number(a) as ProcIndex];
    if (p === null) return null;
    out.push(BigInt(p));
  }
  return out;
}

function runOp(kernel: Kernel, pids: Pids, op: ParsedOp, created: Set<string>): OpResult {
  if (op.kind === "bad") return EBADOP;
  const pid = pids[op.proc ?? 0];
  if (pid === null) return EBADOP; // "@1" before the fork
  switch (op.kind) {
    case "fork": {
      // The executor's run_fork: one peer, made by process 0; the result is its number, 1.
      if (op.proc === 1 || pids[1] !== null) return EBADOP;
      const child = kernel.fork(pid);
      if (child < 0) return { kind: "errno", name: errnoName(-child) };
      pids[1] = child;
      return { kind: "ret", value: 1n };
    }
    case "sys": {
      const args = resolvePids(op.args, op.pidRefs, pids);
      if (args === null) return EBADOP;
      return rawResult(
        kernel.syscallRaw(
          pid,
          op.name,
          args.map((a) => u64(a)),
        ),
      );
    }
    case "poke":
      return runPoke(kernel, pid, op);
    case "memio": {
      const args = resolvePids(op.args, op.pidRefs, pids);
      if (args === null) return EBADOP;
      return runMemio(kernel, pid, op.write, args);
    }
    case "open":
      return runOpen(kernel, pid, op, created);
    case "access":
      return runAccess(kernel, pid, op);
  }
}

/** poke: 8 bytes little-endian, stored byte by byte in ascending order like `write`. */
function runPoke(kernel: Kernel, pid: number, op: Extract<ParsedOp, { kind: "poke" }>): OpResult {
  for (let i = 0n; i < 8n; i++) {
    const byte = Number((op.value >> (8n * i)) & 0xffn);
    const at = BigInt.asUintN(64, op.addr + i);
    const r = kernel.access(pid, accessAddr(at), 1, "write", byte);
    if (!r.ok) return { kind: "fault", signal: r.signal, offset: i };
  }
  return { kind: "ret", value: 0n };
}

const FNV_BASIS = 0x811c9dc5;

function fnv1a(bytes: Uint8Array): number {
  let h = FNV_BASIS;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** memread/memwrite: pread/pwrite of /proc/PID/mem (Kernel.procMemRead/Write). */
function runMemio(kernel: Kernel, pid: number, write: boolean, [target, addr, len, byte]: bigint[]): OpResult {
  const t = kernel.tasks.lookup(Number(target));
  // open("/proc/PID/mem") of a pid that does not exist.
  if (t === null || Number(target) !== Number(BigInt.asIntN(64, target as bigint))) return { kind: "errno", name: "ENOENT" };
  const at = (addr as bigint) < 1n << 52n ? Number(addr) : (addr as bigint);
  const n = Number(len);
  const r = write ? kernel.procMemWrite(pid, t.pid, at, new Uint8Array(n).fill(Number(byte))) : kernel.procMemRead(pid, t.pid, at, n);
  if (!r.ok) return { kind: "errno", name: errnoName(r.errno) };
  if (write) return { kind: "ret", value: BigInt(r.bytes) };
  return { kind: "hash", value: BigInt(r.bytes), hash: fnv1a(r.data.subarray(0, r.bytes)) };
}

function rawResult(r: number): OpResult {
  if (r < 0) return { kind: "errno", name: errnoName(-r) };
  return { kind: "ret", value: BigInt(r) };
}

/** The executor's open: with size ≥ 0, open(O_RDWR|O_CREAT|O_TRUNC) + ftruncate(size) +
 *  close first, then open(path, oflags). */
function runOpen(kernel: Kernel, pid: number, op: Extract<ParsedOp, { kind: "open" }>, created: Set<string>): OpResult {
  const size = BigInt.asIntN(64, op.size);
  let truncateTo: number | undefined;
  if (size >= 0n) {
    created.add(op.path);
    // O_TRUNC empties the file (dropping its page cache) before ftruncate() sets the size.
    kernel.vfs.truncate(op.path, 0);
    truncateTo = Number(size);
  }
  const r = kernel.open(pid, op.path, toInt32(u64(op.oflags)), truncateTo);
  return "ret" in r ? { kind: "ret", value: r.ret } : { kind: "errno", name: r.name };
}

// kernel.access() takes doubles. Addresses from 2^52 up are never mapped (TASK_SIZE is 2^47)
// and fault at their first access, so they get a stand-in in [2^52, 2^52 + 4096) with the same
// offset in page, where addr + len is still exact; a length that large only matters up to
// the first unmapped page.
const STAND_IN = 2 ** 52;

function accessAddr(x: bigint): number {
  return x < BigInt(STAND_IN) ? Number(x) : STAND_IN + Number(x & 0xfffn);
}

function accessLen(x: bigint): number {
  return x < BigInt(STAND_IN) ? Number(x) : STAND_IN;
}

function runAccess(kernel: Kernel, pid: number, op: Extract<ParsedOp, { kind: "access" }>): OpResult {
  const r = kernel.access(pid, accessAddr(op.addr), accessLen(op.len), op.access, op.byte);
  if (!r.ok) return { kind: "fault", signal: r.signal, offset: BigInt(r.offset) };
  if (op.access === "read") return { kind: "hash", value: 0n, hash: r.hash ?? 0x811c9dc5 };
  return { kind: "ret", value: 0n };
}

function modelMaps(kernel: Kernel, pid: number): string[] {
  const text = kernel.maps(pid);
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

/** Resident pages of each 2 MiB block wholly inside `v` (for khugepagedCollapseExplains). */
function residentPerHugeBlock(mm: Mm, v: Vma): number[] {
  const out: number[] = [];
  for (let h = Math.ceil(v.start / 512) * 512; h + 512 <= v.end; h += 512) out.push(mm.pt.count(h, h + 512).rss);
  return out;
}

function modelSmaps(kernel: Kernel, pid: number, init: ExecResult): SmapsLine[] {
  const mm = kernel.process(pid).mm;
  const out: SmapsLine[] = [];
  mm.tree.forEach((v) => {
    const c = smapsCounters(mm, v);
    const line: SmapsLine = {
      start: BigInt(v.start) * 4096n,
      end: BigInt(v.end) * 4096n,
      rssKb: c.rssKb,
      anonKb: c.anonKb,
      flags: vmFlagNames(v),
    };
    if (c.thpEligible) line.hugeBlockPages = residentPerHugeBlock(mm, v);
    out.push(line);
  });
  // The gate VMA is not in the tree; the kernel's smaps shows it unchanged by any program.
  const gate = init.initSmaps.find((s) => s.start >= TASK_SIZE);
  if (gate !== undefined) out.push({ ...gate, flags: [...gate.flags] });
  return out;
}

// The replayer: strace events in, each memory syscall run through the model and its result
// compared with the one the kernel returned. One modeled task per traced PID; fork, vfork,
// clone and clone3 by their flags; execve from the files the log names; an fd table mirrored
// from the log (openat, dup*, fcntl F_DUPFD*, close, ...) so that file mappings know their
// file and open mode. What the model cannot run is `unsupported` with a reason, never guessed.

import { makeInode, openFile } from "../../kernel/fs/file.js";
import { memfdCreateNamed } from "../../kernel/fs/memfd.js";
import type { Resolver } from "../../kernel/fs/vfs.js";
import { Kernel, type SysResult } from "../../kernel/kernel.js";
import type { KernelConfig } from "../../kernel/mm/config.js";
import type { Mm } from "../../kernel/mm/mm.js";
import type { SealPolicy } from "../../kernel/policy/policy.js";
import { SYSCALLS } from "../../kernel/syscalls.js";
import { PR_SET_MM, PR_SET_MM_MAP, prctlSetMmMapFrom } from "../../kernel/task/prctl.js";
import type { Process } from "../../kernel/task/process.js";
import { type IovecWords, processMadviseValues, processVmRwAssumingLocal, processVmRwValues } from "../../kernel/task/remote.js";
import { copyFromUser } from "../../kernel/task/uaccess.js";
import { errnoName } from "../../kernel/uapi/errno.js";
import { Unsupported } from "../../kernel/unsupported.js";
import { hostResolver } from "../../oracle/host-files.js";
import { argRanges } from "../call-ranges.js";
import { parseArgs, splitArgs, unescapeCString } from "../strace/args.js";
import type { StraceArg, StraceCall, StraceEvent, StraceRet, StraceUnfinished } from "../strace/types.js";
import { bundleResolver, type FileSource, type RecordBundle } from "./bundle.js";
import { type PrintedIovec, printedBytes, printedMmMap, printedVector } from "./remote-args.js";
import { ArgError, argU64, CLONE_FILES, CLONE_THREAD, CLONE_VM, cloneFlagsOf, O_CLOEXEC, O_FLAGS, UnknownFileMapping } from "./symbols.js";
import type { CallRecord, Divergence, NameStats, ReplayReport, VmaKind } from "./types.js";

/** The process-creation surface of the Kernel (helpers "tasks"/"exec"); checked at run time. */
interface ExecSurface {
  spawnExec?(path: string, argv: string[], envp: string[], opts?: object): Process | { errno: number; name: string; reason: string };
  execve?(pid: number, path: string, argv: string[], envp: string[]): SysResult;
}

export interface ReplayOptions {
  /** Sealing policy by name or object (default `none`, this machine's). */
  policy?: string | SealPolicy;
  /** What paths are on this machine (e.g. `hostResolver()` of src/oracle/host-files.ts). */
  resolver?: Resolver;
  /** The record bundle (see bundle.ts), used before the resolver for recorded files. */
  bundle?: RecordBundle | null;
  /** The environment of the log's first execve (strace prints only its size). */
  env?: string[];
  /** The recorded working directory, for relative paths (default: the bundle's, else this process's). */
  cwd?: string;
  /** Called with each replayed call's record (memory and process calls). */
  onCall?: (rec: CallRecord) => void;
  /** How many divergences to keep with context and maps (default 5). */
  maxDivergences?: number;
  config?: Partial<KernelConfig>;
}

/** Names of the memory syscalls (prctl/arch_prctl count only for their memory options). */
export const MEMORY_SYSCALLS = new Set([
  "mmap",
  "munmap",
  "mprotect",
  "pkey_mprotect",
  "pkey_alloc",
  "pkey_free",
  "mremap",
  "madvise",
  "mseal",
  "brk",
  "mlock",
  "mlock2",
  "munlock",
  "mlockall",
  "munlockall",
  "msync",
  "shmat",
  "shmdt",
  "process_vm_readv",
  "process_vm_writev",
  "process_madvise",
]);

const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_FIXED_NOREPLACE = 0x100000;

/** Whether a call is a memory syscall (prctl PR_SET_MM and PR_SET_VMA, arch_prctl ARCH_MAP_VDSO_x). */
export function isMemoryCall(name: string, argsText: string): boolean {
  if (MEMORY_SYSCALLS.has(name)) return true;
  if (name === "prctl") return argsText.startsWith("PR_SET_MM") || argsText.startsWith("PR_SET_VMA") || /^(35|0x53564d41)\b/.test(argsText);
  if (name === "arch_prctl") return argsText.startsWith("ARCH_MAP_VDSO") || /^0x200[123]\b/.test(argsText);
  return false;
}

/** Calls that change the fd table or files (besides any call returning a decorated fd). */
const FD_CALLS = new Set([
  "ftruncate",
  "memfd_create",
  "shmget",
  "shmctl",
  "open",
  "openat",
  "openat2",
  "creat",
  "close",
  "dup",
  "dup2",
  "dup3",
  "fcntl",
  "fcntl64",
  "pipe",
  "pipe2",
  "socketpair",
  "pidfd_open",
]);

const RECENT = 8;

function contextLine(n: number, text: string): string {
  return `${n}: ${text.length > 160 ? `${text.slice(0, 160)}…` : text}`;
}

const PROCESS_CALLS = new Set(["execve", "execveat", "fork", "vfork", "clone", "clone3"]);

/** A traced task: the model's pid for it, or why it is not modeled. */
interface TraceTask {
  modelPid: number | null;
  unmodeled: string | null;
  /** Fds opened with O_CLOEXEC (closed at execve); shared by CLONE_FILES tasks. */
  cloexec: Set<number>;
  /**
   * Fds open in the traced process that the model's table does not hold (stdio inherited
   * at the first execve, pipes, sockets, files the resolver does not know): a mapping of
   * one is unsupported, while a mapping of an fd that is simply not open runs (EBADF).
   */
  opaque: Set<number>;
  /** Memory calls since the task's last execve (its image), and that image's path. */
  sinceExec: number;
  image: string | null;
}

function printRet(r: StraceRet): string {
  if (r.kind === "value") return r.value < 0n || r.value < 4096n ? r.value.toString() : `0x${r.value.toString(16)}`;
  if (r.kind === "error") return `-1 ${r.errno}`;
  return r.text;
}

function printResult(r: SysResult): string {
  if ("errno" in r) return `-1 ${r.name}`;
  return r.ret < 4096n ? r.ret.toString() : `0x${r.ret.toString(16)}`;
}

/** The recorded result equals the model's. */
function sameResult(rec: StraceRet, got: SysResult): boolean {
  if (rec.kind === "value") return "ret" in got && BigInt.asUintN(64, rec.value) === got.ret;
  if (rec.kind === "error") return "errno" in got && got.name === rec.errno;
  return false;
}

function emptyStats(): NameStats {
  return { calls: 0, modeled: 0, matched: 0, mismatched: 0, unsupported: 0 };
}

const SYSTEM_KINDS: Record<string, VmaKind> = {
  "[vdso]": "vdso",
  "[vvar]": "vvar",
  "[vvar_vclock]": "vvar_vclock",
  "[sigpage]": "sigpage",
  "[vectors]": "vectors",
  "[uprobes]": "uprobes",
  "[vsyscall]": "vsyscall",
};

/** What a call on pages [lo, hi) touches: a system mapping by name, a sealed VMA, or other. */
export function vmaKindAt(mm: Mm, lo: number, hi: number): VmaKind {
  const vmas = mm.tree.range(lo, Math.max(hi, lo + 1));
  if (vmas.length === 0) return "none";
  let sealed = false;
  for (const v of vmas) {
    if (v.special !== null) {
      const k = SYSTEM_KINDS[v.special.name];
      if (k !== undefined) return k;
    }
    if (v.sealed) sealed = true;
  }
  return sealed ? "user-sealed" : "ordinary";
}

/** `full` is what strace printed as `printed` (each printed string a prefix, none missing in between). */
function extends_(printed: string[], full: string[]): boolean {
  return printed.length <= full.length && printed.every((p, i) => (full[i] as string).startsWith(p));
}

/** The strings of a printed array (`["a", "b"...]`), and whether strace cut any of it. */
function stringsOfArray(a: StraceArg | undefined): { items: string[]; cut: boolean } | null {
  if (a === undefined || a.kind !== "array") return a?.kind === "null" ? { items: [], cut: false } : null;
  const inner = a.raw.slice(1, -1);
  const parts = inner.trim() === "" ? [] : splitArgs(inner);
  if (parts === null) return null;
  const items: string[] = [];
  let cut = false;
  for (const p of parts) {
    if (p === "...") {
      cut = true;
      continue;
    }
    const m = /^"((?:[^"\\]|\\.)*)"(\.\.\.)?$/.exec(p);
    if (m === null) return null;
    items.push(unescapeCString(m[1]));
    if (m[2] !== undefined) cut = true;
  }
  return { items, cut };
}

/** Calls run through a model entry point that takes the printed vectors or struct as values. */
const BY_VALUE = new Set(["process_vm_readv", "process_vm_writev", "process_madvise", "prctl"]);

/** The (base, len) words of printed iovecs (a base printed as data: 0, unused by the local side). */
function words(iov: PrintedIovec[]): IovecWords[] {
  return iov.map((v) => ({ base: v.base ?? 0n, len: v.len }));
}

/**
 * A local fault stops a transfer early (process_vm_rw_core returns the bytes moved, or
 * EFAULT when none): the model's count with valid local buffers is larger than recorded.
 */
function localFaultExplains(rec: StraceRet, got: SysResult): boolean {
  if (!("ret" in got) || got.ret === 0n) return false;
  if (rec.kind === "error") return rec.errno === "EFAULT";
  return rec.kind === "value" && rec.value >= 0n && rec.value < got.ret;
}

/** copy_from_user() of `len` bytes at `addr` would succeed in the model (bytes known or not). */
function readableInModel(mm: Mm, addr: number, len: number): boolean {
  // Page by page: bytes the model does not know (Unsupported) still mean the page is readable.
  for (let pos = addr; pos < addr + len; pos = (Math.floor(pos / 4096) + 1) * 4096) {
    const n = Math.min(addr + len, (Math.floor(pos / 4096) + 1) * 4096) - pos;
    try {
      if (copyFromUser(mm, pos, n) === null) return false;
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
    }
  }
  return true;
}

/** The replay engine. Feed events in log order with `event()`, then `finish()`. */
export class Replayer {
  readonly kernel: Kernel;
  private readonly exec: ExecSurface;
  private readonly tasks = new Map<number, TraceTask>();
  /** Children created at a fork's `<unfinished ...>`, not yet bound to a traced PID. */
  private readonly unbound: Array<{ parent: number; modelPid: number; flags: number }> = [];
  private readonly opts: ReplayOptions;
  private baseEnv: string[] | null;
  private readonly noteSet = new Set<string>();
  private exitedTasks = 0;
  /** The PID-less first task has been matched to the PID it is printed with later. */
  private nullAliased = false;
  /** SysV shm ids: the log's (kernel's) → the model's. */
  private readonly shmIds = new Map<number, number>();
  /** The log prints fds with their paths (strace -y). */
  private sawDecoration = false;
  /** What the call valueCall() just built touches in its target (for impact). */
  private valueKind: VmaKind | undefined;
  /** Tasks already warned that their image differs from the model's. */
  private readonly warnedImage = new Set<number>();
  /** Mappings of unknown files held by placeholders (holdUnknownFileMapping). */
  private heldUnknown = 0;
  readonly report: ReplayReport;
  private pendingContext: Array<{ div: Divergence; want: number }> = [];
  private readonly recent: string[] = new Array(RECENT);
  private recentNext = 0;
  /** Where each file the model looked up came from (host, bundle, nowhere). */
  readonly fileSources: Map<string, FileSource>;

  constructor(opts: ReplayOptions = {}, source = "<lines>") {
    this.opts = opts;
    // Relative paths (execve("./prog")) are the recorded working directory's.
    const files = bundleResolver(opts.bundle ?? null, opts.resolver ?? hostResolver({ cwd: opts.cwd ?? opts.bundle?.cwd }));
    this.fileSources = files.sources;
    this.kernel = new Kernel({ config: opts.config, resolver: files.resolver, policy: opts.policy });
    this.exec = this.kernel as unknown as ExecSurface;
    this.baseEnv = opts.env ?? opts.bundle?.env ?? null;
    const policy = this.kernel.policy;
    this.report = {
      source,
      policy: policy?.name ?? (typeof opts.policy === "string" ? opts.policy : (opts.policy?.name ?? "none")),
      lines: 0,
      syscalls: 0,
      modeled: 0,
      matched: 0,
      mismatched: 0,
      unsupported: {},
      unsupported_count: 0,
      process_calls: emptyStats(),
      by_name: {},
      divergences: [],
      divergence_count: 0,
      diagnostics: [],
      diagnostic_count: 0,
      notes: [],
      tasks: 0,
      seconds: 0,
    };
    if (opts.bundle?.kernel_release !== undefined) {
      this.note(`recorded on Linux ${opts.bundle.kernel_release}; replayed on the model of Linux 6.18 (x86_64)`);
    }
    if (opts.env !== undefined) this.note(`environment of the first execve: given (${opts.env.length} variables)`);
    else if (opts.bundle?.env !== undefined)
      this.note(`environment of the first execve: from the bundle (${opts.bundle.env.length} variables)`);
  }

  /** Record a raw log line (for divergence context); call before `event()` for its events. */
  line(text: string, lineNo: number): void {
    this.report.lines = lineNo;
    // A ring of the last lines, formatted only when a divergence asks for them.
    this.recent[this.recentNext] = text;
    this.recentNext = (this.recentNext + 1) % RECENT;
    if (this.pendingContext.length > 0) {
      for (const p of this.pendingContext) {
        p.div.context.push(contextLine(lineNo, text));
        p.want--;
      }
      this.pendingContext = this.pendingContext.filter((p) => p.want > 0);
    }
  }

  /** The last `n` lines read (up to and including `lineNo`), formatted for a divergence. */
  private recentLines(n: number): string[] {
    const out: string[] = [];
    const last = this.report.lines;
    for (let i = Math.min(n, RECENT, last) - 1; i >= 0; i--) {
      const text = this.recent[(this.recentNext - 1 - i + RECENT) % RECENT];
      if (text !== undefined) out.push(contextLine(last - i, text));
    }
    return out;
  }

  note(msg: string): void {
    if (this.noteSet.has(msg) || this.noteSet.size >= 50) return;
    this.noteSet.add(msg);
    this.report.notes.push(msg);
  }

  /**
   * The recording machine's system mapping sizes (from the bundle) against the model's after
   * the first execve: a different [vdso] or [vvar] size moves every mapping placed below it.
   */
  private compareSystemMappings(modelPid: number): void {
    const recorded = this.opts.bundle?.system_mappings;
    if (recorded === undefined) return;
    const model: Record<string, number> = {};
    for (const line of this.kernel.maps(modelPid).split("\n")) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) .*\s(\[[a-z_]+\])$/.exec(line);
      if (m !== null && m[3] !== "[heap]" && m[3] !== "[stack]") model[m[3]] = Number(BigInt(`0x${m[2]}`) - BigInt(`0x${m[1]}`));
    }
    for (const [name, size] of Object.entries(recorded)) {
      if (model[name] !== undefined && model[name] !== size) {
        this.note(
          `${name} is ${size} bytes on the recording machine but ${model[name]} in the model: mappings placed below it will differ`,
        );
      }
    }
  }

  /** Use `env` for the first execve when no environment was given (e.g. from a meta file). */
  setBaseEnv(env: string[], how: string): void {
    if (this.baseEnv !== null) return;
    this.baseEnv = env;
    this.note(`environment of the first execve: ${how} (${env.length} variables)`);
  }

  event(ev: StraceEvent): void {
    try {
      this.dispatch(ev);
    } catch (e) {
      // A bug in the replayer or the model must not end the replay: the event is reported
      // as unreadable and the replay goes on.
      this.report.diagnostic_count++;
      if (this.report.diagnostics.length < 20)
        this.report.diagnostics.push({ line: ev.line, message: `replay error: ${(e as Error).message}` });
    }
  }

  private dispatch(ev: StraceEvent): void {
    switch (ev.kind) {
      case "call":
        this.call(ev);
        return;
      case "unfinished":
        this.unfinished(ev);
        return;
      case "exit":
        this.exited(ev.pid);
        return;
      case "diagnostic":
        this.report.diagnostic_count++;
        if (this.report.diagnostics.length < 20) this.report.diagnostics.push({ line: ev.line, message: ev.message });
        return;
      case "signal":
        return;
    }
  }

  /**
   * The model's pid of a traced PID at this point of the replay (null: not in the log, not
   * modeled, or exited). The kernel is `this.kernel`.
   */
  pidOf(tracedPid: number | null): number | null {
    return this.tasks.get(this.key(tracedPid))?.modelPid ?? null;
  }

  finish(): ReplayReport {
    this.report.tasks = new Set(this.tasks.values()).size + this.exitedTasks;
    for (const f of this.fileSources.values()) {
      if (f.source === "bundle") this.note(`${f.path}: taken from the bundle (${f.why})`);
    }
    return this.report;
  }

  // ---- tasks -------------------------------------------------------------------------

  private key(pid: number | null): number {
    return pid ?? -1;
  }

  /** The task of a traced PID, creating it (bound to a pending fork child if there is one). */
  private task(pid: number | null, first: StraceCall | StraceUnfinished): TraceTask {
    const k = this.key(pid);
    let t = this.tasks.get(k);
    if (t !== undefined) return t;
    const nullTask = pid === null ? undefined : this.tasks.get(-1);
    if (nullTask !== undefined && !this.nullAliased && this.unbound.length === 0) {
      // strace writing to stderr prints no PID for the first task until a second one
      // exists; the first new PID that is no fork's child is that first task.
      this.nullAliased = true;
      this.tasks.set(k, nullTask);
      return nullTask;
    }
    const child = this.unbound.shift();
    if (child !== undefined) {
      t = this.childTask(child.parent, child.modelPid, child.flags);
    } else if (first.name === "execve" || first.name === "execveat") {
      t = { modelPid: null, unmodeled: null, cloexec: new Set(), opaque: new Set([0, 1, 2]), sinceExec: 0, image: null };
    } else {
      t = {
        modelPid: null,
        unmodeled: `the log does not show how task ${pid ?? "?"} began (no execve or fork before line ${first.line})`,
        cloexec: new Set(),
        opaque: new Set(),
        sinceExec: 0,
        image: null,
      };
    }
    this.tasks.set(k, t);
    return t;
  }

  private childTask(parentKey: number, modelPid: number, flags: number): TraceTask {
    const parent = this.tasks.get(parentKey);
    if (parent === undefined) return { modelPid, unmodeled: null, cloexec: new Set(), opaque: new Set(), sinceExec: 99, image: null };
    const shared = (flags & CLONE_FILES) !== 0;
    return {
      modelPid,
      unmodeled: null,
      cloexec: shared ? parent.cloexec : new Set(parent.cloexec),
      opaque: shared ? parent.opaque : new Set(parent.opaque),
      sinceExec: parent.sinceExec,
      image: parent.image,
    };
  }

  private unfinished(u: StraceUnfinished): void {
    const t = this.task(u.pid, u);
    if (u.name === "fork" || u.name === "vfork" || u.name === "clone" || u.name === "clone3") {
      if (t.modelPid === null) return;
      // The child may run (and be logged) before the parent's call returns: create it now.
      let flags: number;
      try {
        flags = cloneFlagsOf(u.name, parseArgs(u.argsText) ?? []);
      } catch {
        return;
      }
      const child = this.cloneModel(t.modelPid, u.name, flags);
      if (child > 0) this.unbound.push({ parent: this.key(u.pid), modelPid: child, flags });
    }
  }

  private cloneModel(modelPid: number, name: string, flags: number): number {
    if (name === "fork") return this.kernel.fork(modelPid);
    if (name === "vfork") return this.kernel.vfork(modelPid);
    return this.kernel.clone(modelPid, flags);
  }

  private exited(pid: number | null): void {
    const k = this.key(pid);
    const t = this.tasks.get(k);
    if (t === undefined) return;
    // The PID may be reused by a later task: that one starts afresh (fork or execve). The
    // task may be known under two keys (no PID, then its PID: strace writing to stderr).
    this.tasks.delete(k);
    if (k === -1 || this.nullAliased) for (const [key, v] of this.tasks) if (v === t) this.tasks.delete(key);
    this.exitedTasks++;
    if (t.modelPid !== null && this.kernel.tasks.lookup(t.modelPid) !== null) this.kernel.exit(t.modelPid);
    t.modelPid = null;
    t.unmodeled = "the task has exited";
  }

  // ---- calls -------------------------------------------------------------------------

  private call(c: StraceCall): void {
    const t = this.task(c.pid, c);
    const name = c.name;
    if (PROCESS_CALLS.has(name)) {
      this.processCall(t, c);
      return;
    }
    if (isMemoryCall(name, c.argsText)) {
      this.memoryCall(t, c);
      return;
    }
    if (t.modelPid !== null) this.fdCall(t, c);
  }

  private stats(name: string): NameStats {
    let s = this.report.by_name[name];
    if (s === undefined) {
      s = emptyStats();
      this.report.by_name[name] = s;
    }
    return s;
  }

  private emit(rec: CallRecord): void {
    const r = this.report;
    const s = rec.memory ? this.stats(rec.name) : r.process_calls;
    s.calls++;
    if (rec.memory) r.syscalls++;
    if (rec.status === "unsupported") {
      s.unsupported++;
      if (rec.memory) {
        r.unsupported_count++;
        const reason = rec.reason ?? "unknown";
        r.unsupported[reason] = (r.unsupported[reason] ?? 0) + 1;
      }
    } else {
      s.modeled++;
      if (rec.memory) r.modeled++;
      if (rec.status === "matched") {
        s.matched++;
        if (rec.memory) r.matched++;
      } else {
        s.mismatched++;
        if (rec.memory) r.mismatched++;
      }
    }
    this.opts.onCall?.(rec);
  }

  private unsupported(c: StraceCall, memory: boolean, reason: string): void {
    this.emit({ ...unsupportedRecord(c, memory), reason });
  }

  private divergence(c: StraceCall, modelPid: number, predicted: string, adopted: boolean): void {
    this.report.divergence_count++;
    if (this.report.divergences.length >= (this.opts.maxDivergences ?? 5)) return;
    const context = this.recentLines(4);
    const div: Divergence = {
      pid: c.pid,
      line: c.line,
      name: c.name,
      args: c.argsText,
      recorded: printRet(c.ret),
      predicted,
      adopted,
      context,
      maps: this.kernel.tasks.lookup(modelPid) === null ? "" : this.kernel.maps(modelPid),
    };
    this.report.divergences.push(div);
    this.pendingContext.push({ div, want: 2 });
  }

  /** Run `fn` on the model, turning Unsupported (and model bugs) into a reason. */
  private run(fn: () => SysResult): SysResult | { unsupported: string } {
    try {
      return fn();
    } catch (e) {
      if (e instanceof Unsupported) return { unsupported: e.reason };
      if (e instanceof ArgError) return { unsupported: `argument: ${e.message}` };
      return { unsupported: `model error: ${(e as Error).message}` };
    }
  }

  // ---- memory syscalls ----------------------------------------------------------------

  private memoryCall(t: TraceTask, c: StraceCall): void {
    if (t.modelPid === null) {
      this.unsupported(c, true, t.unmodeled ?? "the task's address space is unknown");
      return;
    }
    if (c.ret.kind === "unknown") {
      this.unsupported(c, true, "result not recorded (= ?)");
      return;
    }
    const modelPid = t.modelPid;
    if (SYSCALLS[c.name] === undefined) {
      this.unsupported(c, true, `model lacks ${c.name}`);
      return;
    }
    let args: Array<number | bigint>;
    let byValue: (() => number) | null;
    try {
      byValue = this.valueCall(c, t, modelPid);
      args = byValue === null ? this.memoryArgs(c, t) : [];
    } catch (e) {
      this.unsupported(c, true, e instanceof ArgError ? e.message : `argument: ${(e as Error).message}`);
      if (e instanceof UnknownFileMapping) this.holdUnknownFileMapping(c, modelPid, e.path);
      return;
    }
    if (byValue !== null) {
      this.runByValue(t, c, modelPid, byValue);
      return;
    }
    const mm = this.kernel.process(modelPid).mm;
    const vmaKind = this.kindOf(c.name, args, mm);
    const got = this.run(() => this.kernel.syscall(modelPid, c.name, args));
    if ("unsupported" in got) {
      this.emit({ ...unsupportedRecord(c, true), reason: got.unsupported, vmaKind });
      return;
    }
    const ok = sameResult(c.ret, got);
    let adopted = false;
    if (!ok) adopted = this.adopt(c, modelPid, args, got);
    const rec: CallRecord = {
      pid: c.pid,
      line: c.line,
      name: c.name,
      args: c.argsText,
      recorded: printRet(c.ret),
      predicted: printResult(got),
      status: ok ? "matched" : "mismatched",
      vmaKind,
      memory: true,
    };
    if (!ok) {
      rec.adopted = adopted;
      this.divergence(c, modelPid, rec.predicted as string, adopted);
      if (t.sinceExec < 3 && t.image !== null && !this.warnedImage.has(this.key(c.pid))) {
        this.warnedImage.add(this.key(c.pid));
        this.note(
          `task ${c.pid ?? "?"}: its first memory calls after execve of ${t.image} differ from the model's (line ${c.line}: ${c.name} = ${rec.recorded}, model ${rec.predicted}): the log may have been recorded with ASLR on (without setarch -R), or ${t.image} differs from the file replayed; later results of this task are not comparable`,
        );
      }
    }
    t.sinceExec++;
    this.emit(rec);
  }

  /** The words the program passed, rebuilt from the printed arguments. */
  private memoryArgs(c: StraceCall, t: TraceTask): Array<number | bigint> {
    const a = c.args;
    switch (c.name) {
      case "mmap": {
        const words = [argU64(a[0]), argU64(a[1]), argU64(a[2]), argU64(a[3]), argU64(a[4]), argU64(a[5])];
        const flags = Number(words[3]);
        const fd = a[4]?.kind === "int" ? Number(a[4].value) : -1;
        if ((flags & MAP_ANONYMOUS) === 0 && fd >= 0 && t.modelPid !== null) {
          // An fd that is simply not open runs (EBADF); `-y` prints a path only for open ones.
          const path = a[4]?.kind === "int" ? a[4].path : undefined;
          if (path !== undefined) this.sawDecoration = true;
          if (this.kernel.process(t.modelPid).files.get(fd) === null) {
            if (t.opaque.has(fd) || path !== undefined) throw new UnknownFileMapping(fd, path);
            // Without -y nothing tells an fd the log never showed opened from a closed one.
            if (!this.sawDecoration) throw new ArgError(`mmap of fd ${fd}, which the log does not show opened (no -y)`);
          }
        }
        return words;
      }
      case "mseal":
        // strace 6.1 prints it as syscall_0x1ce with six raw words; mseal takes three.
        return [argU64(a[0]), argU64(a[1]), argU64(a[2])];
      case "munlockall":
        return [];
      case "prctl":
        if (a[0]?.raw === "PR_SET_VMA" && a[4]?.kind === "str") {
          // The name's address is not in the log. A NULL name asks for the same checks
          // (madvise_set_anon_name) except that it clears instead of naming.
          this.note(
            'prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ..., "name"): the name\'s address is not in the log; replayed with a NULL name (same result, the VMA is left unnamed)',
          );
          return [argU64(a[0]), argU64(a[1]), argU64(a[2]), argU64(a[3]), 0];
        }
        return a.map((x) => argU64(x));
      case "shmat": {
        // The log's shmid is the kernel's; the model's segment has its own id.
        const id = this.shmIds.get(Number(argU64(a[0])));
        if (id === undefined) throw new ArgError(`shmat: shmid ${a[0]?.raw} does not come from a shmget in the log`);
        return [id, argU64(a[1]), argU64(a[2])];
      }
      default:
        return a.map((x) => argU64(x));
    }
  }

  // ---- calls whose vectors or structs strace prints as values ------------------------

  /**
   * process_vm_readv/writev, process_madvise and PR_SET_MM_MAP: the model entry point that
   * takes what the log prints (the vectors, the struct) as values, or null when the call is
   * run like any other (its words are all in the log). Throws ArgError when the log does
   * not say enough.
   */
  private valueCall(c: StraceCall, t: TraceTask, modelPid: number): (() => number) | null {
    if (!BY_VALUE.has(c.name)) return null;
    const p = this.kernel.process(modelPid);
    const a = c.args;
    this.valueKind = undefined;
    switch (c.name) {
      case "process_vm_readv":
      case "process_vm_writev": {
        const write = c.name === "process_vm_writev";
        const local = this.vector(a[1], a[2], `${c.name}: local`);
        const remote = this.vector(a[3], a[4], `${c.name}: remote`);
        if (remote.some((v) => v.base === null)) throw new ArgError(`${c.name}: the remote iovecs are printed without their addresses`);
        const target = this.targetPid(a[0], c.name);
        const flags = argU64(a[5]);
        if (typeof target === "number") this.valueKind = this.remoteKind(target, remote);
        if (local.length > 0 && local.every((v) => v.base !== null)) {
          // A failed call: strace printed the local addresses, so the caller's modeled
          // memory decides local faults as the kernel's copy did.
          return () => processVmRwValues(p, target, words(local), words(remote), flags, write);
        }
        const data = write ? printedBytes(local) : null;
        this.note(
          "process_vm_readv/writev: the caller's local buffers are not in the log (strace prints their contents, or their addresses only when the call failed); they are assumed valid, and a recorded result that only a local fault could explain is unsupported",
        );
        if (write && data === null)
          this.note("process_vm_writev: strace cut the data written (-s); the target's pages written hold bytes the model marks unknown");
        return () => processVmRwAssumingLocal(p, target, words(local), words(remote), flags, write, data);
      }
      case "process_madvise": {
        const fd = a[0]?.kind === "int" ? Number(BigInt.asIntN(32, a[0].value)) : -1;
        const path = a[0]?.kind === "int" ? a[0].path : undefined;
        if (fd >= 0 && p.files.get(fd) === null && t.opaque.has(fd) && (path === undefined || path.includes("pidfd")))
          throw new ArgError(`process_madvise: fd ${fd}${path === undefined ? "" : ` (${path})`} is not a pidfd the log shows created`);
        const vec = this.vector(a[1], a[2], "process_madvise");
        if (vec.some((v) => v.base === null)) throw new ArgError("process_madvise: the iovecs are printed without their addresses");
        const pidfd = argU64(a[0]);
        const named = fd >= 0 ? p.files.get(fd)?.inode.pidfd : undefined;
        if (named !== undefined) this.valueKind = this.remoteKind(named, vec);
        const advice = argU64(a[3]);
        const flags = argU64(a[4]);
        return () => processMadviseValues(p, pidfd, words(vec), advice, flags);
      }
      case "prctl":
        return this.setMmMap(c, p);
      default:
        return null;
    }
  }

  /** What the first non-empty remote iovec touches in the target's address space. */
  private remoteKind(targetPid: number, iov: PrintedIovec[]): VmaKind | undefined {
    const target = this.kernel.tasks.lookup(targetPid);
    const v = iov.find((x) => x.len > 0n && x.base !== null);
    if (target === null || v === undefined || (v.base as bigint) >= 1n << 47n) return undefined;
    const lo = Number((v.base as bigint) >> 12n);
    const hi = Number(((v.base as bigint) + v.len + 4095n) >> 12n);
    return vmaKindAt(target.mm, lo, hi);
  }

  /** The printed iovec array of a vector argument with its count argument. */
  private vector(arr: StraceArg | undefined, countArg: StraceArg | undefined, what: string): PrintedIovec[] {
    const count = Number(argU64(countArg));
    const v = printedVector(arr, count, what);
    if ("error" in v) throw new ArgError(v.error);
    return v.iov;
  }

  /** A traced PID argument → the model's pid (≤ 0 is passed as is: the model says ESRCH). */
  private targetPid(a: StraceArg | undefined, name: string): number | bigint {
    if (a?.kind !== "int") throw new ArgError(`${name}: the pid is not a number`);
    const pid = Number(BigInt.asIntN(32, a.value));
    if (pid <= 0) return BigInt.asUintN(64, a.value);
    const model = this.pidOf(pid);
    if (model === null) throw new ArgError(`${name}: target PID ${pid} is not a modeled task of the log at this point`);
    return model;
  }

  /**
   * prctl(PR_SET_MM, PR_SET_MM_MAP, struct, size, 0). strace (6.1 and later) prints the
   * struct's address, not its fields: the model decides alone only what does not depend on
   * them (a wrong size or arg5: EINVAL; an address the caller cannot read: EFAULT); with a
   * readable struct the call is unsupported. A log that prints the struct as
   * `{start_code=..., ..., exe_fd=N}` is run with it (prctlSetMmMapFrom: the syscall's own
   * checks); its auxv bytes are not printed: the buffer is readable or not as the caller's
   * modeled mappings say, and its contents are taken as zeroes.
   */
  private setMmMap(c: StraceCall, p: Process): (() => number) | null {
    const a = c.args;
    const op = a[0] === undefined || a[1] === undefined ? -1 : Number(argU64(a[0]));
    if (op !== PR_SET_MM || Number(argU64(a[1])) !== PR_SET_MM_MAP) return null;
    const size = argU64(a[3]);
    const arg5 = argU64(a[4]);
    const m = printedMmMap(a[2]);
    if (m !== null) {
      if (m.auxvSize !== 0)
        this.note("PR_SET_MM_MAP: auxv contents are not in the log; its buffer is assumed to hold zeroes (only saved_auxv differs)");
      const mm = p.mm;
      return () =>
        prctlSetMmMapFrom(p, m, size, arg5, (at, len) => {
          if (at > BigInt(Number.MAX_SAFE_INTEGER)) return null;
          return readableInModel(mm, Number(at), len) ? new Uint8Array(len) : null;
        });
    }
    if (size !== 104 || arg5 !== 0) return null;
    const addr = argU64(a[2]);
    if (typeof addr === "bigint" || !readableInModel(p.mm, addr, 104)) return null;
    throw new ArgError("prctl(PR_SET_MM_MAP): strace prints the struct's address, not its fields, and the struct is readable");
  }

  /** Run a call built by valueCall() and compare; a process_vm_* result short of the model's is the local side's. */
  private runByValue(t: TraceTask, c: StraceCall, modelPid: number, fn: () => number): void {
    const kind = this.valueKind;
    const got = this.run(() => {
      const r = fn();
      return r < 0 ? { errno: -r, name: errnoName(-r) } : { ret: BigInt(r) };
    });
    const rec = unsupportedRecord(c, true);
    if (kind !== undefined) rec.vmaKind = kind;
    if ("unsupported" in got) {
      rec.reason = got.unsupported;
      this.emit(rec);
      return;
    }
    const ok = sameResult(c.ret, got);
    if (!ok && (c.name === "process_vm_readv" || c.name === "process_vm_writev") && localFaultExplains(c.ret, got)) {
      rec.reason = `${c.name}: the recorded result is short of what the target's pages allow; only a local buffer fault explains it, and the local buffers are not in the log`;
      this.emit(rec);
      return;
    }
    rec.predicted = printResult(got);
    rec.status = ok ? "matched" : "mismatched";
    if (!ok) this.divergence(c, modelPid, rec.predicted, false);
    t.sinceExec++;
    this.emit(rec);
  }

  /**
   * pidfd_open(pid, flags) with the traced PID translated to the model's, moved to the fd
   * number the kernel returned, so process_madvise finds it. Tallied with the process calls.
   */
  private pidfdOpen(t: TraceTask, files: Process["files"], c: StraceCall): void {
    const rec = unsupportedRecord(c, false);
    if (c.ret.kind === "unknown") {
      rec.reason = "result not recorded";
      this.emit(rec);
      return;
    }
    const modelPid = t.modelPid as number;
    let target: number | bigint;
    let flags: number | bigint;
    try {
      target = this.targetPid(c.args[0], "pidfd_open");
      flags = argU64(c.args[1]);
    } catch (e) {
      rec.reason = (e as Error).message;
      if (c.ret.kind === "value") this.opaqueFd(t, files, Number(c.ret.value), true);
      this.emit(rec);
      return;
    }
    const got = this.run(() => this.kernel.syscall(modelPid, "pidfd_open", [target, flags]));
    if ("unsupported" in got) {
      rec.reason = got.unsupported;
      if (c.ret.kind === "value") this.opaqueFd(t, files, Number(c.ret.value), true);
      this.emit(rec);
      return;
    }
    rec.predicted = printResult(got);
    if ("ret" in got && c.ret.kind === "value") {
      // The fd number is the kernel's choice (lowest free): take the recorded one.
      const want = Number(c.ret.value);
      const f = files.get(Number(got.ret));
      files.close(Number(got.ret));
      this.forget(t, files, want);
      if (f !== null) files.installAt(want, f);
      t.cloexec.add(want);
      rec.predicted = String(want);
      rec.status = "matched";
    } else {
      if ("ret" in got) files.close(Number(got.ret));
      rec.status = sameResult(c.ret, got) ? "matched" : "mismatched";
      if (c.ret.kind === "value") this.opaqueFd(t, files, Number(c.ret.value), true);
      if (rec.status === "mismatched") this.divergence(c, modelPid, rec.predicted, false);
    }
    this.emit(rec);
  }

  /** The kind of mapping a call touches (the pages it names: call-ranges.ts); a system kind wins. */
  private kindOf(name: string, args: Array<number | bigint>, mm: Mm): VmaKind | undefined {
    const ranges = argRanges(
      name,
      args.map((x) => BigInt(x)),
    );
    let kind: VmaKind | undefined;
    for (const [lo, hi] of ranges) {
      const k = vmaKindAt(mm, lo, hi);
      if (k !== "ordinary" && k !== "none" && k !== "user-sealed") return k;
      if (kind === undefined || kind === "none" || (kind === "ordinary" && k === "user-sealed")) kind = k;
    }
    return kind;
  }

  /**
   * A mapping of a file the model does not know (deleted before the bundle was written, a
   * device, a pipe's fd) stays `unsupported`, but when the kernel made it the model still
   * holds those pages: a placeholder file mapping of the same path, protection and flags at
   * the recorded address (MAP_FIXED as recorded, else MAP_FIXED_NOREPLACE), through a
   * temporary descriptor. Without it every later address choice near it would diverge (a
   * JVM's hsperfdata file, deleted at exit, did exactly that). The placeholder's inode is 0,
   * so it merges with nothing, as a distinct file would not.
   */
  private holdUnknownFileMapping(c: StraceCall, modelPid: number, path: string | undefined): void {
    if (c.ret.kind !== "value") return;
    const a = c.args;
    let words: bigint[];
    try {
      words = [argU64(a[1]), argU64(a[2]), argU64(a[3]), argU64(a[5])].map(BigInt);
    } catch {
      return;
    }
    const [len, prot, flagsWord, off] = words as [bigint, bigint, bigint, bigint];
    const flags = Number(flagsWord);
    const fixed = (flags & MAP_FIXED) !== 0 ? flags : flags | MAP_FIXED_NOREPLACE;
    const files = this.kernel.process(modelPid).files;
    const placeholder = openFile(makeInode(path ?? "(unknown file)", { ino: 0, size: Number.MAX_SAFE_INTEGER }), true, true);
    const fd = files.install(placeholder, 1 << 20);
    const got = this.run(() =>
      this.kernel.syscall(modelPid, "mmap", [c.ret.kind === "value" ? c.ret.value : 0n, len, prot, fixed, fd, off]),
    );
    files.close(fd);
    this.heldUnknown++;
    if (this.heldUnknown === 1 || !("ret" in got)) {
      this.note(
        `line ${c.line}: mmap of ${path ?? "an unknown file"} (a file the model does not know) is unsupported; ${"ret" in got ? "its pages are held in the model by a placeholder mapping at the recorded address, so that later placements stay comparable" : "the model could not hold its pages at the recorded address, so later placements may differ"}`,
      );
    }
  }

  /**
   * After a mismatch, make the model hold what the kernel held where that is sound:
   * - mmap without MAP_FIXED that the kernel placed at R: the model's own mapping (a fresh
   *   one in a gap) is unmapped and the call redone at R with MAP_FIXED_NOREPLACE, so
   *   nothing of the model's is overwritten; if R is not free in the model, no adoption;
   * - mmap the kernel refused but the model placed (no MAP_FIXED): the model's is unmapped;
   * brk is never adopted: asking the model's brk for the recorded break would grow (or
   * shrink) its heap from a different start, which is no state the kernel had.
   * Every other mismatch is left as the model computed it.
   */
  private adopt(c: StraceCall, modelPid: number, args: Array<number | bigint>, got: SysResult): boolean {
    if (c.name === "mmap") {
      const flags = Number(args[3]);
      if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0) return false;
      if ("ret" in got) this.kernel.syscall(modelPid, "munmap", [got.ret, args[1]]);
      if (c.ret.kind !== "value") return "ret" in got;
      const again = this.run(() =>
        this.kernel.syscall(modelPid, "mmap", [
          c.ret.kind === "value" ? c.ret.value : 0n,
          args[1],
          args[2],
          flags | MAP_FIXED_NOREPLACE,
          args[4],
          args[5],
        ]),
      );
      return "ret" in again && again.ret === c.ret.value;
    }
    return false;
  }

  // ---- process calls ------------------------------------------------------------------

  private processCall(t: TraceTask, c: StraceCall): void {
    if (c.name === "execve" || c.name === "execveat") {
      this.execve(t, c);
      return;
    }
    // fork, vfork, clone, clone3
    const rec = unsupportedRecord(c, false);
    if (t.modelPid === null) {
      rec.reason = t.unmodeled ?? "the task's address space is unknown";
      this.emit(rec);
      return;
    }
    let flags: number;
    try {
      flags = cloneFlagsOf(c.name, c.args);
    } catch (e) {
      rec.reason = `clone flags: ${(e as Error).message}`;
      this.emit(rec);
      return;
    }
    // A child created at the `<unfinished ...>` line; else create it now.
    const idx = this.unbound.findIndex((u) => u.parent === this.key(c.pid));
    let child: number;
    if (idx >= 0) child = this.unbound.splice(idx, 1)[0].modelPid;
    else {
      const pendingBound = c.line !== c.endLine && c.ret.kind === "value" ? this.tasks.get(Number(c.ret.value)) : undefined;
      child = pendingBound?.modelPid ?? this.cloneModel(t.modelPid, c.name, flags);
    }
    if (c.ret.kind === "value" && child > 0) {
      const childKey = Number(c.ret.value);
      const existing = this.tasks.get(childKey);
      if (existing === undefined) this.tasks.set(childKey, this.childTask(this.key(c.pid), child, flags));
      else if (existing.modelPid !== child) {
        // The child's first line came before this result and was bound to another fork's child.
        this.tasks.set(childKey, { ...existing, modelPid: child, unmodeled: null });
      }
      rec.status = "matched";
      rec.predicted = c.ret.value.toString();
    } else if (c.ret.kind === "error") {
      rec.predicted = child > 0 ? "child created" : `-1 errno ${-child}`;
      rec.status = child > 0 ? "mismatched" : "matched";
      if (child > 0 && this.kernel.tasks.lookup(child) !== null) this.kernel.exit(child);
    } else {
      rec.reason = "result not recorded";
    }
    if ((flags & (CLONE_VM | CLONE_THREAD)) === (CLONE_VM | CLONE_THREAD))
      this.note("threads (CLONE_THREAD) share one modeled mm; their calls apply in the order the log completes them");
    this.emit(rec);
  }

  private execve(t: TraceTask, c: StraceCall): void {
    const rec = unsupportedRecord(c, false);
    if (c.ret.kind === "unknown") {
      rec.reason = "result not recorded";
      this.emit(rec);
      return;
    }
    const a = c.args;
    const pathArg = c.name === "execveat" ? a[1] : a[0];
    const argvArg = c.name === "execveat" ? a[2] : a[1];
    const envArg = c.name === "execveat" ? a[3] : a[2];
    if (pathArg?.kind !== "str" || pathArg.truncated) {
      rec.reason = "execve: the path is not printed in full";
      this.emit(rec);
      return;
    }
    const path = pathArg.value;
    const argv = stringsOfArray(argvArg);
    if (argv === null) {
      rec.reason = "execve: argv not readable";
      this.emit(rec);
      return;
    }
    const first = t.modelPid === null && t.unmodeled === null;
    const given = this.opts.bundle?.command;
    if (argv.cut && first && given !== undefined && extends_(argv.items, given)) {
      // The recorder knows the command it ran: the exact argv of the log's first execve.
      argv.items = given;
      argv.cut = false;
    }
    if (argv.cut && c.ret.kind === "value")
      this.note(
        `execve of ${path}: strace cut argv (-s/-v); the model's stack holds the printed part only, so [stack] may start lower or higher`,
      );
    const envp = this.envFor(envArg, path, c.ret.kind === "value");
    const ex = this.exec;
    if (t.modelPid === null && t.unmodeled === null) {
      if (ex.spawnExec === undefined) {
        t.unmodeled = "execve: the model has no execve (Kernel.spawnExec missing)";
        rec.reason = t.unmodeled;
        this.emit(rec);
        return;
      }
      if (c.ret.kind === "error") {
        // A failed first execve leaves nothing to model (the tracer's child dies).
        rec.reason = "execve failed before any image existed";
        this.emit(rec);
        return;
      }
      let p: ReturnType<NonNullable<ExecSurface["spawnExec"]>>;
      try {
        p = ex.spawnExec.call(this.kernel, path, argv.items, envp);
      } catch (e) {
        t.unmodeled = `execve of ${path}: ${e instanceof Unsupported ? e.reason : (e as Error).message}`;
        rec.reason = t.unmodeled;
        this.emit(rec);
        return;
      }
      if ("errno" in p) {
        const absent =
          p.name === "ENOENT" && this.fileSources.get(path)?.source === "none" ? ": not present here and not in the bundle" : "";
        t.unmodeled = `execve of ${path} failed in the model: ${p.name} (${p.reason})${absent}`;
        rec.predicted = `-1 ${p.name}`;
        rec.status = "mismatched";
        rec.reason = p.reason;
        this.report.divergence_count++;
        this.emit(rec);
        return;
      }
      t.modelPid = p.pid;
      this.compareSystemMappings(p.pid);
      t.sinceExec = 0;
      t.image = path;
      rec.predicted = "0";
      rec.status = "matched";
      this.emit(rec);
      return;
    }
    if (t.modelPid === null) {
      rec.reason = t.unmodeled ?? "the task is not modeled";
      this.emit(rec);
      return;
    }
    if (ex.execve === undefined) {
      t.unmodeled = "execve: the model has no execve (Kernel.execve missing)";
      rec.reason = t.unmodeled;
      this.emit(rec);
      return;
    }
    const modelPid = t.modelPid;
    const got = this.run(() => (ex.execve as NonNullable<ExecSurface["execve"]>).call(this.kernel, modelPid, path, argv.items, envp));
    if ("unsupported" in got) {
      rec.reason = got.unsupported;
      if (c.ret.kind === "value") t.unmodeled = `execve of ${path}: ${got.unsupported}`;
      if (c.ret.kind === "value") t.modelPid = null;
      this.emit(rec);
      return;
    }
    rec.predicted = printResult(got);
    rec.status = sameResult(c.ret, got) ? "matched" : "mismatched";
    if ("ret" in got) {
      t.sinceExec = 0;
      t.image = path;
      // The new image closed the O_CLOEXEC descriptors (do_close_on_exec).
      const files = this.kernel.process(modelPid).files;
      for (const fd of t.cloexec) {
        files.close(fd);
        t.opaque.delete(fd);
      }
      t.cloexec = new Set();
      t.opaque = new Set(t.opaque);
    }
    if (rec.status === "mismatched") {
      this.divergence(c, modelPid, rec.predicted, false);
      if (c.ret.kind === "value" && "errno" in got) {
        t.unmodeled = `execve of ${path} failed in the model (${got.name}) but succeeded in the log`;
        t.modelPid = null;
      }
    }
    this.emit(rec);
  }

  /** The environment of an execve: exact when printed, else the base one sized to the count. */
  private envFor(envArg: StraceArg | undefined, path: string, succeeded: boolean): string[] {
    const printed = stringsOfArray(envArg);
    if (printed !== null && !printed.cut) return printed.items;
    const m = envArg === undefined ? null : /\/\* (\d+) vars? \*\//.exec(envArg.raw);
    const count = m === null ? (this.baseEnv?.length ?? 0) : Number(m[1]);
    const base = this.baseEnv ?? [];
    if (this.baseEnv !== null && count === base.length) return base;
    const env = base.slice(0, count);
    for (let i = env.length; i < count; i++) env.push(`ASPACE_UNKNOWN_${i}=`);
    if (succeeded)
      this.note(
        `execve of ${path}: environment of ${count} variables not printed by strace; ${this.baseEnv === null ? "all" : `${Math.max(0, count - base.length)}`} approximated by placeholders, so [stack] may differ`,
      );
    return env;
  }

  // ---- file descriptors ---------------------------------------------------------------

  private fdCall(t: TraceTask, c: StraceCall): void {
    if (c.ret.kind === "value" && c.ret.path !== undefined) this.sawDecoration = true;
    if (!FD_CALLS.has(c.name) && (c.ret.kind !== "value" || c.ret.path === undefined)) return;
    const files = this.kernel.process(t.modelPid as number).files;
    const ret = c.ret;
    const retFd = ret.kind === "value" ? Number(ret.value) : -1;
    switch (c.name) {
      case "open":
      case "openat":
      case "openat2":
      case "creat": {
        if (retFd < 0) return;
        const a = c.args;
        const pathArg = c.name === "open" || c.name === "creat" ? a[0] : a[1];
        const flagArg = c.name === "open" ? a[1] : c.name === "creat" ? undefined : a[2];
        let oflags = c.name === "creat" ? 0o1101 : 0;
        if (flagArg !== undefined && (flagArg.kind === "flags" || flagArg.kind === "int")) {
          try {
            oflags = Number(argU64(flagArg, O_FLAGS));
          } catch {
            oflags = 0;
          }
        } else if (c.name === "openat2" && a[2] !== undefined) {
          const f = /flags=([^,}]+)/.exec(a[2].raw);
          if (f !== null)
            oflags = Number(argU64({ kind: "flags", raw: f[1], names: f[1].split("|").filter((x) => !/^\d/.test(x)), bits: 0n }, O_FLAGS));
        }
        const path =
          ret.kind === "value" && ret.path !== undefined
            ? ret.path
            : this.pathOf(pathArg, c.name === "open" || c.name === "creat" ? undefined : a[0]);
        this.install(t, files, retFd, path, oflags);
        return;
      }
      case "close":
        if (ret.kind === "value" && c.args[0]?.kind === "int") this.forget(t, files, Number(c.args[0].value));
        return;
      case "close_range": {
        // close_range(first, last, flags): CLOSE_RANGE_CLOEXEC (4) marks instead of closing.
        const [first, last, flags] = c.args;
        if (ret.kind !== "value" || first?.kind !== "int") return;
        const hi = last?.kind === "int" ? Number(BigInt.asUintN(32, last.value)) : 0xffffffff;
        const mark = flags?.raw.includes("CLOSE_RANGE_CLOEXEC") === true || (flags?.kind === "int" && (flags.value & 4n) !== 0n);
        for (let fd = Number(first.value); fd <= Math.min(hi, 65535); fd++) {
          if (mark) {
            if (files.get(fd) !== null || t.opaque.has(fd)) t.cloexec.add(fd);
          } else this.forget(t, files, fd);
        }
        return;
      }
      case "dup":
      case "dup2":
      case "dup3":
        if (retFd >= 0 && c.args[0]?.kind === "int")
          this.dup(t, files, Number(c.args[0].value), retFd, c.name === "dup3" && c.args[2]?.raw.includes("O_CLOEXEC") === true);
        return;
      case "fcntl":
      case "fcntl64": {
        const cmd = c.args[1]?.raw ?? "";
        const fd = c.args[0]?.kind === "int" ? Number(c.args[0].value) : -1;
        if (retFd >= 0 && (cmd === "F_DUPFD" || cmd === "F_DUPFD_CLOEXEC") && fd >= 0)
          this.dup(t, files, fd, retFd, cmd === "F_DUPFD_CLOEXEC");
        else if (cmd === "F_SETFD" && ret.kind === "value" && fd >= 0) {
          if (c.args[2]?.raw.includes("FD_CLOEXEC")) t.cloexec.add(fd);
          else t.cloexec.delete(fd);
        } else if ((cmd === "F_ADD_SEALS" || cmd === "F_GET_SEALS") && files.get(fd) !== null) this.fileCall(t, c, "fcntl");
        return;
      }
      case "ftruncate":
        if (c.args[0]?.kind === "int" && files.get(Number(c.args[0].value)) !== null) this.fileCall(t, c, "ftruncate");
        return;
      case "memfd_create": {
        this.memfdCreate(t, files, c);
        return;
      }
      case "pidfd_open":
        this.pidfdOpen(t, files, c);
        return;
      case "shmget":
      case "shmctl": {
        if (c.name === "shmctl" && !c.argsText.includes("IPC_RMID")) return;
        this.fileCall(t, c, c.name);
        return;
      }
      case "pipe":
      case "pipe2":
      case "socketpair": {
        const arr = c.args[c.name === "socketpair" ? 3 : 0];
        if (ret.kind === "value" && arr?.kind === "array")
          for (const m of arr.raw.matchAll(/(?:^\[|, )(\d+)/g)) this.opaqueFd(t, files, Number(m[1]), arr.raw.includes("O_CLOEXEC"));
        return;
      }
      default:
        // Any other call that returned a descriptor (socket, eventfd, memfd_create, ...): the
        // model does not know what it is, but the number is taken.
        if (retFd >= 0 && ret.kind === "value" && ret.path !== undefined) {
          this.opaqueFd(t, files, retFd, /CLOEXEC/.test(c.argsText));
        }
    }
  }

  private pathOf(pathArg: StraceArg | undefined, dirArg: StraceArg | undefined): string | null {
    if (pathArg?.kind !== "str" || pathArg.truncated) return null;
    const p = pathArg.value;
    if (p.startsWith("/")) return p;
    const dir = dirArg !== undefined && (dirArg.kind === "flags" || dirArg.kind === "int") ? dirArg.path : undefined;
    if (dir === undefined) return null;
    return `${dir.replace(/\/$/, "")}/${p}`;
  }

  private install(t: TraceTask, files: Process["files"], fd: number, path: string | null, oflags: number): void {
    this.forget(t, files, fd);
    const f = path === null ? null : this.kernel.vfs.open(path, oflags);
    if (f === null || typeof f === "number") {
      this.opaqueFd(t, files, fd, (oflags & O_CLOEXEC) !== 0);
      return;
    }
    files.installAt(fd, f);
    if ((oflags & O_CLOEXEC) !== 0) t.cloexec.add(fd);
  }

  private dup(t: TraceTask, files: Process["files"], from: number, to: number, cloexec: boolean): void {
    if (from === to) return;
    const f = files.get(from);
    const opaque = t.opaque.has(from);
    this.forget(t, files, to);
    if (f !== null) {
      files.installAt(to, f);
      if (cloexec) t.cloexec.add(to);
    } else if (opaque) this.opaqueFd(t, files, to, cloexec);
  }

  /**
   * memfd_create with the name the log prints (the model's memfdCreateNamed: the syscall's
   * checks without reading user memory), moved to the fd number the kernel returned.
   */
  private memfdCreate(t: TraceTask, files: Process["files"], c: StraceCall): void {
    const name = c.args[0];
    const rec = unsupportedRecord(c, false);
    let flags: number;
    try {
      flags = Number(argU64(c.args[1]));
    } catch (e) {
      flags = -1;
      rec.reason = (e as Error).message;
    }
    if (name?.kind !== "str" || name.truncated || flags < 0) {
      rec.reason ??= "memfd_create: the name is not printed in full";
      if (c.ret.kind === "value") this.opaqueFd(t, files, Number(c.ret.value), (flags & 1) !== 0);
      this.emit(rec);
      return;
    }
    const got = memfdCreateNamed(this.kernel.process(t.modelPid as number), name.value, flags);
    if (got >= 0 && c.ret.kind === "value") {
      const want = Number(c.ret.value);
      const f = files.get(got);
      files.close(got);
      this.forget(t, files, want);
      if (f !== null) files.installAt(want, f);
      if ((flags & 1) !== 0) t.cloexec.add(want);
      rec.status = "matched";
      rec.predicted = String(want);
    } else {
      if (got >= 0) files.close(got);
      rec.predicted = got >= 0 ? String(got) : `-1 ${errnoName(-got)}`;
      rec.status = c.ret.kind === "error" && got < 0 && errnoName(-got) === c.ret.errno ? "matched" : "mismatched";
      if (c.ret.kind === "value") this.opaqueFd(t, files, Number(c.ret.value), (flags & 1) !== 0);
    }
    this.emit(rec);
  }

  /**
   * A file or IPC call that changes what later mappings see (ftruncate, fcntl seals, shmget,
   * shmctl IPC_RMID), run through the model and tallied with the process calls.
   */
  private fileCall(t: TraceTask, c: StraceCall, name: string): void {
    const rec = unsupportedRecord(c, false);
    if (c.ret.kind === "unknown") {
      rec.reason = "result not recorded";
      this.emit(rec);
      return;
    }
    let args: Array<number | bigint>;
    try {
      args = c.args.slice(0, 3).map((x) => (x.kind === "null" ? 0 : argU64(x)));
      if (name === "shmctl") {
        const id = this.shmIds.get(Number(args[0]));
        if (id === undefined) throw new ArgError(`shmctl: shmid ${c.args[0]?.raw} does not come from a shmget in the log`);
        args[0] = id;
      }
    } catch (e) {
      rec.reason = e instanceof ArgError ? e.message : `argument: ${(e as Error).message}`;
      this.emit(rec);
      return;
    }
    const modelPid = t.modelPid as number;
    const got = this.run(() => this.kernel.syscall(modelPid, name, args));
    if ("unsupported" in got) {
      rec.reason = got.unsupported;
      this.emit(rec);
      return;
    }
    rec.predicted = printResult(got);
    if (name === "shmget") {
      // Ids are the kernel's choice: a success matches a success, and the ids are paired.
      const ok = c.ret.kind === "value" ? "ret" in got : sameResult(c.ret, got);
      if (ok && c.ret.kind === "value" && "ret" in got) this.shmIds.set(Number(c.ret.value), Number(got.ret));
      rec.status = ok ? "matched" : "mismatched";
    } else rec.status = sameResult(c.ret, got) ? "matched" : "mismatched";
    if (rec.status === "mismatched") this.divergence(c, modelPid, rec.predicted, false);
    this.emit(rec);
  }

  /** The fd is open in the traced process, on something the model does not hold. */
  private opaqueFd(t: TraceTask, files: Process["files"], fd: number, cloexec: boolean): void {
    this.forget(t, files, fd);
    t.opaque.add(fd);
    if (cloexec) t.cloexec.add(fd);
  }

  private forget(t: TraceTask, files: Process["files"], fd: number): void {
    files.close(fd);
    t.cloexec.delete(fd);
    t.opaque.delete(fd);
  }
}

/** The record of a call as the log shows it, before (or instead of) a model result. */
function unsupportedRecord(c: StraceCall, memory: boolean): CallRecord {
  return {
    pid: c.pid,
    line: c.line,
    name: c.name,
    args: c.argsText,
    recorded: printRet(c.ret),
    predicted: null,
    status: "unsupported",
    memory,
  };
}

// The model's entry point: a kernel configuration, processes, and the syscall surface.
// Everything is deterministic and does no I/O.

import { ADDR_NO_RANDOMIZE, type ExecOutcome, execImage } from "./exec/execve.js";
import { type Resolver, Vfs } from "./fs/vfs.js";
import { type AccessKind, type AccessResult, userAccess } from "./mm/access.js";
import { type KernelConfig, makeConfig } from "./mm/config.js";
import { type Creds, enterNewUserNs, REFERENCE_ROOT } from "./mm/creds.js";
import { Mm } from "./mm/mm.js";
import { DEFAULT_RLIMITS, type Rlimits } from "./mm/rlimits.js";
import { policyByName } from "./policy/index.js";
import type { Arch, SealPolicy } from "./policy/policy.js";
import { procMaps, procSmaps } from "./procfs/maps.js";
import { procStat } from "./procfs/stat.js";
import { SYSCALLS } from "./syscalls.js";
import { FORK_FLAGS, VFORK_FLAGS } from "./task/clone.js";
import { type Layout, legacyBaseFor, mmapBaseFor, mmFromLayout } from "./task/layout.js";
import { type MmfdSpec, mmfdCreate, mmfdSyscall, processVmExec, type VmExecOp, type VmExecResult } from "./task/mmfd.js";
import { SAVED_AUXV_BYTES } from "./task/prctl.js";
import type { Process } from "./task/process.js";
import { type ProcMemResult, procMemAccess } from "./task/remote.js";
import { TaskTable } from "./task/tasks.js";
import { copyFromUser, copyToUser } from "./task/uaccess.js";
import { errnoName } from "./uapi/errno.js";
import { type U64, u64 } from "./uapi/u64.js";

/** open(2)'s O_CLOEXEC: the descriptor is closed by execve. */
const O_CLOEXEC = 0o2000000;

/** A syscall's result as a value: the return word, or the errno. */
export type SysResult = { ret: bigint } | { errno: number; name: string };

export interface KernelOptions {
  config?: Partial<KernelConfig>;
  creds?: Creds;
  rlimits?: Partial<Rlimits>;
  /** What paths are (device, inode, size): supplied by the engine; the model does no I/O. */
  resolver?: Resolver;
  /** The sealing policy, by name (see policy/index.ts) or as an object; default `none`. */
  policy?: string | SealPolicy;
  /** The architecture of processes this kernel creates; default x86_64. */
  arch?: Arch;
}

/** Why spawnExec could not create the process (execve's errno and the loader's reason). */
export interface ExecFailure {
  errno: number;
  name: string;
  reason: string;
}

/** mm->saved_auxv as words: the (type, value) pairs, then AT_NULL up to AT_VECTOR_SIZE. */
function savedAuxvWords(auxv: Array<[number, bigint]>): bigint[] {
  const words = auxv.flatMap(([t, v]) => [BigInt(t), v]).slice(0, SAVED_AUXV_BYTES / 8 - 2);
  while (words.length < SAVED_AUXV_BYTES / 8) words.push(0n);
  return words;
}

/** Per-process settings for spawn: defaults are the kernel's. */
export interface SpawnOptions {
  creds?: Creds;
  rlimits?: Partial<Rlimits>;
  /** The proposed opt-out prctl was made before this execve (sysmap+prctl-optout). */
  optOutRequested?: boolean;
}

export class Kernel {
  readonly config: KernelConfig;
  readonly vfs: Vfs;
  readonly policy: SealPolicy;
  readonly arch: Arch;
  readonly tasks = new TaskTable();
  private readonly creds: Creds;
  private readonly rlimits: Rlimits;

  constructor(opts: KernelOptions = {}) {
    this.config = makeConfig(opts.config);
    this.creds = opts.creds ?? REFERENCE_ROOT;
    this.rlimits = { ...DEFAULT_RLIMITS, ...opts.rlimits };
    this.vfs = new Vfs(opts.resolver);
    this.policy = typeof opts.policy === "string" ? policyByName(opts.policy) : (opts.policy ?? policyByName("none"));
    this.arch = opts.arch ?? "x86_64";
  }

  /** A process with an empty address space (no executable), default layout bases. */
  spawnEmpty(opts: SpawnOptions = {}): Process {
    const rlimits = { ...this.rlimits, ...opts.rlimits };
    const creds = opts.creds ?? this.creds;
    const mm = new Mm(this.config, creds, rlimits, mmapBaseFor(this.config, rlimits.stack), legacyBaseFor(this.config));
    return this.add(mm, creds, rlimits, opts);
  }

  /** A process adopting a real layout (see task/layout.ts). */
  spawnFromLayout(layout: Layout, opts: SpawnOptions = {}): Process {
    const rlimits = { ...this.rlimits, ...opts.rlimits, stack: layout.rlimitStack };
    const creds = opts.creds ?? this.creds;
    return this.add(mmFromLayout(this.config, creds, rlimits, layout), creds, rlimits, opts);
  }

  private add(mm: Mm, creds: Creds, rlimits: Rlimits, opts: SpawnOptions): Process {
    mm.arch = this.arch;
    mm.sealPolicy = this.policy;
    const p = this.tasks.add(mm, { creds, rlimits });
    p.optOutRequested = opts.optOutRequested ?? false;
    return p;
  }

  /** The request execve makes for a task with these credentials, limits and personality. */
  private execRequest(path: string, argv: string[], envp: string[], creds: Creds, rlimits: Rlimits, optOut: boolean, personality: number) {
    // ASLR is not modeled: every image is laid out as under `setarch -R` (design.md).
    return {
      vfs: this.vfs,
      cfg: this.config,
      creds,
      rlimits,
      arch: this.arch,
      policy: this.policy,
      optOutRequested: optOut,
      path,
      argv,
      envp,
      personality: personality | ADDR_NO_RANDOMIZE,
    };
  }

  /** What execve leaves in the new mm besides its mappings: the exe file and saved_auxv. */
  private adoptImage(out: Extract<ExecOutcome, { ok: true }>): Mm {
    out.mm.exeFile = out.exe;
    out.mm.savedAuxv = savedAuxvWords(out.auxv);
    return out.mm;
  }

  /**
   * A new process (no parent) whose address space is execve(path, argv, envp)'s, with the
   * kernel's sealing policy and arch. The loader's errno and reason when execve fails.
   */
  spawnExec(path: string, argv: string[], envp: string[], opts: SpawnOptions = {}): Process | ExecFailure {
    const rlimits = { ...this.rlimits, ...opts.rlimits };
    const creds = opts.creds ?? this.creds;
    const optOut = opts.optOutRequested ?? false;
    const out = execImage(this.execRequest(path, argv, envp, creds, rlimits, optOut, 0));
    if (!out.ok) return { errno: out.errno, name: errnoName(out.errno), reason: out.reason };
    const p = this.tasks.add(this.adoptImage(out), { creds, rlimits });
    p.optOutRequested = optOut;
    return p;
  }

  /**
   * execve() by task `pid`: on success the whole thread group runs in the new image (other
   * threads end; a non-leader caller continues as the leader's pid) and the old mm is
   * released. Before the point of no return a failure leaves the old mm; after it (the
   * loader says `killed`) the thread group dies, and the errno is returned for the record.
   */
  execve(pid: number, path: string, argv: string[], envp: string[]): SysResult {
    const p = this.process(pid);
    const out = execImage(this.execRequest(path, argv, envp, p.creds, p.rlimits, p.optOutRequested, p.mm.personality));
    if (!out.ok) {
      if (out.killed !== undefined) this.tasks.exitGroup(p);
      return { errno: out.errno, name: errnoName(out.errno) };
    }
    const leader = this.tasks.replaceMm(p, this.adoptImage(out));
    // After the point of no return, as begin_new_exec() does: FD_CLOEXEC descriptors go.
    leader.files.closeOnExec();
    return { ret: 0n };
  }

  /** A live process (throws for an unknown or exited pid: a bug in the caller). */
  process(pid: number): Process {
    const p = this.tasks.lookup(pid);
    if (p === null) {
      const gone = this.tasks.get(pid);
      throw new Error(gone === null ? `no process ${pid}` : `process ${pid} has exited`);
    }
    return p;
  }

  /** fork(): the child's pid (a copy of the address space, see task/fork.ts). */
  fork(pid: number): number {
    return this.tasks.clone(this.process(pid), FORK_FLAGS);
  }

  /** vfork(): the child's pid; it shares the parent's mm until it execs or exits. */
  vfork(pid: number): number {
    return this.tasks.clone(this.process(pid), VFORK_FLAGS);
  }

  /** clone(flags): the child's pid or −EINVAL for a combination copy_process() refuses. */
  clone(pid: number, flags: bigint | number): number {
    return this.tasks.clone(this.process(pid), Number(BigInt(flags) & 0xffffffffn));
  }

  /**
   * The task ends (do_exit: exit(2), or a thread's "+++ exited" in a trace); the rest of its
   * thread group goes on. The last task using an mm tears it down (exit_mmap).
   */
  exit(pid: number): void {
    this.tasks.exit(this.process(pid));
  }

  /** exit_group(): every task of the thread group ends. */
  exitGroup(pid: number): void {
    this.tasks.exitGroup(this.process(pid));
  }

  /** unshare(CLONE_NEWUSER) (+ a uid_map mapping `uid`): full capabilities, in a child namespace only. */
  unshareUserNs(pid: number, uid = 0): void {
    const p = this.process(pid);
    p.creds = enterNewUserNs(p.creds, uid);
  }

  /** Replace a task's credentials (capset/setuid as one model operation). */
  setCreds(pid: number, creds: Creds): void {
    this.process(pid).creds = creds;
  }

  /** Raw syscall: kernel-style number (negative = −errno). Throws for an unknown name. */
  syscallRaw(pid: number, name: string, args: U64[]): number {
    const s = SYSCALLS[name];
    if (s === undefined) throw new Error(`unknown syscall ${name}`);
    const a = args.slice();
    while (a.length < s.nargs) a.push(0);
    const p = this.process(pid);
    p.enter();
    return s.impl(p, a);
  }

  /** syscall(pid, name, args) → {ret} | {errno}. */
  syscall(pid: number, name: string, args: Array<number | bigint>): SysResult {
    const r = this.syscallRaw(pid, name, args.map(u64));
    if (r < 0) return { errno: -r, name: errnoName(-r) };
    return { ret: BigInt(r) };
  }

  /** open(path, oflags) into the process's fd table (lowest free fd, as alloc_fd()). */
  open(pid: number, path: string, oflags: number, truncateTo?: number): SysResult {
    if (truncateTo !== undefined && truncateTo >= 0) this.vfs.truncate(path, truncateTo);
    const f = this.vfs.open(path, oflags);
    if (typeof f === "number") return { errno: -f, name: errnoName(-f) };
    const fd = this.process(pid).files.install(f, 0, (oflags & O_CLOEXEC) !== 0);
    return { ret: BigInt(fd) };
  }

  /** A user-space access (page faults included). */
  access(pid: number, addr: number, len: number, kind: AccessKind, value = 0): AccessResult {
    return userAccess(this.process(pid).enter(), addr, len, kind, value);
  }

  /** The process's own bytes at [addr, addr+len) as a user-space load sees them; null = it would fault. */
  readMemory(pid: number, addr: number, len: number): Uint8Array | null {
    return copyFromUser(this.process(pid).enter(), addr, len);
  }

  /** Store bytes at `addr` as the process itself would (write faults, COW); false = it would fault. */
  writeMemory(pid: number, addr: number, bytes: Uint8Array): boolean {
    return copyToUser(this.process(pid).enter(), addr, bytes);
  }

  maps(pid: number): string {
    return procMaps(this.process(pid).mm);
  }

  smaps(pid: number): string {
    return procSmaps(this.process(pid).mm);
  }

  /** /proc/PID/stat. */
  stat(pid: number): string {
    return procStat(this.process(pid));
  }

  /**
   * pread() of /proc/TARGET/mem opened by `pid` (task/remote.ts): FOLL_FORCE reads, so
   * PROT_NONE pages are readable; EIO when nothing could be read, EACCES when `pid` may not.
   */
  procMemRead(pid: number, targetPid: number, addr: number | bigint, len: number): ProcMemResult {
    return procMemAccess(this.process(pid), this.process(targetPid), addr, len, null);
  }

  /**
   * pwrite() of /proc/TARGET/mem opened by `pid`: FOLL_FORCE writes, so read-only private
   * pages — sealed ones included — are written (copy-on-write); shared read-only ones are not.
   */
  procMemWrite(pid: number, targetPid: number, addr: number | bigint, bytes: Uint8Array): ProcMemResult {
    return procMemAccess(this.process(pid), this.process(targetPid), addr, bytes.length, bytes);
  }

  /** PROPOSED, MODELED (task/mmfd.ts): an mm handle for a new empty or an existing address space, as an fd of `pid`. */
  mmfdCreate(pid: number, spec: MmfdSpec): SysResult {
    const r = mmfdCreate(this.process(pid), spec);
    return r < 0 ? { errno: -r, name: errnoName(-r) } : { ret: BigInt(r) };
  }

  /** PROPOSED, MODELED: an mm syscall (mmap, munmap, mprotect, mseal, ...) applied to the address space behind `mmfd`. */
  mmfdSyscall(pid: number, mmfd: number, name: string, args: Array<number | bigint>): SysResult {
    const r = mmfdSyscall(this.process(pid), mmfd, name, args);
    return r < 0 ? { errno: -r, name: errnoName(-r) } : { ret: BigInt(r) };
  }

  /** PROPOSED, MODELED: process_vm_exec(mmfd, program): run it in that address space until the first error or fault. */
  processVmExec(pid: number, mmfd: number, program: VmExecOp[]): VmExecResult | { errno: number; name: string } {
    return processVmExec(this.process(pid), mmfd, program);
  }
}

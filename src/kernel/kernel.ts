// The model's entry point: a kernel configuration, processes, and the syscall surface.
// Everything is deterministic and does no I/O.

import { type Resolver, Vfs } from "./fs/vfs.js";
import { type AccessKind, type AccessResult, userAccess } from "./mm/access.js";
import { type KernelConfig, makeConfig } from "./mm/config.js";
import { type Creds, REFERENCE_ROOT } from "./mm/creds.js";
import { Mm } from "./mm/mm.js";
import { DEFAULT_RLIMITS, type Rlimits } from "./mm/rlimits.js";
import { procMaps, procSmaps } from "./procfs/maps.js";
import { SYSCALLS } from "./syscalls.js";
import { type Layout, legacyBaseFor, mmapBaseFor, mmFromLayout } from "./task/layout.js";
import { Process } from "./task/process.js";
import { errnoName } from "./uapi/errno.js";
import { type U64, u64 } from "./uapi/u64.js";

/** A syscall's result as a value: the return word, or the errno. */
export type SysResult = { ret: bigint } | { errno: number; name: string };

export interface KernelOptions {
  config?: Partial<KernelConfig>;
  creds?: Creds;
  rlimits?: Partial<Rlimits>;
  /** What paths are (device, inode, size): supplied by the engine; the model does no I/O. */
  resolver?: Resolver;
}

export class Kernel {
  readonly config: KernelConfig;
  readonly vfs: Vfs;
  private readonly creds: Creds;
  private readonly rlimits: Rlimits;
  private readonly procs = new Map<number, Process>();
  private nextPid = 1000;

  constructor(opts: KernelOptions = {}) {
    this.config = makeConfig(opts.config);
    this.creds = opts.creds ?? REFERENCE_ROOT;
    this.rlimits = { ...DEFAULT_RLIMITS, ...opts.rlimits };
    this.vfs = new Vfs(opts.resolver);
  }

  /** A process with an empty address space (no executable), default layout bases. */
  spawnEmpty(): Process {
    const mm = new Mm(
      this.config,
      this.creds,
      { ...this.rlimits },
      mmapBaseFor(this.config, this.rlimits.stack),
      legacyBaseFor(this.config),
    );
    return this.add(mm);
  }

  /** A process adopting a real layout (see task/layout.ts). */
  spawnFromLayout(layout: Layout): Process {
    const rl = { ...this.rlimits, stack: layout.rlimitStack };
    return this.add(mmFromLayout(this.config, this.creds, rl, layout));
  }

  private add(mm: Mm): Process {
    const p = new Process(this.nextPid++, mm);
    this.procs.set(p.pid, p);
    return p;
  }

  process(pid: number): Process {
    const p = this.procs.get(pid);
    if (p === undefined) throw new Error(`no process ${pid}`);
    return p;
  }

  /** Raw syscall: kernel-style number (negative = −errno). Throws for an unknown name. */
  syscallRaw(pid: number, name: string, args: U64[]): number {
    const s = SYSCALLS[name];
    if (s === undefined) throw new Error(`unknown syscall ${name}`);
    const a = args.slice();
    while (a.length < s.nargs) a.push(0);
    return s.impl(this.process(pid), a);
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
    const fd = this.process(pid).files.install(f, 0);
    return { ret: BigInt(fd) };
  }

  /** A user-space access (page faults included). */
  access(pid: number, addr: number, len: number, kind: AccessKind, value = 0): AccessResult {
    return userAccess(this.process(pid).mm, addr, len, kind, value);
  }

  maps(pid: number): string {
    return procMaps(this.process(pid).mm);
  }

  smaps(pid: number): string {
    return procSmaps(this.process(pid).mm);
  }
}

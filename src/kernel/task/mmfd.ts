// PROPOSED, MODELED; NOT IN ANY KERNEL.
//
// Address-space handles ("mmfd") and process_vm_exec(), after the process_vm_exec RFC
// (Andrei Vagin, 2021: let a process run code in another address space and get control
// back at the first fault or system call — meant for gVisor and other sandboxes that
// today keep one stub process per guest address space). No Linux release has either; the
// names, errnos and rules below are this model's reading of the proposal, chosen to match
// the nearest real calls:
//   - an mmfd for an existing address space needs what process_vm_writev needs
//     (PTRACE_MODE_ATTACH_REALCREDS; refused → EPERM, no such pid → ESRCH);
//   - an empty mmfd is a brand-new mm with the caller's layout bases and sealing policy and
//     NO system mappings (no [vdso], [vvar], [vvar_vclock]: nothing was exec'd into it);
//   - mm calls on an mmfd are the ordinary syscalls, run by the caller with its mm
//     temporarily switched to the handle's (kthread_use_mm()-style), so every rule of the
//     model — seals included — applies unchanged;
//   - process_vm_exec(mmfd, program) runs a program (syscalls and user accesses) in that
//     mm and returns at the first failing call or faulting access.
//
// gvisorStubProgram() / runGvisorStub() are the scenario the sealing debate needs: what a
// gVisor-style stub does to the host address space under each sealing policy.

import { makeInode, type OpenFile, openFile } from "../fs/file.js";
import { type AccessKind, userAccess } from "../mm/access.js";
import { Mm } from "../mm/mm.js";
import { SYSCALLS } from "../syscalls.js";
import { EBADF, EPERM, ESRCH, errnoName } from "../uapi/errno.js";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE } from "../uapi/mman.js";
import { u64 } from "../uapi/u64.js";
import { Process } from "./process.js";
import { ptraceMayAccess } from "./remote.js";

/** An address-space handle: the mm it names and what it was made from. */
export interface MmHandle {
  readonly mm: Mm;
  readonly origin: { empty: true } | { ofPid: number };
}

const handles = new WeakMap<OpenFile, MmHandle>();
let mmfdIno = 1;

/** What a handle is made from. */
export type MmfdSpec = { empty: true } | { ofPid: number };

/** mmfd_create (modeled): an mmfd in `caller`'s fd table, or −errno. */
export function mmfdCreate(caller: Process, spec: MmfdSpec): number {
  let mm: Mm;
  if ("ofPid" in spec) {
    const target = caller.tasks.lookup(spec.ofPid);
    if (target === null) return -ESRCH;
    if (!ptraceMayAccess(caller, target)) return -EPERM;
    mm = target.mm;
  } else {
    const own = caller.mm;
    mm = new Mm(own.cfg, caller.creds, caller.rlimits, own.mmapBase, own.mmapLegacyBase);
    mm.arch = own.arch;
    mm.sealPolicy = own.sealPolicy;
  }
  // anon_inodefs is SB_I_NOEXEC, as for pidfds.
  const inode = makeInode("anon_inode:[mmfd]", { dev: "00:0f", ino: mmfdIno++, size: 0, regular: false, noexec: true, mode: 0o600 });
  const file = openFile(inode, true, true);
  handles.set(file, { mm, origin: spec });
  return caller.files.install(file, 0, true);
}

/** The handle behind an fd of `caller`, or null (EBADF). */
export function mmHandle(caller: Process, fd: number): MmHandle | null {
  const f = fd >= 0 ? caller.files.get(fd) : null;
  return f === null ? null : (handles.get(f) ?? null);
}

/** The caller, running in the handle's mm (same pid, creds, fds, task table). */
function borrow(caller: Process, h: MmHandle): Process {
  return new Process(caller.pid, h.mm, caller.files, {
    creds: caller.creds,
    rlimits: caller.rlimits,
    tgid: caller.tgid,
    tasks: caller.tasks,
  });
}

/** A syscall run against the handle's mm (mmap/munmap/mprotect/mseal/... on an mmfd): kernel-style result. */
export function mmfdSyscall(caller: Process, fd: number, name: string, args: Array<number | bigint>): number {
  const h = mmHandle(caller, fd);
  if (h === null) return -EBADF;
  const s = SYSCALLS[name];
  if (s === undefined) throw new Error(`unknown syscall ${name}`);
  const a = args.map(u64);
  while (a.length < s.nargs) a.push(0);
  const p = borrow(caller, h);
  p.enter();
  return s.impl(p, a);
}

/** One step of a process_vm_exec program. */
export type VmExecOp =
  | { op: "syscall"; name: string; args: Array<number | bigint>; why?: string }
  | { op: AccessKind; addr: number; len: number; value?: number; why?: string };

/** Where a program stopped, if it did not run to the end. */
export interface VmExecStop {
  index: number;
  op: VmExecOp;
  /** A failing syscall's errno (name and number). */
  errno?: { errno: number; name: string };
  /** A faulting access: the signal and the faulting address. */
  fault?: { signal: "SEGV" | "BUS"; addr: number };
}

export interface VmExecResult {
  /** Steps that completed. */
  completed: number;
  /** Each completed syscall's return value, in order (accesses: 0). */
  results: bigint[];
  stop: VmExecStop | null;
}

/** process_vm_exec(mmfd, program) (modeled): run `program` in the handle's mm; stop at the first error or fault. */
export function processVmExec(caller: Process, fd: number, program: VmExecOp[]): VmExecResult | { errno: number; name: string } {
  const h = mmHandle(caller, fd);
  if (h === null) return { errno: EBADF, name: errnoName(EBADF) };
  const p = borrow(caller, h);
  const results: bigint[] = [];
  for (let index = 0; index < program.length; index++) {
    const op = program[index] as VmExecOp;
    if (op.op === "syscall") {
      const s = SYSCALLS[op.name];
      if (s === undefined) throw new Error(`process_vm_exec: unknown syscall ${op.name} at step ${index}`);
      const a = op.args.map(u64);
      while (a.length < s.nargs) a.push(0);
      p.enter();
      const r = s.impl(p, a);
      if (r < 0) return { completed: index, results, stop: { index, op, errno: { errno: -r, name: errnoName(-r) } } };
      results.push(BigInt(r));
    } else {
      const r = userAccess(p.enter(), op.addr, op.len, op.op, op.value ?? 0);
      if (!r.ok) return { completed: index, results, stop: { index, op, fault: { signal: r.signal, addr: op.addr + r.offset } } };
      results.push(0n);
    }
  }
  return { completed: program.length, results, stop: null };
}

// ---------------------------------------------------------------------------------------------
// The gVisor stub scenario.

/** The system mappings a stub must get rid of (x86_64 and arm64 names). */
const SYSTEM_MAPPING_NAMES = ["[vvar]", "[vvar_vclock]", "[vdso]", "[sigpage]", "[vectors]", "[uprobes]"];

/** Where the stub puts guest memory (page-aligned, below the usual mmap area). */
const GUEST_BASE = 0x10000000;

/**
 * What a gVisor stub does to a host address space, as a process_vm_exec program for `mm`:
 * gVisor's ptrace and systrap platforms fork a stub from the sentry and the stub's first act
 * is to unmap everything but its own code, the host [vdso]/[vvar]/[vvar_vclock] included
 * (the guest later sees the sentry's own vdso, mapped from the sentry's memory file: see
 * ../shared/traces/criu/runsc-ptrace-proc-self-maps.txt). Then the sentry maps guest memory,
 * writes guest code, makes it executable and runs it (here: touches it).
 */
export function gvisorStubProgram(mm: Mm, guestPages = 4): VmExecOp[] {
  const prog: VmExecOp[] = [];
  for (const v of mm.vmas()) {
    if (v.special === null || !SYSTEM_MAPPING_NAMES.includes(v.special.name)) continue;
    prog.push({ op: "syscall", name: "munmap", args: [v.start * 4096, v.pages * 4096], why: `unmap the host ${v.special.name}` });
  }
  const len = guestPages * 4096;
  prog.push(
    {
      op: "syscall",
      name: "mmap",
      args: [GUEST_BASE, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0],
      why: "map guest memory",
    },
    { op: "write", addr: GUEST_BASE, len: 16, value: 0x90, why: "copy guest code in" },
    { op: "syscall", name: "mprotect", args: [GUEST_BASE, len, PROT_READ | PROT_EXEC], why: "make guest code executable" },
    { op: "rtouch", addr: GUEST_BASE, len, why: "run guest code (instruction fetches)" },
  );
  return prog;
}

/** How the stub scenario went for one address space. */
export interface GvisorStubOutcome {
  variant: "existing" | "empty";
  policy: string;
  /** System mappings the program tried to unmap. */
  systemMappings: string[];
  result: VmExecResult | { errno: number; name: string };
  /** True when the stub could run guest code. */
  works: boolean;
}

/**
 * Run the gVisor stub against `caller`'s own (exec'd) address space — the fork-a-stub way
 * (variant "existing": it must unmap the system mappings, which a sealing policy may
 * forbid) — or against an empty mmfd (variant "empty": the process_vm_exec way, nothing to
 * unmap). The caller's fd table gets the mmfd.
 */
export function runGvisorStub(caller: Process, variant: "existing" | "empty"): GvisorStubOutcome {
  const fd = mmfdCreate(caller, variant === "empty" ? { empty: true } : { ofPid: caller.pid });
  const policy = caller.mm.sealPolicy.name;
  if (fd < 0) {
    const result = { errno: -fd, name: errnoName(-fd) };
    return { variant, policy, systemMappings: [], result, works: false };
  }
  const h = mmHandle(caller, fd) as MmHandle;
  const program = gvisorStubProgram(h.mm);
  const systemMappings = h.mm
    .vmas()
    .map((v) => v.special?.name ?? "")
    .filter((n) => SYSTEM_MAPPING_NAMES.includes(n));
  const result = processVmExec(caller, fd, program);
  return { variant, policy, systemMappings, result, works: "completed" in result && result.stop === null };
}

// clone(2) flags and the combinations copy_process() refuses (kernel/fork.c).

import { enterNewUserNs } from "../mm/creds.js";
import { EINVAL } from "../uapi/errno.js";
import type { U64 } from "../uapi/u64.js";
import { Unsupported } from "../unsupported.js";
import type { Process } from "./process.js";

export const CLONE_VM = 0x100;
export const CLONE_FS = 0x200;
export const CLONE_FILES = 0x400;
export const CLONE_SIGHAND = 0x800;
export const CLONE_VFORK = 0x4000;
export const CLONE_PARENT = 0x8000;
export const CLONE_THREAD = 0x10000;
export const CLONE_NEWNS = 0x20000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
/** The exit signal in the low byte (SIGCHLD for fork). */
export const CSIGNAL = 0xff;
export const SIGCHLD = 17;

/** fork() is clone(SIGCHLD); vfork() is clone(CLONE_VFORK | CLONE_VM | SIGCHLD). */
export const FORK_FLAGS = SIGCHLD;
export const VFORK_FLAGS = CLONE_VFORK | CLONE_VM | SIGCHLD;

/** copy_process()'s up-front flag checks, in its order: 0 or −EINVAL. */
export function cloneFlagsError(flags: number): number {
  // Sharing the root directory with a task in another mount or user namespace.
  if ((flags & (CLONE_NEWNS | CLONE_FS)) === (CLONE_NEWNS | CLONE_FS)) return -EINVAL;
  if ((flags & (CLONE_NEWUSER | CLONE_FS)) === (CLONE_NEWUSER | CLONE_FS)) return -EINVAL;
  // Thread groups share signal handlers, and shared handlers imply a shared mm.
  if ((flags & CLONE_THREAD) !== 0 && (flags & CLONE_SIGHAND) === 0) return -EINVAL;
  if ((flags & CLONE_SIGHAND) !== 0 && (flags & CLONE_VM) === 0) return -EINVAL;
  // A thread may not live in another user or pid namespace than its group.
  if ((flags & CLONE_THREAD) !== 0 && (flags & (CLONE_NEWUSER | CLONE_NEWPID)) !== 0) return -EINVAL;
  return 0;
}

/** The task table behind `p`, for calls that create or end tasks. */
function table(p: Process): Required<Pick<NonNullable<Process["tasks"]>, "clone" | "exit" | "exitGroup">> {
  const t = p.tasks;
  if (t.clone === undefined || t.exit === undefined || t.exitGroup === undefined) {
    throw new Unsupported(`process ${p.pid} is not in a kernel task table (create it with a Kernel)`);
  }
  return { clone: t.clone.bind(t), exit: t.exit.bind(t), exitGroup: t.exitGroup.bind(t) };
}

/** Low 32 bits of a clone flags word (clone(2) takes no flags above bit 31; clone3 does). */
function low32(v: U64): number {
  return typeof v === "bigint" ? Number(v & 0xffffffffn) : v % 2 ** 32;
}

/** SYSCALL fork / vfork / clone: the child's pid. Stack, tid pointers and tls are not modeled. */
export function sysFork(p: Process): number {
  return table(p).clone(p, FORK_FLAGS);
}
export function sysVfork(p: Process): number {
  return table(p).clone(p, VFORK_FLAGS);
}
export function sysClone(p: Process, flags: U64): number {
  return table(p).clone(p, low32(flags));
}

/** SYSCALL exit / exit_group: the task (or its group) ends; the call returns nothing. */
export function sysExit(p: Process): number {
  table(p).exit(p);
  return 0;
}
export function sysExitGroup(p: Process): number {
  table(p).exitGroup(p);
  return 0;
}

/** Namespace flags unshare(2) accepts besides CLONE_NEWUSER (they do not touch the mm). */
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_SYSVSEM = 0x40000;
const CLONE_NEWTIME = 0x80;
const UNSHARE_VALID =
  CLONE_THREAD |
  CLONE_FS |
  CLONE_NEWNS |
  CLONE_SIGHAND |
  CLONE_VM |
  CLONE_FILES |
  CLONE_SYSVSEM |
  CLONE_NEWUTS |
  CLONE_NEWIPC |
  CLONE_NEWNET |
  CLONE_NEWUSER |
  CLONE_NEWPID |
  CLONE_NEWCGROUP |
  CLONE_NEWTIME;

/**
 * SYSCALL unshare (kernel/fork.c ksys_unshare): CLONE_NEWUSER gives the task a child user
 * namespace (full capabilities in it, uid 65534 until uid_map is written; a multithreaded task
 * gets EINVAL). Other namespaces do not concern the address space: Unsupported.
 */
export function sysUnshare(p: Process, flagsArg: U64): number {
  const flags = low32(flagsArg);
  if (typeof flagsArg === "bigint" || (flags & ~UNSHARE_VALID) !== 0) return -EINVAL;
  if (flags === 0) return 0;
  if ((flags & ~(CLONE_NEWUSER | CLONE_FS | CLONE_THREAD)) !== 0) {
    throw new Unsupported(`unshare(0x${flags.toString(16)}): only CLONE_NEWUSER is modeled`);
  }
  // CLONE_NEWUSER implies CLONE_THREAD and CLONE_FS: the task must be alone in its group.
  if ((p.tasks.threadCount?.(p.tgid) ?? 1) > 1) return -EINVAL;
  if ((flags & CLONE_NEWUSER) !== 0) p.creds = enterNewUserNs(p.creds, 65534);
  return 0;
}

// clone(2) flags and the combinations copy_process() refuses (kernel/fork.c).

import { EINVAL } from "../uapi/errno.js";

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

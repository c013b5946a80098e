// The syscall surface: name → implementation. Arguments are u64 words (number below 2^53,
// bigint above); results are kernel-style (a negative value is −errno).

import { ARCH_SYSCALLS } from "./arch/syscalls.js";
import { sysFcntl, sysFtruncate, sysMemfdCreate } from "./fs/memfd.js";
import { sysShmat, sysShmctl, sysShmdt, sysShmget } from "./ipc/shm.js";
import { sysBrk } from "./mm/brk.js";
import { sysMadvise } from "./mm/madvise.js";
import { sysMlock, sysMlock2, sysMlockall, sysMunlock, sysMunlockall } from "./mm/mlock.js";
import { sysMmap } from "./mm/mmap.js";
import { sysMprotect, sysPkeyAlloc, sysPkeyFree, sysPkeyMprotect } from "./mm/mprotect.js";
import { sysMremap } from "./mm/mremap.js";
import { sysMseal } from "./mm/mseal.js";
import { sysMsync } from "./mm/msync.js";
import { sysMunmap } from "./mm/munmap.js";
import { sysClone, sysExit, sysExitGroup, sysFork, sysUnshare, sysVfork } from "./task/clone.js";
import { sysPrctl } from "./task/prctl.js";
import type { Process } from "./task/process.js";
import { sysPidfdOpen, sysProcessMadvise, sysProcessVmReadv, sysProcessVmWritev } from "./task/remote.js";
import { sysGetrlimit, sysPrlimit64, sysSetrlimit } from "./task/rlimit.js";
import { EBADF } from "./uapi/errno.js";
import type { U64 } from "./uapi/u64.js";
import { toInt32 } from "./uapi/u64.js";

export type SyscallImpl = (p: Process, a: U64[]) => number;

export const SYSCALLS: Readonly<Record<string, { nargs: number; impl: SyscallImpl }>> = {
  mmap: { nargs: 6, impl: (p, a) => sysMmap(p.mm, p.files, a[0], a[1], a[2], a[3], a[4], a[5]) },
  munmap: { nargs: 2, impl: (p, a) => sysMunmap(p.mm, a[0], a[1]) },
  mprotect: { nargs: 3, impl: (p, a) => sysMprotect(p.mm, a[0], a[1], a[2]) },
  pkey_mprotect: { nargs: 4, impl: (p, a) => sysPkeyMprotect(p.mm, a[0], a[1], a[2], a[3]) },
  pkey_alloc: { nargs: 2, impl: (p, a) => sysPkeyAlloc(p.mm, a[0], a[1]) },
  pkey_free: { nargs: 1, impl: (p, a) => sysPkeyFree(p.mm, a[0]) },
  mremap: { nargs: 5, impl: (p, a) => sysMremap(p.mm, a[0], a[1], a[2], a[3], a[4]) },
  madvise: { nargs: 3, impl: (p, a) => sysMadvise(p.mm, a[0], a[1], a[2]) },
  mseal: { nargs: 3, impl: (p, a) => sysMseal(p.mm, a[0], a[1], a[2]) },
  brk: { nargs: 1, impl: (p, a) => sysBrk(p.mm, a[0]) },
  mlock: { nargs: 2, impl: (p, a) => sysMlock(p.mm, a[0], a[1]) },
  mlock2: { nargs: 3, impl: (p, a) => sysMlock2(p.mm, a[0], a[1], a[2]) },
  munlock: { nargs: 2, impl: (p, a) => sysMunlock(p.mm, a[0], a[1]) },
  mlockall: { nargs: 1, impl: (p, a) => sysMlockall(p.mm, a[0]) },
  munlockall: { nargs: 0, impl: (p) => sysMunlockall(p.mm) },
  msync: { nargs: 3, impl: (p, a) => sysMsync(p.mm, a[0], a[1], a[2]) },
  close: {
    nargs: 1,
    impl: (p, a) => (p.files.close(toInt32(a[0])) ? 0 : -EBADF),
  },
  prctl: { nargs: 5, impl: (p, a) => sysPrctl(p, a[0], a[1], a[2], a[3], a[4]) },
  // Tasks (task/clone.ts): the child's pid; exit/exit_group end the caller.
  fork: { nargs: 0, impl: (p) => sysFork(p) },
  vfork: { nargs: 0, impl: (p) => sysVfork(p) },
  clone: { nargs: 5, impl: (p, a) => sysClone(p, a[0]) },
  exit: { nargs: 1, impl: (p) => sysExit(p) },
  exit_group: { nargs: 1, impl: (p) => sysExitGroup(p) },
  unshare: { nargs: 1, impl: (p, a) => sysUnshare(p, a[0]) },
  getrlimit: { nargs: 2, impl: (p, a) => sysGetrlimit(p, a[0], a[1]) },
  setrlimit: { nargs: 2, impl: (p, a) => sysSetrlimit(p, a[0], a[1]) },
  prlimit64: { nargs: 4, impl: (p, a) => sysPrlimit64(p, a[0], a[1], a[2], a[3]) },
  // Files, SysV shm and remote access (fs/memfd.ts, ipc/shm.ts, task/remote.ts).
  memfd_create: { nargs: 2, impl: (p, a) => sysMemfdCreate(p, a[0], a[1]) },
  fcntl: { nargs: 3, impl: (p, a) => sysFcntl(p, a[0], a[1], a[2]) },
  ftruncate: { nargs: 2, impl: (p, a) => sysFtruncate(p, a[0], a[1]) },
  shmget: { nargs: 3, impl: (p, a) => sysShmget(p, a[0], a[1], a[2]) },
  shmat: { nargs: 3, impl: (p, a) => sysShmat(p, a[0], a[1], a[2]) },
  shmdt: { nargs: 1, impl: (p, a) => sysShmdt(p, a[0]) },
  shmctl: { nargs: 3, impl: (p, a) => sysShmctl(p, a[0], a[1], a[2]) },
  process_vm_readv: { nargs: 6, impl: (p, a) => sysProcessVmReadv(p, a) },
  process_vm_writev: { nargs: 6, impl: (p, a) => sysProcessVmWritev(p, a) },
  pidfd_open: { nargs: 2, impl: (p, a) => sysPidfdOpen(p, a[0], a[1]) },
  process_madvise: { nargs: 5, impl: (p, a) => sysProcessMadvise(p, a) },
  ...ARCH_SYSCALLS,
};

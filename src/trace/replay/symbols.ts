// Symbolic constants strace prints, by name → value (x86_64 uapi headers: asm-generic/mman*.h,
// linux/sched.h, asm-generic/fcntl.h, linux/prctl.h, asm/prctl.h, linux/shm.h, linux/ipc.h,
// linux/memfd.h). Only what the replayer turns back into numbers.

import type { StraceArg } from "../strace/types.js";

const PROT: Record<string, number> = {
  PROT_NONE: 0,
  PROT_READ: 1,
  PROT_WRITE: 2,
  PROT_EXEC: 4,
  PROT_SEM: 8,
  PROT_GROWSDOWN: 0x01000000,
  PROT_GROWSUP: 0x02000000,
};

const MAP: Record<string, number> = {
  MAP_FILE: 0,
  MAP_SHARED: 0x01,
  MAP_PRIVATE: 0x02,
  MAP_SHARED_VALIDATE: 0x03,
  MAP_DROPPABLE: 0x08,
  MAP_FIXED: 0x10,
  MAP_ANONYMOUS: 0x20,
  MAP_ANON: 0x20,
  MAP_32BIT: 0x40,
  MAP_ABOVE4G: 0x80,
  MAP_GROWSDOWN: 0x0100,
  MAP_DENYWRITE: 0x0800,
  MAP_EXECUTABLE: 0x1000,
  MAP_LOCKED: 0x2000,
  MAP_NORESERVE: 0x4000,
  MAP_POPULATE: 0x8000,
  MAP_NONBLOCK: 0x10000,
  MAP_STACK: 0x20000,
  MAP_HUGETLB: 0x40000,
  MAP_SYNC: 0x80000,
  MAP_FIXED_NOREPLACE: 0x100000,
  MAP_UNINITIALIZED: 0x4000000,
};

const MADV: Record<string, number> = {
  MADV_NORMAL: 0,
  MADV_RANDOM: 1,
  MADV_SEQUENTIAL: 2,
  MADV_WILLNEED: 3,
  MADV_DONTNEED: 4,
  MADV_FREE: 8,
  MADV_REMOVE: 9,
  MADV_DONTFORK: 10,
  MADV_DOFORK: 11,
  MADV_MERGEABLE: 12,
  MADV_UNMERGEABLE: 13,
  MADV_HUGEPAGE: 14,
  MADV_NOHUGEPAGE: 15,
  MADV_DONTDUMP: 16,
  MADV_DODUMP: 17,
  MADV_WIPEONFORK: 18,
  MADV_KEEPONFORK: 19,
  MADV_COLD: 20,
  MADV_PAGEOUT: 21,
  MADV_POPULATE_READ: 22,
  MADV_POPULATE_WRITE: 23,
  MADV_DONTNEED_LOCKED: 24,
  MADV_COLLAPSE: 25,
  MADV_HWPOISON: 100,
  MADV_SOFT_OFFLINE: 101,
  MADV_GUARD_INSTALL: 102,
  MADV_GUARD_REMOVE: 103,
};

const MISC_MM: Record<string, number> = {
  MREMAP_MAYMOVE: 1,
  MREMAP_FIXED: 2,
  MREMAP_DONTUNMAP: 4,
  MS_ASYNC: 1,
  MS_INVALIDATE: 2,
  MS_SYNC: 4,
  MLOCK_ONFAULT: 1,
  MCL_CURRENT: 1,
  MCL_FUTURE: 2,
  MCL_ONFAULT: 4,
  PKEY_DISABLE_ACCESS: 1,
  PKEY_DISABLE_WRITE: 2,
};

export const O_FLAGS: Record<string, number> = {
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_NOCTTY: 0o400,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_NDELAY: 0o4000,
  O_DSYNC: 0o10000,
  O_ASYNC: 0o20000,
  FASYNC: 0o20000,
  O_DIRECT: 0o40000,
  O_LARGEFILE: 0o100000,
  O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000,
  O_NOATIME: 0o1000000,
  O_CLOEXEC: 0o2000000,
  O_SYNC: 0o4010000,
  O_PATH: 0o10000000,
  O_TMPFILE: 0o20200000,
};
export const O_CLOEXEC = 0o2000000;

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
};

export const CLONE: Record<string, number> = {
  CLONE_VM: 0x100,
  CLONE_FS: 0x200,
  CLONE_FILES: 0x400,
  CLONE_SIGHAND: 0x800,
  CLONE_PIDFD: 0x1000,
  CLONE_PTRACE: 0x2000,
  CLONE_VFORK: 0x4000,
  CLONE_PARENT: 0x8000,
  CLONE_THREAD: 0x10000,
  CLONE_NEWNS: 0x20000,
  CLONE_SYSVSEM: 0x40000,
  CLONE_SETTLS: 0x80000,
  CLONE_PARENT_SETTID: 0x100000,
  CLONE_CHILD_CLEARTID: 0x200000,
  CLONE_DETACHED: 0x400000,
  CLONE_UNTRACED: 0x800000,
  CLONE_CHILD_SETTID: 0x1000000,
  CLONE_NEWCGROUP: 0x2000000,
  CLONE_NEWUTS: 0x4000000,
  CLONE_NEWIPC: 0x8000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
  CLONE_IO: 0x80000000,
  ...SIGNALS,
};
export const CLONE_VM = 0x100;
export const CLONE_FILES = 0x400;
export const CLONE_VFORK = 0x4000;
export const CLONE_THREAD = 0x10000;

const FCNTL: Record<string, number> = {
  F_DUPFD: 0,
  F_GETFD: 1,
  F_SETFD: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  F_DUPFD_CLOEXEC: 1030,
  F_ADD_SEALS: 1033,
  F_GET_SEALS: 1034,
  F_SEAL_SEAL: 1,
  F_SEAL_SHRINK: 2,
  F_SEAL_GROW: 4,
  F_SEAL_WRITE: 8,
  F_SEAL_FUTURE_WRITE: 16,
  F_SEAL_EXEC: 32,
  FD_CLOEXEC: 1,
  MFD_CLOEXEC: 1,
  MFD_ALLOW_SEALING: 2,
  MFD_HUGETLB: 4,
  MFD_NOEXEC_SEAL: 8,
  MFD_EXEC: 0x10,
  AT_FDCWD: -100,
};

const PRCTL: Record<string, number> = {
  PR_SET_MM: 35,
  PR_SET_MM_START_CODE: 1,
  PR_SET_MM_END_CODE: 2,
  PR_SET_MM_START_DATA: 3,
  PR_SET_MM_END_DATA: 4,
  PR_SET_MM_START_STACK: 5,
  PR_SET_MM_START_BRK: 6,
  PR_SET_MM_BRK: 7,
  PR_SET_MM_ARG_START: 8,
  PR_SET_MM_ARG_END: 9,
  PR_SET_MM_ENV_START: 10,
  PR_SET_MM_ENV_END: 11,
  PR_SET_MM_AUXV: 12,
  PR_SET_MM_EXE_FILE: 13,
  PR_SET_MM_MAP: 14,
  PR_SET_MM_MAP_SIZE: 15,
  PR_SET_VMA: 0x53564d41,
  PR_SET_VMA_ANON_NAME: 0,
  PR_SET_THP_DISABLE: 41,
  PR_GET_THP_DISABLE: 42,
  ARCH_SET_GS: 0x1001,
  ARCH_SET_FS: 0x1002,
  ARCH_GET_FS: 0x1003,
  ARCH_GET_GS: 0x1004,
  ARCH_GET_CPUID: 0x1011,
  ARCH_SET_CPUID: 0x1012,
  ARCH_MAP_VDSO_X32: 0x2001,
  ARCH_MAP_VDSO_32: 0x2002,
  ARCH_MAP_VDSO_64: 0x2003,
};

const IPC: Record<string, number> = {
  IPC_PRIVATE: 0,
  IPC_RMID: 0,
  IPC_SET: 1,
  IPC_STAT: 2,
  IPC_INFO: 3,
  IPC_CREAT: 0o1000,
  IPC_EXCL: 0o2000,
  IPC_NOWAIT: 0o4000,
  SHM_HUGETLB: 0o4000,
  SHM_NORESERVE: 0o10000,
  SHM_RDONLY: 0o10000,
  SHM_RND: 0o20000,
  SHM_REMAP: 0o40000,
  SHM_EXEC: 0o100000,
  SHM_LOCK: 11,
  SHM_UNLOCK: 12,
};

const ALL: Record<string, number> = { ...PROT, ...MAP, ...MADV, ...MISC_MM, ...O_FLAGS, ...FCNTL, ...PRCTL, ...IPC };

const HUGE_SIZE = /^MAP_HUGE_(\d+)(KB|MB|GB)$/;
const UNIT: Record<string, number> = { KB: 10, MB: 20, GB: 30 };

/** Shifts strace prints as `N<<NAME` in a flag word (the huge page size fields: log2 of the size). */
const SHIFTS: Record<string, number> = { MAP_HUGE_SHIFT: 26, MFD_HUGE_SHIFT: 26, SHM_HUGE_SHIFT: 26 };
const SHIFTED = /^(\d+)<<([A-Z][A-Z0-9_]*)$/;

/** The value of one symbolic name, or null if unknown. */
export function symbolValue(name: string, table: Record<string, number> = ALL): number | null {
  const v = table[name];
  if (v !== undefined) return v;
  const s = SHIFTED.exec(name);
  if (s !== null) {
    const shift = SHIFTS[s[2] as string];
    return shift === undefined ? null : Number(s[1]) * 2 ** shift;
  }
  const h = HUGE_SIZE.exec(name);
  if (h !== null) {
    // MAP_HUGE_2MB = log2(2 MiB) << MAP_HUGE_SHIFT (26)
    const log = Math.log2(Number(h[1])) + UNIT[h[2]];
    if (Number.isInteger(log)) return log * 2 ** 26;
  }
  return null;
}

/** Thrown when an argument cannot be turned back into the number the kernel saw. */
export class ArgError extends Error {}

/** mmap of an fd whose file the model does not know (the call is unsupported; see the replayer). */
export class UnknownFileMapping extends ArgError {
  constructor(
    readonly fd: number,
    readonly path: string | undefined,
  ) {
    super(`mmap of fd ${fd}${path === undefined ? "" : ` (${path})`}, a file the model does not know`);
  }
}

/** An argument as the 64-bit word the program passed (negative numbers wrap). */
export function argWord(a: StraceArg | undefined, table: Record<string, number> = ALL): bigint {
  if (a === undefined) throw new ArgError("missing argument");
  switch (a.kind) {
    case "int":
    case "null":
      return BigInt.asUintN(64, a.value);
    case "flags": {
      let v = BigInt.asUintN(64, a.bits);
      for (const n of a.names) {
        const x = symbolValue(n, table);
        if (x === null) throw new ArgError(`unknown constant ${n}`);
        v |= BigInt.asUintN(64, BigInt(x));
      }
      return v;
    }
    default:
      throw new ArgError(`argument '${a.raw}' is not a number`);
  }
}

/** argWord as a JS number when exact (the model's fast path), else the bigint. */
export function argU64(a: StraceArg | undefined, table?: Record<string, number>): number | bigint {
  const w = argWord(a, table);
  return w < 2n ** 53n ? Number(w) : w;
}

/** Clone flags from clone()'s `flags=` or clone3's `{flags=..., exit_signal=...}`. */
export function cloneFlagsOf(name: string, args: StraceArg[]): number {
  if (name === "fork") return SIGNALS.SIGCHLD;
  if (name === "vfork") return CLONE.CLONE_VM | CLONE.CLONE_VFORK | SIGNALS.SIGCHLD;
  if (name === "clone3") {
    const s = args[0]?.raw ?? "";
    const f = /(?:^|[{ ,])flags=([^,}]+)/.exec(s);
    const e = /exit_signal=([^,}]+)/.exec(s);
    let v = 0;
    if (f !== null) v |= Number(wordOfText(f[1].trim(), CLONE));
    if (e !== null) v |= Number(wordOfText(e[1].trim(), CLONE)) & 0xff;
    return v;
  }
  const named = args.find((a) => a.name === "flags") ?? args[0];
  return Number(argWord(named, CLONE) & 0xffffffffn);
}

function wordOfText(text: string, table: Record<string, number>): bigint {
  let v = 0n;
  for (const part of text.split("|")) {
    const p = part.trim();
    if (/^(0x[0-9a-f]+|\d+)$/i.test(p)) v |= BigInt(p);
    else {
      const x = symbolValue(p, table);
      if (x === null) throw new ArgError(`unknown constant ${p}`);
      v |= BigInt(x);
    }
  }
  return v;
}

// Syscalls newer than the strace that printed the log: strace prints an unknown number as
// `syscall_0x1ce(...)` with six raw arguments. x86_64 numbers from
// arch/x86/entry/syscalls/syscall_64.tbl (Linux 6.18).

const X86_64_NEW: Readonly<Record<number, string>> = {
  451: "cachestat",
  452: "fchmodat2",
  453: "map_shadow_stack",
  454: "futex_wake",
  455: "futex_wait",
  456: "futex_requeue",
  457: "statmount",
  458: "listmount",
  459: "lsm_get_self_attr",
  460: "lsm_set_self_attr",
  461: "lsm_list_modules",
  462: "mseal",
  463: "setxattrat",
  464: "getxattrat",
  465: "listxattrat",
  466: "removexattrat",
  467: "open_tree_attr",
  468: "file_getattr",
  469: "file_setattr",
};

const NUMBERED = /^syscall_(0x[0-9a-f]+|\d+)$/;

/** The canonical name of a printed syscall name: `syscall_0x1ce` → `mseal`; others unchanged. */
export function canonicalSyscallName(printed: string): string {
  if (!printed.startsWith("syscall_")) return printed;
  const m = NUMBERED.exec(printed);
  if (m === null) return printed;
  return X86_64_NEW[Number(m[1])] ?? printed;
}

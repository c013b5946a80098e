// Architecture-specific syscalls (arch_prctl and its ARCH_MAP_VDSO_* codes), spread into
// the kernel's syscall table by ../syscalls.ts.

import type { SyscallImpl } from "../syscalls.js";

export const ARCH_SYSCALLS: Readonly<Record<string, { nargs: number; impl: SyscallImpl }>> = {};

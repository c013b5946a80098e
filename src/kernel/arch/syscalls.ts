// Architecture-specific syscalls, spread into the kernel's syscall table by ../syscalls.ts:
// x86_64 arch_prctl() (arch/x86/kernel/process_64.c do_arch_prctl_64(), prctl_map_vdso()).
// Only the ARCH_MAP_VDSO_* codes touch the address space and are modeled; the others are
// Unsupported (FS/GS bases, CPUID faulting, shadow stacks, LAM) or EINVAL (unknown codes).

import type { SyscallImpl } from "../syscalls.js";
import type { Process } from "../task/process.js";
import { EEXIST, EINVAL, ENOSYS } from "../uapi/errno.js";
import { toUint32, type U64 } from "../uapi/u64.js";
import { Unsupported } from "../unsupported.js";
import { findSpecial } from "./arch.js";
import { mapVdso, VDSO, VDSO32_PAGES } from "./x86_64.js";

export const ARCH_MAP_VDSO_X32 = 0x2001;
export const ARCH_MAP_VDSO_32 = 0x2002;
export const ARCH_MAP_VDSO_64 = 0x2003;

/** arch_prctl codes that exist but do not concern the address space. */
const UNMODELED_CODES = new Set([
  0x1001, 0x1002, 0x1003, 0x1004, 0x1011, 0x1012, 0x1021, 0x1022, 0x1023, 0x1024, 0x1025, 0x4001, 0x4002, 0x4003, 0x4004, 0x5001, 0x5002,
  0x5003, 0x5004, 0x5005,
]);

/**
 * prctl_map_vdso(): refused with EEXIST while any vdso, vvar or vvar_vclock mapping is
 * present (every VMA is checked); otherwise map_vdso() at the hint (or wherever
 * get_unmapped_area() finds room). Returns the image size in bytes (verified: 8192 for
 * both the 64-bit and the 32-bit image on the reference kernel).
 */
function prctlMapVdso(p: Process, imagePages: number, hint: U64): number {
  const mm = p.mm;
  if (findSpecial(mm, ["[vdso]", "[vvar]", "[vvar_vclock]"]) !== null) return -EEXIST;
  const h = typeof hint === "bigint" ? Number.MAX_SAFE_INTEGER : hint;
  const r = mapVdso(mm, { policy: mm.sealPolicy, optOutRequested: p.optOutRequested }, imagePages, Math.floor(h / 4096));
  return r < 0 ? r : imagePages * 4096;
}

/** arch_prctl(code, addr). */
export function sysArchPrctl(p: Process, codeArg: U64, addr: U64): number {
  if (p.mm.arch !== "x86_64") return -ENOSYS;
  const code = typeof codeArg === "bigint" ? -1 : toUint32(codeArg);
  switch (code) {
    case ARCH_MAP_VDSO_64:
      return prctlMapVdso(p, VDSO.pages, addr);
    case ARCH_MAP_VDSO_32:
      return prctlMapVdso(p, VDSO32_PAGES, addr);
    case ARCH_MAP_VDSO_X32:
      // CONFIG_X86_X32_ABI is unset on the reference kernel: the code is unknown (verified).
      return -EINVAL;
    default:
      if (UNMODELED_CODES.has(code))
        throw new Unsupported(`arch_prctl(0x${code.toString(16)}) does not concern the address space and is not modeled`);
      return -EINVAL;
  }
}

export const ARCH_SYSCALLS: Readonly<Record<string, { nargs: number; impl: SyscallImpl }>> = {
  arch_prctl: { nargs: 2, impl: (p, a) => sysArchPrctl(p, a[0], a[1]) },
};

// `sysmap`: CONFIG_MSEAL_SYSTEM_MAPPINGS=y (merged in 6.15). include/linux/mm.h makes
// VM_SEALED_SYSMAP equal VM_SEALED, and every kernel-installed special mapping passes it to
// _install_special_mapping(): the mapping is created sealed, with no later mseal() and no
// way out. Which mappings that is, per architecture (arch/*/Kconfig selects
// ARCH_SUPPORTS_MSEAL_SYSTEM_MAPPINGS; security/Kconfig: depends on 64BIT):
// - x86_64 (`if X86_64`): [vdso], [vvar], [vvar_vclock] (arch/x86/entry/vdso/vma.c,
//   lib/vdso/datastore.c), also when mapped later by arch_prctl(ARCH_MAP_VDSO_*);
// - arm64: [vdso], [vvar], [vvar_vclock]; for AArch32 compat tasks [vectors] and [sigpage];
// - riscv64 (`if 64BIT && MMU`): [vdso] and the generic vvar pages;
// - arm (32-bit): does not select it (and the option needs 64BIT): nothing is sealed;
// - every supporting arch: the [uprobes] XOL page, created on the first uprobe hit.
// [vsyscall] is never sealed: it is not a VMA (a fixed page above TASK_SIZE that /proc/PID/maps
// prints from gate_vma); it cannot be changed anyway (munmap EINVAL, mprotect/madvise/mseal
// ENOMEM), so it shows no `sl` flag under any policy.

import type { Arch, SealPolicy, SystemMappingKind } from "./policy.js";

/** ARCH_SUPPORTS_MSEAL_SYSTEM_MAPPINGS && 64BIT, per architecture. */
export function archSupportsSysmapSeal(arch: Arch): boolean {
  return arch === "x86_64" || arch === "arm64" || arch === "riscv64";
}

/** What CONFIG_MSEAL_SYSTEM_MAPPINGS=y seals when `kind` is installed on `arch`. */
export function sysmapSeals(kind: SystemMappingKind, arch: Arch): boolean {
  return kind !== "vsyscall" && archSupportsSysmapSeal(arch);
}

export const SYSMAP: SealPolicy = {
  name: "sysmap",
  summary:
    "system mappings (vdso, vvar, vvar_vclock, compat sigpage/vectors, uprobes) are created sealed on x86_64, arm64, riscv64; no opt-out",
  source: "merged: Linux 6.15, CONFIG_MSEAL_SYSTEM_MAPPINGS (depends on !CHECKPOINT_RESTORE)",
  sealsAtCreate: (kind, ctx) => sysmapSeals(kind, ctx.arch),
  exemptFromSeal: () => false,
};

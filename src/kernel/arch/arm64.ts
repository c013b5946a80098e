// arm64, 4 KiB pages, 48-bit VA (modeled from the 6.18 source, not verified):
// arch/arm64/include/asm/processor.h (TASK_SIZE_64, DEFAULT_MAP_WINDOW_64, STACK_TOP),
// arch/arm64/include/asm/elf.h (ELF_ET_DYN_BASE = 2/3 of the map window, ELF_PLATFORM
// "aarch64", ARCH_DLINFO: AT_SYSINFO_EHDR, AT_MINSIGSTKSZ) and arch/arm64/kernel/vdso.c
// __setup_additional_pages(): one get_unmapped_area() for the generic data store [vvar]
// (VDSO_NR_PAGES = 3: time, time namespace, getrandom; no arch data pages) and the [vdso]
// text above it, no [vvar_vclock].
//
// AArch32 (compat) tasks — an ELFCLASS32 EM_ARM file run by an arm64 kernel — get
// [vectors] (the kuser helpers page at AARCH32_VECTORS_BASE 0xffff0000, which is also their
// STACK_TOP) and [sigpage] from aarch32_setup_additional_pages(); no compat vdso
// (CONFIG_COMPAT_VDSO needs a 32-bit toolchain and is assumed off). Their address space is
// TASK_SIZE_32 = 4 GiB − 4 KiB and ELF_ET_DYN_BASE = 2/3 of it (COMPAT_ELF_ET_DYN_BASE).

import { EM_AARCH64, EM_ARM } from "../exec/elf.js";
import type { Mm } from "../mm/mm.js";
import { getUnmappedArea } from "../mm/unmapped-area.js";
import { VM_DONTDUMP, VM_EXEC, VM_IO, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_PFNMAP, VM_READ } from "../uapi/vmflags.js";
import { type ArchSpec, type SetupContext, type SystemMappingSpec, sealedSysmap } from "./arch.js";
import { installSpecialMapping } from "./special.js";

const VA_BYTES = 2 ** 48;

export const ARM64_VVAR: SystemMappingSpec = {
  kind: "vvar",
  name: "[vvar]",
  pages: 3,
  flags: VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP,
};
/** The vdso text: its size depends on the build; two pages assumed. */
export const ARM64_VDSO: SystemMappingSpec = {
  kind: "vdso",
  name: "[vdso]",
  pages: 2,
  flags: VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC,
};
/** AArch32 compat: the kuser helpers page at a fixed address. */
export const ARM64_COMPAT_VECTORS: SystemMappingSpec = {
  kind: "vectors",
  name: "[vectors]",
  pages: 1,
  flags: VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYEXEC,
};
/** AArch32 compat: the signal return trampolines. */
export const ARM64_COMPAT_SIGPAGE: SystemMappingSpec = {
  kind: "sigpage",
  name: "[sigpage]",
  pages: 1,
  flags: VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC,
};
const AARCH32_VECTORS_BASE = 0xffff0000;

function install(mm: Mm, start: number, spec: SystemMappingSpec, ctx: SetupContext): number {
  const r = installSpecialMapping(mm, start, spec, sealedSysmap(mm, spec.kind, ctx));
  return typeof r === "number" ? r : 0;
}

/** aarch32_setup_additional_pages(): [vectors] at its fixed address, then [sigpage]. */
function setupCompatPages(mm: Mm, ctx: SetupContext): number {
  let r = install(mm, AARCH32_VECTORS_BASE / 4096, ARM64_COMPAT_VECTORS, ctx);
  if (r < 0) return r;
  const addr = getUnmappedArea(mm, 0, 1, 0, { kind: "anon" });
  if (addr < 0) return addr;
  r = install(mm, addr, ARM64_COMPAT_SIGPAGE, ctx);
  return r;
}

export const ARM64: ArchSpec = {
  arch: "arm64",
  verified: false,
  elfClass: 64,
  machine: EM_AARCH64,
  taskSize: VA_BYTES / 4096,
  defaultMapWindow: VA_BYTES / 4096,
  stackTop: VA_BYTES,
  stackTopMax: VA_BYTES,
  elfEtDynBase: Math.floor((2 * VA_BYTES) / 3),
  platform: "aarch64",
  wordSize: 8,
  archDlinfo: (vdso) => [...(vdso !== null ? ([[33, BigInt(vdso)]] as Array<[number, bigint]>) : []), [51, 5120n]],
  hwcap: 0n,
  hwcap2: 0n,
  setupAdditionalPages: (mm, ctx) => {
    const addr = getUnmappedArea(mm, 0, ARM64_VVAR.pages + ARM64_VDSO.pages, 0, { kind: "anon" });
    if (addr < 0) return addr;
    let r = install(mm, addr, ARM64_VVAR, ctx);
    if (r < 0) return r;
    r = install(mm, addr + ARM64_VVAR.pages, ARM64_VDSO, ctx);
    if (r < 0) return r;
    return (addr + ARM64_VVAR.pages) * 4096;
  },
};

const TASK_SIZE_32 = 2 ** 32 - 4096;

/** An AArch32 task on an arm64 kernel (compat_binfmt_elf). */
export const ARM64_COMPAT: ArchSpec = {
  arch: "arm64",
  verified: false,
  compat: true,
  elfClass: 32,
  machine: EM_ARM,
  taskSize: TASK_SIZE_32 / 4096,
  defaultMapWindow: AARCH32_VECTORS_BASE / 4096,
  stackTop: AARCH32_VECTORS_BASE,
  // bprm_mm_init() places the first stack page at STACK_TOP_MAX (TASK_SIZE_64);
  // setup_arg_pages() then shifts the strings down to STACK_TOP.
  stackTopMax: VA_BYTES,
  elfEtDynBase: Math.floor((2 * TASK_SIZE_32) / 3),
  platform: "v8l",
  wordSize: 4,
  archDlinfo: () => [],
  hwcap: 0n,
  hwcap2: 0n,
  setupAdditionalPages: (mm, ctx) => {
    const r = setupCompatPages(mm, ctx);
    return r < 0 ? r : null;
  },
};

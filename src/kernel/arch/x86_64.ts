// x86_64 (verified on the reference machine, Linux 6.18.44, 4-level paging):
// arch/x86/include/asm/elf.h (ELF_ET_DYN_BASE, ARCH_DLINFO, ELF_PLATFORM),
// arch/x86/include/asm/page_64_types.h (TASK_SIZE, DEFAULT_MAP_WINDOW, STACK_TOP) and
// arch/x86/entry/vdso/vma.c map_vdso() with the generic vdso data store (lib/vdso/datastore.c).
//
// With ASLR off (verified): [vvar] 4 pages, [vvar_vclock] 2 pages and [vdso] 2 pages come
// from one get_unmapped_area() of 8 pages, in that order, right below the interpreter
// (0x7ffff7fc2000-0x7ffff7fca000 for Debian 12's ld.so under an 8 MiB stack rlimit).

import { EM_386, EM_X86_64 } from "../exec/elf.js";
import { PAGES_47 } from "../mm/config.js";
import type { Mm } from "../mm/mm.js";
import { getUnmappedArea } from "../mm/unmapped-area.js";
import { VM_DONTDUMP, VM_EXEC, VM_IO, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_PFNMAP, VM_READ } from "../uapi/vmflags.js";
import { type ArchSpec, type SetupContext, type SystemMappingSpec, sealedSysmap } from "./arch.js";
import { installSpecialMapping } from "./special.js";

export const AT_SYSINFO_EHDR = 33;
export const AT_MINSIGSTKSZ = 51;

/** The generic vdso data store: time, time-namespace, getrandom and x86 arch data pages. */
export const VVAR: SystemMappingSpec = {
  kind: "vvar",
  name: "[vvar]",
  pages: 4,
  flags: VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP,
};
/** The pvclock and hvclock pages (VDSO_NR_VCLOCK_PAGES). */
export const VVAR_VCLOCK: SystemMappingSpec = {
  kind: "vvar_vclock",
  name: "[vvar_vclock]",
  pages: 2,
  flags: VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP,
};
/** vdso_image_64 text: 8192 bytes on the reference kernel (ARCH_MAP_VDSO_64 returns it). */
export const VDSO: SystemMappingSpec = {
  kind: "vdso",
  name: "[vdso]",
  pages: 2,
  flags: VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC,
};
/** vdso_image_32 text size (ARCH_MAP_VDSO_32 on the reference kernel returns 8192). */
export const VDSO32_PAGES = 2;

/** get_sigframe_size() on the reference CPU (AT_MINSIGSTKSZ; depends on the xstate size). */
const MINSIGSTKSZ = 0xd30n;

/**
 * map_vdso(): one get_unmapped_area() (hint `hintPage`, 0 for none) for the data pages and
 * the image, then [vvar], [vvar_vclock], [vdso] from the bottom up. Returns the vdso text
 * address in bytes, or a negative errno.
 */
export function mapVdso(mm: Mm, ctx: SetupContext, imagePages: number, hintPage: number): number {
  const total = VVAR.pages + VVAR_VCLOCK.pages + imagePages;
  const addr = getUnmappedArea(mm, hintPage, total, 0, { kind: "anon" });
  if (addr < 0) return addr;
  const text = addr + VVAR.pages + VVAR_VCLOCK.pages;
  const image: SystemMappingSpec = { ...VDSO, pages: imagePages };
  for (const [spec, start] of [
    [image, text],
    [VVAR, addr],
    [VVAR_VCLOCK, addr + VVAR.pages],
  ] as const) {
    const r = installSpecialMapping(mm, start, spec, sealedSysmap(mm, spec.kind, ctx));
    if (typeof r === "number") return r;
  }
  return text * 4096;
}

export const X86_64: ArchSpec = {
  arch: "x86_64",
  verified: true,
  elfClass: 64,
  machine: EM_X86_64,
  taskSize: PAGES_47 - 1,
  defaultMapWindow: PAGES_47 - 1,
  stackTop: (PAGES_47 - 1) * 4096,
  stackTopMax: (PAGES_47 - 1) * 4096,
  // DEFAULT_MAP_WINDOW / 3 * 2 (integer arithmetic on bytes).
  elfEtDynBase: Math.floor(((PAGES_47 - 1) * 4096) / 3) * 2,
  platform: "x86_64",
  wordSize: 8,
  archDlinfo: (vdso) => [
    ...(vdso !== null ? ([[AT_SYSINFO_EHDR, BigInt(vdso)]] as Array<[number, bigint]>) : []),
    [AT_MINSIGSTKSZ, MINSIGSTKSZ],
  ],
  // This machine's CPU (AMD, no pkeys): AT_HWCAP = CPUID.1:EDX, AT_HWCAP2 = HWCAP2_FSGSBASE.
  hwcap: 0x178bfbffn,
  hwcap2: 2n,
  setupAdditionalPages: (mm, ctx) => mapVdso(mm, ctx, VDSO.pages, 0),
};

export const AT_SYSINFO = 32;
/** IA32_PAGE_OFFSET: TASK_SIZE and STACK_TOP of an ia32 task. */
const IA32_PAGE_OFFSET = 0xffffe000;
/** vdso_image_32.sym___kernel_vsyscall on the reference kernel (AT_SYSINFO − the vdso base). */
const VDSO32_KERNEL_VSYSCALL = 0x5e0n;

/**
 * An ia32 task on the x86_64 kernel (IA32_EMULATION, compat_binfmt_elf: an ELFCLASS32
 * EM_386 file). Verified live: 4 GiB − 8 KiB address space, the mmap area below
 * 0xffffe000 − 128 MiB, [vvar]/[vvar_vclock]/[vdso] (the 32-bit image, 2 pages) as for
 * 64-bit tasks, no [vsyscall] (MM_CONTEXT_HAS_VSYSCALL is for 64-bit mms only), platform
 * "i686", 4-byte stack words, AT_SYSINFO (__kernel_vsyscall) before AT_SYSINFO_EHDR.
 * Without PT_GNU_STACK the task gets READ_IMPLIES_EXEC (elf_read_implies_exec()).
 */
export const X86_IA32: ArchSpec = {
  arch: "x86_64",
  verified: true,
  compat: true,
  readImpliesExecByDefault: true,
  elfClass: 32,
  machine: EM_386,
  taskSize: IA32_PAGE_OFFSET / 4096,
  defaultMapWindow: IA32_PAGE_OFFSET / 4096,
  stackTop: IA32_PAGE_OFFSET,
  // bprm_mm_init() puts the strings below TASK_SIZE_MAX; setup_arg_pages() shifts them.
  stackTopMax: (PAGES_47 - 1) * 4096,
  // compat_binfmt_elf uses COMPAT_ELF_ET_DYN_BASE = TASK_UNMAPPED_BASE + 16 MiB (verified:
  // a static PIE's brk goes there).
  elfEtDynBase: 0x55555000 + 0x1000000,
  platform: "i686",
  wordSize: 4,
  archDlinfo: (vdso) => [
    ...(vdso !== null
      ? ([
          [AT_SYSINFO, BigInt(vdso) + VDSO32_KERNEL_VSYSCALL],
          [AT_SYSINFO_EHDR, BigInt(vdso)],
        ] as Array<[number, bigint]>)
      : []),
    [AT_MINSIGSTKSZ, MINSIGSTKSZ],
  ],
  hwcap: 0x178bfbffn,
  hwcap2: 2n,
  setupAdditionalPages: (mm, ctx) => mapVdso(mm, ctx, VDSO32_PAGES, 0),
};

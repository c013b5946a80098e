// 32-bit arm, CONFIG_VMSPLIT_3G (modeled from the 6.18 source, not verified):
// arch/arm/include/asm/memory.h (TASK_SIZE = PAGE_OFFSET − 16 MiB = 0xbf000000),
// arch/arm/include/asm/elf.h (ELF_ET_DYN_BASE = TASK_SIZE / 3 * 2, ELF_PLATFORM e.g. "v7l"),
// arch/arm/kernel/process.c arch_setup_additional_pages(): one get_unmapped_area() for
// [sigpage] (one page) with the vdso ([vvar] data store, then [vdso] text) right above it.
// [vectors] (0xffff0000, CONFIG_KUSER_HELPERS) is the gate VMA: printed in maps, not in the
// tree, like x86's [vsyscall] (procfs/maps.ts ARM_VECTORS_LINE).
//
// Approximation: the kernel picks the sigpage hint at random within 1 MiB above the stack
// (sigpage_addr(), random even with ASLR off); the model takes the first candidate.

import { EM_ARM } from "../exec/elf.js";
import { getUnmappedArea } from "../mm/unmapped-area.js";
import { VM_DONTDUMP, VM_EXEC, VM_IO, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_PFNMAP, VM_READ } from "../uapi/vmflags.js";
import { type ArchSpec, type SystemMappingSpec, sealedSysmap } from "./arch.js";
import { installSpecialMapping } from "./special.js";

const TASK_SIZE = 0xbf000000;

export const ARM_SIGPAGE: SystemMappingSpec = {
  kind: "sigpage",
  name: "[sigpage]",
  pages: 1,
  flags: VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC,
};
export const ARM_VVAR: SystemMappingSpec = {
  kind: "vvar",
  name: "[vvar]",
  pages: 3,
  flags: VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP,
};
export const ARM_VDSO: SystemMappingSpec = {
  kind: "vdso",
  name: "[vdso]",
  pages: 1,
  flags: VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC,
};

export const ARM: ArchSpec = {
  arch: "arm",
  verified: false,
  elfClass: 32,
  machine: EM_ARM,
  taskSize: TASK_SIZE / 4096,
  defaultMapWindow: TASK_SIZE / 4096,
  stackTop: TASK_SIZE,
  stackTopMax: TASK_SIZE,
  elfEtDynBase: Math.floor(TASK_SIZE / 3) * 2,
  platform: "v7l",
  wordSize: 4,
  archDlinfo: () => [],
  hwcap: 0n,
  hwcap2: 0n,
  setupAdditionalPages: (mm, ctx) => {
    const total = ARM_SIGPAGE.pages + ARM_VVAR.pages + ARM_VDSO.pages;
    const hint = Math.ceil(mm.startStack / 4096);
    const addr = getUnmappedArea(mm, hint, total, 0, { kind: "anon" });
    if (addr < 0) return addr;
    let at = addr;
    for (const spec of [ARM_SIGPAGE, ARM_VVAR, ARM_VDSO]) {
      const r = installSpecialMapping(mm, at, spec, sealedSysmap(mm, spec.kind, ctx));
      if (typeof r === "number") return r;
      at += spec.pages;
    }
    return (addr + ARM_SIGPAGE.pages + ARM_VVAR.pages) * 4096;
  },
};

// riscv64 (modeled from the 6.18 source, not verified): arch/riscv/include/asm/pgtable.h
// and processor.h (mmap addresses below 2^47 by default: DEFAULT_MAP_WINDOW = STACK_TOP =
// 1 << 47; TASK_SIZE of Sv48), arch/riscv/include/asm/elf.h (ELF_ET_DYN_BASE = 2/3 of the
// window, no ELF_PLATFORM, ARCH_DLINFO: AT_SYSINFO_EHDR, the cache geometry entries and
// AT_MINSIGSTKSZ) and arch/riscv/kernel/vdso.c __setup_additional_pages(): one
// get_unmapped_area() for [vvar] (generic data store with one arch data page for hwprobe:
// 4 pages) and the [vdso] text above it.

import { EM_RISCV } from "../exec/elf.js";
import type { Mm } from "../mm/mm.js";
import { getUnmappedArea } from "../mm/unmapped-area.js";
import { VM_DONTDUMP, VM_EXEC, VM_IO, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_PFNMAP, VM_READ } from "../uapi/vmflags.js";
import { type ArchSpec, type SystemMappingSpec, sealedSysmap } from "./arch.js";
import { installSpecialMapping } from "./special.js";

const WINDOW = 2 ** 47;

export const RISCV_VVAR: SystemMappingSpec = {
  kind: "vvar",
  name: "[vvar]",
  pages: 4,
  flags: VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP,
};
export const RISCV_VDSO: SystemMappingSpec = {
  kind: "vdso",
  name: "[vdso]",
  pages: 2,
  flags: VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC,
};

function setup(mm: Mm, ctx: Parameters<ArchSpec["setupAdditionalPages"]>[1]): number {
  const addr = getUnmappedArea(mm, 0, RISCV_VVAR.pages + RISCV_VDSO.pages, 0, { kind: "anon" });
  if (addr < 0) return addr;
  for (const [spec, at] of [
    [RISCV_VVAR, addr],
    [RISCV_VDSO, addr + RISCV_VVAR.pages],
  ] as const) {
    const r = installSpecialMapping(mm, at, spec, sealedSysmap(mm, spec.kind, ctx));
    if (typeof r === "number") return r;
  }
  return (addr + RISCV_VVAR.pages) * 4096;
}

export const RISCV64: ArchSpec = {
  arch: "riscv64",
  verified: false,
  elfClass: 64,
  machine: EM_RISCV,
  taskSize: WINDOW / 4096,
  defaultMapWindow: WINDOW / 4096,
  stackTop: WINDOW,
  stackTopMax: WINDOW,
  elfEtDynBase: Math.floor(WINDOW / 3) * 2,
  platform: null,
  wordSize: 8,
  archDlinfo: (vdso) => [
    ...(vdso !== null ? ([[33, BigInt(vdso)]] as Array<[number, bigint]>) : []),
    [40, 0n],
    [41, 0n],
    [42, 0n],
    [43, 0n],
    [44, 0n],
    [45, 0n],
    [46, 0n],
    [47, 0n],
    [51, 0n],
  ],
  hwcap: 0n,
  hwcap2: null,
  setupAdditionalPages: setup,
};

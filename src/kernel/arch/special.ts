// Installing a kernel special mapping: mm/mmap.c _install_special_mapping() and
// __install_special_mapping(), shared by every architecture's system mappings and by the
// uprobes XOL page.

import type { Mm } from "../mm/mm.js";
import { Vma } from "../mm/vma.js";
import { specialMapping } from "../task/layout.js";
import { ENOMEM } from "../uapi/errno.js";
import { VM_DONTEXPAND } from "../uapi/vmflags.js";
import type { SystemMappingSpec } from "./arch.js";

/**
 * _install_special_mapping(): a VMA of `spec.pages` pages at `start` (pages) with the
 * spec's flags plus mm->def_flags and VM_DONTEXPAND, file offset 0. insert_vm_struct()
 * refuses an overlap with ENOMEM. `flagsHi` carries VM_SEALED_SYSMAP.
 */
export function installSpecialMapping(mm: Mm, start: number, spec: SystemMappingSpec, flagsHi: number): Vma | number {
  const end = start + spec.pages;
  if (mm.tree.intersects(start, end)) return -ENOMEM;
  const vma = new Vma(start, end, spec.flags | mm.defFlags | VM_DONTEXPAND, flagsHi, 0, null, null, false, specialMapping(spec.name));
  mm.tree.insert(vma);
  return vma;
}

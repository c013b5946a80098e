// The uprobes XOL ("execute out of line") page: kernel/events/uprobes.c xol_add_vma(),
// created the first time a uprobe in this mm is hit (a model operation: no syscall makes
// it). One page, `--xp`, VM_DONTCOPY|VM_IO, named [uprobes], placed by get_unmapped_area()
// with the hint TASK_SIZE − PAGE_SIZE ("as high as possible, only a hint"), sealed when the
// policy seals uprobes mappings (VM_SEALED_SYSMAP).

import type { Mm } from "../mm/mm.js";
import { getUnmappedArea } from "../mm/unmapped-area.js";
import { VM_DONTCOPY, VM_EXEC, VM_IO, VM_MAYEXEC } from "../uapi/vmflags.js";
import { type SystemMappingSpec, sealedSysmap } from "./arch.js";
import { installSpecialMapping } from "./special.js";

export const UPROBES_XOL: SystemMappingSpec = {
  kind: "uprobes",
  name: "[uprobes]",
  pages: 1,
  flags: VM_EXEC | VM_MAYEXEC | VM_DONTCOPY | VM_IO,
};

/** mm->uprobes_state.xol_area: its address (bytes) once created. */
const xolAreas = new WeakMap<Mm, number>();

/**
 * get_xol_area(): the XOL page of this mm, created on first use. Returns its address in
 * bytes or a negative errno. `optOutRequested` is the task's proposed prctl (uprobes are
 * not covered by it in any policy, but the policy decides).
 */
export function uprobeXolPage(mm: Mm, optOutRequested = false): number {
  const known = xolAreas.get(mm);
  // The area outlives an munmap of its VMA (the kernel keeps area->vaddr).
  if (known !== undefined) return known;
  const addr = getUnmappedArea(mm, mm.cfg.taskSize - 1, 1, 0, { kind: "anon" });
  if (addr < 0) return addr;
  const sealed = sealedSysmap(mm, "uprobes", { policy: mm.sealPolicy, optOutRequested });
  const r = installSpecialMapping(mm, addr, UPROBES_XOL, sealed);
  if (typeof r === "number") return r;
  xolAreas.set(mm, addr * 4096);
  return addr * 4096;
}

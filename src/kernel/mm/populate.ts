// Populating ranges: mm/gup.c __mm_populate() / populate_vma_page_range(), used by
// MAP_POPULATE, MAP_LOCKED, mlock, mlockall and locked brk/mremap growth.

import { VM_EXEC, VM_IO, VM_LOCKONFAULT, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from "../uapi/vmflags.js";
import { faultPage } from "./fault.js";
import type { Mm } from "./mm.js";

/**
 * Fault in [start, end). Returns 0, or -EFAULT when a page could not be faulted
 * (beyond EOF); with `ignoreErrors` it goes on to the next VMA.
 */
export function populateRange(mm: Mm, start: number, end: number, ignoreErrors: boolean): number {
  let vma = mm.tree.findNext(start);
  let err = 0;
  while (vma !== null && vma.start < end) {
    const vmaStart = vma.start;
    const vmaEnd = vma.end;
    const accessible = (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) !== 0;
    if ((vma.flags & (VM_IO | VM_PFNMAP)) === 0 && (vma.flags & VM_LOCKONFAULT) === 0 && !accessible) {
      // check_vma_flags(): without FOLL_FORCE a PROT_NONE VMA cannot be faulted.
      if (!ignoreErrors) return -14; // EFAULT
    } else if ((vma.flags & (VM_IO | VM_PFNMAP)) === 0 && (vma.flags & VM_LOCKONFAULT) === 0) {
      const write = (vma.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
      const s = Math.max(start, vmaStart);
      const e = Math.min(end, vmaEnd);
      let cur = vma;
      for (let p = s; p < e; p++) {
        // A guard marker is a fault gup cannot resolve: this VMA stops here.
        const r = mm.pt.guards.has(p) ? null : faultPage(mm, cur, p, write);
        if (r === null) {
          err = -14; // EFAULT
          break;
        }
        cur = r;
      }
      if (err !== 0 && !ignoreErrors) return err;
      err = 0;
    }
    vma = mm.tree.findNext(vmaEnd);
  }
  return 0;
}

// munmap(2): mm/vma.c do_vmi_munmap(), do_vmi_align_munmap(), vms_gather_munmap_vmas().

import { EINVAL, ENOMEM, EPERM } from "../uapi/errno.js";
import { add, clamp, offsetInPage, pageAlign, pageOf, type U64 } from "../uapi/u64.js";
import { VM_LOCKED } from "../uapi/vmflags.js";
import type { Mm } from "./mm.js";
import { sealBlocksChange, sealCheckUpFront } from "./mseal.js";
import type { Vma } from "./vma.js";
import { splitVmaPiece } from "./vma-merge.js";

/**
 * vms_gather_munmap_vmas(): split the VMAs at the edges of [start, end) and collect the
 * ones inside. Splits done before an error stay (a failed munmap over a seal can leave a
 * VMA split at `start`). Returns the VMAs to remove, or a negative errno.
 */
export function gatherUnmap(mm: Mm, first: Vma, start: number, end: number): Vma[] | number {
  let vma = first;
  if (start > vma.start) {
    // Make sure map_count on return will not exceed its limit (one VMA becomes three).
    if (end < vma.end && mm.mapCount >= mm.cfg.maxMapCount) return -ENOMEM;
    // Don't bother splitting the VMA if we can't unmap it anyway.
    if (sealBlocksChange(mm, vma, "unmap")) return -EPERM;
    const r = splitVmaPiece(mm, vma, start, true);
    if (typeof r === "number") return r;
    vma = r;
  }
  // Most ranges cover one VMA: a one-slot array then, not an empty one grown by push().
  let out: Vma[] | null = null;
  let cur: Vma | null = vma;
  while (cur !== null && cur.start < end) {
    if (sealBlocksChange(mm, cur, "unmap")) return -EPERM;
    if (cur.end > end) {
      const r = splitVmaPiece(mm, cur, end, false);
      if (typeof r === "number") return r;
      cur = r;
    }
    if (out === null) out = [cur];
    else out.push(cur);
    cur = mm.tree.next(cur);
  }
  return out ?? [];
}

/**
 * vms_complete_munmap_vmas(): drop the gathered VMAs (consecutive) and their pages, then
 * free_pgtables() over the hole between the VMAs left on either side.
 */
export function completeUnmap(mm: Mm, vmas: readonly Vma[]): void {
  if (vmas.length === 0) return;
  for (const v of vmas) {
    mm.tree.remove(v);
    mm.pt.zap(v.start, v.end, (v.flags & VM_LOCKED) !== 0);
    mm.pt.clearGuards(v.start, v.end);
  }
  const start = (vmas[0] as Vma).start;
  const end = (vmas[vmas.length - 1] as Vma).end;
  const floor = mm.tree.findPrev(start)?.end ?? 0;
  // A block can only be freed if it starts at or after the floor (most unmaps end here).
  if (!mm.pt.mayFreeTables(floor, end)) return;
  const ceiling = mm.tree.findNext(end)?.start ?? Number.MAX_SAFE_INTEGER;
  mm.pt.freeTables(start, end, floor, ceiling);
}

/** do_vmi_align_munmap() on page-aligned [start, end): 0 or a negative errno. */
export function unmapRange(mm: Mm, start: number, end: number): number {
  const first = mm.tree.findNext(start);
  if (first === null || first.start >= end) return 0;
  const up = sealCheckUpFront(mm, start, end);
  if (up !== 0) return up;
  const r = gatherUnmap(mm, first, start, end);
  if (typeof r === "number") return r;
  completeUnmap(mm, r);
  return 0;
}

/** do_vmi_munmap(): argument checks, then the aligned unmap. */
export function doMunmap(mm: Mm, startArg: U64, lenArg: U64): number {
  const taskSize = mm.cfg.taskSize * 4096;
  if (offsetInPage(startArg) !== 0) return -EINVAL;
  const start = clamp(startArg);
  const len = clamp(lenArg);
  if (start > taskSize || len > taskSize - start) return -EINVAL;
  const alen = pageAlign(lenArg);
  const end = add(startArg, alen);
  if (end === null || clamp(end) === start) return -EINVAL;
  return unmapRange(mm, pageOf(startArg), pageOf(end));
}

/** munmap(addr, len). */
export function sysMunmap(mm: Mm, addr: U64, len: U64): number {
  return doMunmap(mm, addr, len);
}

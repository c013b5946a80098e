// mseal(2): mm/mseal.c (6.18: do_mseal, range_contains_unmapped, mseal_apply), and the
// 6.10 up-front check can_modify_mm() selected by `kernelVersion: "6.10"`.

import type { SealedOp } from "../policy/policy.js";
import { EINVAL, ENOMEM, EPERM } from "../uapi/errno.js";
import { add, offsetInPage, pageAlign, pageOf, type U64 } from "../uapi/u64.js";
import { VMH_SEALED } from "../uapi/vmflags.js";
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import { vmaModifyFlags } from "./vma-merge.js";

/**
 * vma_is_sealed() as every seal check asks it: the VMA is sealed and the kernel's sealing
 * policy does not exempt the current task for this change (merged kernels never do; see
 * policy/sysmap-cap-cr.ts for a proposal that does). The one place seal checks go through.
 */
export function sealBlocksChange(mm: Mm, vma: Vma, op: SealedOp): boolean {
  return vma.sealed && !mm.sealPolicy.exemptFromSeal(vma, mm.creds, op);
}

/**
 * can_modify_mm() of 6.10: any sealed VMA in [start, end) fails the whole call before any
 * change. From 6.12 the checks are per VMA at the point of change, so this returns 0.
 */
export function sealCheckUpFront(mm: Mm, start: number, end: number): number {
  if (mm.cfg.version !== "6.10") return 0;
  let v = mm.tree.findNext(start);
  while (v !== null && v.start < end) {
    if (sealBlocksChange(mm, v, "unmap")) return -EPERM;
    v = mm.tree.next(v);
  }
  return 0;
}

/** range_contains_unmapped(): a hole anywhere in [start, end). */
export function rangeContainsUnmapped(mm: Mm, start: number, end: number): boolean {
  let prevEnd = start;
  let v = mm.tree.findNext(start);
  while (v !== null && v.start < end) {
    if (v.start > prevEnd) return true;
    prevEnd = v.end;
    v = mm.tree.next(v);
  }
  return prevEnd < end;
}

/** mseal_apply(): seal every not-yet-sealed piece of [start, end). */
function msealApply(mm: Mm, start: number, end: number): number {
  let vma = mm.tree.find(start);
  if (vma === null) return 0;
  let prev = start > vma.start ? vma : mm.tree.prev(vma);
  let curStart = start;
  while (vma !== null && vma.start < end) {
    const curEnd = Math.min(vma.end, end);
    if (!vma.sealed) {
      const r = vmaModifyFlags(mm, prev, vma, curStart, curEnd, vma.flags, vma.flagsHi | VMH_SEALED);
      if (typeof r === "number") return r;
      vma = r;
    }
    prev = vma;
    // A merge may have reached past curEnd: go on from the end of the merged VMA (the
    // live kernel seals [a, b) and then [b, c) as one piece in that case).
    curStart = Math.max(curEnd, Math.min(vma.end, end));
    vma = mm.tree.next(vma);
  }
  return 0;
}

/** do_mseal(). */
export function sysMseal(mm: Mm, startArg: U64, lenArg: U64, flagsArg: U64): number {
  if (flagsArg !== 0) return -EINVAL;
  if (offsetInPage(startArg) !== 0) return -EINVAL;
  const len = pageAlign(lenArg);
  if (lenArg !== 0 && len === 0) return -EINVAL;
  const end = add(startArg, len);
  if (end === null) return -EINVAL;
  if (len === 0) return 0;
  if (typeof end === "bigint") return -ENOMEM; // nothing is mapped up there
  const s = pageOf(startArg);
  const e = pageOf(end);
  if (rangeContainsUnmapped(mm, s, e)) return -ENOMEM;
  return msealApply(mm, s, e);
}

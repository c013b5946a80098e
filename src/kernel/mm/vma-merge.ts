// VMA merging and splitting: mm/vma.c (6.18). Each function mirrors one kernel function
// or decision, named in its comment.

import type { OpenFile } from "../fs/file.js";
import { EINVAL, ENOMEM } from "../uapi/errno.js";
import { VM_IGNORE_MERGE, VM_MAYBE_GUARD, VM_SPECIAL } from "../uapi/vmflags.js";
import type { Mm } from "./mm.js";
import { type AnonVma, Vma } from "./vma.js";

/** Flags kept from every VMA a merge swallows (VM_STICKY in 6.18.44: the guard flag). */
const VM_STICKY = VM_MAYBE_GUARD;

/** What a proposed range looks like to the merge code (struct vma_merge_struct). */
export interface MergeProposal {
  start: number;
  end: number;
  flags: number;
  flagsHi: number;
  pgoff: number;
  file: OpenFile | null;
  anon: AnonVma | null;
  /** The existing VMA being modified (vmg->middle), null for a new range. */
  middle: Vma | null;
}

/** is_mergeable_vma(): same flags (ignoring soft-dirty and sticky bits) and same file. */
function isMergeableVma(v: Vma, p: MergeProposal): boolean {
  return ((v.flags ^ p.flags) & ~VM_IGNORE_MERGE) === 0 && v.flagsHi === p.flagsHi && v.file === p.file && v.special === null;
}

/** vma_had_uncowed_parents(): an anon_vma chain inherited across fork. */
function hadUncowedParents(v: Vma | null): boolean {
  return v !== null && v.anon !== null && v.anonInherited;
}

/** is_mergeable_anon_vma() (6.18): may `target` and the proposal share one anon_vma? */
function isMergeableAnonVma(p: MergeProposal, target: Vma): boolean {
  if (target.anon === null && p.anon !== null) return !hadUncowedParents(p.middle);
  if (target.anon !== null && p.anon === null) return !hadUncowedParents(target);
  return target.anon === p.anon;
}

/** are_anon_vmas_compatible(): prev and next of a three-way merge. */
function areAnonVmasCompatible(a: Vma, b: Vma): boolean {
  return a.anon === null || b.anon === null || a.anon === b.anon;
}

/** can_vma_merge_after(): the proposal can extend `prev`. */
function canMergeAfter(p: MergeProposal, prev: Vma): boolean {
  return isMergeableVma(prev, p) && isMergeableAnonVma(p, prev) && prev.pgoff + prev.pages === p.pgoff;
}

/** can_vma_merge_before(): the proposal can extend `next` downwards. */
function canMergeBefore(p: MergeProposal, next: Vma): boolean {
  return isMergeableVma(next, p) && isMergeableAnonVma(p, next) && next.pgoff === p.pgoff + (p.end - p.start);
}

/**
 * The record of `target` after a merge makes it cover [start, end) from `pgoff`, taking in
 * `a` and `b` (null when absent): the proposal's flags plus sticky bits of every part, and
 * the first anon_vma among target, a, b (dup_anon_vma()), else the proposal's.
 * (No rest or spread arguments: this runs on every merge, and those allocate arrays.)
 */
function expanded(target: Vma, start: number, end: number, pgoff: number, p: MergeProposal, a: Vma | null, b: Vma | null): Vma {
  let sticky = target.flags & VM_STICKY;
  if (a !== null) sticky |= a.flags & VM_STICKY;
  if (b !== null) sticky |= b.flags & VM_STICKY;
  const src = target.anon !== null ? target : a !== null && a.anon !== null ? a : b !== null && b.anon !== null ? b : null;
  const anon = src !== null ? src.anon : p.anon;
  const inherited = src !== null ? src.anonInherited : false;
  return new Vma(start, end, p.flags | sticky, p.flagsHi, pgoff, target.file, anon, inherited, null);
}

/**
 * vma_merge_existing_range(): [start, end) of `middle` is to get new flags; merge it into
 * prev and/or next if possible. Returns the merged VMA, or null when no merge applies.
 */
export function mergeExistingRange(mm: Mm, prev: Vma | null, p: MergeProposal): Vma | null {
  const middle = p.middle as Vma;
  if ((p.flags & VM_SPECIAL) !== 0) return null;
  const leftSide = p.start === middle.start;
  const rightSide = p.end === middle.end;
  if (!leftSide && !rightSide) return null;
  const mergeLeft = leftSide && prev !== null && prev.end === p.start && canMergeAfter(p, prev);
  const next = rightSide ? mm.tree.next(middle) : null;
  const mergeRight =
    rightSide &&
    next !== null &&
    next.start === p.end &&
    canMergeBefore(p, next) &&
    (!mergeLeft || areAnonVmasCompatible(prev as Vma, next));
  if (!mergeLeft && !mergeRight) return null;
  const tree = mm.tree;

  if (mergeLeft && mergeRight) {
    const pr = prev as Vma;
    const nx = next as Vma;
    const merged = expanded(pr, pr.start, nx.end, pr.pgoff, p, nx, middle);
    tree.replaceRun(pr, 3, merged);
    return merged;
  }
  if (mergeLeft) {
    const pr = prev as Vma;
    const merged = expanded(pr, pr.start, p.end, pr.pgoff, p, middle, null);
    if (rightSide) tree.replaceRun(pr, 2, merged);
    else {
      mm.pt.splitHugeZeroAt(p.end); // commit_merge(): vma_adjust_trans_huge()
      tree.replace(middle, middle.slice(p.end, middle.end));
      tree.replace(pr, merged);
    }
    return merged;
  }
  const nx = next as Vma;
  const merged = expanded(nx, p.start, nx.end, p.pgoff, p, middle, null);
  if (leftSide) tree.replaceRun(middle, 2, merged);
  else {
    mm.pt.splitHugeZeroAt(p.start); // commit_merge(): vma_adjust_trans_huge()
    tree.replace(middle, middle.slice(middle.start, p.start));
    tree.replace(nx, merged);
  }
  return merged;
}

/**
 * vma_merge_new_range(): a range not yet in the tree ([start, end) is free) joins prev
 * and/or next. `justExpand` (brk) only considers prev. `copiedFrom` is copy_vma()'s source.
 */
export function mergeNewRange(mm: Mm, p: MergeProposal, justExpand = false): Vma | null {
  if ((p.flags & VM_SPECIAL) !== 0) return null;
  const tree = mm.tree;
  const prevCand = tree.findPrev(p.start);
  const prev = prevCand !== null && prevCand.end === p.start ? prevCand : null;
  const nextCand = justExpand ? null : tree.findNext(p.start);
  const next = nextCand !== null && nextCand.start === p.end ? nextCand : null;
  const canLeft = prev !== null && canMergeAfter(p, prev);
  const canRight = next !== null && canMergeBefore(p, next) && (!canLeft || areAnonVmasCompatible(prev as Vma, next));
  if (!canLeft && !canRight) return null;
  if (canLeft && canRight) {
    const pr = prev as Vma;
    const nx = next as Vma;
    const merged = expanded(pr, pr.start, nx.end, pr.pgoff, p, nx, null);
    tree.replaceRun(pr, 2, merged);
    return merged;
  }
  if (canLeft) {
    const pr = prev as Vma;
    const merged = expanded(pr, pr.start, p.end, pr.pgoff, p, null, null);
    tree.replace(pr, merged);
    return merged;
  }
  const nx = next as Vma;
  const merged = expanded(nx, p.start, nx.end, p.pgoff, p, null, null);
  tree.replace(nx, merged);
  return merged;
}

/**
 * __split_vma() (without the map_count check, which its callers make): split `vma` at page
 * `at` and return the piece the caller goes on with, the part above `at` (keepAbove) or
 * below it.
 */
export function splitVmaPiece(mm: Mm, vma: Vma, at: number, keepAbove: boolean): Vma | number {
  if (vma.special?.mayNotSplit) return -EINVAL;
  const lo = vma.slice(vma.start, at);
  const hi = vma.slice(at, vma.end);
  mm.pt.splitHugeZeroAt(at); // vma_adjust_trans_huge()
  mm.tree.split(vma, lo, hi);
  return keepAbove ? hi : lo;
}

/**
 * vma_modify_flags(): give [start, end) of `middle` new flags, merging with neighbours
 * when possible, else splitting off the parts outside the range. A failed second split
 * leaves the first in place, as in the kernel.
 */
export function vmaModifyFlags(
  mm: Mm,
  prev: Vma | null,
  middle: Vma,
  start: number,
  end: number,
  flags: number,
  flagsHi: number,
): Vma | number {
  const proposal: MergeProposal = {
    start,
    end,
    flags,
    flagsHi,
    pgoff: middle.pgoff + (start - middle.start),
    file: middle.file,
    anon: middle.anon,
    middle,
  };
  const merged = mergeExistingRange(mm, prev, proposal);
  if (merged !== null) return merged;
  let vma = middle;
  // split_vma(): refused with ENOMEM once map_count reaches max_map_count.
  if (vma.start < start) {
    if (mm.mapCount >= mm.cfg.maxMapCount) return -ENOMEM;
    const r = splitVmaPiece(mm, vma, start, true);
    if (typeof r === "number") return r;
    vma = r;
  }
  if (vma.end > end) {
    if (mm.mapCount >= mm.cfg.maxMapCount) return -ENOMEM;
    const r = splitVmaPiece(mm, vma, end, false);
    if (typeof r === "number") return r;
    vma = r;
  }
  if (vma.flags === flags && vma.flagsHi === flagsHi) return vma;
  const updated = vma.with({ flags, flagsHi });
  mm.tree.replace(vma, updated);
  return updated;
}

// mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2): mm/mlock.c.

import { EINVAL, ENOMEM, EPERM } from "../uapi/errno.js";
import { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT } from "../uapi/mman.js";
import { add, addWrapping, offsetInPage, pageAlign, pageOf, toInt32, type U64 } from "../uapi/u64.js";
import { VM_HUGETLB, VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT, VM_SPECIAL, VMH_DROPPABLE } from "../uapi/vmflags.js";
import { CAP_IPC_LOCK, capable } from "./creds.js";
import type { Mm } from "./mm.js";
import { canDoMlock } from "./mmap.js";
import { populateRange } from "./populate.js";
import type { Vma } from "./vma.js";
import { vmaModifyFlags } from "./vma-merge.js";

/** vma_supports_mlock(): special, hugetlb and droppable VMAs are silently not locked. */
function supportsMlock(v: Vma): boolean {
  return (v.flags & (VM_SPECIAL | VM_HUGETLB)) === 0 && (v.flagsHi & VMH_DROPPABLE) === 0;
}

/** mlock_fixup(). Returns the VMA covering [start, end) afterwards, or an errno. */
function mlockFixup(mm: Mm, vma: Vma, prev: Vma | null, start: number, end: number, newFlags: number): Vma | number {
  if (newFlags === vma.flags || !supportsMlock(vma)) return vma;
  const r = vmaModifyFlags(mm, prev, vma, start, end, newFlags, vma.flagsHi);
  // Only a change of VM_LOCKED walks the pages ("mlocking twice would be wrong").
  if (typeof r !== "number" && ((newFlags ^ vma.flags) & VM_LOCKED) !== 0) mm.pt.mlockRange(start, end, (newFlags & VM_LOCKED) !== 0);
  return r;
}

/** apply_vma_lock_flags(): start inside a VMA, no holes (partial on a hole). */
function applyVmaLockFlags(mm: Mm, start: number, end: number, flags: number): number {
  if (end === start) return 0;
  let vma = mm.tree.find(start);
  if (vma === null) return -ENOMEM;
  let prev = start > vma.start ? vma : mm.tree.prev(vma);
  let nstart = start;
  let tmp = vma.start;
  let cur: Vma | null = vma;
  while (cur !== null && cur.start < end) {
    if (cur.start !== tmp) return -ENOMEM;
    const newFlags = (cur.flags & ~VM_LOCKED_MASK) | flags;
    tmp = Math.min(cur.end, end);
    const r = mlockFixup(mm, cur, prev, nstart, tmp, newFlags);
    if (typeof r === "number") return r;
    prev = r;
    tmp = r.end;
    nstart = tmp;
    cur = mm.tree.findNext(tmp);
    vma = r;
  }
  if (tmp < end) return -ENOMEM;
  return 0;
}

/** The [start, end) page range of mlock's (start, len): start rounded down, length rounded up. */
function lockRange(startArg: U64, lenArg: U64): { start: number; end: number } | number {
  const off = offsetInPage(startArg);
  // PAGE_ALIGN(len + offset) in u64 arithmetic: both steps may wrap.
  const len = pageAlign(addWrapping(lenArg, off));
  const start = typeof startArg === "number" ? startArg - off : startArg - BigInt(off);
  const end = add(start, len);
  if (end === null) return -EINVAL;
  if (len === 0) return { start: 0, end: 0 };
  // Nothing is mapped at or above 2^53; a range reaching there still locks what it covers.
  if (typeof start === "bigint") return -ENOMEM;
  return { start: pageOf(start), end: typeof end === "bigint" ? Number.MAX_SAFE_INTEGER : pageOf(end) };
}

/** do_mlock(). */
function doMlock(mm: Mm, startArg: U64, lenArg: U64, flags: number): number {
  if (!canDoMlock(mm)) return -EPERM;
  const r = lockRange(startArg, lenArg);
  if (typeof r === "number") return r;
  const limit = Math.floor(mm.rlimits.memlock / 4096);
  let locked = r.end - r.start + mm.lockedVm();
  if (locked > limit && !capable(mm.creds, CAP_IPC_LOCK)) {
    let already = 0;
    for (const v of mm.tree.range(r.start, r.end)) {
      if (v.flags & VM_LOCKED) already += Math.min(v.end, r.end) - Math.max(v.start, r.start);
    }
    locked -= already;
  }
  if (!(locked <= limit || capable(mm.creds, CAP_IPC_LOCK))) return -ENOMEM;
  const err = applyVmaLockFlags(mm, r.start, r.end, flags);
  if (err) return err;
  const pop = populateRange(mm, r.start, r.end, false);
  if (pop !== 0) return -ENOMEM; // __mlock_posix_error_return(EFAULT)
  return 0;
}

export function sysMlock(mm: Mm, start: U64, len: U64): number {
  return doMlock(mm, start, len, VM_LOCKED);
}

export function sysMlock2(mm: Mm, start: U64, len: U64, flagsArg: U64): number {
  if (typeof flagsArg === "bigint" || flagsArg & ~MLOCK_ONFAULT) return -EINVAL;
  return doMlock(mm, start, len, VM_LOCKED | (flagsArg & MLOCK_ONFAULT ? VM_LOCKONFAULT : 0));
}

export function sysMunlock(mm: Mm, start: U64, len: U64): number {
  const r = lockRange(start, len);
  if (typeof r === "number") return r;
  return applyVmaLockFlags(mm, r.start, r.end, 0);
}

/** apply_mlockall_flags(): errors on single VMAs are ignored. */
function applyMlockallFlags(mm: Mm, flags: number): void {
  mm.defFlags &= ~VM_LOCKED_MASK;
  if (flags & MCL_FUTURE) {
    mm.defFlags |= VM_LOCKED;
    if (flags & MCL_ONFAULT) mm.defFlags |= VM_LOCKONFAULT;
    if (!(flags & MCL_CURRENT)) return;
  }
  let toAdd = 0;
  if (flags & MCL_CURRENT) {
    toAdd |= VM_LOCKED;
    if (flags & MCL_ONFAULT) toAdd |= VM_LOCKONFAULT;
  }
  let prev: Vma | null = null;
  let vma = mm.tree.first;
  while (vma !== null) {
    const newFlags = (vma.flags & ~VM_LOCKED_MASK) | toAdd;
    const r = mlockFixup(mm, vma, prev, vma.start, vma.end, newFlags);
    prev = typeof r === "number" ? vma : r;
    vma = mm.tree.findNext(prev.end);
  }
}

export function sysMlockall(mm: Mm, flagsArg: U64): number {
  const flags = toInt32(flagsArg);
  if (!flags || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) return -EINVAL;
  if (!canDoMlock(mm)) return -EPERM;
  const limit = Math.floor(mm.rlimits.memlock / 4096);
  if (flags & MCL_CURRENT && mm.totalVm() > limit && !capable(mm.creds, CAP_IPC_LOCK)) return -ENOMEM;
  applyMlockallFlags(mm, flags);
  if (flags & MCL_CURRENT) populateRange(mm, 0, mm.cfg.taskSize, true);
  return 0;
}

export function sysMunlockall(mm: Mm): number {
  applyMlockallFlags(mm, 0);
  return 0;
}

// mremap(2): mm/mremap.c (6.18) do_mremap(), check_mremap_params(), check_prep_vma(),
// remap_move(), mremap_to(), mremap_at(), expand_vma(), move_vma(), copy_vma().

import { EAGAIN, EFAULT, EINVAL, ENOMEM, EPERM } from "../uapi/errno.js";
import { MAP_FIXED, MAP_SHARED, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE } from "../uapi/mman.js";
import { add, clamp, gt, offsetInPage, pageAlign, pageOf, sub, toBigInt, type U64 } from "../uapi/u64.js";
import { VM_DONTEXPAND, VM_LOCKED, VM_LOCKED_MASK, VM_MAYSHARE, VM_PFNMAP, VM_SHARED } from "../uapi/vmflags.js";
import type { Mm } from "./mm.js";
import { mayExpandVm, mlockFutureOk } from "./mmap.js";
import { sealBlocksChange, sealCheckUpFront } from "./mseal.js";
import { doMunmap, unmapRange } from "./munmap.js";
import { populateRange } from "./populate.js";
import { getUnmappedArea, securityMmapAddr } from "./unmapped-area.js";
import { Vma } from "./vma.js";
import { mergeNewRange } from "./vma-merge.js";

/** struct vma_remap_struct, in pages once the arguments are validated. */
interface Remap {
  addr: number;
  oldLen: number;
  newLen: number;
  flags: number;
  newAddr: number;
  vma: Vma | null;
  delta: number;
  populateExpand: boolean;
}

const impliesNewAddr = (flags: number) => (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;

/** vrm_will_map_new(): growing, or going to a new address. */
function willMapNew(r: Remap): boolean {
  return r.newLen > r.oldLen || impliesNewAddr(r.flags);
}

/** check_prep_vma(). */
function checkPrepVma(mm: Mm, r: Remap): number {
  const vma = r.vma;
  if (vma === null) return -EFAULT;
  if (sealBlocksChange(mm, vma, "mremap")) return -EPERM;
  r.delta = Math.abs(r.oldLen - r.newLen);
  if (!impliesNewAddr(r.flags)) r.newAddr = r.addr;
  if (!willMapNew(r)) return 0;
  if (r.oldLen === 0 && (vma.flags & (VM_SHARED | VM_MAYSHARE)) === 0) return -EINVAL;
  if (r.flags & MREMAP_DONTUNMAP && vma.flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EINVAL;
  // We can't remap across the end of the VMA (a shrinking move only needs new_len).
  if (Math.min(r.oldLen, r.newLen) > vma.end - r.addr) return -EFAULT;
  if (r.newLen <= r.oldLen) return 0;
  if (vma.flags & VM_LOCKED) r.populateExpand = true;
  if (vma.flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EFAULT;
  if (!mlockFutureOk(mm, vma.flags, r.delta)) return -EAGAIN;
  if (!mayExpandVm(mm, vma.flags, r.delta)) return -ENOMEM;
  return 0;
}

/** vrm_set_new_addr(): where a moving mapping goes (fixed, hint, or a fresh search). */
function setNewAddr(mm: Mm, r: Remap): number {
  const vma = r.vma as Vma;
  let mapFlags = 0;
  if (r.flags & MREMAP_FIXED) mapFlags |= MAP_FIXED;
  if (vma.flags & VM_MAYSHARE) mapFlags |= MAP_SHARED;
  const hint = impliesNewAddr(r.flags) ? r.newAddr : 0;
  let res: number;
  if (mapFlags & MAP_FIXED) {
    if (r.newLen > mm.cfg.taskSize || hint > mm.cfg.taskSize - r.newLen) return -ENOMEM;
    res = securityMmapAddr(mm, hint);
  } else {
    const file = vma.file;
    const kind = file === null ? "anon" : file.inode.shmem ? "plain" : "file";
    res = getUnmappedArea(mm, hint, r.newLen, mapFlags, { kind, pgoff: vma.pgoff + (r.addr - vma.start) });
  }
  if (res < 0) return res;
  r.newAddr = res;
  return 0;
}

/**
 * copy_vma(): the destination VMA for [newAddr, newAddr+newLen), merged with its new
 * neighbours when possible. A never-faulted anonymous VMA takes pgoff = new address.
 */
function copyVma(mm: Mm, vma: Vma, addr: number, len: number, pgoff: number): Vma {
  let pg = pgoff;
  if (vma.isAnonymous && vma.anon === null) pg = addr;
  const merged = mergeNewRange(mm, {
    start: addr,
    end: addr + len,
    flags: vma.flags,
    flagsHi: vma.flagsHi,
    pgoff: pg,
    file: vma.file,
    anon: vma.anon,
    middle: null,
  });
  if (merged !== null) return merged;
  const nv = new Vma(addr, addr + len, vma.flags, vma.flagsHi, pg, vma.file, vma.anon, vma.anonInherited, vma.special);
  mm.tree.insert(nv);
  return nv;
}

/** move_vma(): copy the VMA, move its pages, then unmap (or, for DONTUNMAP, empty) the source. */
function moveVma(mm: Mm, r: Remap): number {
  const vma = r.vma as Vma;
  if (mm.mapCount >= mm.cfg.maxMapCount - 3) return -ENOMEM;
  if (vma.special?.mayNotSplit && (vma.start !== r.addr || vma.end !== r.addr + r.oldLen)) return -EINVAL;
  const newPgoff = vma.pgoff + (r.addr - vma.start);
  copyVma(mm, vma, r.newAddr, r.newLen, newPgoff);
  mm.pt.move(r.addr, r.newAddr, r.oldLen);
  if (r.flags & MREMAP_DONTUNMAP) {
    dontunmapComplete(mm, r);
  } else if (r.oldLen > 0) {
    // (A zero old_len duplicates a shared mapping: do_vmi_munmap() refuses len 0 and
    // unmap_source_vma() ignores the error.)
    unmapRange(mm, r.addr, r.addr + r.oldLen);
  }
  return r.newAddr;
}

/** dontunmap_complete(): the source keeps its range, loses its lock and, if whole, its anon_vma. */
function dontunmapComplete(mm: Mm, r: Remap): void {
  const src = mm.tree.find(r.addr);
  if (src === null) return;
  const whole = src.start === r.addr && src.end === r.addr + r.oldLen;
  const updated = src.with({
    flags: src.flags & ~VM_LOCKED_MASK,
    anon: whole ? null : src.anon,
    anonInherited: whole ? false : src.anonInherited,
  });
  mm.tree.replace(src, updated);
}

/** shrink_vma(): unmap the tail [addr+newLen, addr+oldLen). */
function shrinkVma(mm: Mm, r: Remap): number {
  return unmapRange(mm, r.addr + r.newLen, r.addr + r.oldLen);
}

/** mremap_to(): move to a fixed address or a new hint. */
function mremapTo(mm: Mm, r: Remap): number {
  if (r.flags & MREMAP_FIXED) {
    const up = sealCheckUpFront(mm, r.newAddr, r.newAddr + r.newLen);
    if (up !== 0) return up;
    const err = unmapRange(mm, r.newAddr, r.newAddr + r.newLen);
    if (err) return err;
    r.vma = mm.tree.find(r.addr);
    if (r.vma === null) return -EFAULT;
  }
  if (r.oldLen > r.newLen) {
    const err = shrinkVma(mm, r);
    if (err) return err;
    r.oldLen = r.newLen;
    r.vma = mm.tree.find(r.addr);
  }
  if (r.flags & MREMAP_DONTUNMAP) {
    if (!mayExpandVm(mm, (r.vma as Vma).flags, r.oldLen)) return -ENOMEM;
  }
  const err = setNewAddr(mm, r);
  if (err) return err;
  return moveVma(mm, r);
}

/** vma_expandable(): the pages after the VMA are free and inside TASK_SIZE. */
function vmaExpandable(mm: Mm, vma: Vma, delta: number): boolean {
  const end = vma.end + delta;
  if (mm.tree.intersects(vma.end, end)) return false;
  if (end > mm.cfg.taskSize) return false;
  return securityMmapAddr(mm, vma.start) >= 0;
}

/** expand_vma(): grow in place if the VMA ends at the range's end and the space is free; else move. */
function expandVma(mm: Mm, r: Remap): number {
  const vma = r.vma as Vma;
  if (vma.end - r.addr === r.oldLen && vmaExpandable(mm, vma, r.delta)) {
    // vma_merge_extend()
    const merged = mergeNewRange(mm, {
      start: vma.end,
      end: vma.end + r.delta,
      flags: vma.flags,
      flagsHi: vma.flagsHi,
      pgoff: vma.pgoff + vma.pages,
      file: vma.file,
      anon: vma.anon,
      middle: null,
    });
    if (merged === null) return -ENOMEM;
    return r.addr;
  }
  if (!(r.flags & MREMAP_MAYMOVE)) return -ENOMEM;
  const err = setNewAddr(mm, r);
  if (err) return err;
  return moveVma(mm, r);
}

/** mremap_at(): no new address: no-op, shrink, or grow. */
function mremapAt(mm: Mm, r: Remap): number {
  if (r.delta === 0) return r.addr;
  if (r.oldLen > r.newLen) {
    const err = shrinkVma(mm, r);
    return err ? err : r.addr;
  }
  return expandVma(mm, r);
}

/** remap_move(): a same-size FIXED/DONTUNMAP move of every VMA in the range, gaps kept. */
function remapMove(mm: Mm, r: Remap): number {
  const start = r.addr;
  const end = r.addr + r.oldLen;
  const newAddr = r.newAddr;
  let target = newAddr;
  let res = -EFAULT;
  let lastEnd = 0;
  let seen = false;
  let pos = start;
  // for_each_vma_range(): after a move the iterator resumes past the VMA as it was found
  // (vma_iter_invalidate(): mas_pause()), so it stops once that is beyond the range, even if
  // the moved or kept pieces merged into a VMA reaching back into it.
  while (pos < end) {
    const vma = mm.tree.findNext(pos);
    if (vma === null || vma.start >= end) break;
    const addr = Math.max(vma.start, start);
    const len = Math.min(end, vma.end) - addr;
    if (!seen && start < vma.start) return -EFAULT;
    const offset = seen ? vma.start - lastEnd : 0;
    lastEnd = vma.end;
    // vma_multi_allowed(): a file with its own get_unmapped_area (other than shmem or the
    // THP helper regular files use) might not honour MREMAP_FIXED: private /dev/zero.
    if (vma.file !== null && vma.file.inode.zeroDevice && (seen || vma.end < end)) return -EFAULT;
    const piece: Remap = { addr, oldLen: len, newLen: len, flags: r.flags, newAddr: target + offset, vma, delta: 0, populateExpand: false };
    let resVma = checkPrepVma(mm, piece);
    if (resVma === 0) resVma = mremapTo(mm, piece);
    if (resVma < 0) return resVma;
    if (!seen) res = resVma;
    seen = true;
    target = resVma + len;
    // The iterator goes on after the VMA as it was (DONTUNMAP leaves it whole).
    pos = lastEnd;
  }
  return res;
}

/** vrm_overlaps(): end_old > start_new && end_new > start_old, in u64 arithmetic. */
function rangesOverlap(addr: U64, oldLen: U64, newAddr: U64, newLen: U64): boolean {
  if (typeof addr === "number" && typeof oldLen === "number" && typeof newAddr === "number" && typeof newLen === "number") {
    if (addr + oldLen < 2 ** 53) return addr + oldLen > newAddr && newAddr + newLen > addr;
  }
  const endOld = (toBigInt(addr) + toBigInt(oldLen)) & ((1n << 64n) - 1n);
  const endNew = toBigInt(newAddr) + toBigInt(newLen);
  return endOld > toBigInt(newAddr) && endNew > toBigInt(addr);
}

/** mremap(old_address, old_size, new_size, flags, new_address): bytes or a negative errno. */
export function sysMremap(mm: Mm, addrArg: U64, oldLenArg: U64, newLenArg: U64, flagsArg: U64, newAddrArg: U64): number {
  const oldLenU = pageAlign(oldLenArg);
  const newLenU = pageAlign(newLenArg);
  const taskBytes = mm.cfg.taskSize * 4096;
  // check_mremap_params()
  if (typeof flagsArg === "bigint" || flagsArg & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) return -EINVAL;
  const flags = flagsArg;
  if (offsetInPage(addrArg) !== 0) return -EINVAL;
  if (newLenU === 0) return -EINVAL;
  if (clamp(newLenU) > taskBytes) return -EINVAL;
  const newLen = pageOf(newLenU);
  if (impliesNewAddr(flags)) {
    if (clamp(newAddrArg) > taskBytes - newLen * 4096) return -EINVAL;
    if (offsetInPage(newAddrArg) !== 0) return -EINVAL;
    if (!(flags & MREMAP_MAYMOVE)) return -EINVAL;
    if (flags & MREMAP_DONTUNMAP && oldLenU !== newLenU) return -EINVAL;
    // vrm_overlaps(): end_old > start_new && end_new > start_old, in u64 arithmetic.
    if (rangesOverlap(addrArg, oldLenU, newAddrArg, newLenU)) return -EINVAL;
    if (mm.mapCount + 2 >= mm.cfg.maxMapCount - 3) return -ENOMEM;
  }
  // Nothing is mapped above TASK_SIZE: a huge address finds no VMA.
  if (typeof addrArg === "bigint" || addrArg >= taskBytes) return -EFAULT;
  const addr = pageOf(addrArg);
  const newAddr = impliesNewAddr(flags) ? pageOf(newAddrArg) : 0;
  // vrm_move_only(): only a same-size MREMAP_FIXED moves every VMA of the range.
  const moveOnly = (flags & MREMAP_FIXED) !== 0 && oldLenU === newLenU;

  if (typeof oldLenU === "bigint" || gt(oldLenU, taskBytes)) {
    // A huge old_len can only shrink: the unmap of the tail rejects it.
    const vma = mm.tree.find(addr);
    if (vma === null) return -EFAULT;
    if (sealBlocksChange(mm, vma, "mremap")) return -EPERM;
    if (impliesNewAddr(flags)) return -EFAULT;
    const tail = add(addrArg, newLenU) as U64;
    return doMunmap(mm, tail, sub(oldLenU, newLenU));
  }
  const oldLen = pageOf(oldLenU);
  const r: Remap = { addr, oldLen, newLen, flags, newAddr, vma: null, delta: 0, populateExpand: false };
  let res: number;
  // 6.10 refused any sealed VMA in the source range before looking further.
  const up = sealCheckUpFront(mm, addr, addr + oldLen);
  if (up !== 0) return up;
  if (moveOnly) {
    res = remapMove(mm, r);
  } else {
    r.vma = mm.tree.find(addr);
    res = checkPrepVma(mm, r);
    if (res === 0) res = impliesNewAddr(flags) ? mremapTo(mm, r) : mremapAt(mm, r);
  }
  if (res < 0) return res;
  if (r.populateExpand) populateRange(mm, res + r.oldLen, res + r.oldLen + r.delta, true);
  return res * 4096;
}

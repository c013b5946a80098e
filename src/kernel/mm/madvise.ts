// madvise(2): mm/madvise.c (6.18) madvise_should_skip(), madvise_walk_vmas(),
// madvise_vma_behavior(), can_madvise_modify(), madvise_populate().

import type { CacheFrame, Inode } from "../fs/file.js";
import { EACCES, EAGAIN, EFAULT, EFBIG, EINVAL, ENOMEM, EPERM } from "../uapi/errno.js";
import * as M from "../uapi/mman.js";
import { add, offsetInPage, pageAlign, pageOf, toInt32, type U64 } from "../uapi/u64.js";
import * as F from "../uapi/vmflags.js";
import { Unsupported } from "../unsupported.js";
import { accessAllowed, anonVmaPrepare, faultPage, mapHugePage } from "./fault.js";
import { largeFoliosIn, splitFoliosCoveredInPart, splitFoliosReached } from "./folio-split.js";
import type { Mm } from "./mm.js";
import { sealBlocksChange, sealCheckUpFront } from "./mseal.js";
import { AnonFrame } from "./pages.js";
import type { Vma } from "./vma.js";
import { vmaModifyFlags } from "./vma-merge.js";

const PMD_PAGES = 512;

/** madvise_behavior_valid(): depends on CONFIG_KSM, THP and MEMORY_FAILURE. */
function behaviorValid(mm: Mm, b: number): boolean {
  switch (b) {
    case M.MADV_DOFORK:
    case M.MADV_DONTFORK:
    case M.MADV_NORMAL:
    case M.MADV_SEQUENTIAL:
    case M.MADV_RANDOM:
    case M.MADV_REMOVE:
    case M.MADV_WILLNEED:
    case M.MADV_DONTNEED:
    case M.MADV_DONTNEED_LOCKED:
    case M.MADV_FREE:
    case M.MADV_COLD:
    case M.MADV_PAGEOUT:
    case M.MADV_POPULATE_READ:
    case M.MADV_POPULATE_WRITE:
    case M.MADV_WIPEONFORK:
    case M.MADV_KEEPONFORK:
    case M.MADV_DONTDUMP:
    case M.MADV_DODUMP:
    case M.MADV_GUARD_INSTALL:
    case M.MADV_GUARD_REMOVE:
      return true;
    case M.MADV_MERGEABLE:
    case M.MADV_UNMERGEABLE:
      return mm.cfg.ksm;
    case M.MADV_HUGEPAGE:
    case M.MADV_NOHUGEPAGE:
    case M.MADV_COLLAPSE:
      return mm.cfg.thp;
    case M.MADV_HWPOISON:
    case M.MADV_SOFT_OFFLINE:
      return mm.cfg.memoryFailure;
    default:
      return false;
  }
}

/** is_discard(): advice that throws contents away, refused on sealed read-only anon memory. */
export function isDiscard(b: number): boolean {
  return (
    b === M.MADV_FREE ||
    b === M.MADV_DONTNEED ||
    b === M.MADV_DONTNEED_LOCKED ||
    b === M.MADV_REMOVE ||
    b === M.MADV_DONTFORK ||
    b === M.MADV_WIPEONFORK ||
    b === M.MADV_GUARD_INSTALL
  );
}

/** can_madvise_modify(). */
function canMadviseModify(mm: Mm, vma: Vma, b: number): boolean {
  if (!sealBlocksChange(mm, vma, "madvise")) return true;
  if (!isDiscard(b)) return true;
  if (!vma.isAnonymous) return true;
  return (vma.flags & F.VM_WRITE) !== 0;
}

/** thp_vma_allowable_order() for MADV_COLLAPSE and smaps THPeligible (forced: sysfs mode ignored). */
export function thpSuitable(mm: Mm, vma: Vma, forced: boolean): boolean {
  if (!mm.cfg.thp) return false;
  if (vma.flags & (F.VM_NOHUGEPAGE | F.VM_SPECIAL | F.VM_HUGETLB)) return false;
  if (!forced && (vma.flags & F.VM_HUGEPAGE) === 0) return false;
  if (!vma.isAnonymous) return false;
  return holdsPmdBlock(vma);
}

/**
 * thp_vma_suitable_order()'s size test at PMD order, asked at vm_end - 2 MiB: the VMA holds
 * one whole aligned 2 MiB block. In the kernel's unsigned arithmetic a VMA ending below
 * 2 MiB passes too (vm_end - 2 MiB wraps, and so does haddr + 2 MiB; observed: MADV_COLLAPSE
 * of a shared mapping at address 0 succeeds).
 */
function holdsPmdBlock(vma: Vma): boolean {
  if (vma.end < PMD_PAGES) return true;
  const haddr = Math.ceil(vma.start / PMD_PAGES) * PMD_PAGES;
  return haddr + PMD_PAGES <= vma.end;
}

/**
 * thp_vma_suitable_order() at PMD order for a file (shmem) VMA, as __thp_vma_allowable_orders()
 * asks it outside a fault (at vm_end - 2 MiB): the VMA's start must be 2 MiB-aligned relative
 * to its file offset, and it must hold one whole aligned 2 MiB block (holdsPmdBlock()).
 */
function fileThpSuitable(vma: Vma): boolean {
  if ((vma.start - vma.pgoff) % PMD_PAGES !== 0) return false;
  return holdsPmdBlock(vma);
}

interface Walk {
  start: number;
  end: number;
}

/** The per-VMA part of madvise: returns the VMA record now covering the range, or an errno. */
function vmaBehavior(mm: Mm, prev: Vma | null, vma: Vma, range: Walk, b: number): Vma | number {
  if (!canMadviseModify(mm, vma, b)) return -EPERM;
  let nf = vma.flags;
  switch (b) {
    case M.MADV_REMOVE: {
      if (vma.flags & F.VM_LOCKED) return -EINVAL;
      if (vma.file === null) return -EINVAL;
      if ((vma.flags & (F.VM_SHARED | F.VM_MAYWRITE)) !== (F.VM_SHARED | F.VM_MAYWRITE)) return -EACCES;
      // vfs_fallocate(PUNCH_HOLE): the end must stay within the filesystem's s_maxbytes.
      const inode = vma.file.inode;
      const offsetEnd = (vma.pgoff + (range.end - vma.start)) * 4096;
      if (!inode.shmem && offsetEnd > mm.cfg.fsMaxBytes) return -EFBIG;
      // Punch a hole: the page cache and every mapping of it lose those pages
      // (unmap_mapping_range(): every VMA of the file over those offsets, in every process).
      const first = vma.pgoff + (range.start - vma.start);
      const last = vma.pgoff + (range.end - vma.start);
      for (let i = first; i < last; i++) inode.cache.delete(i);
      for (const other of mm.liveMms()) unmapFileRange(other, inode, first, last);
      return vma;
    }
    case M.MADV_WILLNEED: {
      // madvise_willneed() → vfs_fadvise(POSIX_FADV_WILLNEED): the file range (up to EOF)
      // is read into the page cache, where later faults' fault-around finds it.
      const file = vma.file;
      if (file !== null && !file.inode.shmem && !file.inode.zeroDevice) {
        const inode = file.inode;
        const eof = Math.ceil(inode.size / 4096);
        const last = Math.min(eof, vma.pgoff + (range.end - vma.start));
        for (let i = vma.pgoff + (range.start - vma.start); i < last; i++) if (!inode.cache.has(i)) inode.cache.set(i, { data: null });
      }
      return vma;
    }
    case M.MADV_COLD:
      if (vma.flags & (F.VM_LOCKED | F.VM_PFNMAP | F.VM_HUGETLB)) return -EINVAL;
      splitFoliosCoveredInPart(mm, range.start, range.end);
      return vma;
    case M.MADV_PAGEOUT:
      if (vma.flags & (F.VM_LOCKED | F.VM_PFNMAP | F.VM_HUGETLB)) return -EINVAL;
      splitFoliosReached(mm, range.start, range.end);
      pageout(mm, vma, range);
      return vma;
    case M.MADV_FREE:
    case M.MADV_DONTNEED:
    case M.MADV_DONTNEED_LOCKED: {
      let forbidden = F.VM_PFNMAP;
      if (b !== M.MADV_DONTNEED_LOCKED) forbidden |= F.VM_LOCKED;
      if (vma.flags & forbidden) return -EINVAL;
      if (range.start === range.end) return vma;
      if (b === M.MADV_FREE) {
        if (!vma.isAnonymous) return -EINVAL;
        splitFoliosCoveredInPart(mm, range.start, range.end);
        // madvise_free_pte_range(): pages only this process maps become lazily freeable;
        // they stay resident until reclaim (MADV_PAGEOUT) drops them.
        mm.pt.forRange(range.start, range.end, (_p, pte) => {
          if (pte.anon && (pte.frame as AnonFrame).refs === 1) pte.lazyfree = true;
        });
        return vma;
      }
      mm.pt.zap(range.start, range.end, (vma.flags & F.VM_LOCKED) !== 0); // guard markers survive
      mm.pt.reclaimEmptyTables(range.start, range.end);
      return vma;
    }
    case M.MADV_COLLAPSE:
      return madviseCollapse(mm, vma, range);
    case M.MADV_GUARD_INSTALL: {
      if (vma.flags & (F.VM_SPECIAL | F.VM_HUGETLB | F.VM_LOCKED)) return -EINVAL;
      // Guard markers in anonymous memory need an anon_vma (fork copies such page tables);
      // file-backed VMAs get none (observed: they still merge afterwards).
      let v = vma.isAnonymous ? anonVmaPrepare(mm, vma) : vma;
      if ((v.flags & F.VM_MAYBE_GUARD) === 0) {
        const u = v.with({ flags: v.flags | F.VM_MAYBE_GUARD });
        mm.tree.replace(v, u);
        v = u;
      }
      mm.pt.zap(range.start, range.end);
      for (let p = range.start; p < range.end; p++) {
        mm.pt.guards.add(p);
        mm.pt.noteTable(p);
      }
      return v;
    }
    case M.MADV_GUARD_REMOVE:
      if (vma.flags & (F.VM_SPECIAL | F.VM_HUGETLB)) return -EINVAL;
      for (let p = range.start; p < range.end; p++) mm.pt.guards.delete(p);
      return vma;
    case M.MADV_NORMAL:
      nf &= ~(F.VM_RAND_READ | F.VM_SEQ_READ);
      break;
    case M.MADV_SEQUENTIAL:
      nf = (nf & ~F.VM_RAND_READ) | F.VM_SEQ_READ;
      break;
    case M.MADV_RANDOM:
      nf = (nf & ~F.VM_SEQ_READ) | F.VM_RAND_READ;
      break;
    case M.MADV_DONTFORK:
      nf |= F.VM_DONTCOPY;
      break;
    case M.MADV_DOFORK:
      if (nf & F.VM_IO) return -EINVAL;
      nf &= ~F.VM_DONTCOPY;
      break;
    case M.MADV_WIPEONFORK:
      if (vma.file !== null || nf & F.VM_SHARED) return -EINVAL;
      nf |= F.VM_WIPEONFORK;
      break;
    case M.MADV_KEEPONFORK:
      if (vma.flagsHi & F.VMH_DROPPABLE) return -EINVAL;
      nf &= ~F.VM_WIPEONFORK;
      break;
    case M.MADV_DONTDUMP:
      nf |= F.VM_DONTDUMP;
      break;
    case M.MADV_DODUMP:
      if ((!(nf & F.VM_HUGETLB) && nf & F.VM_SPECIAL) || vma.flagsHi & F.VMH_DROPPABLE) return -EINVAL;
      nf &= ~F.VM_DONTDUMP;
      break;
    case M.MADV_MERGEABLE:
      // ksm_madvise(): incompatible VMAs silently ignore the advice.
      if (
        nf & (F.VM_MERGEABLE | F.VM_SHARED | F.VM_MAYSHARE | F.VM_PFNMAP | F.VM_IO | F.VM_DONTEXPAND | F.VM_HUGETLB | F.VM_MIXEDMAP) ||
        vma.flagsHi & F.VMH_DROPPABLE
      )
        return vma;
      nf |= F.VM_MERGEABLE;
      break;
    case M.MADV_UNMERGEABLE:
      if (!(nf & F.VM_MERGEABLE)) return vma;
      nf &= ~F.VM_MERGEABLE;
      break;
    case M.MADV_HUGEPAGE:
      nf = (nf & ~F.VM_NOHUGEPAGE) | F.VM_HUGEPAGE;
      break;
    case M.MADV_NOHUGEPAGE:
      nf = (nf & ~F.VM_HUGEPAGE) | F.VM_NOHUGEPAGE;
      break;
    default:
      return -EINVAL;
  }
  // madvise_update_vma()
  if (nf === vma.flags) return vma;
  const r = vmaModifyFlags(mm, prev, vma, range.start, range.end, nf, vma.flagsHi);
  if (r === -ENOMEM) return -EAGAIN;
  return r;
}

/**
 * madvise_pageout() without swap: reclaim unmaps page-cache pages (file and shmem; root
 * may page out shared ones), drops droppable memory and lazily freed (MADV_FREE) pages;
 * other private anonymous pages have nowhere to go and stay mapped. mlocked pages stay.
 */
function pageout(mm: Mm, vma: Vma, range: Walk): void {
  if (vma.flagsHi & F.VMH_DROPPABLE) {
    mm.pt.zap(range.start, range.end);
    return;
  }
  const cached: number[] = [];
  mm.pt.forRange(range.start, range.end, (p, pte) => {
    if (!pte.locked && (!pte.anon || pte.lazyfree) && mapCount(mm, p) === 1) cached.push(p);
  });
  const inode = vma.file?.inode;
  for (const p of cached) {
    mm.pt.zap(p, p + 1);
    // A clean page-cache page is freed outright (a never-written shmem page is a hole).
    const index = vma.pgoff + (p - vma.start);
    if (inode !== undefined && inode.cache.get(index)?.dirty !== true) inode.cache.delete(index);
  }
}

/**
 * madvise_collapse() on anonymous memory: the VMA must be THP-eligible and already have an
 * anon_vma (never-written memory is refused, whatever its protection); each whole aligned
 * 2 MiB block with at least one resident page becomes one huge page (all 512 pages
 * resident). Observed on the live kernel for every protection, PROT_NONE included.
 */
function madviseCollapse(mm: Mm, vma: Vma, range: Walk): Vma | number {
  const shmem = vma.file !== null && vma.file.inode.shmem;
  if (!shmem && (!thpSuitable(mm, vma, true) || vma.anon === null)) return -EINVAL;
  if (shmem && !fileThpSuitable(vma)) return -EINVAL;
  // Suitable shared memory is still refused when inaccessible (observed).
  if (shmem && (vma.flags & (F.VM_READ | F.VM_WRITE | F.VM_EXEC)) === 0) return -EINVAL;
  const hstart = Math.ceil(range.start / PMD_PAGES) * PMD_PAGES;
  const hend = Math.floor(range.end / PMD_PAGES) * PMD_PAGES;
  // The kernel compares the blocks collapsed with (hend - hstart) in unsigned arithmetic:
  // an empty block range succeeds, a "negative" one (start and end inside one block) fails.
  if (hstart > hend) return -EINVAL;
  if (shmem && hstart < hend) throw new Unsupported("MADV_COLLAPSE of shared memory into huge pages");
  for (let h = hstart; h < hend; h += PMD_PAGES) {
    if (mm.pt.count(h, h + PMD_PAGES).rss === 0) return -EINVAL;
    collapseBlock(mm, h);
  }
  return vma;
}

/**
 * collapse_huge_page(): the block's pages are copied into one new huge page (empty and zero
 * pages as zeroes), unless a single large folio maps it whole already (SCAN_PMD_MAPPED).
 */
function collapseBlock(mm: Mm, h: number): void {
  const first = mm.pt.get(h);
  const already = first?.anon ? (first.frame as AnonFrame).folio : null;
  if (already !== null && largeFoliosIn(mm, h, h + PMD_PAGES).get(already) === PMD_PAGES) return;
  mapHugePage(mm, h, (p) => {
    const old = mm.pt.get(p);
    const from = old?.frame as AnonFrame | undefined;
    const frame = new AnonFrame(from?.data ? from.data.slice() : null);
    frame.unknown = from?.unknown ?? false;
    if (old?.locked) frame.mlockCount = 1;
    return frame;
  });
}

/** unmap_mapping_range(even_cows = 0) in one mm: page-cache pages of file pages [first, last) are unmapped; private copies stay. */
function unmapFileRange(mm: Mm, inode: Inode, first: number, last: number): void {
  mm.tree.forEach((v) => {
    if (v.file === null || v.file.inode !== inode) return;
    const lo = Math.max(first, v.pgoff);
    const hi = Math.min(last, v.pgoff + v.pages);
    if (lo >= hi) return;
    const cached: number[] = [];
    mm.pt.forRange(v.start + (lo - v.pgoff), v.start + (hi - v.pgoff), (p, pte) => {
      if (!pte.anon) cached.push(p);
    });
    for (const p of cached) mm.pt.zap(p, p + 1, (v.flags & F.VM_LOCKED) !== 0);
  });
}

/** folio_mapcount(): how many PTEs, in every modeled process, map the page-cache page behind `page` (1 for a private frame). */
function mapCount(mm: Mm, page: number): number {
  const pte = mm.pt.get(page);
  if (pte === undefined || pte.anon) return 1;
  return (pte.frame as CacheFrame).mapped ?? 1;
}

/** madvise_walk_vmas(): holes are skipped and reported as ENOMEM at the end. */
function walkVmas(mm: Mm, start: number, end: number, b: number): number {
  let vma = mm.tree.findNext(start);
  let prev: Vma | null = vma !== null && start > vma.start ? vma : vma !== null ? mm.tree.prev(vma) : mm.tree.findPrev(start);
  let unmappedError = 0;
  const range: Walk = { start, end };
  for (;;) {
    if (vma === null) return -ENOMEM;
    if (range.start < vma.start) {
      unmappedError = -ENOMEM;
      range.start = vma.start;
      if (range.start >= end) break;
    }
    range.end = Math.min(vma.end, end);
    const r = vmaBehavior(mm, prev, vma, range, b);
    if (typeof r === "number") return r;
    vma = r;
    prev = vma;
    if (range.end < vma.end) range.end = vma.end;
    if (range.end >= end) break;
    vma = mm.tree.findNext(range.end);
    range.start = range.end;
    range.end = end;
  }
  return unmappedError;
}

/** madvise_populate(): fault the range in; holes and bad permissions end it at once. */
function madvisePopulate(mm: Mm, start: number, end: number, write: boolean): number {
  let p = start;
  while (p < end) {
    const vma = mm.tree.find(p);
    if (vma === null) return -ENOMEM;
    // check_vma_flags() without FOLL_FORCE; FOLL_MADV_POPULATE turns its failure into EINVAL.
    if (vma.flags & (F.VM_IO | F.VM_PFNMAP)) return -EINVAL;
    if ((vma.flags & (write ? F.VM_WRITE : F.VM_READ)) === 0) return -EINVAL;
    const e = Math.min(vma.end, end);
    let cur = vma;
    for (; p < e; p++) {
      if (mm.pt.guards.has(p)) return -EFAULT;
      if (!accessAllowed(cur, write) && write) return -EINVAL;
      const r = faultPage(mm, cur, p, write);
      if (r === null) return -EFAULT;
      cur = r;
    }
  }
  return 0;
}

/** madvise(start, len, advice). */
export function sysMadvise(mm: Mm, startArg: U64, lenArg: U64, adviceArg: U64): number {
  const b = toInt32(adviceArg);
  if (!behaviorValid(mm, b)) return -EINVAL;
  if (offsetInPage(startArg) !== 0) return -EINVAL;
  const len = pageAlign(lenArg);
  if (lenArg !== 0 && len === 0) return -EINVAL;
  const endArg = add(startArg, len);
  if (endArg === null) return -EINVAL;
  if (len === 0) return 0;
  if (b === M.MADV_HWPOISON || b === M.MADV_SOFT_OFFLINE) return -EINVAL;
  // Nothing is mapped at or above 2^53: the walk finds no VMA there.
  if (typeof startArg === "bigint") return -ENOMEM;
  const start = pageOf(startArg);
  const end = typeof endArg === "bigint" ? Number.MAX_SAFE_INTEGER : pageOf(endArg);
  if (b === M.MADV_POPULATE_READ || b === M.MADV_POPULATE_WRITE) return madvisePopulate(mm, start, end, b === M.MADV_POPULATE_WRITE);
  if (isDiscard(b)) {
    const up = sealCheckUpFront(mm, start, end);
    if (up !== 0) return up;
  }
  return walkVmas(mm, start, end, b);
}

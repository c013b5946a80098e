// Page faults and user accesses: mm/memory.c handle_mm_fault() as far as it changes what
// the model tracks — which pages are present, which are private copies, and when a VMA
// gets its anon_vma (mm/rmap.c __anon_vma_prepare(), find_mergeable_anon_vma()).

import type { CacheFrame, Folio, Inode, OpenFile } from "../fs/file.js";
import {
  VM_ACCESS_FLAGS,
  VM_EXEC,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_IGNORE_MERGE,
  VM_LOCKED,
  VM_NOHUGEPAGE,
  VM_RAND_READ,
  VM_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WRITE,
} from "../uapi/vmflags.js";
import type { Mm } from "./mm.js";
import { AnonFrame, LargeFolio, mlockPage, munlockPage, PAGE_BYTES, Pte } from "./pages.js";
import { AnonVma, type Vma } from "./vma.js";

/** What a user access ran into. */
export type FaultResult = { ok: true } | { ok: false; signal: "SEGV" | "BUS"; page: number };

/** anon_vma_compatible(): may `b` (right after `a`) share a's anon_vma? */
function anonVmaCompatible(a: Vma, b: Vma): boolean {
  return (
    a.end === b.start &&
    a.file === b.file &&
    // Soft-dirty and the sticky guard flag (VM_IGNORE_MERGE) do not matter here either.
    ((a.flags ^ b.flags) & ~(VM_ACCESS_FLAGS | VM_IGNORE_MERGE)) === 0 &&
    a.flagsHi === b.flagsHi &&
    b.pgoff === a.pgoff + (b.start - a.start)
  );
}

/** reusable_anon_vma(): the neighbour's anon_vma, if compatible and not inherited. */
function reusableAnonVma(old: Vma, a: Vma, b: Vma): AnonVma | null {
  if (anonVmaCompatible(a, b) && old.anon !== null && !old.anonInherited) return old.anon;
  return null;
}

/** find_mergeable_anon_vma(): try next first, then prev. */
function findMergeableAnonVma(mm: Mm, vma: Vma): AnonVma | null {
  const next = mm.tree.next(vma);
  if (next !== null) {
    const a = reusableAnonVma(next, vma, next);
    if (a !== null) return a;
  }
  const prev = mm.tree.prev(vma);
  if (prev !== null) return reusableAnonVma(prev, prev, vma);
  return null;
}

/** anon_vma_prepare(): returns the VMA record that now has an anon_vma. */
export function anonVmaPrepare(mm: Mm, vma: Vma): Vma {
  if (vma.anon !== null) return vma;
  const anon = findMergeableAnonVma(mm, vma) ?? new AnonVma();
  const updated = vma.with({ anon, anonInherited: false });
  mm.tree.replace(vma, updated);
  return updated;
}

/**
 * filemap_fault() / shmem_fault(): the page-cache page behind `page`, read in if needed
 * (with mmap read-around for regular files), or null beyond EOF (SIGBUS). An anonymous
 * shmem object is as large as the mapping that made it.
 */
function fileFrame(mm: Mm, vma: Vma, page: number): CacheFrame | null {
  const file = vma.file;
  if (file === null) return null;
  const index = vma.pgoff + (page - vma.start);
  const inode = file.inode;
  if (index * PAGE_BYTES >= inode.size) return null;
  let f = inode.cache.get(index);
  if (f === undefined) {
    // do_sync_mmap_readahead() reads the page in with its neighbours, then the fault finds it.
    if (!inode.shmem) readAround(mm, vma, index);
    f = inode.cache.get(index);
    if (f === undefined) {
      f = { data: null };
      inode.cache.set(index, f);
    }
  }
  return f;
}

/**
 * do_sync_mmap_readahead(): which file pages a fault reads into the page cache.
 * VM_HUGEPAGE reads the aligned 2 MiB blocks; VM_SEQ_READ reads ahead from the fault;
 * VM_EXEC reads only from the fault to the end of the VMA (exec memory rarely benefits, and
 * x86's exec_folio_order() is 0), MADV_RANDOM or not; VM_RAND_READ nothing more;
 * otherwise read-around of ra_pages centred on the fault.
 */
function readAround(mm: Mm, vma: Vma, index: number): void {
  const inode = (vma.file as OpenFile).inode;
  const ra = mm.cfg.readaheadPages;
  const eof = Math.ceil(inode.size / PAGE_BYTES);
  let start: number;
  let end: number;
  if (mm.cfg.thp && vma.flags & VM_HUGEPAGE) {
    // Read-ahead of whole PMD folios, even for MADV_RANDOM (two of them otherwise).
    start = Math.floor(index / 512) * 512;
    end = Math.min(start + (vma.flags & VM_RAND_READ ? 512 : 1024), eof);
    readLargeFolios(inode, start, end);
  } else if (vma.flags & VM_SEQ_READ) {
    start = index;
    end = index + ra;
  } else if (vma.flags & VM_EXEC) {
    // Exec memory reads from the fault even under MADV_RANDOM (observed on 6.18.44).
    start = Math.max(index, vma.pgoff);
    end = Math.min(start + ra, vma.pgoff + vma.pages);
  } else if (vma.flags & VM_RAND_READ) {
    return;
  } else {
    start = Math.max(0, index - Math.floor(ra / 2));
    end = start + ra;
  }
  end = Math.min(end, eof);
  for (let i = start; i < end; i++) if (!inode.cache.has(i)) inode.cache.set(i, { data: null });
}

/**
 * page_cache_ra_order() at PMD order: [start, end) is read as naturally aligned folios,
 * each as large as its alignment allows (up to 512 pages) and cut down to fit before
 * `end`, until a page already cached is met (the rest is read page by page).
 */
function readLargeFolios(inode: Inode, start: number, end: number): void {
  let i = start;
  while (i < end) {
    let order = 9;
    while (order > 0 && i % 2 ** order !== 0) order--;
    while (order > 0 && i + 2 ** order > end) order--;
    const pages = 2 ** order;
    for (let k = i; k < i + pages; k++) if (inode.cache.has(k)) return;
    const folio = pages > 1 ? { start: i, pages } : undefined;
    for (let k = i; k < i + pages; k++) inode.cache.set(k, folio === undefined ? { data: null } : { data: null, folio });
    i += pages;
  }
}

/** The large folio of file page `index` while every page of it is still cached in it, else null. */
function largeFolio(inode: Inode, index: number): Folio | null {
  const f = inode.cache.get(index)?.folio;
  if (f === undefined) return null;
  for (let i = f.start; i < f.start + f.pages; i++) if (inode.cache.get(i)?.folio !== f) return null;
  return f;
}

/** First page of `folio` in `vma`, if the whole folio lies in the VMA and under one page table; else null. */
function folioPlacement(vma: Vma, folio: Folio): number | null {
  const first = vma.start + (folio.start - vma.pgoff);
  const last = first + folio.pages - 1;
  if (first < vma.start || last >= vma.end || Math.floor(first / 512) !== Math.floor(last / 512)) return null;
  return first;
}

/**
 * Map page-cache page `frame` at `page`; in a VM_LOCKED VMA that mlocks it, as
 * __folio_add_file_rmap() does (the one place page-cache pages are mlocked on mapping).
 */
function installCachePage(mm: Mm, vma: Vma, page: number, frame: CacheFrame): void {
  mm.pt.set(page, new Pte(frame, false));
  if ((vma.flags & VM_LOCKED) !== 0) mlockPage(frame);
}

/** Map page-cache page `frame` at `page` unless a PTE or a guard marker is there. */
function mapCachePage(mm: Mm, vma: Vma, page: number, frame: CacheFrame): void {
  if (mm.pt.get(page) !== undefined || mm.pt.guards.has(page)) return;
  installCachePage(mm, vma, page, frame);
}

/** Map every page of `folio` (at `first`) that has no PTE and no guard marker. */
function mapFolio(mm: Mm, vma: Vma, folio: Folio, first: number): void {
  const inode = (vma.file as OpenFile).inode;
  for (let k = 0; k < folio.pages; k++) mapCachePage(mm, vma, first + k, inode.cache.get(folio.start + k) as CacheFrame);
}

/**
 * do_fault_around(): a read fault on a file page also maps the page-cache pages already
 * present in a window of fault_around_pages (aligned, clamped to the VMA and the page
 * table), as filemap_map_pages() does — and a large folio met there whole, when it lies in
 * the VMA and under one page table and the first folio does not reach the end of the file
 * (6.18.44 decides that once, on the first folio). Returns whether `page` got mapped.
 */
function faultAround(mm: Mm, vma: Vma, page: number): boolean {
  const n = mm.cfg.faultAroundPages;
  if (n <= 1) return false;
  const inode = (vma.file as OpenFile).inode;
  const from = Math.max(Math.floor(page / n) * n, vma.start);
  const to = Math.min(from + n, vma.end, (Math.floor(page / 512) + 1) * 512);
  const reachesEnd = firstFolioReachesEnd(vma, from, to);
  if (reachesEnd && !mm.pt.hasTable(page)) return false;
  const canMapLarge = !reachesEnd || inode.shmem;
  for (let p = from; p < to; p++) {
    const index = vma.pgoff + (p - vma.start);
    if (index * PAGE_BYTES >= inode.size) continue;
    const f = inode.cache.get(index);
    if (f === undefined) continue;
    const folio = canMapLarge ? largeFolio(inode, index) : null;
    const first = folio === null ? null : folioPlacement(vma, folio);
    if (folio !== null && first !== null) {
      mapFolio(mm, vma, folio, first);
      continue;
    }
    mapCachePage(mm, vma, p, f);
  }
  return mm.pt.get(page) !== undefined;
}

/**
 * finish_fault() for a page-cache page (a read, or a write through a shared mapping): the
 * whole large folio when it lies in the VMA and under one page table, ends within the file
 * and none of its pages is mapped yet (6.18 maps file folios whole); else the page alone.
 * A write dirties the whole folio.
 */
function finishFileFault(mm: Mm, vma: Vma, page: number, f: CacheFrame, write: boolean): void {
  const inode = (vma.file as OpenFile).inode;
  const folio = largeFolio(inode, vma.pgoff + (page - vma.start));
  const first = folio === null ? null : folioPlacement(vma, folio);
  if (folio !== null && first !== null && (inode.shmem || folio.start + folio.pages <= Math.ceil(inode.size / PAGE_BYTES))) {
    let none = true;
    for (let k = 0; k < folio.pages; k++) if (mm.pt.get(first + k) !== undefined || mm.pt.guards.has(first + k)) none = false;
    if (none) {
      mapFolio(mm, vma, folio, first);
      if (write) for (let k = 0; k < folio.pages; k++) (inode.cache.get(folio.start + k) as CacheFrame).dirty = true;
      return;
    }
  }
  if (write) f.dirty = true;
  installCachePage(mm, vma, page, f);
}

/**
 * filemap_map_pages() on 6.18.44: when the first page-cache folio in the fault-around
 * window reaches the file's last page, it may not be mapped "large", and that also skips
 * filemap_map_pmd(), the only place fault-around installs a page table; with none yet in
 * this 2 MiB block, pte_offset_map_lock() finds nothing and no page at all is mapped (a
 * side effect of "mm/memory: do not populate page table entries beyond i_size", 74207de2ba10).
 * Observed on the live kernel (ext4): a read past EOF of a one-page file maps nothing in a
 * fresh 2 MiB block, and maps the page where the block already has a page table. shmem is
 * exempt. Folios are single pages except those of VM_HUGEPAGE read-ahead (readLargeFolios()).
 */
function firstFolioReachesEnd(vma: Vma, from: number, to: number): boolean {
  const inode = (vma.file as OpenFile).inode;
  if (inode.shmem) return false;
  const lastIndex = Math.ceil(inode.size / PAGE_BYTES) - 1;
  for (let p = from; p < to; p++) {
    const index = vma.pgoff + (p - vma.start);
    if (index > lastIndex) return false;
    if (!inode.cache.has(index)) continue;
    const folio = largeFolio(inode, index);
    return (folio === null ? index : folio.start + folio.pages - 1) >= lastIndex;
  }
  return false;
}

/**
 * Fault in one page of `vma` for reading or writing (the permission check is the
 * caller's). Returns the (possibly replaced) VMA record, or null for SIGBUS. `mayRetry`:
 * the fault may drop the mmap lock and be retried (FAULT_FLAG_ALLOW_RETRY), as user faults,
 * kernel copies and pinning GUP may; GUP without a `locked` pointer may not.
 */
export function faultPage(mm: Mm, vma: Vma, page: number, write: boolean, mayRetry = true): Vma | null {
  if ((vma.flags & VM_LOCKED) === 0) return faultPageUnlocked(mm, vma, page, write, mayRetry);
  const before = mm.pt.get(page)?.frame;
  const r = faultPageUnlocked(mm, vma, page, write, mayRetry);
  if (r !== null) mlockNewlyMapped(mm, page, before);
  return r;
}

/**
 * A fault in a VM_LOCKED VMA that mapped a new private page mlocks it (mlock_new_folio());
 * the page it replaced (a copy-on-write source) is munlocked. A huge page is mlocked as one
 * folio: every page of it. (Page-cache pages are mlocked where they are mapped:
 * installCachePage().)
 */
function mlockNewlyMapped(mm: Mm, page: number, before: Pte["frame"] | undefined): void {
  const pte = mm.pt.get(page);
  if (pte === undefined || pte.frame === before) return;
  if (before !== undefined) munlockPage(before);
  if (!pte.anon) return;
  const folio = (pte.frame as AnonFrame).folio;
  if (folio === null) {
    mlockPage(pte.frame);
    return;
  }
  const h = Math.floor(page / 512) * 512;
  mm.pt.forRange(h, h + 512, (_p, q) => {
    if (q.anon && (q.frame as AnonFrame).folio === folio) mlockPage(q.frame);
  });
}

function faultPageUnlocked(mm: Mm, vma: Vma, page: number, write: boolean, mayRetry: boolean): Vma | null {
  const pte = mm.pt.get(page);
  const isPrivate = (vma.flags & VM_SHARED) === 0;
  const file = vma.file;
  if (file !== null && !file.inode.zeroDevice) {
    if (pte === undefined) {
      if (!write && faultAround(mm, vma, page)) return vma;
      // do_cow_fault() prepares the anon_vma before asking the file for the page, so a
      // write beyond EOF leaves the VMA with an anon_vma even though it raises SIGBUS.
      if (write && isPrivate) vma = anonVmaPrepare(mm, vma);
      const f = fileFrame(mm, vma, page);
      if (f === null) return null;
      // A read that had to go to the file drops the mmap lock and is retried
      // (VM_FAULT_RETRY); the retry's fault-around then maps the read-around pages too.
      // A fault that may not be retried (GUP without a `locked` pointer, as
      // access_remote_vm() for /proc/PID/mem) maps the page alone (observed).
      if (!write && mayRetry && !file.inode.shmem && faultAround(mm, vma, page)) return vma;
      if (!write || !isPrivate) {
        finishFileFault(mm, vma, page, f, write);
        return vma;
      }
      const v = anonVmaPrepare(mm, vma);
      mm.pt.set(page, new Pte(copyOfFilePage(f, file.inode.contentKnown), true));
      return v;
    }
    if (write && isPrivate && !pte.anon) {
      const v = anonVmaPrepare(mm, vma);
      mm.pt.set(page, new Pte(copyOfFilePage(pte.frame as CacheFrame, file.inode.contentKnown), true));
      return v;
    }
    if (write && pte.anon) breakCow(pte);
    else if (write) (pte.frame as CacheFrame).dirty = true;
    return vma;
  }
  if (vma.special !== null) return faultSpecial(mm, vma, page, write);
  if (!write) return zeroPageRead(mm, vma, page);
  if (pte === undefined) {
    const v = anonVmaPrepare(mm, vma);
    if (hugeZeroWriteFault(mm, page) || thpBlockFault(mm, v, page)) return v;
    mm.pt.set(page, new Pte(new AnonFrame(null), true));
    return v;
  }
  breakCow(pte);
  return vma;
}

/**
 * special_mapping_fault(): the page comes from the kernel ([vdso] code, [vvar] data), or
 * SIGBUS for data pages that are not populated. A write (the vdso made writable by
 * mprotect) copies it into a private page whose bytes the model does not know.
 */
function faultSpecial(mm: Mm, vma: Vma, page: number, write: boolean): Vma | null {
  const special = vma.special as NonNullable<Vma["special"]>;
  if (special.busPages.includes(vma.pgoff + (page - vma.start))) return null;
  if (!write || (vma.flags & VM_SHARED) !== 0) {
    mm.pt.noteTable(page); // the kernel's page is inserted, not tracked here
    return vma;
  }
  const pte = mm.pt.get(page);
  if (pte !== undefined && pte.anon) {
    breakCow(pte);
    return vma;
  }
  const v = anonVmaPrepare(mm, vma);
  const frame = new AnonFrame(null);
  frame.unknown = true;
  mm.pt.set(page, new Pte(frame, true));
  return v;
}

/** A private copy of a page-cache page (do_cow_fault / wp_page_copy). */
function copyOfFilePage(f: CacheFrame, known: boolean): AnonFrame {
  const copy = new AnonFrame(f.data === null ? null : f.data.slice());
  copy.unknown = !known;
  return copy;
}

/**
 * Would a fault at `page` be served at PMD level (create_huge_pmd())? A THP-enabled private
 * anonymous VMA holding the whole aligned 2 MiB block, whose PMD is empty: a page table
 * there (any PTE, a 4 KiB zero page or a guard marker) means 4 KiB faults (observed).
 */
function hugePmdFault(mm: Mm, vma: Vma, page: number): boolean {
  if (!mm.cfg.thp || (vma.flags & VM_HUGEPAGE) === 0 || (vma.flags & (VM_NOHUGEPAGE | VM_SPECIAL | VM_HUGETLB)) !== 0) return false;
  if (!vma.isAnonymous || (vma.flags & VM_SHARED) !== 0) return false;
  const h = Math.floor(page / 512) * 512;
  if (h < vma.start || h + 512 > vma.end) return false;
  return !mm.pt.hasTable(page);
}

/**
 * A read of never-written private anonymous memory maps the zero page (not recorded: no Rss).
 * Where the fault is served at PMD level (do_huge_pmd_anonymous_page()) that is the huge zero
 * page: no page table is made, so a later write there still gets a huge page (observed), and
 * the VMA gets its anon_vma first (vmf_anon_prepare(), so fork copies the PMD). Elsewhere the
 * zero page's PTE takes a page table and no anon_vma. Returns the VMA as it is after.
 */
export function zeroPageRead(mm: Mm, vma: Vma, page: number): Vma {
  if (mm.pt.hasHugeZero(page)) return vma; // already mapped: no fault
  if (!hugePmdFault(mm, vma, page)) {
    mm.pt.noteTable(page);
    return vma;
  }
  const v = anonVmaPrepare(mm, vma);
  mm.pt.mapHugeZero(page);
  return v;
}

/**
 * do_huge_zero_wp_pmd(): a write where the PMD maps the huge zero page replaces it by a
 * huge page, whatever the VMA's THP flags are now (observed: after MADV_NOHUGEPAGE too).
 */
function hugeZeroWriteFault(mm: Mm, page: number): boolean {
  if (!mm.pt.hasHugeZero(page)) return false;
  mm.pt.dropHugeZero(page);
  mapHugePage(mm, page);
  return true;
}

/**
 * map_anon_folio_pmd(): all 512 pages of `page`'s block become resident, one new folio;
 * `frameAt` gives each page its frame (by default a page of zeroes).
 */
export function mapHugePage(mm: Mm, page: number, frameAt: (p: number) => AnonFrame = () => new AnonFrame(null)): void {
  const h = Math.floor(page / 512) * 512;
  const folio = new LargeFolio();
  for (let p = h; p < h + 512; p++) {
    const frame = frameAt(p);
    frame.folio = folio;
    mm.pt.set(p, new Pte(frame, true));
  }
}

/**
 * do_huge_pmd_anonymous_page(): a write fault in an empty, 2 MiB-aligned block that lies
 * wholly inside a THP-enabled anonymous VMA (THP "madvise" mode: MADV_HUGEPAGE) is
 * served by one huge page, so all 512 pages become resident.
 */
function thpBlockFault(mm: Mm, vma: Vma, page: number): boolean {
  if (!hugePmdFault(mm, vma, page)) return false;
  mapHugePage(mm, page);
  return true;
}

/** do_wp_page(): a shared copy-on-write frame is copied before the write (a written page is dirty). */
function breakCow(pte: Pte): void {
  // A write dirties the page again: it is no longer lazily freeable.
  pte.lazyfree = false;
  const f = pte.frame as AnonFrame;
  if (f.refs > 1) {
    f.refs--;
    const copy = new AnonFrame(f.data === null ? null : f.data.slice());
    copy.unknown = f.unknown;
    pte.frame = copy;
  }
}

/** The access a user-space touch needs on `vma`. */
export function accessAllowed(vma: Vma, write: boolean): boolean {
  return write ? (vma.flags & VM_WRITE) !== 0 : (vma.flags & VM_READ) !== 0;
}

/** Read the byte at `addr` (page-resident or zero). */
export function readByte(mm: Mm, page: number, offset: number): number {
  const pte = mm.pt.get(page);
  if (pte === undefined) {
    return 0;
  }
  const d = pte.frame.data;
  return d === null ? 0 : d[offset];
}

/** Write `value` at `offset` of a present page that the caller has faulted for writing. */
export function writeByte(mm: Mm, page: number, offset: number, value: number): void {
  const pte = mm.pt.get(page) as Pte;
  let d = pte.frame.data;
  if (d === null) {
    if (value === 0) return;
    d = new Uint8Array(PAGE_BYTES);
    pte.frame.data = d;
  }
  d[offset] = value;
}

// Page faults and user accesses: mm/memory.c handle_mm_fault() as far as it changes what
// the model tracks — which pages are present, which are private copies, and when a VMA
// gets its anon_vma (mm/rmap.c __anon_vma_prepare(), find_mergeable_anon_vma()).

import type { CacheFrame, OpenFile } from "../fs/file.js";
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
import { AnonFrame, PAGE_BYTES, Pte } from "./pages.js";
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
    f = { data: null };
    inode.cache.set(index, f);
    if (!inode.shmem) readAround(mm, vma, index);
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
    end = start + (vma.flags & VM_RAND_READ ? 512 : 1024);
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
 * do_fault_around(): a read fault on a file page also maps the page-cache pages already
 * present in a window of fault_around_pages (aligned, clamped to the VMA and the page
 * table), as filemap_map_pages() does. Returns whether `page` itself got mapped.
 */
function faultAround(mm: Mm, vma: Vma, page: number): boolean {
  const n = mm.cfg.faultAroundPages;
  if (n <= 1) return false;
  const inode = (vma.file as OpenFile).inode;
  const from = Math.max(Math.floor(page / n) * n, vma.start);
  const to = Math.min(from + n, vma.end, (Math.floor(page / 512) + 1) * 512);
  if (!mm.pt.hasTable(page) && firstCachedIsLastPage(vma, from, to)) return false;
  for (let p = from; p < to; p++) {
    if (mm.pt.get(p) !== undefined || mm.pt.guards.has(p)) continue;
    const index = vma.pgoff + (p - vma.start);
    if (index * PAGE_BYTES >= inode.size) continue;
    const f = inode.cache.get(index);
    if (f !== undefined) {
      const pte = new Pte(f, false);
      pte.locked = (vma.flags & VM_LOCKED) !== 0;
      mm.pt.set(p, pte);
    }
  }
  return mm.pt.get(page) !== undefined;
}

/**
 * filemap_map_pages() on 6.18.44: when the first page-cache folio in the fault-around
 * window reaches the file's last page, it may not be mapped "large", and that also skips
 * filemap_map_pmd(), the only place fault-around installs a page table; with none yet in
 * this 2 MiB block, pte_offset_map_lock() finds nothing and no page at all is mapped (a
 * side effect of "mm/memory: do not populate page table entries beyond i_size", 74207de2ba10).
 * Observed on the live kernel (ext4): a read past EOF of a one-page file maps nothing in a
 * fresh 2 MiB block, and maps the page where the block already has a page table. shmem is
 * exempt. The model's page cache holds single pages, so "the folio reaches the last page"
 * is "the first cached page is the last page" (large folios from read-around are not modeled).
 */
function firstCachedIsLastPage(vma: Vma, from: number, to: number): boolean {
  const inode = (vma.file as OpenFile).inode;
  if (inode.shmem) return false;
  const lastIndex = Math.ceil(inode.size / PAGE_BYTES) - 1;
  for (let p = from; p < to; p++) {
    const index = vma.pgoff + (p - vma.start);
    if (index > lastIndex) return false;
    if (inode.cache.has(index)) return index === lastIndex;
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
  const r = faultPageUnlocked(mm, vma, page, write, mayRetry);
  // A page mapped in a VM_LOCKED VMA is mlocked (mlock_vma_folio()).
  if (r !== null && (r.flags & VM_LOCKED) !== 0) {
    const pte = mm.pt.get(page);
    if (pte !== undefined) pte.locked = true;
  }
  return r;
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
        if (write) f.dirty = true;
        mm.pt.set(page, new Pte(f, false));
        return vma;
      }
      const v = anonVmaPrepare(mm, vma);
      mm.pt.set(page, new Pte(copyOfFilePage(f, file.inode.contentKnown), true));
      return v;
    }
    if (write && isPrivate && !pte.anon) {
      const v = anonVmaPrepare(mm, vma);
      mm.pt.set(page, new Pte(copyOfFilePage(pte.frame, file.inode.contentKnown), true));
      return v;
    }
    if (write && pte.anon) breakCow(pte);
    else if (write) (pte.frame as CacheFrame).dirty = true;
    return vma;
  }
  if (vma.special !== null) return faultSpecial(mm, vma, page, write);
  // Private anonymous memory: a read maps the zero page (untracked, no anon_vma), which
  // still takes a page table.
  if (!write) {
    mm.pt.noteTable(page);
    return vma;
  }
  if (pte === undefined) {
    const v = anonVmaPrepare(mm, vma);
    if (thpBlockFault(mm, v, page)) return v;
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
 * do_huge_pmd_anonymous_page(): a write fault in an empty, 2 MiB-aligned block that lies
 * wholly inside a THP-enabled anonymous VMA (THP "madvise" mode: MADV_HUGEPAGE) is
 * served by one huge page, so all 512 pages become resident.
 */
function thpBlockFault(mm: Mm, vma: Vma, page: number): boolean {
  if (!mm.cfg.thp || (vma.flags & VM_HUGEPAGE) === 0 || (vma.flags & (VM_NOHUGEPAGE | VM_SPECIAL | VM_HUGETLB)) !== 0) return false;
  if (!vma.isAnonymous || (vma.flags & VM_SHARED) !== 0) return false;
  const h = Math.floor(page / 512) * 512;
  if (h < vma.start || h + 512 > vma.end) return false;
  if (mm.pt.count(h, h + 512).rss !== 0) return false;
  for (let p = h; p < h + 512; p++) if (mm.pt.guards.has(p)) return false;
  for (let p = h; p < h + 512; p++) mm.pt.set(p, new Pte(new AnonFrame(null), true));
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

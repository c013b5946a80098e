// Page contents: the page tables of one mm. A present page is a Pte pointing at a frame.
// Private anonymous (and copy-on-write) frames are reference counted so that fork shares
// them and the first write on either side copies (do_wp_page). File and shmem pages point
// at the inode's page cache. The zero page that a read fault of anonymous memory maps is
// not recorded: it is not counted in Rss and reads as zeroes, exactly like an absent page.
//
// Layout: like a real page table, a map from the 2 MiB block (page >> 9, small enough to
// be a V8 small integer) to an array of 512 slots, so lookups never hash a boxed double.

import type { CacheFrame } from "../fs/file.js";

export const PAGE_BYTES = 4096;
const SLOTS = 512;

/** A large anonymous folio (a THP): only its identity matters, shared by its pages' frames. */
export class LargeFolio {}

export class AnonFrame {
  refs = 1;
  /** A copy of a page whose bytes the model does not know (a [vdso] page written to). */
  unknown = false;
  /** The large folio this page is part of (a huge page fault or MADV_COLLAPSE), else null. */
  folio: LargeFolio | null = null;
  /** folio->mlock_count: the page is mlocked while it is above 0. */
  mlockCount = 0;
  constructor(public data: Uint8Array | null) {}

  /** pages_identical(page, ZERO_PAGE(0)): all bytes known and zero. */
  get isZeroFilled(): boolean {
    if (this.unknown) return false;
    return this.data === null || this.data.every((b) => b === 0);
  }
}

export class Pte {
  constructor(
    /** The frame: an AnonFrame for private copies, the page-cache frame otherwise. */
    public frame: AnonFrame | CacheFrame,
    /** A private (anonymous) page: counted as Anonymous in smaps. */
    public readonly anon: boolean,
  ) {}
  /**
   * The page is mlocked: reclaim leaves it alone. Kept on the page (folio->mlock_count), as
   * the kernel does, not on the VMA: mlocking a VMA counts up every page it maps, munlocking
   * it or unmapping a page from a VM_LOCKED VMA counts down, and the page stays mlocked until
   * the count is 0. So a VMA that lost VM_LOCKED without munlocking (mremap DONTUNMAP's
   * source) and is mlocked and munlocked again leaves its pages mlocked (observed).
   */
  get locked(): boolean {
    return (this.frame.mlockCount ?? 0) > 0;
  }
  /** MADV_FREE'd and not written since: reclaim may simply drop it (no swap needed). */
  lazyfree = false;
}

type Block = Array<Pte | undefined> & { used: number };

/** mlock_folio(), mlock_new_folio(), mlock_vma_folio(): one more mlock of the page. */
export function mlockPage(frame: Pte["frame"]): void {
  frame.mlockCount = (frame.mlockCount ?? 0) + 1;
}

/** munlock_folio(): one mlock less; the page is no longer mlocked at 0. */
export function munlockPage(frame: Pte["frame"]): void {
  const n = frame.mlockCount ?? 0;
  if (n > 0) frame.mlockCount = n - 1;
}

/** A PTE goes away: a private frame loses a reference, a page-cache page a mapping. */
function dropMapping(pte: Pte): void {
  if (pte.anon) (pte.frame as AnonFrame).refs--;
  else unmapCachePage(pte.frame as CacheFrame);
}

/** A PTE now maps page-cache page `f` (folio_mapcount() + 1). */
function mapCachePage(f: CacheFrame): void {
  f.mapped = (f.mapped ?? 0) + 1;
}

/** A PTE no longer maps page-cache page `f`. */
function unmapCachePage(f: CacheFrame): void {
  f.mapped = (f.mapped ?? 1) - 1;
}

function newBlock(): Block {
  const b = new Array<Pte | undefined>(SLOTS) as Block;
  b.used = 0;
  return b;
}

export class PageTable {
  private readonly blocks = new Map<number, Block>();
  private present = 0;
  /** Guard markers installed by MADV_GUARD_INSTALL: any access raises SIGSEGV. */
  readonly guards = new Set<number>();
  /**
   * 2 MiB blocks (PMD entries) that have a page table, by block number (page >> 9): one is
   * allocated by the first PTE of the block (a present page, the zero page of a read fault,
   * a guard marker) and freed by free_pgtables() when an unmap leaves the block with no VMA.
   * A zap keeps it. Only fault-around looks at it (fault.ts).
   */
  private readonly tables = new Set<number>();
  /**
   * 2 MiB blocks whose PMD maps the huge zero page (a read fault in an empty block of a
   * THP-enabled VMA): no page table, no PTE, nothing counted in Rss. Invariant: such a block
   * lies wholly inside one VMA, because whatever would cut it (a VMA boundary inside it, a
   * partial zap or move) splits the PMD first, leaving a page table of zero-page PTEs.
   */
  private readonly hugeZero = new Set<number>();

  get size(): number {
    return this.present;
  }

  get(page: number): Pte | undefined {
    const b = this.blocks.get(Math.floor(page / SLOTS));
    return b === undefined ? undefined : b[page % SLOTS];
  }

  /** Does the 2 MiB block of `page` have a page table? */
  hasTable(page: number): boolean {
    return this.tables.has(Math.floor(page / SLOTS));
  }

  /** A PTE that the model does not keep (the zero page, a guard marker) was installed at `page`. */
  noteTable(page: number): void {
    this.tables.add(Math.floor(page / SLOTS));
  }

  /** set_huge_zero_folio(): the block of `page` now maps the huge zero page. */
  mapHugeZero(page: number): void {
    this.hugeZero.add(Math.floor(page / SLOTS));
  }

  /** Does the PMD of `page`'s block map the huge zero page? */
  hasHugeZero(page: number): boolean {
    return this.hugeZero.size !== 0 && this.hugeZero.has(Math.floor(page / SLOTS));
  }

  /** do_huge_zero_wp_pmd(): a write replaced the block's huge zero page (by a THP). */
  dropHugeZero(page: number): void {
    this.hugeZero.delete(Math.floor(page / SLOTS));
  }

  /**
   * split_huge_pmd_if_needed() (vma_adjust_trans_huge()): a VMA boundary now falls at
   * `page`; if that is inside a block mapping the huge zero page, the PMD is split
   * (__split_huge_zero_page_pmd()) into a page table of zero-page PTEs.
   */
  splitHugeZeroAt(page: number): void {
    if (this.hugeZero.size === 0 || page % SLOTS === 0) return;
    this.splitHugeZero(Math.floor(page / SLOTS));
  }

  private splitHugeZero(key: number): void {
    if (this.hugeZero.delete(key)) this.tables.add(key);
  }

  /**
   * zap_pmd_range() on the huge zero page: a zap of the whole block clears the PMD
   * (zap_huge_pmd(): no page table is left), a zap of part of it splits the PMD first.
   */
  private zapHugeZero(start: number, end: number): void {
    for (let key = Math.floor(start / SLOTS); key * SLOTS < end; key++) {
      if (!this.hugeZero.has(key)) continue;
      if (key * SLOTS >= start && (key + 1) * SLOTS <= end) this.hugeZero.delete(key);
      else this.splitHugeZero(key);
    }
  }

  /**
   * move_page_tables() on the huge zero page: a whole block moved to a 2 MiB-aligned
   * destination keeps its PMD (move_huge_pmd()); any other move splits it first.
   */
  private moveHugeZero(from: number, to: number, pages: number): void {
    const aligned = (to - from) % SLOTS === 0;
    const moved: number[] = [];
    for (let key = Math.floor(from / SLOTS); key * SLOTS < from + pages; key++) {
      if (!this.hugeZero.has(key)) continue;
      if (aligned && key * SLOTS >= from && (key + 1) * SLOTS <= from + pages) {
        this.hugeZero.delete(key);
        moved.push(key + (to - from) / SLOTS);
      } else this.splitHugeZero(key);
    }
    for (const key of moved) this.hugeZero.add(key);
  }

  /** Could freeTables(start, end, floor, …) free anything: a page table in a block at or above `floor` and below `end`? */
  mayFreeTables(floor: number, end: number): boolean {
    return this.tables.size !== 0 && Math.ceil(floor / SLOTS) * SLOTS < end;
  }

  /**
   * free_pgd_range() at PMD level: drop the page tables of the blocks that meet [start, end)
   * and lie wholly inside [floor, ceiling), the hole the unmap left between the VMAs that
   * remain on either side.
   */
  freeTables(start: number, end: number, floor: number, ceiling: number): void {
    if (this.tables.size === 0) return;
    for (let key = Math.floor(start / SLOTS); key * SLOTS < end; key++) {
      if (key * SLOTS >= floor && (key + 1) * SLOTS <= ceiling) this.tables.delete(key);
    }
  }

  /**
   * MADV_DONTNEED's page-table reclaim (mm/pt_reclaim.c, CONFIG_PT_RECLAIM): a zap that
   * covers a whole 2 MiB block frees its page table when every entry is then empty, i.e.
   * when no guard marker is left in it (observed: the next fault-around there finds none).
   */
  reclaimEmptyTables(start: number, end: number): void {
    for (let key = Math.ceil(start / SLOTS); (key + 1) * SLOTS <= end; key++) {
      if (this.tables.has(key) && !this.hasGuardIn(key)) this.tables.delete(key);
    }
  }

  /** Is there a guard marker (a PTE marker) in 2 MiB block `key`? */
  private hasGuardIn(key: number): boolean {
    for (const g of this.guards) if (Math.floor(g / SLOTS) === key) return true;
    return false;
  }

  set(page: number, pte: Pte): void {
    const key = Math.floor(page / SLOTS);
    let b = this.blocks.get(key);
    if (b === undefined) {
      // A present page implies a page table (a block with pages always has one).
      b = newBlock();
      this.blocks.set(key, b);
      this.tables.add(key);
    }
    const i = page % SLOTS;
    const old = b[i];
    if (old === undefined) {
      b.used++;
      this.present++;
    } else dropMapping(old);
    if (!pte.anon) mapCachePage(pte.frame as CacheFrame);
    b[i] = pte;
  }

  /** Visit present pages of [start, end) in order. */
  forRange(start: number, end: number, cb: (page: number, pte: Pte) => void): void {
    if (this.present === 0) return;
    for (let key = Math.floor(start / SLOTS); key * SLOTS < end; key++) {
      const b = this.blocks.get(key);
      if (b === undefined || b.used === 0) continue;
      const lo = Math.max(start, key * SLOTS);
      const hi = Math.min(end, (key + 1) * SLOTS);
      for (let p = lo; p < hi; p++) {
        const pte = b[p - key * SLOTS];
        if (pte !== undefined) cb(p, pte);
      }
    }
  }

  /** Visit every present page, in no particular order. */
  forEachPresent(cb: (page: number, pte: Pte) => void): void {
    for (const [key, b] of this.blocks) {
      for (let i = 0; i < SLOTS; i++) {
        const pte = b[i];
        if (pte !== undefined) cb(key * SLOTS + i, pte);
      }
    }
  }

  /**
   * zap_page_range: drop the PTEs of [start, end). `fromLockedVma`: they belong to a
   * VM_LOCKED VMA, so each page is munlocked as it is unmapped (folio_remove_rmap_ptes()).
   */
  zap(start: number, end: number, fromLockedVma = false): void {
    if (this.hugeZero.size !== 0) this.zapHugeZero(start, end);
    if (this.present === 0) return;
    for (let key = Math.floor(start / SLOTS); key * SLOTS < end; key++) {
      const b = this.blocks.get(key);
      if (b === undefined || b.used === 0) continue;
      const lo = Math.max(start, key * SLOTS) - key * SLOTS;
      const hi = Math.min(end, (key + 1) * SLOTS) - key * SLOTS;
      for (let i = lo; i < hi; i++) {
        const pte = b[i];
        if (pte === undefined) continue;
        if (fromLockedVma) munlockPage(pte.frame);
        dropMapping(pte);
        b[i] = undefined;
        b.used--;
        this.present--;
      }
      if (b.used === 0) this.blocks.delete(key);
    }
  }

  /** Drop guard markers of [start, end) (munmap). */
  clearGuards(start: number, end: number): void {
    if (this.guards.size === 0) return;
    for (const p of [...this.guards]) if (p >= start && p < end) this.guards.delete(p);
  }

  /** move_page_tables: [from, from+pages) now lives at [to, to+pages) (ranges do not overlap). */
  move(from: number, to: number, pages: number): void {
    if (this.hugeZero.size !== 0) this.moveHugeZero(from, to, pages);
    // move_page_tables(): every source block with a page table gets one at the destination.
    for (let key = Math.floor(from / SLOTS); key * SLOTS < from + pages; key++) {
      if (!this.tables.has(key)) continue;
      const lo = Math.max(from, key * SLOTS) - from + to;
      const hi = Math.min(from + pages, (key + 1) * SLOTS) - from + to;
      for (let k = Math.floor(lo / SLOTS); k * SLOTS < hi; k++) this.tables.add(k);
    }
    if (this.guards.size !== 0) {
      const moved = [...this.guards].filter((p) => p >= from && p < from + pages);
      for (const p of moved) this.guards.delete(p);
      for (const p of moved) this.guards.add(p - from + to);
    }
    if (this.present === 0) return;
    // Take the PTEs out first, then put them back at the destination (the ranges do not
    // overlap, but one 2 MiB block may hold both). Mremap moves are mostly a few pages,
    // so this walks the source blocks directly, without a callback or pair allocations.
    const end = from + pages;
    let moved: Pte[] | null = null;
    let at: number[] | null = null;
    for (let key = Math.floor(from / SLOTS); key * SLOTS < end; key++) {
      const b = this.blocks.get(key);
      if (b === undefined || b.used === 0) continue;
      const lo = Math.max(from, key * SLOTS);
      const hi = Math.min(end, (key + 1) * SLOTS);
      for (let p = lo; p < hi; p++) {
        const pte = b[p - key * SLOTS];
        if (pte === undefined) continue;
        if (moved === null) {
          moved = [];
          at = [];
        }
        moved.push(pte);
        (at as number[]).push(p);
      }
    }
    if (moved === null) return;
    const pos = at as number[];
    for (let i = 0; i < pos.length; i++) this.remove(pos[i]);
    for (let i = 0; i < pos.length; i++) this.set(pos[i] - from + to, moved[i]);
  }

  private remove(page: number): void {
    const key = Math.floor(page / SLOTS);
    const b = this.blocks.get(key);
    const pte = b?.[page % SLOTS];
    if (b === undefined || pte === undefined) return;
    // The PTE moves (set() at the destination counts it again); a private frame keeps its reference.
    if (!pte.anon) unmapCachePage(pte.frame as CacheFrame);
    b[page % SLOTS] = undefined;
    b.used--;
    this.present--;
    if (b.used === 0) this.blocks.delete(key);
  }

  /** mlock_vma_pages_range(): a VMA became VM_LOCKED (`lock`) or stopped being: each present page is mlocked or munlocked once. */
  mlockRange(start: number, end: number, lock: boolean): void {
    this.forRange(start, end, (_p, pte) => (lock ? mlockPage(pte.frame) : munlockPage(pte.frame)));
  }

  /** Count present pages and private (anonymous) pages in [start, end). */
  count(start: number, end: number): { rss: number; anon: number } {
    let rss = 0;
    let anon = 0;
    this.forRange(start, end, (_p, pte) => {
      rss++;
      if (pte.anon) anon++;
    });
    return { rss, anon };
  }

  /** Copy for fork: anonymous frames become shared copy-on-write. */
  cloneRange(into: PageTable, start: number, end: number): void {
    // copy_pmd_range(): the child gets a page table wherever the parent has one.
    for (let key = Math.floor(start / SLOTS); key * SLOTS < end; key++) {
      if (this.tables.has(key)) into.tables.add(key);
      // copy_huge_pmd(): the child maps the huge zero page too.
      if (this.hugeZero.has(key)) into.hugeZero.add(key);
    }
    this.forRange(start, end, (p, pte) => {
      if (pte.anon) (pte.frame as AnonFrame).refs++;
      into.set(p, new Pte(pte.frame, pte.anon));
    });
  }
}

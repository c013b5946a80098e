// Page contents: the page tables of one mm. A present page is a Pte pointing at a frame.
// Private anonymous (and copy-on-write) frames are reference counted so that fork shares
// them and the first write on either side copies (do_wp_page). File and shmem pages point
// at the inode's page cache. The zero page that a read fault of anonymous memory maps is
// not recorded: it is not counted in Rss and reads as zeroes, exactly like an absent page.

import type { CacheFrame } from "../fs/file.js";

export const PAGE_BYTES = 4096;

export class AnonFrame {
  refs = 1;
  constructor(public data: Uint8Array | null) {}
}

export class Pte {
  constructor(
    /** The frame: an AnonFrame for private copies, the page-cache frame otherwise. */
    public frame: AnonFrame | CacheFrame,
    /** A private (anonymous) page: counted as Anonymous in smaps. */
    public readonly anon: boolean,
  ) {}
}

export class PageTable {
  readonly ptes: Map<number, Pte>;
  /** Guard markers installed by MADV_GUARD_INSTALL: any access raises SIGSEGV. */
  readonly guards = new Set<number>();

  constructor(ptes?: Map<number, Pte>) {
    this.ptes = ptes ?? new Map();
  }

  get(page: number): Pte | undefined {
    return this.ptes.get(page);
  }

  set(page: number, pte: Pte): void {
    this.ptes.set(page, pte);
  }

  /** zap_page_range: drop the PTEs of [start, end). */
  zap(start: number, end: number): void {
    if (end - start < this.ptes.size) {
      for (let p = start; p < end; p++) this.drop(p);
    } else {
      for (const p of [...this.ptes.keys()]) if (p >= start && p < end) this.drop(p);
    }
  }

  private drop(page: number): void {
    const pte = this.ptes.get(page);
    if (pte === undefined) return;
    if (pte.anon) (pte.frame as AnonFrame).refs--;
    this.ptes.delete(page);
  }

  /** Drop guard markers of [start, end) (munmap). */
  clearGuards(start: number, end: number): void {
    if (this.guards.size === 0) return;
    for (const p of [...this.guards]) if (p >= start && p < end) this.guards.delete(p);
  }

  /** move_page_tables: [from, from+pages) now lives at [to, to+pages). */
  move(from: number, to: number, pages: number): void {
    if (this.guards.size !== 0) {
      const moved = [...this.guards].filter((p) => p >= from && p < from + pages);
      for (const p of moved) this.guards.delete(p);
      for (const p of moved) this.guards.add(p - from + to);
    }
    if (pages < this.ptes.size) {
      const moved: Array<[number, Pte]> = [];
      for (let i = 0; i < pages; i++) {
        const pte = this.ptes.get(from + i);
        if (pte !== undefined) {
          moved.push([to + i, pte]);
          this.ptes.delete(from + i);
        }
      }
      for (const [p, pte] of moved) this.ptes.set(p, pte);
    } else {
      const moved: Array<[number, Pte]> = [];
      for (const [p, pte] of this.ptes) if (p >= from && p < from + pages) moved.push([p - from + to, pte]);
      for (const [p] of moved) this.ptes.delete(p - to + from);
      for (const [p, pte] of moved) this.ptes.set(p, pte);
    }
  }

  /** Count present pages and private (anonymous) pages in [start, end). */
  count(start: number, end: number): { rss: number; anon: number } {
    let rss = 0;
    let anon = 0;
    if (end - start < this.ptes.size) {
      for (let p = start; p < end; p++) {
        const pte = this.ptes.get(p);
        if (pte !== undefined) {
          rss++;
          if (pte.anon) anon++;
        }
      }
    } else {
      for (const [p, pte] of this.ptes) {
        if (p >= start && p < end) {
          rss++;
          if (pte.anon) anon++;
        }
      }
    }
    return { rss, anon };
  }

  /** Copy for fork: anonymous frames become shared copy-on-write. */
  cloneRange(into: PageTable, start: number, end: number): void {
    const copy = (p: number, pte: Pte): void => {
      if (pte.anon) (pte.frame as AnonFrame).refs++;
      into.ptes.set(p, new Pte(pte.frame, pte.anon));
    };
    if (end - start < this.ptes.size) {
      for (let p = start; p < end; p++) {
        const pte = this.ptes.get(p);
        if (pte !== undefined) copy(p, pte);
      }
    } else {
      for (const [p, pte] of this.ptes) if (p >= start && p < end) copy(p, pte);
    }
  }
}

// Page contents in bulk. Restore: the kernel's copy of preadv() data into user memory, page
// by page through the write-fault path (faultPage), but with the bytes moved as whole
// Uint8Arrays instead of byte stores: one copy of the run, then each page's frame points at
// its 4 KiB of that copy. Dump: the present private pages of a VMA copied out in one pass.

import { faultPage } from "../../kernel/mm/fault.js";
import type { Mm } from "../../kernel/mm/mm.js";
import type { AnonFrame } from "../../kernel/mm/pages.js";
import { VM_WRITE } from "../../kernel/uapi/vmflags.js";
import { Unsupported } from "../../kernel/unsupported.js";

const PAGE = 4096;

/**
 * Write runs `[startPage, pages, offsetInSrc]` of `src` into `mm` as copy_to_user() does
 * (write faults, copy-on-write). Returns null, or the first page that could not be written
 * (EFAULT: unmapped, not writable, guard or SIGBUS).
 */
export function writePagesBulk(mm: Mm, src: Uint8Array, runs: Array<[number, number, number]>, adopt = false): number | null {
  for (const [start, pages, offset] of runs) {
    // `adopt`: the caller hands over `src` (bytes just read from the pages file, referenced
    // by nothing else), so the frames may use it in place instead of a copy.
    const copy = adopt ? src.subarray(offset, offset + pages * PAGE) : src.slice(offset, offset + pages * PAGE);
    for (let i = 0; i < pages; i++) {
      const page = start + i;
      const vma = mm.tree.find(page);
      if (vma === null || (vma.flags & VM_WRITE) === 0 || mm.pt.guards.has(page)) return page;
      if (faultPage(mm, vma, page, true) === null) return page;
      const pte = mm.pt.get(page);
      if (pte === undefined) return page;
      const frame = pte.frame as AnonFrame;
      frame.data = copy.subarray(i * PAGE, (i + 1) * PAGE);
      if (pte.anon) frame.unknown = false;
    }
  }
  return null;
}

/** A run of adjacent dumped pages: each page's bytes (null: a known-zero page), not yet copied. */
export interface PageRunRefs {
  start: number;
  pages: number;
  list: Array<Uint8Array | null>;
}

/**
 * The present private (anonymous or copy-on-write) pages of [start, end) as runs of
 * adjacent pages, referencing the frames' bytes (the caller copies them once, into the
 * pages image). Pages whose bytes the model does not know are Unsupported, unless
 * `unknown` supplies them.
 */
export function readPrivatePages(mm: Mm, start: number, end: number, unknown: ((page: number) => Uint8Array | null) | null): PageRunRefs[] {
  const runs: PageRunRefs[] = [];
  mm.pt.forRange(start, end, (page, pte) => {
    if (!pte.anon) return;
    const f = pte.frame as AnonFrame;
    let data: Uint8Array | null = f.data;
    if (f.unknown) {
      data = unknown?.(page) ?? null;
      if (data === null) throw new Unsupported(`the bytes of page 0x${(page * PAGE).toString(16)} are not known to the model`);
    }
    const last = runs[runs.length - 1];
    if (last !== undefined && last.start + last.pages === page) {
      last.pages++;
      last.list.push(data);
    } else runs.push({ start: page, pages: 1, list: [data] });
  });
  return runs;
}

/** Copy page runs into one pages-image buffer (the only copy a dump makes). */
export function packPages(runs: PageRunRefs[]): Uint8Array {
  let total = 0;
  for (const r of runs) total += r.pages;
  const out = new Uint8Array(total * PAGE);
  let off = 0;
  for (const r of runs) {
    for (const d of r.list) {
      if (d !== null) out.set(d, off);
      off += PAGE;
    }
  }
  return out;
}

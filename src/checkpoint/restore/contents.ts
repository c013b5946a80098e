// Page contents in bulk. Restore: the kernel's copy of preadv() data into user memory, page
// by page through the write-fault path (faultPage), but with the bytes moved as whole
// Uint8Arrays instead of byte stores: one copy of the run, then each page's frame points at
// its 4 KiB of that copy. Dump: the present private pages of a VMA copied out in one pass.

import { faultPage } from "../../kernel/mm/fault.js";
import type { Mm } from "../../kernel/mm/mm.js";
import type { AnonFrame } from "../../kernel/mm/pages.js";
import type { Vma } from "../../kernel/mm/vma.js";
import { VM_WRITE } from "../../kernel/uapi/vmflags.js";
import { Unsupported } from "../../kernel/unsupported.js";

const PAGE = 4096;

/**
 * Write runs `[startPage, pages, offsetInSrc]` of `src` into `mm` as copy_to_user() does
 * (write faults, copy-on-write). Returns null, or the first page that could not be written
 * (EFAULT: unmapped, not writable, guard or SIGBUS).
 */
export function writePagesBulk(mm: Mm, src: Uint8Array, runs: Array<[number, number, number]>, adopt = false): number | null {
  const guarded = mm.pt.guards.size !== 0;
  for (const [start, pages, offset] of runs) {
    // `adopt`: the caller hands over `src` (bytes just read from the pages file, referenced
    // by nothing else), so the frames may use it in place instead of a copy.
    const copy = adopt ? src.subarray(offset, offset + pages * PAGE) : src.slice(offset, offset + pages * PAGE);
    const buf = copy.buffer;
    const base = copy.byteOffset;
    // The VMA is looked up once per VMA the run crosses, not once per page; a fault may
    // replace the record (anon_vma_prepare), and the next page uses the new one.
    let vma: Vma | null = null;
    for (let i = 0; i < pages; i++) {
      const page = start + i;
      if (vma === null || page >= vma.end) {
        vma = mm.tree.find(page);
        if (vma === null || (vma.flags & VM_WRITE) === 0) return page;
      }
      if (guarded && mm.pt.guards.has(page)) return page;
      vma = faultPage(mm, vma, page, true);
      if (vma === null) return page;
      const pte = mm.pt.get(page);
      if (pte === undefined) return page;
      const frame = pte.frame as AnonFrame;
      frame.data = new Uint8Array(buf, base + i * PAGE, PAGE);
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

/** A known-zero page, for writing (never written to). */
const ZERO_PAGE = new Uint8Array(PAGE);

/**
 * The pages image of `runs` as pieces to write in order, without copying a byte: each
 * page's frame bytes, with neighbours that are adjacent views of one buffer (pages written
 * in bulk share one) joined into one view, so a writev moves them in few iovecs.
 */
export function pagePieces(runs: PageRunRefs[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  // The piece being grown: a view of `buf` from `off`, `len` bytes.
  let buf: ArrayBufferLike | null = null;
  let off = 0;
  let len = 0;
  const flush = () => {
    if (buf !== null) out.push(new Uint8Array(buf, off, len));
  };
  for (const r of runs) {
    for (const d of r.list) {
      // A page is PAGE bytes in the image whatever its frame holds (as packPages).
      const page = d === null ? ZERO_PAGE : d.byteLength === PAGE ? d : padded(d);
      if (d !== null && page.buffer === buf && off + len === page.byteOffset) {
        len += PAGE;
        continue;
      }
      flush();
      buf = page.buffer;
      off = page.byteOffset;
      len = PAGE;
    }
  }
  flush();
  return out;
}

function padded(d: Uint8Array): Uint8Array {
  const out = new Uint8Array(PAGE);
  out.set(d.subarray(0, PAGE));
  return out;
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

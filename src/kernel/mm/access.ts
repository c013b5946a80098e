// User-space accesses to memory (the executor's touch/rtouch/write/read ops): the x86
// page-fault permission check (arch/x86/mm/fault.c access_error()) and the fault itself.

import { VM_EXEC, VM_READ, VM_WRITE } from "../uapi/vmflags.js";
import { Unsupported } from "../unsupported.js";
import { faultPage, readByte, writeByte } from "./fault.js";
import type { Mm } from "./mm.js";
import type { AnonFrame } from "./pages.js";
import { expandStackFor } from "./stack.js";
import type { Vma } from "./vma.js";

export type AccessKind = "touch" | "rtouch" | "write" | "read";

export type AccessResult = { ok: true; hash?: number } | { ok: false; signal: "SEGV" | "BUS"; offset: number };

/**
 * Bytes the model cannot know: kernel-provided special-mapping pages, pages of files whose
 * contents are on disk, and private copies of either.
 */
function contentsUnknown(mm: Mm, v: Vma, page: number): boolean {
  const pte = mm.pt.get(page);
  if (pte !== undefined) return pte.anon ? (pte.frame as AnonFrame).unknown : v.file !== null && !v.file.inode.contentKnown;
  return v.special !== null;
}

/** access_error(): reads need any of R/W/X (not PROT_NONE), writes need VM_WRITE. */
function permits(v: Vma, write: boolean): boolean {
  if (write) return (v.flags & VM_WRITE) !== 0;
  return (v.flags & (VM_READ | VM_WRITE | VM_EXEC)) !== 0;
}

/** The result of an access that completed (shared: results are values, never mutated). */
const ACCESS_OK: AccessResult = Object.freeze({ ok: true });

/** The access faulted `offset` bytes after its start. */
function faulted(signal: "SEGV" | "BUS", offset: number): AccessResult {
  return { ok: false, signal, offset };
}

/**
 * Perform a user access over [addr, addr+len) bytes, page by page in ascending order.
 * touch/rtouch access one byte per page (at addr, then each page boundary); write and
 * read cover every byte. A fault stops the access at the first byte of the faulting page.
 */
export function userAccess(mm: Mm, addr: number, len: number, kind: AccessKind, value = 0): AccessResult {
  let hash = 0x811c9dc5;
  const end = addr + len;
  let pos = addr;
  while (pos < end) {
    const page = Math.floor(pos / 4096);
    const pageEnd = Math.min(end, (page + 1) * 4096);
    let vma = mm.tree.find(page) ?? expandStackFor(mm, page);
    const write = kind === "touch" || kind === "write";
    if (vma === null || mm.pt.guards.has(page)) return faulted("SEGV", pos - addr);
    if (kind === "write") {
      // A plain store: one write fault (no read fault, so no fault-around).
      if (!permits(vma, true)) return faulted("SEGV", pos - addr);
      if (faultPage(mm, vma, page, true) === null) return faulted("BUS", pos - addr);
    } else {
      // touch reads before it writes: the read fault happens even when the write then fails.
      if (!permits(vma, false)) return faulted("SEGV", pos - addr);
      const r = faultPage(mm, vma, page, false);
      if (r === null) return faulted("BUS", pos - addr);
      vma = r;
      if (write && !permits(vma, true)) return faulted("SEGV", pos - addr);
      if (write && faultPage(mm, vma, page, true) === null) return faulted("BUS", pos - addr);
    }
    if (kind === "write") {
      for (let b = pos; b < pageEnd; b++) writeByte(mm, page, b - page * 4096, value);
    } else if (kind === "read") {
      if (contentsUnknown(mm, vma, page)) {
        throw new Unsupported(
          `the bytes of ${vma.special?.name ?? vma.file?.inode.path ?? "a page"} at page 0x${page.toString(16)} are not known to the model`,
        );
      }
      for (let b = pos; b < pageEnd; b++) {
        hash ^= readByte(mm, page, b - page * 4096);
        hash = Math.imul(hash, 0x01000193) >>> 0;
      }
    }
    pos = kind === "touch" || kind === "rtouch" ? (page + 1) * 4096 : pageEnd;
  }
  return kind === "read" ? { ok: true, hash: hash >>> 0 } : ACCESS_OK;
}

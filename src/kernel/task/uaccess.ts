// The kernel reading and writing user memory for a syscall (copy_from_user/copy_to_user,
// put_user): page by page through the page-fault handler. A page that is unmapped, has no
// access, holds a guard marker or raises SIGBUS makes the copy fail: the call returns
// EFAULT. Bytes the model does not know (file pages on disk, [vdso]) are Unsupported.

import { faultPage, readByte, writeByte } from "../mm/fault.js";
import type { Mm } from "../mm/mm.js";
import type { AnonFrame } from "../mm/pages.js";
import { expandStackFor } from "../mm/stack.js";
import type { Vma } from "../mm/vma.js";
import { VM_EXEC, VM_READ, VM_WRITE } from "../uapi/vmflags.js";
import { Unsupported } from "../unsupported.js";

const PAGE = 4096;

/** access_error() for a kernel-mode fault on a user address. */
function permits(v: Vma, write: boolean): boolean {
  return write ? (v.flags & VM_WRITE) !== 0 : (v.flags & (VM_READ | VM_WRITE | VM_EXEC)) !== 0;
}

/**
 * The VMA a copy may touch at `page`, faulted in; null when the copy must fail. A kernel-mode
 * fault goes through do_user_addr_fault() like a user one: lock_mm_and_find_vma() grows a
 * VM_GROWSDOWN stack down to the page first (before the access check, so a refused copy
 * still leaves the stack grown).
 */
function faultIn(mm: Mm, page: number, write: boolean): Vma | null {
  const v = mm.tree.find(page) ?? expandStackFor(mm, page);
  if (v === null || mm.pt.guards.has(page) || !permits(v, write)) return null;
  return faultPage(mm, v, page, write);
}

function known(mm: Mm, v: Vma, page: number): boolean {
  const pte = mm.pt.get(page);
  if (pte !== undefined) return pte.anon ? !(pte.frame as AnonFrame).unknown : v.file === null || v.file.inode.contentKnown;
  return v.special === null && (v.file === null || v.file.inode.contentKnown);
}

/** copy_from_user(): the bytes, or null for EFAULT. `addr` is a byte address below 2^53. */
export function copyFromUser(mm: Mm, addr: number, len: number): Uint8Array | null {
  const out = new Uint8Array(len);
  let pos = addr;
  const end = addr + len;
  while (pos < end) {
    const page = Math.floor(pos / PAGE);
    const stop = Math.min(end, (page + 1) * PAGE);
    const v = faultIn(mm, page, false);
    if (v === null) return null;
    if (!known(mm, v, page)) {
      throw new Unsupported(`the kernel reads bytes of ${v.special?.name ?? v.file?.inode.path ?? "a page"} the model does not know`);
    }
    for (let b = pos; b < stop; b++) out[b - addr] = readByte(mm, page, b - page * PAGE);
    pos = stop;
  }
  return out;
}

/** copy_to_user() / put_user(): true when every byte was written, false for EFAULT. */
export function copyToUser(mm: Mm, addr: number, bytes: Uint8Array): boolean {
  let pos = addr;
  const end = addr + bytes.length;
  while (pos < end) {
    const page = Math.floor(pos / PAGE);
    const stop = Math.min(end, (page + 1) * PAGE);
    if (faultIn(mm, page, true) === null) return false;
    for (let b = pos; b < stop; b++) writeByte(mm, page, b - page * PAGE, bytes[b - addr]);
    pos = stop;
  }
  return true;
}

/**
 * copy_to_user() of `len` bytes the model does not know (kernel data it does not model): the
 * pages are faulted in for writing as the real copy would, and their private copies are
 * marked unknown. False for EFAULT. A destination that is not private anonymous memory is
 * Unsupported (its bytes would reach a file or another process).
 */
export function copyUnknownToUser(mm: Mm, addr: number, len: number): boolean {
  const end = addr + len;
  for (let pos = addr; pos < end; pos = (Math.floor(pos / PAGE) + 1) * PAGE) {
    const page = Math.floor(pos / PAGE);
    if (faultIn(mm, page, true) === null) return false;
    const pte = mm.pt.get(page);
    if (pte === undefined || !pte.anon) throw new Unsupported("the kernel writes bytes the model does not know into a shared or file page");
    (pte.frame as AnonFrame).unknown = true;
  }
  return true;
}

/** Little-endian u64 at `off` of `b`, as bigint. */
export function u64At(b: Uint8Array, off: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true);
}

/** Little-endian u32 at `off` of `b`. */
export function u32At(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}

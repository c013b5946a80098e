// msync(2): mm/msync.c.

import { EBUSY, EINVAL, ENOMEM } from "../uapi/errno.js";
import { MS_ASYNC, MS_INVALIDATE, MS_SYNC } from "../uapi/mman.js";
import { add, offsetInPage, pageAlign, pageOf, type U64 } from "../uapi/u64.js";
import { VM_LOCKED } from "../uapi/vmflags.js";
import type { Mm } from "./mm.js";

export function sysMsync(mm: Mm, startArg: U64, lenArg: U64, flagsArg: U64): number {
  if (typeof flagsArg === "bigint" || flagsArg & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) return -EINVAL;
  const flags = flagsArg;
  if (offsetInPage(startArg) !== 0) return -EINVAL;
  if (flags & MS_ASYNC && flags & MS_SYNC) return -EINVAL;
  const len = pageAlign(lenArg);
  const endArg = add(startArg, len);
  if (endArg === null || (typeof endArg === "number" && typeof startArg === "number" && endArg < startArg)) return -ENOMEM;
  if (endArg === startArg) return 0;
  if (typeof startArg === "bigint") return -ENOMEM;
  let start = pageOf(startArg);
  const end = typeof endArg === "bigint" ? Number.MAX_SAFE_INTEGER : pageOf(endArg);
  // Holes are remembered as ENOMEM and skipped.
  let unmappedError = 0;
  let vma = mm.tree.findNext(start);
  for (;;) {
    if (vma === null) return -ENOMEM;
    if (start < vma.start) {
      if (flags === MS_ASYNC) return -ENOMEM;
      start = vma.start;
      if (start >= end) return -ENOMEM;
      unmappedError = -ENOMEM;
    }
    if (flags & MS_INVALIDATE && vma.flags & VM_LOCKED) return -EBUSY;
    start = vma.end;
    if (start >= end) return unmappedError;
    vma = mm.tree.findNext(start);
  }
}

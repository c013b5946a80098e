// Stack growth on a fault below a VM_GROWSDOWN VMA: mm/mmap.c expand_downwards(),
// acct_stack_growth(), as reached from the x86 fault path (lock_mm_and_find_vma()).

import { VM_EXEC, VM_GROWSDOWN, VM_READ, VM_WRITE } from "../uapi/vmflags.js";
import { anonVmaPrepare } from "./fault.js";
import type { Mm } from "./mm.js";
import { mayExpandVm, mlockFutureOk } from "./mmap.js";
import type { Vma } from "./vma.js";

/** acct_stack_growth(): address-space, stack and mlock limits. */
function stackGrowthAllowed(mm: Mm, vma: Vma, size: number, grow: number): boolean {
  if (!mayExpandVm(mm, vma.flags, grow)) return false;
  if (size * 4096 > mm.rlimits.stack) return false;
  return mlockFutureOk(mm, vma.flags, grow);
}

/**
 * A user fault at `page` with no VMA there: grow the VMA above it if it is a stack.
 * Returns the grown VMA, or null (the fault is a SIGSEGV).
 */
export function expandStackFor(mm: Mm, page: number): Vma | null {
  let vma = mm.tree.findNext(page);
  if (vma === null || (vma.flags & VM_GROWSDOWN) === 0) return null;
  if (page * 4096 < mm.cfg.mmapMinAddr) return null;
  // Enforce stack_guard_gap against an accessible non-stack VMA below.
  const prev = mm.tree.prev(vma);
  if (
    prev !== null &&
    (prev.flags & VM_GROWSDOWN) === 0 &&
    (prev.flags & (VM_READ | VM_WRITE | VM_EXEC)) !== 0 &&
    page - prev.end < mm.cfg.stackGuardGap
  ) {
    return null;
  }
  vma = anonVmaPrepare(mm, vma);
  const size = vma.end - page;
  const grow = vma.start - page;
  if (grow > vma.pgoff) return null;
  if (!stackGrowthAllowed(mm, vma, size, grow)) return null;
  const grown = vma.with({ start: page, pgoff: vma.pgoff - grow });
  mm.tree.replace(vma, grown);
  return grown;
}

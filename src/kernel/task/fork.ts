// fork's copy of the address space: kernel/fork.c dup_mm() → mm_init() and mm/mmap.c
// dup_mmap(), with mm/memory.c copy_page_range() for page contents.
//
// What the child gets (reference §9.1, verified on 6.18.44 by native/probe-prctl.c):
// - every VMA with the same bounds, flags, pgoff, file, seal and special mapping, except
//   VM_DONTCOPY ones (dropped, leaving a hole: neighbours are not re-merged);
// - VM_LOCKED/VM_LOCKONFAULT cleared (mlock is not inherited; VMAs are not re-merged);
// - VM_WIPEONFORK VMAs kept but empty, with no anon_vma;
// - a fresh anon_vma per VMA that had one, whose chain is not singular (anonInherited):
//   that blocks later merges with fresh neighbours (vma_had_uncowed_parents);
// - page tables copied only where a fault could not rebuild them (vma_needs_copy):
//   private anonymous frames become shared copy-on-write;
// - mm fields (brk, start_brk, start_stack, arg/env, code/data, exe file, auxv) copied;
//   def_flags keeps only VM_NOHUGEPAGE (VM_INIT_DEF_MASK); MMF_DISABLE_THP inherited.

import type { Mm } from "../mm/mm.js";
import { PageTable } from "../mm/pages.js";
import { AnonVma, Vma } from "../mm/vma.js";
import { VmaTree } from "../mm/vma-tree.js";
import {
  VM_DONTCOPY,
  VM_LOCKED_MASK,
  VM_MAYBE_GUARD,
  VM_MIXEDMAP,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_UFFD_WP,
  VM_WIPEONFORK,
} from "../uapi/vmflags.js";

/** VM_INIT_DEF_MASK: the only def_flags bit a child keeps (mm_init()). */
const VM_INIT_DEF_MASK = VM_NOHUGEPAGE;

/** VM_COPY_ON_FORK: page tables a fault cannot rebuild (PFN maps, uffd-wp, guard markers). */
const VM_COPY_ON_FORK = VM_PFNMAP | VM_MIXEDMAP | VM_UFFD_WP | VM_MAYBE_GUARD;

/** vma_needs_copy(): whether copy_page_range() copies this VMA's page tables. */
function vmaNeedsCopy(src: Vma): boolean {
  if ((src.flags & VM_COPY_ON_FORK) !== 0) return true;
  return src.anon !== null;
}

/** dup_mmap()'s per-VMA decision: the child's copy of `src`, or null for VM_DONTCOPY. */
function childVma(src: Vma): Vma | null {
  if ((src.flags & VM_DONTCOPY) !== 0) return null;
  const flags = src.flags & ~VM_LOCKED_MASK;
  if ((src.flags & VM_WIPEONFORK) !== 0) {
    // tmp->anon_vma = NULL: the child faults fresh zero pages in.
    return new Vma(src.start, src.end, flags, src.flagsHi, src.pgoff, src.file, null, false, src.special);
  }
  // anon_vma_fork(): a new anon_vma chained to the parent's, so the chain is not singular.
  const anon = src.anon === null ? null : new AnonVma();
  return new Vma(src.start, src.end, flags, src.flagsHi, src.pgoff, src.file, anon, anon !== null, src.special);
}

/** dup_mm(): the child's address space, a copy of `parent`'s. */
export function dupMm(parent: Mm): Mm {
  const child = parent.cloneShell();
  child.defFlags = parent.defFlags & VM_INIT_DEF_MASK;
  child.tree = new VmaTree();
  child.pt = new PageTable();
  parent.tree.forEach((src) => {
    const v = childVma(src);
    if (v === null) return;
    child.tree.insert(v);
    if ((src.flags & VM_WIPEONFORK) === 0 && vmaNeedsCopy(src)) copyPageRange(parent, child, src);
  });
  return child;
}

/** copy_page_range(): PTEs (COW-shared anon frames, file pages) and guard markers. */
function copyPageRange(parent: Mm, child: Mm, src: Vma): void {
  parent.pt.cloneRange(child.pt, src.start, src.end);
  for (const g of parent.pt.guards) if (g >= src.start && g < src.end) child.pt.guards.add(g);
}

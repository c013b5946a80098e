// brk(2): mm/mmap.c SYSCALL_DEFINE1(brk) and do_brk_flags(). Never returns an errno:
// the new break on success (exactly the value asked for), the old one on any failure.

import { clamp, type U64 } from "../uapi/u64.js";
import { VM_ACCOUNT, VM_EXEC, VM_LOCKED, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_WRITE } from "../uapi/vmflags.js";
import type { Mm } from "./mm.js";
import { mayExpandVm, mlockFutureOk } from "./mmap.js";
import { completeUnmap, gatherUnmap } from "./munmap.js";
import { populateRange } from "./populate.js";
import { securityMmapAddr, vmStartGap } from "./unmapped-area.js";
import { Vma } from "./vma.js";
import { mergeNewRange } from "./vma-merge.js";

const READ_IMPLIES_EXEC = 0x0400000;

const pageUp = (b: number) => Math.ceil(b / 4096);

/** check_data_rlimit(). */
function dataRlimitExceeded(mm: Mm, brk: number): boolean {
  const lim = mm.rlimits.data;
  if (!Number.isFinite(lim)) return false;
  return brk - mm.startBrk + (mm.endData - mm.startData) > lim;
}

/** do_brk_flags(): extend the brk VMA or create a new one over [addr, addr+len) pages. */
function doBrkFlags(mm: Mm, brkVma: Vma | null, addr: number, len: number): boolean {
  let flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT | mm.defFlags;
  if (mm.personality & READ_IMPLIES_EXEC) flags |= VM_EXEC;
  if (!mayExpandVm(mm, flags, len)) return false;
  if (mm.mapCount > mm.cfg.maxMapCount) return false;
  if (brkVma !== null && brkVma.end === addr) {
    const merged = mergeNewRange(
      mm,
      { start: addr, end: addr + len, flags, flagsHi: 0, pgoff: addr, file: null, anon: null, middle: null },
      true,
    );
    if (merged !== null) return true;
  }
  mm.tree.insert(new Vma(addr, addr + len, flags, 0, addr, null, null, false, null));
  return true;
}

/** brk(addr). */
export function sysBrk(mm: Mm, brkArg: U64): number {
  const origBrk = mm.brk;
  const brk = clamp(brkArg);
  const fail = () => {
    mm.brk = origBrk;
    return origBrk;
  };
  if (brk < mm.startBrk) return fail();
  if (dataRlimitExceeded(mm, brk)) return fail();
  const newBrk = pageUp(brk);
  const oldBrk = pageUp(mm.brk);
  if (typeof brkArg === "bigint") return fail();
  if (oldBrk === newBrk) {
    mm.brk = brk;
    return brk;
  }
  if (brk <= mm.brk) {
    // Always allow shrinking brk, unless the range starts in a non-brk VMA or is sealed.
    const brkVma = mm.tree.findNext(newBrk);
    if (brkVma === null || brkVma.start >= oldBrk) return fail();
    mm.brk = brk;
    const r = gatherUnmap(mm, brkVma, newBrk, oldBrk);
    if (typeof r === "number") return fail();
    completeUnmap(mm, r);
    return brk;
  }
  // check_brk_limits(): get_unmapped_area(MAP_FIXED) and the mlock limit.
  const len = newBrk - oldBrk;
  if (len > mm.cfg.taskSize || oldBrk > mm.cfg.taskSize - len) return fail();
  if (securityMmapAddr(mm, oldBrk) < 0) return fail();
  if (!mlockFutureOk(mm, mm.defFlags, len)) return fail();
  // Only one free page must remain below the next VMA (its guard gap for a stack).
  const next = mm.tree.findNext(oldBrk);
  if (next !== null && next.start < newBrk + 1 + mm.cfg.stackGuardGap && newBrk + 1 > vmStartGap(mm, next)) return fail();
  // vma_prev_limit(start_brk): the VMA below the break, if it reaches above start_brk.
  const prev = mm.tree.findPrev(oldBrk);
  const brkVma = prev !== null && prev.end * 4096 > mm.startBrk ? prev : null;
  if (!doBrkFlags(mm, brkVma, oldBrk, len)) return fail();
  mm.brk = brk;
  if (mm.defFlags & VM_LOCKED) populateRange(mm, oldBrk, newBrk, true);
  return brk;
}

// mprotect(2) and pkey_mprotect(2): mm/mprotect.c do_mprotect_pkey(), mprotect_fixup().

import { EACCES, EINVAL, ENOMEM, EPERM } from "../uapi/errno.js";
import { PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ, PROT_SEM, PROT_WRITE } from "../uapi/mman.js";
import { add, gt, offsetInPage, pageAlign, pageOf, toInt32, toUint32, type U64 } from "../uapi/u64.js";
import {
  VM_ACCESS_FLAGS,
  VM_ACCOUNT,
  VM_GROWSDOWN,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_NORESERVE,
  VM_SHARED,
  VM_WRITE,
  VMH_PKEY_MASK,
} from "../uapi/vmflags.js";
import type { Mm } from "./mm.js";
import { calcVmProtBits, mayExpandVm } from "./mmap.js";
import { sealBlocksChange, sealCheckUpFront } from "./mseal.js";
import { populateRange } from "./populate.js";
import type { Vma } from "./vma.js";
import { vmaModifyFlags } from "./vma-merge.js";

const READ_IMPLIES_EXEC = 0x0400000;

/**
 * mprotect_fixup(): give [start, end) of `vma` the new flags. The seal check comes here,
 * after the caller's VM_MAY* test, and before the "nothing changes" shortcut.
 */
function mprotectFixup(mm: Mm, vma: Vma, prev: Vma | null, start: number, end: number, newFlags: number, newFlagsHi: number): Vma | number {
  if (sealBlocksChange(mm, vma, "mprotect")) return -EPERM;
  const oldFlags = vma.flags;
  if (newFlags === oldFlags && newFlagsHi === vma.flagsHi) return vma;
  const pages = end - start;
  if (newFlags & VM_WRITE) {
    // Check space limits when area turns into data.
    if (!mayExpandVm(mm, newFlags, pages) && mayExpandVm(mm, oldFlags, pages)) return -ENOMEM;
    if ((oldFlags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE)) === 0) newFlags |= VM_ACCOUNT;
  } else if (oldFlags & VM_ACCOUNT && vma.isAnonymous && vma.anon === null) {
    newFlags &= ~VM_ACCOUNT;
  }
  const r = vmaModifyFlags(mm, prev, vma, start, end, newFlags, newFlagsHi);
  if (typeof r === "number") return r;
  // A private locked VMA becoming writable is populated (COW broken up front).
  if ((oldFlags & (VM_WRITE | VM_SHARED | VM_LOCKED)) === VM_LOCKED && newFlags & VM_WRITE) {
    populateRange(mm, start, end, true);
    return mm.tree.find(start) as Vma;
  }
  return r;
}

/** do_mprotect_pkey(). */
export function doMprotectPkey(mm: Mm, startArg: U64, lenArg: U64, protArg: U64, pkey: number): number {
  let prot = toUint32(protArg);
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL;
  if (offsetInPage(startArg) !== 0) return -EINVAL;
  if (lenArg === 0) return 0;
  const len = pageAlign(lenArg);
  const endArg = len === 0 ? null : add(startArg, len);
  if (endArg === null || !gt(endArg, startArg)) return -ENOMEM;
  if (toUint32(protArg) & ~(PROT_GROWSDOWN | PROT_GROWSUP) & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) return -EINVAL;
  if (typeof protArg === "bigint" || protArg >= 2 ** 32) return -EINVAL;
  const rier = prot & PROT_READ && mm.personality & READ_IMPLIES_EXEC;
  // Without protection-key hardware no key counts as allocated, not even 0 (observed).
  if (pkey !== -1 && (!mm.cfg.pkeys || pkey < 0 || pkey > 15 || (mm.pkeysAllocated & (1 << pkey)) === 0)) return -EINVAL;
  if (typeof startArg === "bigint" || typeof endArg === "bigint") return -ENOMEM;
  let start = pageOf(startArg);
  const end = pageOf(endArg);

  const vma = mm.tree.findNext(start);
  if (vma === null || vma.start >= end) return -ENOMEM;
  if (grows & PROT_GROWSDOWN) {
    if (vma.start >= end) return -ENOMEM;
    start = vma.start;
    if ((vma.flags & VM_GROWSDOWN) === 0) return -EINVAL;
  } else {
    if (vma.start > start) return -ENOMEM;
    if (grows & PROT_GROWSUP) return -EINVAL;
  }
  const up = sealCheckUpFront(mm, start, end);
  if (up !== 0) return up;
  let prev: Vma | null = start > vma.start ? vma : mm.tree.prev(vma);
  let tmp = vma.start;
  let nstart = start;
  let error = 0;
  let cur: Vma | null = vma;
  let reqProt = prot;
  while (cur !== null && cur.start < end) {
    if (cur.start !== tmp) {
      error = -ENOMEM;
      break;
    }
    if (rier && cur.flags & VM_MAYEXEC) reqProt |= PROT_EXEC;
    const newPkey = pkey === -1 ? cur.flagsHi & VMH_PKEY_MASK : pkey;
    const newFlags = calcVmProtBits(reqProt) | (cur.flags & ~VM_ACCESS_FLAGS);
    const newFlagsHi = (cur.flagsHi & ~VMH_PKEY_MASK) | newPkey;
    // newflags >> 4 shifts VM_MAY% in place of VM_%.
    if (newFlags & ~(newFlags >> 4) & VM_ACCESS_FLAGS) {
      error = -EACCES;
      break;
    }
    tmp = Math.min(cur.end, end);
    const r = mprotectFixup(mm, cur, prev, nstart, tmp, newFlags, newFlagsHi);
    if (typeof r === "number") {
      error = r;
      break;
    }
    prev = r;
    tmp = r.end; // vma_iter_end(): a merge may reach past `end`
    nstart = tmp;
    reqProt = prot;
    cur = mm.tree.findNext(tmp);
  }
  if (error === 0 && tmp < end) error = -ENOMEM;
  return error;
}

export function sysMprotect(mm: Mm, start: U64, len: U64, prot: U64): number {
  return doMprotectPkey(mm, start, len, prot, -1);
}

export function sysPkeyMprotect(mm: Mm, start: U64, len: U64, prot: U64, pkey: U64): number {
  return doMprotectPkey(mm, start, len, prot, toInt32(pkey));
}

/**
 * pkey_alloc(flags, init_val). Without pkeys hardware the live kernel answers the first
 * valid call with EINVAL (a key is taken, then arch_set_user_pkey_access() fails) and every
 * later one with ENOSPC: observed on the reference machine, modeled as such.
 */
export function sysPkeyAlloc(mm: Mm, flags: U64, initVal: U64): number {
  if (flags !== 0) return -EINVAL;
  if (typeof initVal === "bigint" || initVal & ~3) return -EINVAL;
  if (!mm.cfg.pkeys) {
    if (mm.pkeyLost) return -28; // ENOSPC
    mm.pkeyLost = true;
    return -EINVAL;
  }
  for (let k = 1; k < 16; k++) {
    if ((mm.pkeysAllocated & (1 << k)) === 0) {
      mm.pkeysAllocated |= 1 << k;
      return k;
    }
  }
  return -28; // ENOSPC
}

/** pkey_free(pkey). */
export function sysPkeyFree(mm: Mm, pkeyArg: U64): number {
  const pkey = toInt32(pkeyArg);
  if (!mm.cfg.pkeys || pkey < 1 || pkey > 15 || (mm.pkeysAllocated & (1 << pkey)) === 0) return -EINVAL;
  mm.pkeysAllocated &= ~(1 << pkey);
  return 0;
}

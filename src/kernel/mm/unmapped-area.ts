// Choosing an address: mm/mmap.c __get_unmapped_area(), unmapped_area(),
// unmapped_area_topdown(); arch/x86/kernel/sys_x86_64.c arch_get_unmapped_area{,_topdown}();
// mm/huge_memory.c __thp_get_unmapped_area(). All in pages; errors are negative errnos.

import { ENOMEM, EPERM } from "../uapi/errno.js";
import { MAP_32BIT, MAP_ABOVE4G, MAP_FIXED, MAP_SHARED } from "../uapi/mman.js";
import { VM_GROWSDOWN } from "../uapi/vmflags.js";
import { CAP_SYS_RAWIO, capable } from "./creds.js";
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";

const PMD_PAGES = 512;
const PAGES_4G = 0x100000;

/** vm_start_gap(): a GROWSDOWN VMA keeps stack_guard_gap free below it. */
export function vmStartGap(mm: Mm, v: Vma): number {
  if ((v.flags & VM_GROWSDOWN) === 0) return v.start;
  const s = v.start - mm.cfg.stackGuardGap;
  return s > v.start || s < 0 ? 0 : s;
}

interface AreaRequest {
  length: number;
  low: number;
  high: number;
  alignMask: number;
  alignOffset: number;
}

/** unmapped_area_topdown(). */
function unmappedAreaTopdown(mm: Mm, info: AreaRequest): number {
  const length = info.length + info.alignMask;
  const minAddrPages = Math.ceil(mm.cfg.mmapMinAddr / 4096);
  const low = Math.max(info.low, minAddrPages);
  let high = info.high;
  for (;;) {
    const gapEnd = mm.tree.highestGap(length, low, high);
    if (gapEnd < 0) return -ENOMEM;
    let gap = gapEnd - info.length;
    gap -= (gap - info.alignOffset) & info.alignMask;
    // The VMA right above the gap: a stack keeps its guard gap free below it.
    const nextVma = mm.tree.findNext(gapEnd);
    if (nextVma !== null && (nextVma.flags & VM_GROWSDOWN) !== 0) {
      if (vmStartGap(mm, nextVma) < gapEnd) {
        high = vmStartGap(mm, nextVma);
        if (high < low) return -ENOMEM;
        continue;
      }
    }
    return gap;
  }
}

/** unmapped_area() (bottom-up). */
function unmappedArea(mm: Mm, info: AreaRequest): number {
  const length = info.length + info.alignMask;
  const minAddrPages = Math.ceil(mm.cfg.mmapMinAddr / 4096);
  let low = Math.max(info.low, minAddrPages);
  const high = info.high;
  for (;;) {
    const gapStart = mm.tree.lowestGap(length, low, high);
    if (gapStart < 0) return -ENOMEM;
    let gap = gapStart;
    gap += (info.alignOffset - gap) & info.alignMask;
    const next = mm.tree.findNext(gap);
    if (next !== null && (next.flags & VM_GROWSDOWN) !== 0 && vmStartGap(mm, next) < gap + info.length) {
      low = next.end;
      continue;
    }
    return gap;
  }
}

/** mmap_address_hint_valid(). */
function hintValid(mm: Mm, addr: number, len: number): boolean {
  if (mm.cfg.taskSize - len < addr) return false;
  const dmw = mm.cfg.defaultMapWindow;
  return addr > dmw === addr + len > dmw;
}

/** The hint is usable: free and clear of the next VMA's guard gap. */
function hintFits(mm: Mm, addr: number, len: number): boolean {
  const vma = mm.tree.findNext(addr);
  return vma === null || addr + len <= vmStartGap(mm, vma);
}

/** arch_get_unmapped_area() (bottom-up, x86). */
function archGetUnmappedArea(mm: Mm, addr: number, len: number, flags: number, alignMask: number): number {
  if (flags & MAP_FIXED) return addr;
  let begin: number;
  let end: number;
  if (flags & MAP_32BIT) {
    begin = 0x40000;
    end = 0x80000;
  } else {
    begin = mm.mmapLegacyBase;
    end = addr > mm.cfg.defaultMapWindow ? mm.cfg.taskSize : mm.cfg.defaultMapWindow;
  }
  if (len > end) return -ENOMEM;
  if (addr) {
    if (end - len >= addr && hintFits(mm, addr, len)) return addr;
  }
  return unmappedArea(mm, { length: len, low: begin, high: end, alignMask, alignOffset: 0 });
}

/** arch_get_unmapped_area_topdown() (x86). */
function archGetUnmappedAreaTopdown(mm: Mm, addr0: number, len: number, flags: number, alignMask: number): number {
  const addr = addr0;
  if (len > mm.cfg.taskSize) return -ENOMEM;
  if (flags & MAP_FIXED) return addr;
  if (!(flags & MAP_32BIT)) {
    if (addr && hintValid(mm, addr, len) && hintFits(mm, addr, len)) return addr;
    let high = mm.mmapBase;
    if (addr > mm.cfg.defaultMapWindow) high += mm.cfg.taskSize - mm.cfg.defaultMapWindow;
    const r = unmappedAreaTopdown(mm, { length: len, low: flags & MAP_ABOVE4G ? PAGES_4G : 1, high, alignMask, alignOffset: 0 });
    if (r >= 0) return r;
  }
  return archGetUnmappedArea(mm, addr0, len, flags, alignMask);
}

function mmGetUnmappedArea(mm: Mm, addr: number, len: number, flags: number): number {
  return mm.topdown ? archGetUnmappedAreaTopdown(mm, addr, len, flags, 0) : archGetUnmappedArea(mm, addr, len, flags, 0);
}

/**
 * __thp_get_unmapped_area(): place the mapping so that file offset `off` and the address
 * agree modulo 2 MiB, when the range covers a whole aligned 2 MiB of the file. 0 = no.
 */
function thpGetUnmappedArea(mm: Mm, addr: number, len: number, off: number, flags: number): number {
  const offEnd = off + len;
  const offAlign = Math.ceil(off / PMD_PAGES) * PMD_PAGES;
  if (offEnd <= offAlign || offEnd - offAlign < PMD_PAGES) return 0;
  const padded = len + PMD_PAGES;
  const ret = mmGetUnmappedArea(mm, addr, padded, flags);
  if (ret < 0) return 0;
  if (ret === addr) return addr;
  const offSub = (((off - ret) % PMD_PAGES) + PMD_PAGES) % PMD_PAGES;
  if (mm.topdown && offSub === 0) return ret + PMD_PAGES;
  return ret + offSub;
}

export interface AreaOptions {
  /**
   * What decides the placement hook: "anon" (THP-aligned when there is no hint and the
   * length is a 2 MiB multiple), "file" (thp_get_unmapped_area of regular files and
   * private /dev/zero, aligned by file offset), "plain" (shmem, special mappings).
   */
  kind: "anon" | "file" | "plain";
  /** File offset in pages (for "file"). */
  pgoff?: number;
}

/**
 * __get_unmapped_area(): returns a page number or a negative errno. `addr` is the page of
 * the (page-aligned) hint or fixed address.
 */
export function getUnmappedArea(mm: Mm, addr: number, len: number, flags: number, opts: AreaOptions): number {
  const taskSize = mm.cfg.taskSize;
  if (len > taskSize) return -ENOMEM;
  let r = 0;
  if (mm.cfg.thp && opts.kind === "anon" && !(flags & MAP_SHARED) && addr === 0 && len % PMD_PAGES === 0) {
    r = thpGetUnmappedArea(mm, addr, len, 0, flags);
  } else if (mm.cfg.thp && opts.kind === "file") {
    r = thpGetUnmappedArea(mm, addr, len, opts.pgoff ?? 0, flags);
  }
  if (r === 0) r = mmGetUnmappedArea(mm, addr, len, flags);
  if (r < 0) return r;
  if (r > taskSize - len) return -ENOMEM;
  return securityMmapAddr(mm, r);
}

/** security_mmap_addr() → cap_mmap_addr(): below dac_mmap_min_addr needs CAP_SYS_RAWIO. */
export function securityMmapAddr(mm: Mm, page: number): number {
  if (page * 4096 < mm.cfg.dacMmapMinAddr && !capable(mm.creds, CAP_SYS_RAWIO)) return -EPERM;
  return page;
}

// mmap(2): arch/x86/kernel/sys_x86_64.c (offset check), mm/mmap.c ksys_mmap_pgoff(),
// do_mmap(), mm/vma.c __mmap_region() / __mmap_setup() / __mmap_new_vma().

import type { FdTable } from "../fs/fdtable.js";
import { makeInode, type OpenFile, openFile } from "../fs/file.js";
import { memfdCheckSealsMmap } from "../fs/memfd.js";
import { EACCES, EAGAIN, EBADF, EEXIST, EINVAL, ENODEV, ENOMEM, EOPNOTSUPP, EOVERFLOW, EPERM } from "../uapi/errno.js";
import {
  LEGACY_MAP_MASK,
  MAP_ANONYMOUS,
  MAP_DROPPABLE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGE_MASK,
  MAP_HUGE_SHIFT,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_STACK,
  MAP_SYNC,
  MAP_TYPE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from "../uapi/mman.js";
import { clamp, offsetInPage, pageAlign, pageOf, toBigInt, toInt32, toUint32, type U64 } from "../uapi/u64.js";
import {
  VM_ACCOUNT,
  VM_DONTDUMP,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGETLB,
  VM_LOCKED,
  VM_LOCKED_MASK,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_SYNC,
  VM_WIPEONFORK,
  VM_WRITE,
  VMH_DROPPABLE,
} from "../uapi/vmflags.js";
import { Unsupported } from "../unsupported.js";
import { CAP_IPC_LOCK, capable } from "./creds.js";
import type { Mm } from "./mm.js";
import { sealCheckUpFront } from "./mseal.js";
import { completeUnmap, gatherUnmap, unmapRange } from "./munmap.js";
import { populateRange } from "./populate.js";
import { type AreaOptions, getUnmappedArea, securityMmapAddr } from "./unmapped-area.js";
import { Vma } from "./vma.js";
import { mergeNewRange } from "./vma-merge.js";

const READ_IMPLIES_EXEC = 0x0400000;
/** MAX_LFS_FILESIZE in pages: file_mmap_ok() limit for regular files. */
const MAX_LFS_PAGES = (2n ** 63n - 1n) >> 12n;

/** calc_vm_prot_bits(): PROT_* to VM_*; unknown bits are ignored. */
export function calcVmProtBits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/** calc_vm_flag_bits(). */
function calcVmFlagBits(mm: Mm, flags: number): number {
  return (
    (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) |
    (flags & MAP_LOCKED ? VM_LOCKED : 0) |
    (flags & MAP_SYNC ? VM_SYNC : 0) |
    (mm.cfg.thp && flags & MAP_STACK ? VM_NOHUGEPAGE : 0)
  );
}

/** can_do_mlock(). */
export function canDoMlock(mm: Mm): boolean {
  return mm.rlimits.memlock !== 0 || capable(mm.creds, CAP_IPC_LOCK);
}

/** mlock_future_ok(). */
export function mlockFutureOk(mm: Mm, flags: number, pages: number): boolean {
  if ((flags & VM_LOCKED) === 0 || capable(mm.creds, CAP_IPC_LOCK)) return true;
  return pages + mm.lockedVm() <= Math.floor(mm.rlimits.memlock / 4096);
}

/** may_expand_vm(): RLIMIT_AS and RLIMIT_DATA. */
export function mayExpandVm(mm: Mm, flags: number, pages: number): boolean {
  if (Number.isFinite(mm.rlimits.as) && mm.totalVm() + pages > Math.floor(mm.rlimits.as / 4096)) return false;
  if (
    Number.isFinite(mm.rlimits.data) &&
    (flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) === VM_WRITE &&
    mm.dataVm() + pages > Math.floor(mm.rlimits.data / 4096)
  )
    return false;
  return true;
}

/** accountable_mapping(): private writable memory is charged (VM_ACCOUNT). */
function accountableMapping(file: OpenFile | null, flags: number): boolean {
  return (flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE && !(file !== null && (flags & VM_HUGETLB) !== 0);
}

let shmemIno = 1;

/** shmem_zero_setup(): shared anonymous memory is a fresh deleted shmem file. */
function shmemZeroSetup(pages: number): OpenFile {
  const inode = makeInode("/dev/zero", { dev: "00:01", ino: shmemIno++, size: pages * 4096, shmem: true, deleted: true });
  return openFile(inode, true, true);
}

/** mmapRegion()'s list of replaced VMAs when the range was free (shared, never written). */
const NOTHING_REPLACED: readonly Vma[] = [];

/**
 * __mmap_region(): replace whatever is in [addr, addr+len) with a new mapping, merging
 * it with its neighbours when they match. Returns the start page or a negative errno.
 */
export function mmapRegion(
  mm: Mm,
  file: OpenFile | null,
  addr: number,
  len: number,
  flags: number,
  flagsHi: number,
  pgoff: number,
): number {
  const end = addr + len;
  let replaced: readonly Vma[] = NOTHING_REPLACED;
  const first = mm.tree.findNext(addr);
  if (first !== null && first.start < end) {
    const up = sealCheckUpFront(mm, addr, end);
    if (up !== 0) return up;
    const r = gatherUnmap(mm, first, addr, end);
    if (typeof r === "number") return r;
    replaced = r;
  }
  let replacedPages = 0;
  let replacedAccounted = 0;
  for (const v of replaced) {
    replacedPages += v.pages;
    if ((v.flags & VM_ACCOUNT) !== 0) replacedAccounted += v.pages;
  }
  if (!mayExpandVm(mm, flags, len - replacedPages)) return -ENOMEM;
  if (accountableMapping(file, flags)) {
    flags |= VM_ACCOUNT;
    if (mm.cfg.overcommitMemory === 2 && len - replacedAccounted > 0) {
      // Strict overcommit is not modeled beyond the flag; the reference machine uses 0.
    }
  }
  completeUnmap(mm, replaced);
  // The filesystem's mmap hook runs after the old mappings are gone (their page tables
  // are already cleared, so a failure cannot bring them back): synchronous faults need
  // DAX, which no modeled file has.
  if (file !== null && !file.inode.shmem && !file.inode.zeroDevice && flags & VM_SYNC) return -EOPNOTSUPP;

  let shmemFile = file;
  if ((file === null || file.inode.zeroDevice) && (flags & VM_SHARED) !== 0) shmemFile = shmemZeroSetup(len);
  let vma: Vma | null = null;
  if (shmemFile === file) {
    vma = mergeNewRange(mm, { start: addr, end, flags, flagsHi, pgoff, file, anon: null, middle: null });
  }
  if (vma === null) {
    vma = new Vma(addr, end, flags, flagsHi, pgoff, shmemFile, null, false, null);
    mm.tree.insert(vma);
  }
  // __mmap_complete(): special, hugetlb and droppable mappings are never locked.
  if ((flags & VM_LOCKED) !== 0 && ((flags & (VM_SPECIAL | VM_HUGETLB)) !== 0 || (flagsHi & VMH_DROPPABLE) !== 0)) {
    mm.tree.replace(vma, vma.with({ flags: vma.flags & ~VM_LOCKED_MASK }));
  }
  return addr;
}

/** Which get_unmapped_area hook a new mapping goes through. */
function areaKindFor(file: OpenFile | null, flags: number, pgoff: U64): AreaOptions {
  if (file === null) return { kind: flags & MAP_SHARED ? "plain" : "anon" };
  if (file.inode.shmem) return { kind: "plain" };
  if (file.inode.zeroDevice && flags & MAP_SHARED) return { kind: "plain" };
  return { kind: "file", pgoff: typeof pgoff === "number" ? pgoff : Number.MAX_SAFE_INTEGER };
}

/** round_hint_to_min(). */
function roundHintToMin(mm: Mm, hint: U64): U64 {
  const h = typeof hint === "number" ? hint - (hint % 4096) : hint & ~4095n;
  if (h !== 0 && h !== 0n && clamp(h) < mm.cfg.mmapMinAddr) return Math.ceil(mm.cfg.mmapMinAddr / 4096) * 4096;
  return h;
}

/** Arguments of do_mmap() after ksys_mmap_pgoff(). */
interface MmapArgs {
  file: OpenFile | null;
  addr: U64;
  len: U64;
  prot: number;
  flags: number;
  /** Bits of flags above bit 31 (only MAP_SHARED_VALIDATE looks at them). */
  flagsHigh: boolean;
  /** Anonymous MAP_HUGETLB: pages per huge page (0 otherwise). */
  hugePages: number;
  pgoff: U64;
}

/** do_mmap(): returns the start page or a negative errno; `populate` is set on success. */
function doMmap(mm: Mm, a: MmapArgs, out: { populate: number }): number {
  let { prot, flags } = a;
  const file = a.file;
  if (a.len === 0) return -EINVAL;
  if (prot & PROT_READ && mm.personality & READ_IMPLIES_EXEC) {
    if (!file?.inode.noexec) prot |= PROT_EXEC;
  }
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  let addr = a.addr;
  if (!(flags & MAP_FIXED)) addr = roundHintToMin(mm, addr);
  const lenBytes = pageAlign(a.len);
  if (lenBytes === 0) return -ENOMEM;
  const lenPages = typeof lenBytes === "number" ? lenBytes / 4096 : Number(toBigInt(lenBytes) >> 12n);
  // offset overflow? (pgoff + pages wrapping 2^64: only possible for huge offsets)
  if (typeof a.pgoff === "bigint" && a.pgoff + BigInt(lenPages) >= 1n << 64n) return -EOVERFLOW;
  if (mm.mapCount > mm.cfg.maxMapCount) return -ENOMEM;

  // __get_unmapped_area()
  const taskSize = mm.cfg.taskSize;
  if (lenPages > taskSize) return -ENOMEM;
  let page: number;
  if (flags & MAP_FIXED) {
    // hugetlb_get_unmapped_area(): a fixed address must be huge-page aligned.
    if (a.hugePages && (typeof addr === "bigint" ? addr % BigInt(a.hugePages * 4096) !== 0n : addr % (a.hugePages * 4096) !== 0))
      return -EINVAL;
    // The arch hook returns a fixed address as is, and __get_unmapped_area() then takes
    // any value in the last page of the address space for an error code (IS_ERR_VALUE).
    if (typeof addr === "bigint" && addr > (1n << 64n) - 4096n) return -Number((1n << 64n) - addr);
    const ab = clamp(addr);
    if (ab > (taskSize - lenPages) * 4096) return -ENOMEM;
    if (offsetInPage(addr) !== 0) return -EINVAL;
    const s = securityMmapAddr(mm, pageOf(addr));
    if (s < 0) return s;
    page = s;
  } else {
    const hint = Math.min(clamp(addr), 2 ** 60);
    const r = getUnmappedArea(mm, Math.floor(hint / 4096), lenPages, flags, areaKindFor(file, flags, a.pgoff));
    if (r < 0) return r;
    page = r;
  }
  if (flags & MAP_FIXED_NOREPLACE && mm.tree.intersects(page, page + lenPages)) return -EEXIST;

  let vmFlags = calcVmProtBits(prot) | calcVmFlagBits(mm, flags) | mm.defFlags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  let vmFlagsHi = 0;
  if (flags & MAP_LOCKED && !canDoMlock(mm)) return -EPERM;
  if (!mlockFutureOk(mm, vmFlags, lenPages)) return -EAGAIN;

  let pgoff: number;
  if (a.hugePages) {
    // The anonymous hugetlbfs file: file_mmap_ok(), its type rules, then the reservation.
    if (toBigInt(a.pgoff) > MAX_LFS_PAGES - BigInt(lenPages)) return -EOVERFLOW;
    const type = flags & MAP_TYPE;
    if (type === MAP_SHARED_VALIDATE && (flags & ~LEGACY_MAP_MASK || a.flagsHigh)) return -EOPNOTSUPP;
    if (type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE && type !== MAP_PRIVATE) return -EINVAL;
    if (vmFlags & VM_GROWSDOWN) return -EINVAL;
    // hugetlbfs_file_mmap() runs after a MAP_FIXED range was already cleared, so when it
    // fails (offset not huge-page aligned: EINVAL; no pages to reserve: ENOMEM) the old
    // mappings are gone all the same (observed, a stack VMA included).
    let hookError = 0;
    if (typeof a.pgoff === "bigint" || a.pgoff % a.hugePages !== 0) hookError = -EINVAL;
    else if (!(flags & MAP_NORESERVE) && mm.cfg.hugePagesFree < lenPages / a.hugePages) hookError = -ENOMEM;
    if (hookError !== 0) {
      if (flags & MAP_FIXED) {
        const err = unmapRange(mm, page, page + lenPages);
        if (err) return err;
      }
      return hookError;
    }
    throw new Unsupported("a MAP_HUGETLB mapping that the kernel would create (hugetlbfs VMAs are not modeled)");
  }
  if (file !== null) {
    const inode = file.inode;
    // file_mmap_ok(): offset + length within the largest file size (MAX_LFS_FILESIZE).
    if (toBigInt(a.pgoff) > MAX_LFS_PAGES - BigInt(lenPages)) return -EOVERFLOW;
    pgoff = Number(a.pgoff);
    let type = flags & MAP_TYPE;
    let f = flags;
    if (type === MAP_SHARED) {
      f &= LEGACY_MAP_MASK;
      type = MAP_SHARED_VALIDATE;
    }
    if (type === MAP_SHARED_VALIDATE) {
      // Regular files here (ext4) declare FOP_MMAP_SYNC: MAP_SYNC passes validation and
      // is refused later by the filesystem's own hook, unless the file is DAX.
      const flagsMask = (LEGACY_MAP_MASK | (inode.regular ? MAP_SYNC : 0)) >>> 0;
      if ((f & ~flagsMask) !== 0 || (a.flagsHigh && (flags & MAP_TYPE) === MAP_SHARED_VALIDATE)) return -EOPNOTSUPP;
      if (prot & PROT_WRITE && !file.writable) return -EACCES;
      // An append-only file cannot be mapped shared through a writable descriptor.
      if (inode.appendOnly && file.writable) return -EACCES;
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      if (!file.writable) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
      type = MAP_PRIVATE;
    }
    if (type !== MAP_PRIVATE) return -EINVAL;
    if (!file.readable) return -EACCES;
    if (inode.noexec) {
      if (vmFlags & VM_EXEC) return -EPERM;
      vmFlags &= ~VM_MAYEXEC;
    }
    if (!inode.regular && !inode.shmem && !inode.zeroDevice) return -ENODEV;
    if (vmFlags & VM_GROWSDOWN) return -EINVAL;
    // memfd_check_seals_mmap(): write seals of a memfd (fs/memfd.ts).
    if (inode.seals !== undefined || inode.hugetlb) {
      const r = memfdCheckSealsMmap(inode, vmFlags);
      if ("errno" in r) return -r.errno;
      vmFlags = r.flags;
    }
  } else {
    switch (flags & MAP_TYPE) {
      case MAP_SHARED:
        if (vmFlags & VM_GROWSDOWN) return -EINVAL;
        pgoff = 0;
        vmFlags |= VM_SHARED | VM_MAYSHARE;
        break;
      case MAP_DROPPABLE:
        if (flags & (MAP_LOCKED | MAP_HUGETLB)) return -EINVAL;
        if (vmFlags & VM_GROWSDOWN) return -EINVAL;
        vmFlagsHi |= VMH_DROPPABLE;
        vmFlags |= VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP;
        pgoff = page;
        break;
      case MAP_PRIVATE:
        pgoff = page;
        break;
      default:
        return -EINVAL;
    }
  }
  if (flags & MAP_NORESERVE && mm.cfg.overcommitMemory !== 2) vmFlags |= VM_NORESERVE;

  const r = mmapRegion(mm, file, page, lenPages, vmFlags, vmFlagsHi, pgoff);
  if (r < 0) return r;
  // Decided on the requested flags: a droppable VMA loses VM_LOCKED but is still populated.
  if (vmFlags & VM_LOCKED || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE) {
    out.populate = lenPages;
  }
  return page;
}

/** mmap(addr, len, prot, flags, fd, off): the mapping's address in bytes or a negative errno. */
export function sysMmap(mm: Mm, files: FdTable, addr: U64, len: U64, protArg: U64, flagsArg: U64, fd: U64, off: U64): number {
  if (offsetInPage(off) !== 0) return -EINVAL;
  const flags = toUint32(flagsArg);
  const flagsHigh = typeof flagsArg === "bigint" || flagsArg >= 2 ** 32;
  const prot = toUint32(protArg);
  let file: OpenFile | null = null;
  if (!(flags & MAP_ANONYMOUS)) {
    file = files.get(toInt32(fd) >>> 0 === toInt32(fd) ? toInt32(fd) : -1);
    if (file === null) return -EBADF;
    if (flags & MAP_HUGETLB) return -EINVAL;
  }
  let hugePages = 0;
  let length = len;
  if (flags & MAP_ANONYMOUS && flags & MAP_HUGETLB) {
    // hstate_sizelog(): the default (2 MiB) or a requested size; len is rounded up to it.
    const shift = (flags >>> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    if (shift !== 0 && shift !== 21 && shift !== 30) return -EINVAL;
    hugePages = shift === 30 ? 262144 : 512;
    const unit = hugePages * 4096;
    length = typeof len === "number" ? Math.ceil(len / unit) * unit : (len + BigInt(unit - 1)) & ~BigInt(unit - 1) & ((1n << 64n) - 1n);
    if (typeof length === "bigint" && length < 2n ** 53n) length = Number(length);
  }
  const pgoff = typeof off === "number" ? off / 4096 : off >> 12n;
  const out = { populate: 0 };
  const page = doMmap(
    mm,
    {
      file,
      addr,
      len: length,
      prot,
      flags,
      flagsHigh,
      hugePages,
      pgoff: typeof pgoff === "bigint" && pgoff < 2n ** 53n ? Number(pgoff) : pgoff,
    },
    out,
  );
  if (page < 0) return page;
  if (out.populate > 0) populateRange(mm, page, page + out.populate, true);
  return page * 4096;
}

// memfd_create(2) and file seals (mm/memfd.c: sanitize_flags, alloc_name, memfd_alloc_file,
// memfd_add_seals, memfd_get_seals, memfd_check_seals_mmap), fcntl(2)'s descriptor and seal
// commands (fs/fcntl.c do_fcntl), and ftruncate(2) (fs/open.c do_ftruncate, mm/shmem.c
// shmem_setattr, mm/truncate.c truncate_pagecache).
//
// A memfd is a shmem file: maps shows it as `/memfd:NAME (deleted)` on the shmem device
// 00:01; its pages are shared by every mapping of it (the inode's page cache), so what one
// mapping writes another reads.

import type { Mm } from "../mm/mm.js";
import type { Process } from "../task/process.js";
import { copyFromUser } from "../task/uaccess.js";
import { EBADF, EBUSY, EFAULT, EINVAL, ENODEV, EPERM } from "../uapi/errno.js";
import { toInt32, toUint32, type U64 } from "../uapi/u64.js";
import { VM_LOCKED, VM_MAYWRITE, VM_SHARED, VM_WRITE } from "../uapi/vmflags.js";
import { Unsupported } from "../unsupported.js";
import { type Inode, makeInode, type OpenFile, openFile } from "./file.js";

export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;
export const MFD_HUGETLB = 0x4;
export const MFD_NOEXEC_SEAL = 0x8;
export const MFD_EXEC = 0x10;
const MFD_ALL_FLAGS = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
const MFD_HUGE_SHIFT = 26;
const MFD_HUGE_MASK = 0x3f;
/** NAME_MAX − strlen("memfd:"). */
export const MFD_NAME_MAX_LEN = 249;

export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;
export const F_SEAL_FUTURE_WRITE = 0x10;
export const F_SEAL_EXEC = 0x20;
const F_ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

export const F_GETFD = 1;
export const F_SETFD = 2;
export const FD_CLOEXEC = 1;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;

/** Huge page sizes (log2 bytes) this machine has hstates for (/sys/kernel/mm/hugepages). */
const HUGE_PAGE_SHIFTS = [21, 30];

let memfdIno = 1;

/** sanitize_flags() with the reference machine's vm.memfd_noexec = 0: the flags to use, or −errno. */
function sanitizeFlags(flags: number): number {
  const allowed = flags & MFD_HUGETLB ? MFD_ALL_FLAGS | (MFD_HUGE_MASK << MFD_HUGE_SHIFT) : MFD_ALL_FLAGS;
  if ((flags & ~allowed) !== 0) return -EINVAL;
  if (flags & MFD_EXEC && flags & MFD_NOEXEC_SEAL) return -EINVAL;
  // check_sysctl_memfd_noexec(): scope 0 makes an unspecified memfd executable.
  if ((flags & (MFD_EXEC | MFD_NOEXEC_SEAL)) === 0) flags |= MFD_EXEC;
  return flags >>> 0;
}

/** alloc_name(): "memfd:" + the user's string, or −EFAULT / −EINVAL (longer than 249 bytes). */
function allocName(mm: Mm, addr: U64): string | number {
  if (typeof addr === "bigint") return -EFAULT;
  const chars: number[] = [];
  for (let i = 0; i <= MFD_NAME_MAX_LEN; i++) {
    const b = copyFromUser(mm, addr + i, 1);
    if (b === null) return -EFAULT;
    if (b[0] === 0) return `memfd:${String.fromCharCode(...chars)}`;
    chars.push(b[0] as number);
  }
  return -EINVAL;
}

/**
 * memfd_alloc_file(): a shmem file (or, with MFD_HUGETLB, a hugetlbfs one) of size 0 whose
 * seals start as F_SEAL_SEAL unless sealing was allowed; MFD_NOEXEC_SEAL drops the exec bits
 * and seals F_SEAL_EXEC. Returns the open file (read-write) or −errno.
 */
export function memfdAllocFile(name: string, flags: number): OpenFile | number {
  if (flags & MFD_HUGETLB) {
    const log = (flags >>> MFD_HUGE_SHIFT) & MFD_HUGE_MASK;
    if (log !== 0 && !HUGE_PAGE_SHIFTS.includes(log)) return -ENODEV;
  }
  const noexec = (flags & MFD_NOEXEC_SEAL) !== 0;
  const inode = makeInode(`/${name}`, {
    dev: "00:01",
    ino: memfdIno++,
    size: 0,
    shmem: (flags & MFD_HUGETLB) === 0,
    deleted: true,
    mode: noexec ? 0o100666 : 0o100777,
  });
  inode.contentKnown = true;
  if (flags & MFD_HUGETLB) inode.hugetlb = true;
  let seals = F_SEAL_SEAL;
  if (noexec) seals = (seals & ~F_SEAL_SEAL) | F_SEAL_EXEC;
  else if (flags & MFD_ALLOW_SEALING) seals &= ~F_SEAL_SEAL;
  inode.seals = seals;
  return openFile(inode, true, true);
}

/** memfd_create(name, flags): a new descriptor or −errno. */
export function sysMemfdCreate(p: Process, nameArg: U64, flagsArg: U64): number {
  const flags = sanitizeFlags(toUint32(flagsArg));
  if (flags < 0) return flags;
  const name = allocName(p.mm, nameArg);
  if (typeof name === "number") return name;
  return installMemfd(p, name, flags);
}

/**
 * memfd_create() for an engine that has the name as a string (a strace log prints it):
 * the same checks and result as the syscall, without reading the name from user memory.
 */
export function memfdCreateNamed(p: Process, name: string, flagsArg: number): number {
  const flags = sanitizeFlags(flagsArg >>> 0);
  if (flags < 0) return flags;
  if (name.length > MFD_NAME_MAX_LEN) return -EINVAL;
  return installMemfd(p, `memfd:${name}`, flags);
}

function installMemfd(p: Process, name: string, flags: number): number {
  const f = memfdAllocFile(name, flags);
  if (typeof f === "number") return f;
  return p.files.install(f, 0, (flags & MFD_CLOEXEC) !== 0);
}

// ---------------------------------------------------------------------------------------------
// Seals.

/** mapping_writably_mapped(): some VMA maps the file shared and may write it (VM_SHARED|VM_MAYWRITE). */
function mappingWritablyMapped(p: Process, inode: Inode): boolean {
  for (const mm of p.liveMms()) {
    let found = false;
    mm.tree.forEach((v) => {
      if (v.file?.inode === inode && (v.flags & (VM_SHARED | VM_MAYWRITE)) === (VM_SHARED | VM_MAYWRITE)) found = true;
    });
    if (found) return true;
  }
  return false;
}

/** memfd_add_seals(). */
function memfdAddSeals(p: Process, file: OpenFile, seals: number): number {
  if (!file.writable) return -EPERM;
  if ((seals & ~F_ALL_SEALS) !== 0) return -EINVAL;
  const inode = file.inode;
  if (inode.seals === undefined) return -EINVAL;
  if (inode.seals & F_SEAL_SEAL) return -EPERM;
  // F_SEAL_EXEC on an executable memfd implies the write seals (W^X from the start); since
  // "memfd: deny writeable mappings when implying SEAL_WRITE" they are checked like asked ones.
  if (seals & F_SEAL_EXEC && inode.mode & 0o111) seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
  // mapping_deny_writable(): no shared writable mapping may exist (read-only shared
  // mappings made through a writable descriptor count: they keep VM_MAYWRITE).
  if (seals & F_SEAL_WRITE && !(inode.seals & F_SEAL_WRITE) && mappingWritablyMapped(p, inode)) return -EBUSY;
  inode.seals |= seals;
  return 0;
}

/** memfd_check_seals_mmap(): a write-sealed file refuses shared writable mappings and keeps shared read-only ones from becoming writable. */
export function memfdCheckSealsMmap(inode: Inode, vmFlags: number): { flags: number } | { errno: number } {
  if (inode.hugetlb) throw new Unsupported("a mapping of a MFD_HUGETLB memfd (hugetlbfs VMAs are not modeled)");
  const seals = inode.seals ?? 0;
  if ((seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) === 0 || (vmFlags & VM_SHARED) === 0) return { flags: vmFlags };
  if (vmFlags & VM_WRITE) return { errno: EPERM };
  return { flags: vmFlags & ~VM_MAYWRITE };
}

/** fcntl(fd, cmd, arg): descriptor flags and seals; other commands are not modeled. */
export function sysFcntl(p: Process, fdArg: U64, cmdArg: U64, arg: U64): number {
  const fd = toInt32(fdArg);
  const file = fd >= 0 ? p.files.get(fd) : null;
  if (file === null) return -EBADF;
  const cmd = toUint32(cmdArg);
  switch (cmd) {
    case F_GETFD:
      return p.files.isCloseOnExec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
      p.files.setCloseOnExec(fd, (toUint32(arg) & FD_CLOEXEC) !== 0);
      return 0;
    case F_ADD_SEALS:
      if (typeof arg === "bigint" || arg > 0xffffffff) return -EINVAL;
      return memfdAddSeals(p, file, arg);
    case F_GET_SEALS:
      return file.inode.seals ?? -EINVAL;
    default:
      throw new Unsupported(`fcntl command ${cmd} (only F_GETFD, F_SETFD, F_ADD_SEALS and F_GET_SEALS are modeled)`);
  }
}

// ---------------------------------------------------------------------------------------------
// ftruncate.

/**
 * truncate_pagecache(): pages at or beyond the new end are dropped from the page cache and
 * unmapped from every mapping of the file, private copies included (even_cows); the tail
 * of the last partial page reads as zeroes.
 */
function truncatePagecache(p: Process, inode: Inode, size: number): void {
  const keep = Math.ceil(size / 4096);
  for (const idx of [...inode.cache.keys()]) if (idx >= keep) inode.cache.delete(idx);
  const partial = size % 4096;
  const last = inode.cache.get(Math.floor(size / 4096));
  if (partial !== 0 && last?.data) last.data.fill(0, partial);
  for (const mm of p.liveMms()) {
    mm.tree.forEach((v) => {
      if (v.file?.inode !== inode) return;
      const from = Math.max(v.start, v.start + (keep - v.pgoff));
      if (from < v.end) mm.pt.zap(from, v.end, (v.flags & VM_LOCKED) !== 0);
    });
  }
}

/** ftruncate(fd, length): do_ftruncate() and the shmem seal checks of shmem_setattr(). */
export function sysFtruncate(p: Process, fdArg: U64, lenArg: U64): number {
  if (typeof lenArg === "bigint") return -EINVAL; // negative as off_t, or beyond any file
  const file = p.files.get(toInt32(fdArg));
  if (file === null || toInt32(fdArg) < 0) return -EBADF;
  const inode = file.inode;
  if (!inode.regular || !file.writable) return -EINVAL;
  if (inode.appendOnly) return -EPERM;
  const seals = inode.seals ?? 0;
  if ((lenArg < inode.size && seals & F_SEAL_SHRINK) || (lenArg > inode.size && seals & F_SEAL_GROW)) return -EPERM;
  if (inode.hugetlb) throw new Unsupported("ftruncate of a hugetlbfs memfd (huge page reservations are not modeled)");
  if (lenArg < inode.size) truncatePagecache(p, inode, lenArg);
  inode.size = lenArg;
  return 0;
}

// Access to another process's address space: process_vm_readv/writev
// (mm/process_vm_access.c), pidfd_open + process_madvise (kernel/pid.c, mm/madvise.c), and
// /proc/PID/mem (fs/proc/base.c mem_rw) — with the get_user_pages rules of mm/gup.c
// (check_vma_flags) that decide which remote pages each of them can reach.
//
// The difference that matters for sealing: process_vm_* pin pages WITHOUT FOLL_FORCE, so a
// remote write needs VM_WRITE; /proc/PID/mem uses FOLL_FORCE, so it writes read-only private
// pages (copy-on-write) — sealed ones included. mseal() protects the VMA's protection and
// placement, not the bytes: "the hole reviewers pointed out" (see sealedPageWriteHole()).

import { makeInode, type OpenFile, openFile } from "../fs/file.js";
import { CAP_SYS_NICE, CAP_SYS_PTRACE, type Creds, capable, capableIn, userNsOf } from "../mm/creds.js";
import { faultPage, zeroPageRead } from "../mm/fault.js";
import { sysMadvise } from "../mm/madvise.js";
import type { Mm } from "../mm/mm.js";
import type { AnonFrame } from "../mm/pages.js";
import { expandStackFor } from "../mm/stack.js";
import type { Vma } from "../mm/vma.js";
import { EACCES, EBADF, EFAULT, EINVAL, EIO, EPERM, ESRCH } from "../uapi/errno.js";
import { MADV_COLD, MADV_COLLAPSE, MADV_PAGEOUT, MADV_WILLNEED } from "../uapi/mman.js";
import { toInt32, toUint32, type U64 } from "../uapi/u64.js";
import { VM_EXEC, VM_HUGETLB, VM_IO, VM_MAYREAD, VM_MAYWRITE, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from "../uapi/vmflags.js";
import { Unsupported } from "../unsupported.js";
import type { Process } from "./process.js";

const PAGE = 4096;
/** UIO_MAXIOV. */
export const IOV_MAX = 1024;
/** MAX_RW_COUNT: INT_MAX rounded down to a page; longer transfers are cut to it. */
const MAX_RW_COUNT = 0x7ffff000;
/** PIDFD_SELF_THREAD / PIDFD_SELF_THREAD_GROUP (include/uapi/linux/pidfd.h). */
export const PIDFD_SELF_THREAD = -10000;
export const PIDFD_SELF_THREAD_GROUP = -10001;
/** PIDFD_NONBLOCK (O_NONBLOCK) and PIDFD_THREAD (O_EXCL). */
const PIDFD_NONBLOCK = 0o4000;
const PIDFD_THREAD = 0o200;
/** The highest address a user pointer can name; anything above is never mapped. */
const USER_LIMIT = 2 ** 53;

// ---------------------------------------------------------------------------------------------
// Page reachability.

/** Bytes of `page` the model does not know (special-mapping pages, on-disk file contents). */
function contentsUnknown(mm: Mm, v: Vma, page: number): boolean {
  return pinnedUnknown(pinnedOf(mm, v, page));
}

function readBytes(mm: Mm, v: Vma, page: number, from: number, out: Uint8Array, at: number, n: number): void {
  if (contentsUnknown(mm, v, page)) throw unknownBytes(v, page);
  const data = mm.pt.get(page)?.frame.data ?? null;
  if (data === null) out.fill(0, at, at + n);
  else out.set(data.subarray(from, from + n), at);
}

/** Store `src` at `off` of a present page that was just faulted for writing (writeByte(), a page at a time). */
function writeBytes(mm: Mm, page: number, off: number, src: Uint8Array): void {
  writeIntoFrame((mm.pt.get(page) as NonNullable<ReturnType<typeof mm.pt.get>>).frame, off, src);
}

/** Store `src` at `off` of a frame (a frame of zeroes gets its bytes only when they are not all zero). */
function writeIntoFrame(frame: { data: Uint8Array | null }, off: number, src: Uint8Array): void {
  if (frame.data === null) {
    if (src.every((b) => b === 0)) return;
    frame.data = new Uint8Array(PAGE);
  }
  frame.data.set(src, off);
}

/**
 * A page pinned by GUP: the physical page at pin time (null: the zero page, or nothing
 * the model records), whatever later happens to the PTE. A copy reads and writes the
 * pinned page itself, so a copy within one process whose source and destination are the
 * same physical page sees its own earlier bytes, and one whose destination is COW-broken
 * or newly faulted meanwhile does not.
 */
interface Pinned {
  readonly frame: { data: Uint8Array | null } | null;
  /** The frame is a private (anonymous) copy. */
  readonly anon: boolean;
  readonly vma: Vma;
  readonly page: number;
}

function pinnedOf(mm: Mm, vma: Vma, page: number): Pinned {
  const pte = mm.pt.get(page);
  return { frame: pte?.frame ?? null, anon: pte?.anon ?? false, vma, page };
}

/**
 * The frame a write into a pinned page goes to. A write pin always faults a page in; a
 * pinned page the model keeps no frame for cannot be written faithfully.
 */
function writableFrame(p: Pinned): { data: Uint8Array | null } {
  if (p.frame === null) throw new Unsupported(`a write into page 0x${p.page.toString(16)}, of which the model keeps no frame`);
  return p.frame;
}

/** contentsUnknown() of a pinned page. */
function pinnedUnknown(p: Pinned): boolean {
  const v = p.vma;
  if (p.frame !== null) return p.anon ? (p.frame as AnonFrame).unknown : v.file !== null && !v.file.inode.contentKnown;
  if (v.special !== null) return true;
  return v.file !== null && !v.isAnonymous && !v.file.inode.contentKnown;
}

function unknownBytes(v: Vma, page: number): Unsupported {
  return new Unsupported(
    `the bytes of ${v.special?.name ?? v.file?.inode.path ?? "a page"} at page 0x${page.toString(16)} are not known to the model`,
  );
}

/**
 * Copy `n` bytes from `src` (at `srcOff`) to `dst` (at `dstOff`) as the kernel's forward
 * copy (rep movsb) does: byte by byte in ascending order when both are the same physical
 * page, so an overlapping copy repeats the bytes it has already written.
 */
function copyFrames(src: Pinned["frame"], srcOff: number, dst: { data: Uint8Array | null }, dstOff: number, n: number): void {
  if (src === dst) {
    const d = dst.data;
    if (d === null) return; // zeroes onto zeroes
    for (let i = 0; i < n; i++) d[dstOff + i] = d[srcOff + i] as number;
    return;
  }
  const s = src?.data ?? null;
  if (s === null) {
    if (dst.data !== null) dst.data.fill(0, dstOff, dstOff + n);
    return;
  }
  if (dst.data === null) dst.data = new Uint8Array(PAGE);
  dst.data.set(s.subarray(srcOff, srcOff + n), dstOff);
}

/**
 * The caller's own page for a kernel copy (copy_to_user / copy_from_user): the fault
 * handler runs and may grow the stack; reads need any of R/W/X, writes VM_WRITE. Null: the
 * copy stops here.
 */
function localPage(mm: Mm, page: number, write: boolean): Vma | null {
  const vma = mm.tree.find(page) ?? expandStackFor(mm, page);
  if (vma === null || mm.pt.guards.has(page)) return null;
  if (write ? (vma.flags & VM_WRITE) === 0 : (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0) return null;
  return faultPage(mm, vma, page, write);
}

/** is_cow_mapping(): private and allowed to become writable. */
function isCowMapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** check_vma_flags(): may get_user_pages reach this VMA for this access? */
export function gupVmaAllowed(vma: Vma, write: boolean, force: boolean): boolean {
  const f = vma.flags;
  if ((f & (VM_IO | VM_PFNMAP)) !== 0) return false;
  if (write) {
    if ((f & VM_WRITE) !== 0) return true;
    // FOLL_FORCE may write a read-only page only by copying it (never shared or hugetlb).
    return force && (f & VM_HUGETLB) === 0 && isCowMapping(f);
  }
  if ((f & VM_READ) !== 0) return true;
  return force && (f & VM_MAYREAD) !== 0;
}

/**
 * __get_user_pages() for one page of another address space: the VMA backing it after the
 * fault, or null (EFAULT). GUP never grows a stack. A forced write breaks COW into a private
 * page and leaves the VMA's protection as it was.
 */
function remotePage(mm: Mm, page: number, write: boolean, force: boolean, mayRetry = true): Vma | null {
  const vma = mm.tree.find(page);
  if (vma === null || mm.pt.guards.has(page) || !gupVmaAllowed(vma, write, force)) return null;
  // Reading never-written anonymous memory finds the zero page: nothing to fault in.
  if (!write && vma.isAnonymous && mm.pt.get(page) === undefined) return zeroPageRead(mm, vma, page);
  return faultPage(mm, vma, page, write, mayRetry);
}

/** Split [addr, addr+len) into per-page pieces, stopping where `reach` says no. */
function eachPage(addr: number, len: number, reach: (page: number, off: number, at: number, n: number) => boolean): number {
  let done = 0;
  while (done < len) {
    const pos = addr + done;
    if (pos >= USER_LIMIT) return done;
    const page = Math.floor(pos / PAGE);
    const n = Math.min(len - done, (page + 1) * PAGE - pos);
    if (!reach(page, pos - page * PAGE, done, n)) return done;
    done += n;
  }
  return done;
}

/**
 * __access_remote_vm() for one page: GUP, and where no VMA covers the page, expand_stack()
 * and GUP again — unlike GUP itself, /proc/PID/mem grows a VM_GROWSDOWN VMA.
 */
function accessRemotePage(mm: Mm, page: number, write: boolean, force: boolean): Vma | null {
  // get_user_page_vma_remote(): no `locked` pointer, so its faults are never retried.
  const v = remotePage(mm, page, write, force, false);
  if (v !== null || mm.tree.find(page) !== null) return v;
  return expandStackFor(mm, page) === null ? null : remotePage(mm, page, write, force, false);
}

/** access_remote_vm() read: the bytes of `mm` before the first page GUP cannot reach. */
export function remoteRead(mm: Mm, addr: number, len: number, force: boolean): Uint8Array {
  const out = new Uint8Array(len);
  const n = eachPage(addr, len, (page, off, at, n) => {
    const v = accessRemotePage(mm, page, false, force);
    if (v === null) return false;
    readBytes(mm, v, page, off, out, at, n);
    return true;
  });
  return out.subarray(0, n);
}

/** access_remote_vm() write: how many bytes went into `mm` before the first unreachable page. */
export function remoteWrite(mm: Mm, addr: number, bytes: Uint8Array, force: boolean): number {
  return eachPage(addr, bytes.length, (page, off, at, n) => {
    if (accessRemotePage(mm, page, true, force) === null) return false;
    writeBytes(mm, page, off, bytes.subarray(at, at + n));
    return true;
  });
}

/** copy_from_user() that reports a short copy: the bytes before the first fault. */
function localRead(mm: Mm, addr: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  const n = eachPage(addr, len, (page, off, at, n) => {
    const v = localPage(mm, page, false);
    if (v === null) return false;
    readBytes(mm, v, page, off, out, at, n);
    return true;
  });
  return out.subarray(0, n);
}

// ---------------------------------------------------------------------------------------------
// Permissions.

/**
 * __ptrace_may_access() + cap_ptrace_access_check(): may `caller` inspect `target`? Same
 * thread group always; the same uid with no more capabilities than the caller (in the same
 * user namespace); or CAP_SYS_PTRACE over the target's user namespace. (The dumpable flag
 * is not modeled: every modeled task is dumpable.)
 */
export function ptraceMayAccess(caller: Process, target: Process): boolean {
  if (caller.tgid === target.tgid) return true;
  const c: Creds = caller.creds;
  const t: Creds = target.creds;
  const targetNs = userNsOf(t);
  if (capableIn(c, targetNs, CAP_SYS_PTRACE)) return true;
  const sameUid = (c.kuid ?? c.uid) === (t.kuid ?? t.uid);
  const sameNs = userNsOf(c).id === targetNs.id;
  return sameUid && sameNs && (t.caps & ~c.caps) === 0n;
}

/** mm_access(): the target's mm, or −EACCES when the caller may not look at it, −ESRCH without one. */
function mmAccess(caller: Process, target: Process): Mm | number {
  if (target.exited) return -ESRCH;
  if (target.mm !== caller.mm && !ptraceMayAccess(caller, target)) return -EACCES;
  return target.mm;
}

// ---------------------------------------------------------------------------------------------
// iovec arrays.

interface Iovec {
  base: number;
  len: number;
}

/** TASK_SIZE_MAX, x86_64 USER_PTR_MAX without LAM: access_ok() accepts ranges ending at or below it. */
const USER_PTR_MAX = 2 ** 47 - PAGE;

/** x86 __access_ok(ptr, size) for a size not known at compile time: ptr + size ≤ USER_PTR_MAX, no wrap. */
function accessOk(base: bigint, len: bigint): boolean {
  const sum = base + len;
  return sum < 1n << 64n && sum <= BigInt(USER_PTR_MAX);
}

/**
 * copy_iovec_from_user(): the raw (base, len) words of an iovec array, or −EFAULT / −EINVAL.
 * user_access_begin() checks the whole array's range; then entry by entry, so a negative
 * length (EINVAL) before an unreadable entry (EFAULT) wins, and the other way round.
 */
function readIovecWords(mm: Mm, addr: U64, count: number): Array<[bigint, bigint]> | number {
  if (count === 0) return [];
  if (typeof addr === "bigint" || !accessOk(BigInt(addr), BigInt(count * 16))) return -EFAULT;
  const out: Array<[bigint, bigint]> = [];
  for (let i = 0; i < count; i++) {
    const b = localRead(mm, addr + i * 16, 16);
    if (b.length < 16) return -EFAULT;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const w: [bigint, bigint] = [dv.getBigUint64(0, true), dv.getBigUint64(8, true)];
    if (w[1] >= 1n << 63n) return -EINVAL;
    out.push(w);
  }
  return out;
}

function toIovec(w: [bigint, bigint], len: bigint): Iovec {
  return { base: Number(w[0] < BigInt(USER_LIMIT) ? w[0] : BigInt(USER_LIMIT)), len: Number(len) };
}

/** import_iovec(): count ≤ UIO_MAXIOV, no negative length, access_ok, total cut at MAX_RW_COUNT. */
function importIovec(mm: Mm, addr: U64, countArg: U64): Iovec[] | number {
  if (typeof countArg === "bigint" || countArg > IOV_MAX) return -EINVAL;
  const words = readIovecWords(mm, addr, countArg);
  if (typeof words === "number") return words;
  return importIovecWords(words);
}

/**
 * __import_iovec() after the copy: no negative length (copy_iovec_from_user checked every
 * entry first), then per entry access_ok() (EFAULT) and the cut at MAX_RW_COUNT. One
 * iovec goes through import_ubuf(), which cuts the length before access_ok().
 */
function importIovecWords(words: Array<[bigint, bigint]>): Iovec[] | number {
  if (words.some((w) => w[1] >= 1n << 63n)) return -EINVAL;
  let total = 0n;
  const out: Iovec[] = [];
  const single = words.length === 1;
  for (const w of words) {
    let len = w[1];
    if (single && len > BigInt(MAX_RW_COUNT)) len = BigInt(MAX_RW_COUNT);
    if (!accessOk(w[0], len)) return -EFAULT;
    if (len > BigInt(MAX_RW_COUNT) - total) len = BigInt(MAX_RW_COUNT) - total;
    total += len;
    out.push(toIovec(w, len));
  }
  return out;
}

/** iovec_from_user(): the remote vector; count ≤ UIO_MAXIOV and no negative length. */
function remoteIovec(mm: Mm, addr: U64, countArg: U64): Iovec[] | number {
  if (typeof countArg === "bigint" || countArg > IOV_MAX) return -EINVAL;
  const words = readIovecWords(mm, addr, countArg);
  if (typeof words === "number") return words;
  return remoteIovecWords(words);
}

/** iovec_from_user() after the copy: no negative length. */
function remoteIovecWords(words: Array<[bigint, bigint]>): Iovec[] | number {
  const out: Iovec[] = [];
  for (const w of words) {
    if (w[1] >= 1n << 63n) return -EINVAL;
    out.push(toIovec(w, w[1] > BigInt(USER_LIMIT) ? BigInt(USER_LIMIT) : w[1]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// process_vm_readv / process_vm_writev.

/** The caller's side of a transfer: where the next byte goes to or comes from. */
interface LocalSide {
  readonly remaining: number;
  /**
   * Move up to `n` bytes between the local side and the pinned page at `off` (to the local
   * side when `toLocal`): copy_page_to_iter / copy_page_from_iter. Returns how many moved;
   * fewer than asked means a local fault.
   */
  transferPinned(mm: Mm, pinned: Pinned, off: number, n: number, toLocal: boolean): number;
}

/** The local iovecs as one stream: where the next byte of the transfer goes or comes from. */
class LocalIter implements LocalSide {
  private i = 0;
  private off = 0;
  constructor(private readonly iov: Iovec[]) {}

  get remaining(): number {
    let n = 0;
    for (let k = this.i; k < this.iov.length; k++) n += (this.iov[k] as Iovec).len - (k === this.i ? this.off : 0);
    return n;
  }

  transferPinned(mm: Mm, pinned: Pinned, off: number, n: number, toLocal: boolean): number {
    let moved = 0;
    while (moved < n && this.i < this.iov.length) {
      const v = this.iov[this.i] as Iovec;
      const chunk = Math.min(n - moved, v.len - this.off);
      if (chunk === 0) {
        this.i++;
        this.off = 0;
        continue;
      }
      const done = moved;
      const got = eachPage(v.base + this.off, chunk, (page, pageOff, at, k) => {
        const lv = localPage(mm, page, toLocal);
        if (lv === null) return false;
        if (toLocal) {
          if (pinnedUnknown(pinned)) throw unknownBytes(pinned.vma, pinned.page);
          copyFrames(pinned.frame, off + done + at, (mm.pt.get(page) as NonNullable<ReturnType<typeof mm.pt.get>>).frame, pageOff, k);
        } else {
          if (contentsUnknown(mm, lv, page)) throw unknownBytes(lv, page);
          copyFrames(mm.pt.get(page)?.frame ?? null, pageOff, writableFrame(pinned), off + done + at, k);
        }
        return true;
      });
      moved += got;
      this.off += got;
      if (got < chunk) return moved;
    }
    return moved;
  }
}

/**
 * Local buffers an engine knows only by their lengths (a replayed log): assumed valid, so
 * copies never fault. Reads are discarded; writes take `data` (the bytes the program wrote,
 * when known), else zeroes that the target marks as unknown (see markUnknown()).
 */
class AssumedLocal implements LocalSide {
  private done = 0;
  constructor(
    private readonly total: number,
    private readonly data: Uint8Array | null,
  ) {}

  get remaining(): number {
    return this.total - this.done;
  }

  transferPinned(_mm: Mm, pinned: Pinned, off: number, n: number, toLocal: boolean): number {
    const k = Math.min(n, this.remaining);
    if (!toLocal && k > 0) {
      writeIntoFrame(writableFrame(pinned), off, this.data === null ? new Uint8Array(k) : this.data.subarray(this.done, this.done + k));
      if (this.data === null) markUnknown(pinned);
    }
    this.done += k;
    return k;
  }
}

/** The bytes just written into a pinned page are not known: a private copy says so, a shared file forgets its contents. */
function markUnknown(p: Pinned): void {
  if (p.anon) (p.frame as AnonFrame).unknown = true;
  else if (p.vma.file !== null) p.vma.file.inode.contentKnown = false;
}

/** process_vm_rw_core(): move bytes between the caller's iovecs and the target's. */
function processVmRwCore(p: Process, pidArg: U64, local: LocalSide, remote: Iovec[], write: boolean): number {
  if (!remote.some((r) => r.len > 0)) return 0;
  const pid = toInt32(pidArg);
  const target = pid > 0 ? p.tasks.lookup(pid) : null;
  if (target === null) return -ESRCH;
  const mm = mmAccess(p, target);
  if (typeof mm === "number") return mm === -EACCES ? -EPERM : mm;
  const total = local.remaining;
  let rc = 0;
  for (const r of remote) {
    if (local.remaining === 0 || rc !== 0) break;
    rc = processVmRwSingleVec(p.mm, mm, r, local, write);
  }
  const moved = total - local.remaining;
  return moved > 0 ? moved : rc;
}

/** PVM_MAX_KMALLOC_PAGES / sizeof(struct page *): pages pinned per round. */
const PVM_PAGES_PER_LOOP = (2 * PAGE) / 8;

/**
 * process_vm_rw_single_vec(): one remote iovec in rounds of up to 1024 pages. Each round
 * pins (faults in) every page of the round it can reach — however few bytes the local side
 * will take — then copies (process_vm_rw_pages). Nothing pinned: −EFAULT; a short local
 * copy: −EFAULT after the bytes that moved.
 */
function processVmRwSingleVec(localMm: Mm, mm: Mm, r: Iovec, local: LocalSide, write: boolean): number {
  if (r.len === 0) return 0;
  let pa = Math.floor(r.base / PAGE);
  let offset = r.base - pa * PAGE;
  // From the offset in the page: base + len is not exact near 2^53 (the stand-in for "beyond").
  let nrPages = Math.floor((offset + r.len - 1) / PAGE) + 1;
  let len = r.len;
  let rc = 0;
  while (rc === 0 && nrPages > 0 && local.remaining > 0) {
    const pinned = pinRemotePages(mm, pa, Math.min(nrPages, PVM_PAGES_PER_LOOP), write);
    if (pinned.length === 0) return -EFAULT;
    const bytes = Math.min(pinned.length * PAGE - offset, len);
    rc = processVmRwPages(localMm, pinned, offset, bytes, local, write);
    len -= bytes;
    offset = 0;
    nrPages -= pinned.length;
    pa += pinned.length;
  }
  return rc;
}

/** pin_user_pages_remote() without FOLL_FORCE: the first pages from `page` that GUP reaches. */
function pinRemotePages(mm: Mm, page: number, count: number, write: boolean): Pinned[] {
  const out: Pinned[] = [];
  for (let k = 0; k < count; k++) {
    if ((page + k) * PAGE >= USER_LIMIT) break;
    const v = remotePage(mm, page + k, write, false);
    if (v === null) break;
    out.push(pinnedOf(mm, v, page + k));
  }
  return out;
}

/** process_vm_rw_pages(): copy between the pinned pages and the local side; −EFAULT on a short local copy. */
function processVmRwPages(localMm: Mm, pinned: Pinned[], offset: number, len: number, local: LocalSide, write: boolean): number {
  let k = 0;
  while (len > 0 && local.remaining > 0) {
    const n = Math.min(PAGE - offset, len);
    const copied = local.transferPinned(localMm, pinned[k] as Pinned, offset, n, !write);
    len -= copied;
    if (copied < n && local.remaining > 0) return -EFAULT;
    offset = 0;
    k++;
  }
  return 0;
}

/** process_vm_rw(): flags, then the local vector, then (if it moves anything) the remote one. */
function processVmRw(p: Process, a: U64[], write: boolean): number {
  const [pid, lvec, liovcnt, rvec, riovcnt, flags] = a as [U64, U64, U64, U64, U64, U64];
  if (flags !== 0) return -EINVAL;
  const local = importIovec(p.mm, lvec, liovcnt);
  if (typeof local === "number") return local;
  const iter = new LocalIter(local);
  if (iter.remaining === 0) return 0;
  const remote = remoteIovec(p.mm, rvec, riovcnt);
  if (typeof remote === "number") return remote;
  return processVmRwCore(p, pid, iter, remote, write);
}

/** One iovec as the two words the program passed (iov_base, iov_len). */
export interface IovecWords {
  base: bigint;
  len: bigint;
}

/**
 * process_vm_readv/writev for an engine that has the vectors as values (a replayed strace
 * log prints the remote vector and the local lengths, not the local addresses): the same
 * checks in the same order as process_vm_rw(), with the caller's local buffers ASSUMED
 * VALID (no local fault). `data` (writev): the bytes written when known; null writes
 * bytes the target's pages then mark as unknown. A count above UIO_MAXIOV is EINVAL as in
 * the syscall; the vectors' own readability is the caller's to decide.
 */
export function processVmRwAssumingLocal(
  p: Process,
  pid: U64,
  local: IovecWords[],
  remote: IovecWords[],
  flags: U64,
  write: boolean,
  data: Uint8Array | null,
): number {
  if (flags !== 0) return -EINVAL;
  if (local.length > IOV_MAX) return -EINVAL;
  const l = importIovecWords(local.map((w) => [w.base, w.len]));
  if (typeof l === "number") return l;
  const side = new AssumedLocal(
    l.reduce((n, v) => n + v.len, 0),
    data,
  );
  if (side.remaining === 0) return 0;
  if (remote.length > IOV_MAX) return -EINVAL;
  const r = remoteIovecWords(remote.map((w) => [w.base, w.len]));
  if (typeof r === "number") return r;
  return processVmRwCore(p, pid, side, r, write);
}

/**
 * process_vm_readv/writev with both vectors as values and the local buffers in the caller's
 * modeled memory (a failed call's log prints the local addresses too): process_vm_rw()
 * after its two copies of the vectors, local faults included.
 */
export function processVmRwValues(p: Process, pid: U64, local: IovecWords[], remote: IovecWords[], flags: U64, write: boolean): number {
  if (flags !== 0) return -EINVAL;
  if (local.length > IOV_MAX) return -EINVAL;
  const l = importIovecWords(local.map((w) => [w.base, w.len]));
  if (typeof l === "number") return l;
  const iter = new LocalIter(l);
  if (iter.remaining === 0) return 0;
  if (remote.length > IOV_MAX) return -EINVAL;
  const r = remoteIovecWords(remote.map((w) => [w.base, w.len]));
  if (typeof r === "number") return r;
  return processVmRwCore(p, pid, iter, r, write);
}

/** process_vm_readv(pid, local_iov, liovcnt, remote_iov, riovcnt, flags). */
export function sysProcessVmReadv(p: Process, a: U64[]): number {
  return processVmRw(p, a, false);
}

/** process_vm_writev(pid, local_iov, liovcnt, remote_iov, riovcnt, flags). */
export function sysProcessVmWritev(p: Process, a: U64[]): number {
  return processVmRw(p, a, true);
}

// ---------------------------------------------------------------------------------------------
// pidfd_open and process_madvise.

/** pidfd_open(pid, flags): a close-on-exec pidfd (anon_inode:[pidfd]). */
export function sysPidfdOpen(p: Process, pidArg: U64, flagsArg: U64): number {
  if (typeof flagsArg === "bigint" || (flagsArg & ~(PIDFD_NONBLOCK | PIDFD_THREAD)) !== 0) return -EINVAL;
  const pid = toInt32(pidArg);
  if (pid <= 0) return -EINVAL;
  const target = p.tasks.lookup(pid);
  if (target === null) return -ESRCH;
  if (target.tgid !== target.pid && (flagsArg & PIDFD_THREAD) === 0) {
    throw new Unsupported("pidfd_open of a thread that is not a thread-group leader without PIDFD_THREAD (not verified)");
  }
  return p.files.install(pidfdFile(pid), 0, true);
}

let pidfdIno = 1;

function pidfdFile(pid: number): OpenFile {
  // anon_inodefs is SB_I_NOEXEC: an executable mapping of any anon inode is EPERM (observed).
  const inode = makeInode("anon_inode:[pidfd]", { dev: "00:0f", ino: pidfdIno++, size: 0, regular: false, noexec: true, mode: 0o600 });
  inode.pidfd = pid;
  return openFile(inode, true, true);
}

/** pidfd_get_task(): the task a pidfd (or PIDFD_SELF_*) names, or −EBADF / −ESRCH. */
function pidfdGetTask(p: Process, fd: number): Process | number {
  if (fd === PIDFD_SELF_THREAD || fd === PIDFD_SELF_THREAD_GROUP) return p;
  const f = fd >= 0 ? p.files.get(fd) : null;
  if (f === null || f.inode.pidfd === undefined) return -EBADF;
  return p.tasks.lookup(f.inode.pidfd) ?? -ESRCH;
}

/** process_madvise_remote_valid(): the advice another process may give. */
function remoteAdviceValid(advice: number): boolean {
  return advice === MADV_COLD || advice === MADV_PAGEOUT || advice === MADV_WILLNEED || advice === MADV_COLLAPSE;
}

/** process_madvise(pidfd, vec, vlen, advice, flags): bytes of iovecs fully advised, or the first error. */
export function sysProcessMadvise(p: Process, a: U64[]): number {
  const [pidfd, vec, vlen, adviceArg, flags] = a as [U64, U64, U64, U64, U64];
  if (toUint32(flags) !== 0) return -EINVAL;
  const iov = importIovec(p.mm, vec, vlen);
  if (typeof iov === "number") return iov;
  return processMadviseIov(p, pidfd, iov, adviceArg);
}

/**
 * process_madvise() with the vector given as values (a replayed strace log prints it in
 * full): the same checks after import_iovec() as the syscall.
 */
export function processMadviseValues(p: Process, pidfd: U64, vec: IovecWords[], advice: U64, flags: U64): number {
  if (toUint32(flags) !== 0) return -EINVAL;
  if (vec.length > IOV_MAX) return -EINVAL;
  const iov = importIovecWords(vec.map((w) => [w.base, w.len]));
  if (typeof iov === "number") return iov;
  return processMadviseIov(p, pidfd, iov, advice);
}

/** process_madvise() after import_iovec(): the target, the advice, vector_madvise(). */
function processMadviseIov(p: Process, pidfd: U64, iov: Iovec[], adviceArg: U64): number {
  const target = pidfdGetTask(p, toInt32(pidfd));
  if (typeof target === "number") return target;
  const mm = mmAccess(p, target);
  if (typeof mm === "number") return mm;
  const advice = toInt32(adviceArg);
  if (mm !== p.mm && !remoteAdviceValid(advice)) return -EINVAL;
  if (mm !== p.mm && !capable(p.creds, CAP_SYS_NICE)) return -EPERM;
  return vectorMadvise(mm, iov, advice);
}

/** vector_madvise(): each iovec as one madvise(); stop at the first error. */
function vectorMadvise(mm: Mm, iov: Iovec[], advice: number): number {
  const total = iov.reduce((n, v) => n + v.len, 0);
  let remaining = total;
  let ret = 0;
  for (const [k, v] of iov.entries()) {
    // The loop runs while iov_iter_count() > 0, starting at iovec 0 even when it is empty
    // (madvise_should_skip: EINVAL if unaligned); iov_iter_advance() then steps over every
    // empty iovec, so no later empty one is ever looked at.
    if (remaining === 0) break;
    if (v.len === 0 && k > 0) continue;
    ret = sysMadvise(mm, v.base, v.len, advice);
    if (ret < 0) break;
    remaining -= v.len;
  }
  return total - remaining > 0 ? total - remaining : ret;
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/mem.

/** What a /proc/PID/mem read or write returned. */
export type ProcMemResult = { ok: true; bytes: number; data: Uint8Array } | { ok: false; errno: number };

/**
 * proc_mem_open() + mem_rw(): open /proc/TARGET/mem as `caller` (PTRACE_MODE_ATTACH, EACCES
 * when refused), then read or write at `addr` in page-sized chunks through
 * access_remote_vm() with FOLL_FORCE (proc_mem.force_override=always, the default): bytes
 * up to the first unreachable page, EIO when not even the first one could be reached.
 */
export function procMemAccess(caller: Process, target: Process, addr: U64, len: number, data: Uint8Array | null): ProcMemResult {
  const mm = mmAccess(caller, target);
  if (typeof mm === "number") return { ok: false, errno: -mm };
  // rw_verify_area(): a negative file position.
  if (typeof addr === "bigint" && addr >= 1n << 63n) return { ok: false, errno: EINVAL };
  if (len === 0) return { ok: true, bytes: 0, data: new Uint8Array(0) };
  const start = typeof addr === "bigint" ? USER_LIMIT : addr;
  if (data !== null) {
    const n = remoteWrite(mm, start, data.subarray(0, len), true);
    return n > 0 ? { ok: true, bytes: n, data: data.subarray(0, n) } : { ok: false, errno: EIO };
  }
  const out = remoteRead(mm, start, len, true);
  return out.length > 0 ? { ok: true, bytes: out.length, data: out } : { ok: false, errno: EIO };
}

/**
 * The hole reviewers pointed out: a page sealed with mseal() (read-only, private) is still
 * written through /proc/PID/mem, because FOLL_FORCE breaks COW regardless of the seal —
 * while process_vm_writev (no FOLL_FORCE) is refused. Returns what each path does to the
 * first page at `addr` of `target` (writing `byte`), for scenarios and reports.
 */
export function sealedPageWriteHole(
  caller: Process,
  target: Process,
  addr: number,
  byte: number,
): { sealed: boolean; procMem: ProcMemResult; processVmWritev: "written" | "EFAULT"; after: number | null } {
  const vma = target.mm.tree.find(Math.floor(addr / PAGE));
  const sealed = vma?.sealed ?? false;
  const viaVm = vma !== null && gupVmaAllowed(vma, true, false) ? "written" : "EFAULT";
  const procMem = procMemAccess(caller, target, addr, 1, new Uint8Array([byte]));
  const back = remoteRead(target.mm, addr, 1, true);
  return { sealed, procMem, processVmWritev: viaVm, after: back.length === 1 ? (back[0] as number) : null };
}

// System V shared memory: ipc/shm.c (ksys_shmget → ipcget → newseg / shm_more_checks,
// do_shmat, ksys_shmdt, shmctl_down → do_shm_rmid) and ipc/util.c (ipcperms, ipc_findkey).
//
// A segment is a shmem file named `SYSV%08x` (the key) on the internal shm mount (device
// 00:01), always unlinked: every attach shows in maps as `/SYSV<key> (deleted)`. Each shmat
// maps a fresh clone of the segment's file (its own open file description), so two attaches
// never merge. The segment lives while it is attached, even after IPC_RMID.
//
// Approximations: shm_nattch is counted from the VMAs that map the segment (the kernel
// counts the same thing through shm_open/shm_close); group permissions are not modeled
// (owner or other bits only); the size limit of the shmem accounting depends on the
// machine's memory, so very large segments are Unsupported rather than guessed.

import { FdTable } from "../fs/fdtable.js";
import { type Inode, makeInode, openFile } from "../fs/file.js";
import { CAP_SYS_ADMIN, capableIn, userNsOf } from "../mm/creds.js";
import type { Mm } from "../mm/mm.js";
import { sysMmap } from "../mm/mmap.js";
import { unmapRange } from "../mm/munmap.js";
import type { Vma } from "../mm/vma.js";
import type { Process, TaskLookup } from "../task/process.js";
import { EACCES, EEXIST, EINVAL, ENOENT, ENOMEM, ENOSPC, EPERM } from "../uapi/errno.js";
import { MAP_FIXED, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE } from "../uapi/mman.js";
import { toInt32, toUint32, type U64 } from "../uapi/u64.js";
import { Unsupported } from "../unsupported.js";

export const IPC_PRIVATE = 0;
export const IPC_CREAT = 0o1000;
export const IPC_EXCL = 0o2000;
export const IPC_RMID = 0;
export const SHM_RDONLY = 0o10000;
export const SHM_RND = 0o20000;
export const SHM_REMAP = 0o40000;
export const SHM_EXEC = 0o100000;
export const SHM_HUGETLB = 0o4000;
export const SHM_NORESERVE = 0o10000;
const SHM_HUGE_SHIFT = 26;
const SHM_HUGE_MASK = 0x3f;
/** SHMLBA on x86: one page. */
const SHMLBA = 4096;
/** SHMMAX / SHMALL defaults: ULONG_MAX − 2^24 (bytes / pages). */
const SHMMAX = (1n << 64n) - (1n << 24n);
/** SHMMNI: at most this many segments. */
const SHMMNI = 4096;
/** IPCMNI_SHIFT: an id is seq << 15 | index. */
const IPCMNI_SHIFT = 15;
/** CAP_IPC_OWNER bypasses ipcperms(). */
const CAP_IPC_OWNER = 15;
/** Segments larger than this are Unsupported: their ENOMEM depends on the machine's RAM. */
const LARGEST_MODELED_SEGMENT = 1n << 30n;

/** struct shmid_kernel, as far as the model needs it. */
export interface ShmSegment {
  readonly id: number;
  /** shm_perm.key: IPC_PRIVATE after IPC_RMID (ipc_set_key_private). */
  key: number;
  /** shm_segsz in bytes (not rounded: shmat maps whole pages). */
  readonly size: number;
  /** The shmem file every attach clones. */
  readonly inode: Inode;
  /** shm_perm.mode & 0777. */
  readonly mode: number;
  readonly uid: number;
  /** SHM_DEST: IPC_RMID was called; destroyed when the last attach goes. */
  dest: boolean;
}

/** struct ipc_namespace's shm part: one per kernel (every task here shares it). */
export class IpcNamespace {
  readonly segments = new Map<number, ShmSegment>();
  private seq = 0;

  /** ipc_idr_alloc(): the lowest free index, tagged with the allocation sequence. */
  allocId(): number {
    const used = new Set([...this.segments.keys()].map((id) => id & ((1 << IPCMNI_SHIFT) - 1)));
    let idx = 0;
    while (used.has(idx)) idx++;
    if (idx >= SHMMNI) return -ENOSPC;
    return (this.seq++ % 65536) * 2 ** IPCMNI_SHIFT + idx;
  }
}

const namespaces = new WeakMap<TaskLookup, IpcNamespace>();

/** The IPC namespace of `p` (the kernel's: keyed by its task table). */
export function ipcNamespaceOf(p: Process): IpcNamespace {
  let ns = namespaces.get(p.tasks);
  if (ns === undefined) {
    ns = new IpcNamespace();
    namespaces.set(p.tasks, ns);
  }
  return ns;
}

/** VMAs of the segment's file anywhere (shm_nattch). */
function nattch(p: Process, seg: ShmSegment): number {
  let n = 0;
  for (const mm of p.liveMms()) {
    mm.tree.forEach((v) => {
      if (v.file?.inode === seg.inode) n++;
    });
  }
  return n;
}

/** shm_obtain_object_check(): a live segment, or null (EINVAL). A removed segment whose last attach is gone is destroyed here (shm_destroy). */
function obtain(p: Process, id: number): ShmSegment | null {
  const ns = ipcNamespaceOf(p);
  const seg = ns.segments.get(id) ?? null;
  if (seg?.dest && nattch(p, seg) === 0) {
    ns.segments.delete(id);
    return null;
  }
  return seg;
}

/** ipcperms(): may `p` use the segment with the access bits `requested` (rwx as 0o7 triplets)? */
function ipcperms(p: Process, seg: ShmSegment, flag: number): boolean {
  const requested = ((flag >> 6) | (flag >> 3) | flag) & 0o7;
  const granted = (p.creds.kuid ?? p.creds.uid) === seg.uid ? seg.mode >> 6 : seg.mode;
  if ((requested & ~granted & 0o7) === 0) return true;
  return capableIn(p.creds, userNsOf(p.creds), CAP_IPC_OWNER);
}

/** newseg(): create a segment of `size` bytes. */
function newseg(p: Process, key: number, size: bigint, shmflg: number): number {
  if (size < 1n || size > SHMMAX) return -EINVAL;
  const numpages = (size + 4095n) >> 12n;
  if (numpages << 12n < size) return -ENOSPC;
  if (shmflg & SHM_HUGETLB) {
    const log = (shmflg >>> SHM_HUGE_SHIFT) & SHM_HUGE_MASK;
    if (log !== 0 && log !== 21 && log !== 30) return -EINVAL;
    const hugePages = Number((size + (1n << BigInt(log || 21)) - 1n) >> BigInt(log || 21));
    const p0 = p.mm;
    if (!(shmflg & SHM_NORESERVE) && (log === 0 || log === 21) && p0.cfg.hugePagesFree < hugePages) return -ENOMEM;
    throw new Unsupported("a SHM_HUGETLB segment the kernel would create (hugetlbfs is not modeled)");
  }
  if (size > LARGEST_MODELED_SEGMENT) {
    throw new Unsupported(`a ${size}-byte SysV segment: whether shmem accounting allows it depends on the machine's memory`);
  }
  const ns = ipcNamespaceOf(p);
  const id = ns.allocId();
  if (id < 0) return id;
  const name = `/SYSV${(key >>> 0).toString(16).padStart(8, "0")}`;
  const inode = makeInode(name, { dev: "00:01", ino: 0x8000 + id, size: Number(size), shmem: true, deleted: true });
  inode.shm = { id };
  ns.segments.set(id, { id, key, size: Number(size), inode, mode: shmflg & 0o777, uid: p.creds.kuid ?? p.creds.uid, dest: false });
  return id;
}

/** shmget(key, size, shmflg): ipcget() — a new private segment, or find/create by key. */
export function sysShmget(p: Process, keyArg: U64, sizeArg: U64, flagArg: U64): number {
  const key = toInt32(keyArg);
  const size = typeof sizeArg === "bigint" ? sizeArg : BigInt(sizeArg);
  const shmflg = toInt32(flagArg);
  if (key === IPC_PRIVATE) return newseg(p, key, size, shmflg);
  const ns = ipcNamespaceOf(p);
  let seg: ShmSegment | null = null;
  for (const s of ns.segments.values()) if (s.key === key && obtain(p, s.id) !== null) seg = s;
  if (seg === null) return shmflg & IPC_CREAT ? newseg(p, key, size, shmflg) : -ENOENT;
  if (shmflg & IPC_CREAT && shmflg & IPC_EXCL) return -EEXIST;
  // shm_more_checks(), then ipc_check_perms().
  if (BigInt(seg.size) < size) return -EINVAL;
  if (!ipcperms(p, seg, shmflg)) return -EACCES;
  return seg.id;
}

/** do_shmat(): attach the segment; the address, or −errno. */
export function sysShmat(p: Process, idArg: U64, addrArg: U64, flagArg: U64): number {
  const shmid = toInt32(idArg);
  const shmflg = toInt32(flagArg);
  if (shmid < 0) return -EINVAL;
  if (typeof addrArg === "bigint") return -EINVAL; // not a user address (do_mmap would refuse it too)
  let addr = addrArg;
  let flags = MAP_SHARED;
  if (addr !== 0) {
    if (addr % SHMLBA !== 0) {
      if (!(shmflg & SHM_RND)) return -EINVAL;
      addr -= addr % SHMLBA;
      if (addr === 0 && shmflg & SHM_REMAP) return -EINVAL;
    }
    flags |= MAP_FIXED;
  } else if (shmflg & SHM_REMAP) return -EINVAL;
  let prot = shmflg & SHM_RDONLY ? PROT_READ : PROT_READ | PROT_WRITE;
  let acc = shmflg & SHM_RDONLY ? 0o444 : 0o666;
  if (shmflg & SHM_EXEC) {
    prot |= PROT_EXEC;
    acc |= 0o111;
  }
  const seg = obtain(p, shmid);
  if (seg === null) return -EINVAL;
  if (!ipcperms(p, seg, acc)) return -EACCES;
  if (addr !== 0 && !(shmflg & SHM_REMAP)) {
    const end = addr + seg.size;
    if (p.mm.tree.intersects(Math.floor(addr / 4096), Math.ceil(end / 4096))) return -EINVAL;
  }
  // alloc_file_clone(): a new open file description for this attach.
  const clone = openFile(seg.inode, true, (shmflg & SHM_RDONLY) === 0);
  const table = new FdTable();
  const fd = table.install(clone);
  return sysMmap(p.enter(), table, addr, seg.size, prot, flags, fd, 0);
}

/** A VMA of a shm segment whose offset matches its distance from `addr` (a fragment of the attach at `addr`). */
function attachedAt(v: Vma, addrPage: number): boolean {
  return v.file?.inode.shm !== undefined && v.start >= addrPage && v.start - addrPage === v.pgoff;
}

/**
 * ksys_shmdt(): find the first shm VMA that starts its segment at `addr`, unmap it, then
 * every fragment of the same attach within the segment's size. munmap errors are ignored:
 * over a sealed mapping shmdt returns 0 and the mapping stays.
 */
export function sysShmdt(p: Process, addrArg: U64): number {
  if (typeof addrArg === "bigint") return -EINVAL;
  if (addrArg % 4096 !== 0) return -EINVAL;
  const mm = p.enter();
  const addrPage = addrArg / 4096;
  let vma = mm.tree.findNext(addrPage);
  let file = null;
  let sizePages = 0;
  let ret = -EINVAL;
  while (vma !== null) {
    const next = mm.tree.next(vma);
    if (attachedAt(vma, addrPage)) {
      file = vma.file;
      sizePages = Math.ceil((vma.file?.inode.size ?? 0) / 4096);
      unmapWhole(mm, vma);
      ret = 0;
      vma = next === null ? null : mm.tree.findNext(next.start);
      break;
    }
    vma = next === null ? null : mm.tree.findNext(next.start);
  }
  while (vma !== null && vma.end - addrPage <= sizePages) {
    const next = mm.tree.next(vma);
    if (attachedAt(vma, addrPage) && vma.file === file) unmapWhole(mm, vma);
    vma = next === null ? null : mm.tree.findNext(next.start);
  }
  return ret;
}

/** do_vma_munmap() of a whole VMA, its error ignored as ksys_shmdt() does. */
function unmapWhole(mm: Mm, v: Vma): void {
  unmapRange(mm, v.start, v.end);
}

/** shmctl(shmid, cmd, buf): IPC_RMID (shmctl_down → do_shm_rmid); other commands are not modeled. */
export function sysShmctl(p: Process, idArg: U64, cmdArg: U64, _buf: U64): number {
  const shmid = toInt32(idArg);
  const cmd = toInt32(cmdArg);
  if (cmd < 0 || shmid < 0) return -EINVAL;
  if (cmd !== IPC_RMID) throw new Unsupported(`shmctl command ${toUint32(cmdArg)} (only IPC_RMID is modeled)`);
  const seg = obtain(p, shmid);
  if (seg === null) return -EINVAL;
  // ipcctl_obtain_check(): the owner, or CAP_SYS_ADMIN over the namespace.
  if ((p.creds.kuid ?? p.creds.uid) !== seg.uid && !capableIn(p.creds, userNsOf(p.creds), CAP_SYS_ADMIN)) return -EPERM;
  const ns = ipcNamespaceOf(p);
  if (nattch(p, seg) === 0) ns.segments.delete(shmid);
  else {
    seg.dest = true;
    seg.key = IPC_PRIVATE;
  }
  return 0;
}

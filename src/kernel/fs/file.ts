// Just enough VFS for mappings: an inode (what maps prints: device, inode number, path)
// and an open file description (`struct file`), whose identity decides VMA merges.

/** A large folio of the page cache: file pages [start, start + pages), naturally aligned. */
export interface Folio {
  readonly start: number;
  readonly pages: number;
}

/** A page-cache page or a shmem page: contents shared by every mapping of the file. */
export interface CacheFrame {
  data: Uint8Array | null; // null: all zeroes
  /** Written through a shared mapping since it was read in: reclaim cannot just drop it. */
  dirty?: boolean;
  /** The large folio the page was read in as (absent: a folio of its own). */
  folio?: Folio;
  /** PTEs mapping this page in every modeled process (folio_mapcount(); absent: none). */
  mapped?: number;
  /** folio->mlock_count (absent: 0): the page is mlocked while it is above 0. */
  mlockCount?: number;
}

export interface Inode {
  readonly dev: string; // "fe:00"
  readonly ino: number;
  readonly path: string;
  /** File size in bytes (page faults beyond it raise SIGBUS). */
  size: number;
  readonly regular: boolean;
  readonly noexec: boolean;
  /** Shared anonymous memory (shmem "/dev/zero (deleted)"): offsets are per object. */
  readonly shmem: boolean;
  /**
   * The /dev/zero character device: a private mapping of it is anonymous memory that
   * still names the device (mmap_zero(): vma_set_anonymous() keeps vm_file); a shared
   * one becomes shmem.
   */
  readonly zeroDevice: boolean;
  /**
   * The model knows the file's bytes: it was created or truncated by the program (so it
   * reads as zeroes until written), or it is shmem or /dev/zero. Other files' bytes are
   * on disk, which the model does not read.
   */
  contentKnown: boolean;
  readonly deleted: boolean;
  /** st_mode: type and permission bits (S_IFREG|0644 unless the resolver says otherwise). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** The file's bytes on disk, when the engine supplied a reader (see FileFacts.read). */
  readonly read: ((offset: number, length: number) => Uint8Array) | null;
  /** Page cache: file page index → frame. */
  readonly cache: Map<number, CacheFrame>;
  /** S_APPEND (chattr +a): shared mappings through a writable open file are refused. */
  appendOnly?: boolean;
  /**
   * memfd_file_seals_ptr(): F_SEAL_* bits of a file that can carry seals (shmem and
   * hugetlbfs files; see fs/memfd.ts). Absent: fcntl(F_ADD_SEALS) is EINVAL.
   */
  seals?: number;
  /** A hugetlbfs file (memfd_create(MFD_HUGETLB)): its mappings are not modeled. */
  hugetlb?: boolean;
  /** The file of a SysV shm segment (its VMAs have shm_vm_ops; see ipc/shm.ts). */
  shm?: { readonly id: number };
  /** A pidfd (anon_inode:[pidfd]): the pid it refers to (see task/remote.ts). */
  pidfd?: number;
}

/**
 * An open file description. Two mmaps of one inode through separately opened fds never
 * merge; through a dup'ed fd they do — so identity of this object matters, not the inode.
 */
export interface OpenFile {
  readonly id: number;
  readonly inode: Inode;
  readonly readable: boolean; // FMODE_READ
  readonly writable: boolean; // FMODE_WRITE
}

let nextFileId = 1;

export function openFile(inode: Inode, readable: boolean, writable: boolean): OpenFile {
  return { id: nextFileId++, inode, readable, writable };
}

export function makeInode(
  path: string,
  opts: {
    dev?: string;
    ino: number;
    size: number;
    regular?: boolean;
    noexec?: boolean;
    shmem?: boolean;
    deleted?: boolean;
    zeroDevice?: boolean;
    mode?: number;
    uid?: number;
    gid?: number;
    read?: (offset: number, length: number) => Uint8Array;
  },
): Inode {
  return {
    dev: opts.dev ?? "00:00",
    ino: opts.ino,
    path,
    size: opts.size,
    regular: opts.regular ?? true,
    noexec: opts.noexec ?? false,
    shmem: opts.shmem ?? false,
    zeroDevice: opts.zeroDevice ?? false,
    contentKnown: (opts.shmem ?? false) || (opts.zeroDevice ?? false),
    deleted: opts.deleted ?? false,
    mode: opts.mode ?? 0o100644,
    uid: opts.uid ?? 0,
    gid: opts.gid ?? 0,
    read: opts.read ?? null,
    cache: new Map(),
  };
}

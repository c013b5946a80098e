// Just enough of a filesystem for mappings: paths resolve to inodes, open() gives an open
// file description with an access mode. What a path is (device, inode number, size) comes
// from a resolver the engine supplies (the model itself does no I/O); unknown paths are
// ENOENT.

import { ENOENT } from "../uapi/errno.js";
import { type Inode, makeInode, type OpenFile, openFile } from "./file.js";

export interface FileFacts {
  dev: string;
  ino: number;
  size: number;
  regular?: boolean;
  noexec?: boolean;
  /** The path is the /dev/zero character device (1:5). */
  zeroDevice?: boolean;
  /** st_mode (type and permission bits); default a regular file, 0644. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** The inode is append-only (S_APPEND, chattr +a). */
  appendOnly?: boolean;
  /**
   * The file's bytes, read by the engine on demand (execve reads ELF headers and the
   * interpreter through this). Absent: the model cannot read the file (execve says so).
   */
  read?: (offset: number, length: number) => Uint8Array;
  /**
   * The path as /proc/PID/maps prints it (d_path: symlinks resolved), when it differs from
   * the one looked up. Paths resolving to the same path share one inode.
   */
  path?: string;
}

export type Resolver = (path: string) => FileFacts | null;

export const O_ACCMODE = 3;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;

export class Vfs {
  private readonly inodes = new Map<string, Inode>();
  /** Inodes by resolved path, so that a symlink and its target are one inode. */
  private readonly byRealPath = new Map<string, Inode>();

  constructor(private readonly resolver: Resolver = () => null) {}

  lookup(path: string): Inode | null {
    let inode = this.inodes.get(path);
    if (inode === undefined) {
      const facts = this.resolver(path);
      if (facts === null) return null;
      const known = this.byRealPath.get(facts.path ?? path);
      if (known !== undefined) {
        this.inodes.set(path, known);
        return known;
      }
      inode = makeInode(facts.path ?? path, {
        dev: facts.dev,
        ino: facts.ino,
        size: facts.size,
        regular: facts.regular ?? true,
        noexec: facts.noexec ?? false,
        zeroDevice: facts.zeroDevice ?? false,
        mode: facts.mode,
        uid: facts.uid,
        gid: facts.gid,
        read: facts.read,
      });
      if (facts.appendOnly) inode.appendOnly = true;
      this.inodes.set(path, inode);
      this.byRealPath.set(facts.path ?? path, inode);
    }
    return inode;
  }

  /** open(path, flags): an open file description, or a negative errno. */
  open(path: string, oflags: number): OpenFile | number {
    const inode = this.lookup(path);
    if (inode === null) return -ENOENT;
    const acc = oflags & O_ACCMODE;
    return openFile(inode, acc === O_RDONLY || acc === O_RDWR, acc === O_WRONLY || acc === O_RDWR);
  }

  /** Create or truncate `path` to `size` bytes (the executor's `open` with a size). */
  truncate(path: string, size: number): Inode | null {
    const inode = this.lookup(path);
    if (inode === null) return null;
    // O_TRUNC drops the whole page cache before the file is extended again.
    inode.size = size;
    inode.cache.clear();
    inode.contentKnown = true;
    return inode;
  }
}

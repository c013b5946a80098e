// A task's file descriptor table: fd → open file description. Allocation takes the
// lowest free number, as alloc_fd() does.

import type { OpenFile } from "./file.js";

export class FdTable {
  private readonly fds = new Map<number, OpenFile>();

  get(fd: number): OpenFile | null {
    return this.fds.get(fd) ?? null;
  }

  /** Install at the lowest free fd ≥ `from` (0..2 are usually stdio). */
  install(file: OpenFile, from = 0): number {
    let fd = from;
    while (this.fds.has(fd)) fd++;
    this.fds.set(fd, file);
    return fd;
  }

  installAt(fd: number, file: OpenFile): void {
    this.fds.set(fd, file);
  }

  close(fd: number): boolean {
    return this.fds.delete(fd);
  }

  clone(): FdTable {
    const t = new FdTable();
    for (const [fd, f] of this.fds) t.fds.set(fd, f);
    return t;
  }
}

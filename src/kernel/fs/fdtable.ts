// A task's file descriptor table: fd → open file description. Allocation takes the
// lowest free number, as alloc_fd() does.

import type { OpenFile } from "./file.js";

export class FdTable {
  private readonly fds = new Map<number, OpenFile>();
  /** Descriptors with FD_CLOEXEC (O_CLOEXEC, MFD_CLOEXEC): closed by execve. */
  private readonly cloexec = new Set<number>();

  get(fd: number): OpenFile | null {
    return this.fds.get(fd) ?? null;
  }

  /** Install at the lowest free fd ≥ `from` (0..2 are usually stdio). */
  install(file: OpenFile, from = 0, closeOnExec = false): number {
    let fd = from;
    while (this.fds.has(fd)) fd++;
    this.fds.set(fd, file);
    if (closeOnExec) this.cloexec.add(fd);
    return fd;
  }

  /** FD_CLOEXEC of an open descriptor (fcntl F_GETFD). */
  isCloseOnExec(fd: number): boolean {
    return this.cloexec.has(fd);
  }

  /** Set or clear FD_CLOEXEC (fcntl F_SETFD). */
  setCloseOnExec(fd: number, on: boolean): void {
    if (on) this.cloexec.add(fd);
    else this.cloexec.delete(fd);
  }

  /** do_close_on_exec(): execve closes every descriptor marked FD_CLOEXEC. */
  closeOnExec(): void {
    for (const fd of this.cloexec) this.fds.delete(fd);
    this.cloexec.clear();
  }

  installAt(fd: number, file: OpenFile): void {
    this.fds.set(fd, file);
  }

  close(fd: number): boolean {
    this.cloexec.delete(fd);
    return this.fds.delete(fd);
  }

  clone(): FdTable {
    const t = new FdTable();
    for (const [fd, f] of this.fds) t.fds.set(fd, f);
    for (const fd of this.cloexec) t.cloexec.add(fd);
    return t;
  }
}

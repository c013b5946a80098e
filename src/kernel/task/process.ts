// A process as far as the address space is concerned: pid, mm, fd table.

import { FdTable } from "../fs/fdtable.js";
import type { Mm } from "../mm/mm.js";

export class Process {
  readonly files: FdTable;
  constructor(
    readonly pid: number,
    public mm: Mm,
    files?: FdTable,
  ) {
    this.files = files ?? new FdTable();
  }
}

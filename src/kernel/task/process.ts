// A task as far as the address space is concerned (struct task_struct, the parts mm code
// reads): pid and thread-group id, parent, the mm it runs in, its fd table, credentials,
// resource limits, and the table of all tasks for calls that name another pid.
//
// Invariants:
// - `tgid === pid` for a thread-group leader; threads (CLONE_THREAD) carry the leader's tgid;
// - tasks of one thread group share one `mm`, one `rlimits` object (signal_struct) and,
//   with CLONE_FILES, one `files` table;
// - after exit() the task keeps its last `mm` for inspection but makes no more calls.

import { FdTable } from "../fs/fdtable.js";
import type { Creds } from "../mm/creds.js";
import type { Mm } from "../mm/mm.js";
import type { Rlimits } from "../mm/rlimits.js";

/** What a task can find about other tasks (find_task_by_vpid and the fork/exit paths). */
export interface TaskLookup {
  lookup(pid: number): Process | null;
  /** Live tasks of thread group `tgid` (/proc/PID/stat num_threads); absent: 1. */
  threadCount?(tgid: number): number;
  /** copy_process() (the kernel's task table implements it): child pid or −errno. */
  clone?(parent: Process, flags: number): number;
  /** do_exit() of one task. */
  exit?(p: Process): void;
  /** do_group_exit(). */
  exitGroup?(p: Process): void;
}

export class Process {
  readonly files: FdTable;
  /** Thread-group id (getpid()); equals pid for the leader. */
  tgid: number;
  /** Parent's tgid (getppid()); 0 for a task the model spawned from nothing. */
  ppid = 0;
  /** current_cred(): capabilities and user namespace. Copied at fork, replaced by setters. */
  creds: Creds;
  /** signal->rlim: shared by the thread group, copied at fork. */
  rlimits: Rlimits;
  /**
   * The task asked (before execve) to keep its next image's system mappings unsealed: the
   * modeled prctl of the `sysmap+prctl-optout` proposal. Inherited across fork, kept across
   * execve (it is a request for the next image).
   */
  optOutRequested = false;
  /** Set by exit(): the task is a zombie and has no mm. */
  exited = false;
  /** Every task of the kernel, for calls that name another pid. */
  tasks: TaskLookup;

  constructor(
    readonly pid: number,
    public mm: Mm,
    files?: FdTable,
    opts: { creds?: Creds; rlimits?: Rlimits; tgid?: number; tasks?: TaskLookup } = {},
  ) {
    this.files = files ?? new FdTable();
    this.creds = opts.creds ?? mm.creds;
    this.rlimits = opts.rlimits ?? mm.rlimits;
    this.tgid = opts.tgid ?? pid;
    this.tasks = opts.tasks ?? { lookup: (q) => (q === pid ? this : null) };
  }

  /** The task is the leader of its thread group. */
  get isLeader(): boolean {
    return this.tgid === this.pid;
  }

  /**
   * Make the mm see this task as `current`: mm code reads capabilities and rlimits from
   * mm.creds / mm.rlimits, which in the kernel are current_cred() and current->signal.
   * Called before every syscall the task makes.
   */
  enter(): Mm {
    this.mm.creds = this.creds;
    this.mm.rlimits = this.rlimits;
    this.mm.liveMms = this.liveMms;
    return this.mm;
  }

  /** The mm of every live task (this one's included), each once: the model's answer to "all mappings of a file". */
  readonly liveMms = (): readonly Mm[] => {
    const table = this.tasks as { live?: () => Process[] };
    const procs = typeof table.live === "function" ? table.live() : [this];
    return [...new Set(procs.map((q) => q.mm).concat(this.mm))];
  };
}

// The task list (kernel/fork.c copy_process/kernel_clone, kernel/exit.c do_exit and
// do_group_exit, fs/exec.c de_thread/exec_mmap): pids, thread groups, which tasks share an
// mm, and the model operations that create and end tasks.
//
// Invariants: pids are handed out in increasing order and never reused; a task that exited
// is no longer found by lookup() (it is reaped at once: the model has no wait()).

import { enterNewUserNs } from "../mm/creds.js";
import type { Mm } from "../mm/mm.js";
import { CLONE_FILES, CLONE_NEWUSER, CLONE_THREAD, CLONE_VM, cloneFlagsError } from "./clone.js";
import { exitMmap } from "./exit.js";
import { dupMm } from "./fork.js";
import { Process, type TaskLookup } from "./process.js";

export class TaskTable implements TaskLookup {
  private readonly procs = new Map<number, Process>();
  private nextPid: number;

  constructor(firstPid = 1000) {
    this.nextPid = firstPid;
  }

  /** find_task_by_vpid(): a live task, or null. */
  lookup(pid: number): Process | null {
    const p = this.procs.get(pid);
    return p === undefined || p.exited ? null : p;
  }

  /** Any task ever created, exited ones included (for inspection after exit). */
  get(pid: number): Process | null {
    return this.procs.get(pid) ?? null;
  }

  /** Every live task. */
  live(): Process[] {
    return [...this.procs.values()].filter((p) => !p.exited);
  }

  /** A new thread-group leader running in `mm` (spawn, execve of a new process). */
  add(mm: Mm, init: Pick<Process, "creds" | "rlimits"> & { ppid?: number }): Process {
    const p = new Process(this.nextPid++, mm, undefined, { creds: init.creds, rlimits: init.rlimits, tasks: this });
    p.ppid = init.ppid ?? 0;
    this.procs.set(p.pid, p);
    return p;
  }

  /** mm->mm_users: live tasks running in `mm`. */
  mmUsers(mm: Mm): number {
    let n = 0;
    for (const p of this.procs.values()) if (!p.exited && p.mm === mm) n++;
    return n;
  }

  /**
   * kernel_clone() → copy_process(): the child's pid, or −errno. Without CLONE_VM the child
   * gets a copy of the address space (dup_mm); with it, the same mm. CLONE_THREAD joins the
   * caller's thread group (shared rlimits); CLONE_FILES shares the fd table.
   */
  clone(parent: Process, flags: number): number {
    const err = cloneFlagsError(flags);
    if (err !== 0) return err;
    const mm = (flags & CLONE_VM) !== 0 ? parent.mm : dupMm(parent.mm);
    const files = (flags & CLONE_FILES) !== 0 ? parent.files : parent.files.clone();
    const thread = (flags & CLONE_THREAD) !== 0;
    const creds = (flags & CLONE_NEWUSER) !== 0 ? enterNewUserNs(parent.creds, 65534) : parent.creds;
    const child = new Process(this.nextPid++, mm, files, {
      creds,
      // signal_struct is shared by a thread group and copied for a new process.
      rlimits: thread ? parent.rlimits : { ...parent.rlimits },
      tgid: thread ? parent.tgid : undefined,
      tasks: this,
    });
    child.ppid = thread ? parent.ppid : parent.tgid;
    child.optOutRequested = parent.optOutRequested;
    this.procs.set(child.pid, child);
    return child.pid;
  }

  /** Live tasks of thread group `tgid`. */
  threadCount(tgid: number): number {
    let n = 0;
    for (const p of this.procs.values()) if (!p.exited && p.tgid === tgid) n++;
    return n;
  }

  /** The other live tasks of `p`'s thread group. */
  threadsOf(p: Process): Process[] {
    return this.live().filter((q) => q.tgid === p.tgid && q !== p);
  }

  /** exit_mm(): `p` stops using its mm; the last user tears it down. */
  private leaveMm(p: Process, mm: Mm): void {
    if (this.mmUsers(mm) === 0) exitMmap(mm);
    void p;
  }

  /** do_exit(): this task alone exits (exit(2), or a thread's end); its group goes on. */
  exit(p: Process): void {
    if (p.exited) return;
    p.exited = true;
    this.leaveMm(p, p.mm);
  }

  /** do_group_exit(): every task of `p`'s thread group exits. */
  exitGroup(p: Process): void {
    for (const q of [p, ...this.threadsOf(p)]) {
      if (q.exited) continue;
      q.exited = true;
      this.leaveMm(q, q.mm);
    }
  }

  /**
   * de_thread() + exec_mmap(): the thread group of `p` now runs in `mm` alone. Other threads
   * are killed; a non-leader caller takes over the leader's pid (the leader's Process object
   * carries on with the new image); the old mm is released.
   */
  replaceMm(p: Process, mm: Mm): Process {
    const leader = this.procs.get(p.tgid) ?? p;
    const old = p.mm;
    for (const q of this.threadsOf(p)) if (q !== leader) q.exited = true;
    if (leader !== p) {
      p.exited = true;
      leader.exited = false;
      leader.creds = p.creds;
      leader.optOutRequested = p.optOutRequested;
    }
    leader.mm = mm;
    this.leaveMm(leader, old);
    return leader;
  }
}

// /proc/PID/stat (fs/proc/array.c do_task_stat()): the 52 space-separated fields. The model
// knows the address-space ones — vsize (23), rss (24), start_code/end_code/start_stack
// (26-28), start_data … env_end (45-51) — and the task ones it keeps (pid, ppid, threads).
// Scheduling, timing, signal and tty fields are not modeled: they print as 0 (state "R"),
// which tests must not compare.

import type { Process } from "../task/process.js";

/** RLIM_INFINITY as /proc prints an unlimited rsslim (field 25). */
const RLIM_INFINITY = "18446744073709551615";

/** task->comm: the executable's basename, at most 15 bytes (TASK_COMM_LEN − 1). */
function comm(p: Process): string {
  const path = p.mm.exeFile?.inode.path ?? "";
  const base = path.slice(path.lastIndexOf("/") + 1);
  return (base === "" ? "aspace" : base).slice(0, 15);
}

/** The address-space fields of /proc/PID/stat, by field number (1-based), as do_task_stat() prints them. */
export function statMmFields(p: Process): Map<number, bigint> {
  const mm = p.mm;
  const f = new Map<number, bigint>();
  f.set(23, BigInt(mm.totalVm()) * 4096n);
  f.set(24, BigInt(mm.pt.size));
  f.set(26, BigInt(mm.startCode));
  f.set(27, BigInt(mm.endCode));
  f.set(28, BigInt(mm.startStack));
  f.set(45, BigInt(mm.startData));
  f.set(46, BigInt(mm.endData));
  f.set(47, BigInt(mm.startBrk));
  f.set(48, BigInt(mm.argStart));
  f.set(49, BigInt(mm.argEnd));
  f.set(50, BigInt(mm.envStart));
  f.set(51, BigInt(mm.envEnd));
  return f;
}

/** do_task_stat(): the whole line, as the task itself (permitted) reads it. */
export function procStat(p: Process): string {
  const mmf = statMmFields(p);
  const out: string[] = [];
  for (let n = 1; n <= 52; n++) {
    const v = mmf.get(n);
    if (v !== undefined) out.push(v.toString());
    else if (n === 1) out.push(String(p.pid));
    else if (n === 2) out.push(`(${comm(p)})`);
    else if (n === 3) out.push("R");
    else if (n === 4) out.push(String(p.ppid));
    else if (n === 5 || n === 6) out.push(String(p.tgid));
    else if (n === 18)
      out.push("20"); // priority of a nice-0 task
    else if (n === 20) out.push(String(p.tasks.threadCount?.(p.tgid) ?? 1));
    else if (n === 25) out.push(RLIM_INFINITY);
    else if (n === 38)
      out.push("17"); // exit_signal SIGCHLD
    else out.push("0");
  }
  return `${out.join(" ")}\n`;
}

// /proc/PID/stat (fs/proc/array.c do_task_stat) as the model prints it, against the live
// kernel: the mm fields right after execve of /usr/bin/true (native/execmaps via
// src/oracle/exec-live.ts, ASLR off), and after fork (the child's fields are the parent's).
import { describe, expect, it } from "vitest";
import { Kernel } from "../src/kernel/kernel.js";
import { statMmFields } from "../src/kernel/procfs/stat.js";
import type { Process } from "../src/kernel/task/process.js";
import { liveExec } from "../src/oracle/exec-live.js";
import { hostResolver } from "../src/oracle/host-files.js";

const TRUE = "/usr/bin/true";
const ARGV = [TRUE, "a", "bc"];
const ENV = ["PATH=/usr/bin", "X=1"];

/** Fields by number (1-based) from the model's stat line. */
function fields(text: string): string[] {
  const close = text.lastIndexOf(")");
  return [
    ...text
      .slice(0, close + 1)
      .split(" (")
      .map((s, i) => (i === 1 ? `(${s}` : s)),
    ...text
      .slice(close + 2)
      .trim()
      .split(" "),
  ];
}

describe("/proc/PID/stat", () => {
  const live = liveExec({ path: TRUE, argv: ARGV, envp: ENV });
  const k = new Kernel({ resolver: hostResolver() });
  const p = k.spawnExec(TRUE, ARGV, ENV) as Process;

  it("has 52 fields, comm in parentheses", () => {
    const f = fields(k.stat(p.pid));
    expect(f).toHaveLength(52);
    expect(f[1]).toBe("(true)");
    expect(f[0]).toBe(String(p.pid));
  });

  it("the mm fields after execve equal the live kernel's (26-28, 45-46, 47 start_brk, 48-51)", () => {
    expect(live.ok).toBe(true);
    if (!live.ok) return;
    const f = fields(k.stat(p.pid));
    const at = (n: number) => Number(f[n - 1]);
    expect({
      start_code: at(26),
      end_code: at(27),
      start_stack: at(28),
      start_data: at(45),
      end_data: at(46),
      start_brk: at(47),
      arg_start: at(48),
      arg_end: at(49),
      env_start: at(50),
      env_end: at(51),
    }).toEqual(live.stat);
  });

  it("a fork child shows the parent's mm fields and its parent's pid (from source: dup_mm copies the mm struct)", () => {
    const c = k.fork(p.pid);
    const layoutFields = (q: Process) => [...statMmFields(q)].filter(([n]) => n >= 26);
    expect(layoutFields(k.process(c))).toEqual(layoutFields(p));
    expect(fields(k.stat(c))[3]).toBe(String(p.pid));
  });

  it("num_threads (field 20) counts the live tasks of the thread group (from source: get_nr_threads)", () => {
    const q = k.spawnExec(TRUE, ARGV, ENV) as Process;
    expect(fields(k.stat(q.pid))[19]).toBe("1");
    const t = k.clone(q.pid, 0x100 | 0x800 | 0x10000);
    expect(fields(k.stat(q.pid))[19]).toBe("2");
    expect(fields(k.stat(t))[19]).toBe("2");
    k.exit(t);
    expect(fields(k.stat(q.pid))[19]).toBe("1");
  });
});

// spawnExec/execve through the exec loader (src/kernel/exec/execve.ts) over the real
// filesystem, and how they meet tasks, prctl and sealing policies. Expected values: the live
// kernel (native/probe-prctl: EBUSY while the exe is mapped), reference §3 and §9.2.
import { describe, expect, it } from "vitest";
import { type ExecFailure, Kernel } from "../src/kernel/kernel.js";
import { CLONE_SIGHAND, CLONE_THREAD, CLONE_VM } from "../src/kernel/task/clone.js";
import { encodeMmMap } from "../src/kernel/task/prctl.js";
import type { Process } from "../src/kernel/task/process.js";
import { hostResolver } from "../src/oracle/host-files.js";
import { runProbe } from "./tasks-probe.js";

const TRUE = "/usr/bin/true";
const ENV = ["PATH=/usr/bin"];
const SCRATCH = 0x300000000;

function spawn(k: Kernel, opts = {}): Process {
  const p = k.spawnExec(TRUE, [TRUE], ENV, opts);
  if (!("pid" in p)) throw new Error(`spawnExec failed: ${(p as ExecFailure).reason}`);
  return p;
}

const vdsoLine = (smaps: string) => {
  const i = smaps.indexOf("[vdso]");
  const flags = smaps
    .slice(i)
    .split("\n")
    .find((l) => l.startsWith("VmFlags:"));
  return flags ?? "";
};

describe("spawnExec and execve", () => {
  it("spawnExec gives a process whose mm came from execve: exe file, mm fields, saved auxv", () => {
    const k = new Kernel({ resolver: hostResolver() });
    const p = spawn(k);
    expect(p.mm.exeFile?.inode.path).toBe(TRUE);
    expect(p.mm.startCode).toBeGreaterThan(0);
    expect(p.mm.savedAuxv?.length).toBe(56);
    expect(k.maps(p.pid)).toContain("[vdso]");
    expect(k.stat(p.pid)).toMatch(/^\d+ \(true\) R /);
  });

  it("a failed execve (ENOENT) leaves the old mm", () => {
    const k = new Kernel({ resolver: hostResolver() });
    const p = spawn(k);
    const before = k.maps(p.pid);
    expect(k.execve(p.pid, "/nonexistent/prog", ["x"], [])).toEqual({ errno: 2, name: "ENOENT" });
    expect(k.maps(p.pid)).toBe(before);
    const bad = k.spawnExec("/nonexistent/prog", ["x"], []);
    expect(bad).toMatchObject({ errno: 2, name: "ENOENT" });
  });

  it("execve replaces the mm of the whole thread group; a fork child keeps the old one", () => {
    const k = new Kernel({ resolver: hostResolver() });
    const p = spawn(k);
    k.syscall(p.pid, "mmap", [SCRATCH, 4096, 3, 0x32, -1, 0]);
    const t = k.clone(p.pid, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD);
    const c = k.fork(p.pid);
    expect(k.execve(p.pid, TRUE, [TRUE], ENV)).toEqual({ ret: 0n });
    expect(k.tasks.lookup(t)).toBeNull();
    expect(k.maps(p.pid)).not.toContain("300000000-");
    expect(k.maps(c)).toContain("300000000-300001000");
  });

  it("vfork then execve in the child: the child gets a new mm, the parent keeps its own intact", () => {
    const k = new Kernel({ resolver: hostResolver() });
    const p = spawn(k);
    k.syscall(p.pid, "mmap", [SCRATCH, 4096, 3, 0x32, -1, 0]);
    k.writeMemory(p.pid, SCRATCH, Uint8Array.of(9));
    const c = k.vfork(p.pid);
    expect(k.execve(c, TRUE, [TRUE], ENV)).toEqual({ ret: 0n });
    expect(k.process(c).mm).not.toBe(k.process(p.pid).mm);
    expect(k.readMemory(p.pid, SCRATCH, 1)?.[0]).toBe(9);
    expect(k.maps(c)).not.toContain("300000000-");
  });

  it("a thread's execve: it continues as the leader's pid", () => {
    const k = new Kernel({ resolver: hostResolver() });
    const p = spawn(k);
    const t = k.clone(p.pid, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD);
    const old = k.process(p.pid).mm;
    expect(k.execve(t, TRUE, [TRUE], ENV)).toEqual({ ret: 0n });
    expect(k.tasks.lookup(t)).toBeNull();
    expect(k.process(p.pid).mm).not.toBe(old);
  });

  it("after execve the exe is mapped, so PR_SET_MM_MAP with exe_fd is EBUSY (live)", () => {
    const live = runProbe("root");
    const k = new Kernel({ resolver: hostResolver() });
    const p = spawn(k);
    k.syscall(p.pid, "mmap", [SCRATCH, 4096, 3, 0x32, -1, 0]);
    const fd = Number((k.open(p.pid, TRUE, 0) as { ret: bigint }).ret);
    const m = {
      startCode: 0x400000n,
      endCode: 0x401000n,
      startData: 0x600000n,
      endData: 0x601000n,
      startBrk: 0x800000n,
      brk: 0x800000n,
      startStack: 0x7ffffffde000n,
      argStart: 0x7ffffffde100n,
      argEnd: 0x7ffffffde200n,
      envStart: 0x7ffffffde200n,
      envEnd: 0x7ffffffde300n,
      auxv: 0n,
      auxvSize: 0,
      exeFd: fd,
    };
    k.writeMemory(p.pid, SCRATCH, encodeMmMap(m));
    const r = k.syscall(p.pid, "prctl", [35, 14, SCRATCH, 104, 0]);
    expect("errno" in r ? -r.errno : 0).toBe(live.results.get("root_exe_fd_busy"));
  });
});

describe("sealing policies at execve (reference §3, §9.2)", () => {
  it("none: the vdso is not sealed (this machine)", () => {
    const k = new Kernel({ resolver: hostResolver() });
    expect(vdsoLine(k.smaps(spawn(k).pid))).not.toContain(" sl");
  });
  it("sysmap: the vdso is created sealed, and munmap of it is EPERM", () => {
    const k = new Kernel({ resolver: hostResolver(), policy: "sysmap" });
    const p = spawn(k);
    expect(vdsoLine(k.smaps(p.pid))).toContain(" sl");
    const line =
      k
        .maps(p.pid)
        .split("\n")
        .find((l) => l.endsWith("[vdso]")) ?? "";
    const [lo, hi] = line
      .split(" ")[0]
      .split("-")
      .map((x) => BigInt(`0x${x}`));
    expect(k.syscall(p.pid, "munmap", [lo, hi - lo])).toEqual({ errno: 1, name: "EPERM" });
  });
  it("sysmap+prctl-optout: the opt-out prctl made before execve leaves the new image's vdso unsealed", () => {
    const k = new Kernel({ resolver: hostResolver(), policy: "sysmap+prctl-optout" });
    const p = spawn(k);
    expect(vdsoLine(k.smaps(p.pid))).toContain(" sl");
    expect(k.syscall(p.pid, "prctl", [0x6d6f6430, 1, 0, 0, 0])).toEqual({ ret: 0n });
    expect(k.execve(p.pid, TRUE, [TRUE], ENV)).toEqual({ ret: 0n });
    expect(vdsoLine(k.smaps(p.pid))).not.toContain(" sl");
  });
  it("execve gives a brand-new mm: no user seals, no locks, no def_flags carried over", () => {
    const k = new Kernel({ resolver: hostResolver() });
    const p = spawn(k);
    k.syscall(p.pid, "mmap", [SCRATCH, 4096, 1, 0x32, -1, 0]);
    k.syscall(p.pid, "mseal", [SCRATCH, 4096, 0]);
    k.syscall(p.pid, "mlockall", [2]);
    k.execve(p.pid, TRUE, [TRUE], ENV);
    expect(k.process(p.pid).mm.defFlags).toBe(0);
    expect(k.smaps(p.pid)).not.toContain(" sl");
  });
});

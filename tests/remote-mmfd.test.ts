// mm handles and process_vm_exec: PROPOSED, MODELED; NOT IN ANY KERNEL (src/kernel/task/mmfd.ts).
// There is no live kernel to ask, so expected values come from the proposal's definition
// (docs/remote.md) and, for what seals do, from the reference: system mappings are created
// sealed under CONFIG_MSEAL_SYSTEM_MAPPINGS (linux-6.18-mm.md §3) and munmap of a sealed VMA
// is EPERM (§2.2); the proposals' policies are as ../shared/design.md defines them.

import { describe, expect, it } from "vitest";
import { type ExecFailure, Kernel } from "../src/kernel/kernel.js";
import { NOBODY } from "../src/kernel/mm/creds.js";
import { gvisorStubProgram, runGvisorStub } from "../src/kernel/task/mmfd.js";
import type { Process } from "../src/kernel/task/process.js";
import { hostResolver } from "../src/oracle/host-files.js";

const TRUE = "/usr/bin/true";
const PAGE = 4096;
const MAP_PRIVATE = 2;
const MAP_ANONYMOUS = 0x20;
const MAP_FIXED = 0x10;

function exec(policy: string, optOutRequested = false): { k: Kernel; p: Process } {
  const k = new Kernel({ resolver: hostResolver(), policy });
  const p = k.spawnExec(TRUE, [TRUE], ["PATH=/usr/bin"], { optOutRequested });
  if (!("pid" in p)) throw new Error(`spawnExec failed: ${(p as ExecFailure).reason}`);
  return { k, p };
}

const fdOf = (r: ReturnType<Kernel["mmfdCreate"]>) => {
  if (!("ret" in r)) throw new Error(`mmfdCreate: ${r.name}`);
  return Number(r.ret);
};

describe("mm handles (proposed, modeled)", () => {
  it("an mmfd of an existing process names that address space: a mapping made through it is in the target's maps", () => {
    const { k, p } = exec("none");
    const other = k.fork(p.pid);
    const fd = fdOf(k.mmfdCreate(p.pid, { ofPid: other }));
    const addr = 0x50000000;
    expect(k.mmfdSyscall(p.pid, fd, "mmap", [addr, 2 * PAGE, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0])).toEqual({
      ret: BigInt(addr),
    });
    expect(k.maps(other)).toContain("50000000-50002000 rw-p");
    expect(k.maps(p.pid)).not.toContain("50000000-50002000");
    expect(k.mmfdSyscall(p.pid, fd, "munmap", [addr, 2 * PAGE])).toEqual({ ret: 0n });
    expect(k.maps(other)).not.toContain("50000000-50002000");
  });

  it("an empty mmfd has no mappings at all, system mappings included", () => {
    const { k, p } = exec("sysmap");
    const fd = fdOf(k.mmfdCreate(p.pid, { empty: true }));
    const r = k.processVmExec(p.pid, fd, [{ op: "read", addr: 0x400000, len: 1 }]);
    expect(r).toMatchObject({ completed: 0, stop: { index: 0, fault: { signal: "SEGV", addr: 0x400000 } } });
  });

  it("creating an mmfd needs ptrace access (EPERM) and a live pid (ESRCH); a non-mmfd fd is EBADF", () => {
    const { k, p } = exec("none");
    const child = k.fork(p.pid);
    k.setCreds(child, NOBODY);
    expect(k.mmfdCreate(child, { ofPid: p.pid })).toMatchObject({ name: "EPERM" });
    expect(k.mmfdCreate(p.pid, { ofPid: 999999 })).toMatchObject({ name: "ESRCH" });
    expect(k.mmfdSyscall(p.pid, 0, "munmap", [0x400000, PAGE])).toMatchObject({ name: "EBADF" });
  });

  it("process_vm_exec returns at the first failing call, naming the step and the errno", () => {
    const { k, p } = exec("none");
    const fd = fdOf(k.mmfdCreate(p.pid, { empty: true }));
    const r = k.processVmExec(p.pid, fd, [
      { op: "syscall", name: "mmap", args: [0x60000000, PAGE, 1, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0] },
      { op: "syscall", name: "mseal", args: [0x60000000, PAGE, 0] },
      { op: "syscall", name: "munmap", args: [0x60000000, PAGE] },
      { op: "read", addr: 0x60000000, len: 1 },
    ]);
    // §2.2: munmap of a sealed VMA is EPERM.
    expect(r).toMatchObject({ completed: 2, results: [0x60000000n, 0n], stop: { index: 2, errno: { name: "EPERM" } } });
  });
});

describe("the gVisor stub under each sealing policy (proposed process_vm_exec, modeled)", () => {
  it("none (this machine): the stub unmaps [vvar], [vvar_vclock] and [vdso] and runs guest code", () => {
    const { p } = exec("none");
    const o = runGvisorStub(p, "existing");
    expect(o.systemMappings.sort()).toEqual(["[vdso]", "[vvar]", "[vvar_vclock]"]);
    expect(o.works).toBe(true);
  });

  it("sysmap: the first unmap of a system mapping is EPERM, the stub never runs guest code", () => {
    const { p } = exec("sysmap");
    const o = runGvisorStub(p, "existing");
    expect(o.works).toBe(false);
    expect(o.result).toMatchObject({ completed: 0, stop: { index: 0, errno: { name: "EPERM" } } });
  });

  it("sysmap with an empty mmfd: nothing to unmap, guest code runs", () => {
    const { p } = exec("sysmap");
    const o = runGvisorStub(p, "empty");
    expect(o.systemMappings).toEqual([]);
    expect(o.works).toBe(true);
  });

  it("sysmap+prctl-optout, opted out before execve: vdso/vvar unsealed, the stub works", () => {
    const { p } = exec("sysmap+prctl-optout", true);
    expect(runGvisorStub(p, "existing").works).toBe(true);
    const { p: q } = exec("sysmap+prctl-optout", false);
    expect(runGvisorStub(q, "existing").works).toBe(false);
  });

  it("sysmap+cap-cr: root here holds CAP_CHECKPOINT_RESTORE, so the stub may unmap them", () => {
    const { p } = exec("sysmap+cap-cr");
    expect(runGvisorStub(p, "existing").works).toBe(true);
  });

  it("the stub program lists one munmap per system mapping, then maps, fills, protects and runs guest memory", () => {
    const { p } = exec("none");
    const prog = gvisorStubProgram(p.mm);
    expect(prog.map((o) => (o.op === "syscall" ? o.name : o.op))).toEqual([
      "munmap",
      "munmap",
      "munmap",
      "mmap",
      "write",
      "mprotect",
      "rtouch",
    ]);
  });
});

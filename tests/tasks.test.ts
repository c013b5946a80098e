// fork/vfork/clone/exit against the live kernel: the fork case of native/probe-prctl runs on
// this machine's kernel and the same steps run on the model; smaps, bytes and results must
// agree. Other cases state the kernel's rule (kernel/fork.c), marked "from source".
import { describe, expect, it } from "vitest";
import { Kernel } from "../src/kernel/kernel.js";
import { REFERENCE_ROOT } from "../src/kernel/mm/creds.js";
import { CLONE_FILES, CLONE_NEWUSER, CLONE_SIGHAND, CLONE_THREAD, CLONE_VM } from "../src/kernel/task/clone.js";
import { digestSmaps, runProbe } from "./tasks-probe.js";

const ARENA = 0x200000000;
const PAGE = 4096;
const RW = 3;
const ANON_FIXED = 0x02 | 0x20 | 0x10;
const MADV_DONTFORK = 10;
const MADV_WIPEONFORK = 18;

/** The probe's fork case on the model: same calls, same order. */
function forkOnModel() {
  const k = new Kernel({ resolver: (path) => (path === "/tmp/forkfile" ? { dev: "fe:00", ino: 77, size: 0 } : null) });
  const parent = k.spawnEmpty().pid;
  const ok = (r: ReturnType<Kernel["syscall"]>) => expect(r).not.toHaveProperty("errno");
  ok(k.syscall(parent, "mmap", [ARENA, 12 * PAGE, RW, ANON_FIXED, -1, 0]));
  for (let i = 0; i < 8; i++) expect(k.writeMemory(parent, ARENA + i * PAGE, Uint8Array.of(0x11))).toBe(true);
  ok(k.syscall(parent, "madvise", [ARENA + 4 * PAGE, 2 * PAGE, MADV_DONTFORK]));
  ok(k.syscall(parent, "madvise", [ARENA + 6 * PAGE, 2 * PAGE, MADV_WIPEONFORK]));
  ok(k.syscall(parent, "mlock", [ARENA + 8 * PAGE, 2 * PAGE]));
  ok(k.syscall(parent, "mprotect", [ARENA + 10 * PAGE, 2 * PAGE, 1]));
  ok(k.syscall(parent, "mseal", [ARENA + 10 * PAGE, 2 * PAGE, 0]));
  ok(k.syscall(parent, "mmap", [ARENA + 12 * PAGE, 2 * PAGE, RW, 0x01 | 0x20 | 0x10, -1, 0]));
  expect(k.writeMemory(parent, ARENA + 12 * PAGE, Uint8Array.of(0x44))).toBe(true);
  expect(k.writeMemory(parent, ARENA + 13 * PAGE, Uint8Array.of(0x44))).toBe(true);
  const fd = Number((k.open(parent, "/tmp/forkfile", 2, 2 * PAGE) as { ret: bigint }).ret);
  ok(k.syscall(parent, "mmap", [ARENA + 14 * PAGE, 2 * PAGE, 1, 0x02 | 0x10, fd, 0]));
  const f = k.readMemory(parent, ARENA + 14 * PAGE, 2 * PAGE) as Uint8Array;
  expect(f[0] + f[PAGE]).toBe(0);
  return { k, parent };
}

const lo = BigInt(ARENA);
const hi = BigInt(ARENA + 64 * PAGE);

describe("fork (dup_mmap) against the live kernel", () => {
  const live = runProbe("fork");

  it("the probe reported the arena (so the comparisons below are not empty)", () => {
    expect(live.smaps.get("fork_parent")).toHaveLength(7);
    expect(live.smaps.get("fork_child")).toHaveLength(6);
  });

  it("the parent's arena before fork is the same", () => {
    const { k, parent } = forkOnModel();
    expect(digestSmaps(k.smaps(parent), lo, hi)).toEqual(live.smaps.get("fork_parent"));
  });

  it("the child: DONTCOPY dropped, WIPEONFORK empty, mlock not inherited, seal kept, contents copied", () => {
    const { k, parent } = forkOnModel();
    const child = k.fork(parent);
    expect(child).toBeGreaterThan(0);
    expect(digestSmaps(k.smaps(child), lo, hi)).toEqual(live.smaps.get("fork_child"));
    expect(k.readMemory(child, ARENA, 1)?.[0]).toBe(live.bytes.get("fork_child 0"));
    expect(k.readMemory(child, ARENA + 6 * PAGE, 1)?.[0]).toBe(live.bytes.get(`fork_child ${6 * PAGE}`));
    // Shared memory and the unwritten file mapping have no anon_vma: their page tables are
    // not copied (vma_needs_copy), so the child starts with Rss 0 there.
    expect(digestSmaps(k.smaps(child), lo, hi)).toEqual(live.smaps.get("fork_child_before_reads"));
    expect(k.readMemory(child, ARENA + 12 * PAGE, 1)?.[0]).toBe(live.bytes.get(`fork_child ${12 * PAGE}`));
  });

  it("the child cannot unmap the inherited seal; fresh memory in the DONTCOPY hole does not merge with inherited memory", () => {
    const { k, parent } = forkOnModel();
    const child = k.fork(parent);
    for (const off of [0, 6, 12]) k.readMemory(child, ARENA + off * PAGE, 1); // the probe's reads
    const unmap = k.syscall(child, "munmap", [ARENA + 10 * PAGE, 2 * PAGE]);
    expect("errno" in unmap ? -unmap.errno : 0).toBe(live.results.get("fork_child_munmap_sealed"));
    const m = k.syscall(child, "mmap", [ARENA + 4 * PAGE, 2 * PAGE, RW, ANON_FIXED, -1, 0]);
    expect("errno" in m ? -m.errno : 0).toBe(live.results.get("fork_child_mmap_hole"));
    expect(k.writeMemory(child, ARENA + 4 * PAGE, Uint8Array.of(0x33))).toBe(true);
    expect(k.writeMemory(child, ARENA, Uint8Array.of(0x22))).toBe(true);
    expect(digestSmaps(k.smaps(child), lo, hi)).toEqual(live.smaps.get("fork_child_after"));
  });

  it("copy-on-write: the child's write leaves the parent's byte alone", () => {
    const { k, parent } = forkOnModel();
    const child = k.fork(parent);
    k.writeMemory(child, ARENA, Uint8Array.of(0x22));
    k.exit(child);
    expect(k.readMemory(parent, ARENA, 1)?.[0]).toBe(live.bytes.get("fork_parent_after 0"));
  });
});

describe("guard markers across fork (live)", () => {
  const live = runProbe("fork_guard");
  const MADV_GUARD_INSTALL = 102;

  it("kept in anonymous and file VMAs (VM_MAYBE_GUARD forces the copy), gone with WIPEONFORK", () => {
    const k = new Kernel({ resolver: (path) => (path === "/tmp/guardfile" ? { dev: "fe:00", ino: 78, size: 0 } : null) });
    const p = k.spawnEmpty().pid;
    const num = (r: ReturnType<Kernel["syscall"]>) => ("errno" in r ? -r.errno : 0);
    k.syscall(p, "mmap", [ARENA, 4 * PAGE, RW, ANON_FIXED, -1, 0]);
    for (let i = 0; i < 4; i++) k.writeMemory(p, ARENA + i * PAGE, Uint8Array.of(0x55));
    const fd = Number((k.open(p, "/tmp/guardfile", 2, 2 * PAGE) as { ret: bigint }).ret);
    k.syscall(p, "mmap", [ARENA + 8 * PAGE, 2 * PAGE, 1, 0x02 | 0x10, fd, 0]);
    k.syscall(p, "mmap", [ARENA + 12 * PAGE, 2 * PAGE, RW, ANON_FIXED, -1, 0]);
    k.writeMemory(p, ARENA + 12 * PAGE, Uint8Array.of(0x66));
    k.writeMemory(p, ARENA + 13 * PAGE, Uint8Array.of(0x66));
    k.syscall(p, "madvise", [ARENA + 12 * PAGE, 2 * PAGE, MADV_WIPEONFORK]);
    expect(num(k.syscall(p, "madvise", [ARENA + PAGE, PAGE, MADV_GUARD_INSTALL]))).toBe(live.results.get("guard_anon"));
    expect(num(k.syscall(p, "madvise", [ARENA + 8 * PAGE, PAGE, MADV_GUARD_INSTALL]))).toBe(live.results.get("guard_file"));
    expect(num(k.syscall(p, "madvise", [ARENA + 12 * PAGE, PAGE, MADV_GUARD_INSTALL]))).toBe(live.results.get("guard_wipe"));
    expect(digestSmaps(k.smaps(p), lo, hi)).toEqual(live.smaps.get("guard_parent"));
    const c = k.fork(p);
    for (const page of [0, 1, 2, 8, 9, 12, 13]) {
      const b = k.readMemory(c, ARENA + page * PAGE, 1);
      expect(b === null ? -1 : b[0]).toBe(live.bytes.get(`guard_child ${page * PAGE}`));
    }
    expect(digestSmaps(k.smaps(c), lo, hi)).toEqual(live.smaps.get("guard_child"));
  });
});

describe("merging after fork (live)", () => {
  it("pieces of one VMA get separate anon_vmas in the child: made equal again they stay apart there, merge in the parent", () => {
    const live = runProbe("fork_remerge");
    const k = new Kernel();
    const p = k.spawnEmpty().pid;
    k.syscall(p, "mmap", [ARENA, 4 * PAGE, RW, ANON_FIXED, -1, 0]);
    for (let i = 0; i < 4; i++) k.writeMemory(p, ARENA + i * PAGE, Uint8Array.of(1));
    k.syscall(p, "mprotect", [ARENA + PAGE, PAGE, 1]);
    const c = k.fork(p);
    k.syscall(c, "mprotect", [ARENA + PAGE, PAGE, RW]);
    expect(digestSmaps(k.smaps(c), lo, hi)).toEqual(live.smaps.get("remerge_child"));
    k.exit(c);
    k.syscall(p, "mprotect", [ARENA + PAGE, PAGE, RW]);
    expect(digestSmaps(k.smaps(p), lo, hi)).toEqual(live.smaps.get("remerge_parent"));
  });
});

describe("clone, vfork, exit (from source: kernel/fork.c copy_process, kernel/exit.c)", () => {
  it("CLONE_VM shares the address space: a mapping made by one task is seen by the other", () => {
    const k = new Kernel();
    const p = k.spawnEmpty().pid;
    const t = k.clone(p, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD);
    expect(k.process(t).mm).toBe(k.process(p).mm);
    expect(k.process(t).tgid).toBe(p);
    k.syscall(t, "mmap", [ARENA, PAGE, RW, ANON_FIXED, -1, 0]);
    expect(k.maps(p)).toContain("200000000-200001000 rw-p");
  });

  it("flag combinations copy_process() refuses give EINVAL", () => {
    const k = new Kernel();
    const p = k.spawnEmpty().pid;
    expect(k.clone(p, CLONE_THREAD)).toBe(-22); // THREAD without SIGHAND
    expect(k.clone(p, CLONE_SIGHAND)).toBe(-22); // SIGHAND without VM
    expect(k.clone(p, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_NEWUSER)).toBe(-22);
    expect(k.clone(p, 0x200 | CLONE_NEWUSER)).toBe(-22); // CLONE_FS with a new user namespace
  });

  it("vfork shares the mm; the child's exit leaves the parent's mm intact", () => {
    const k = new Kernel();
    const p = k.spawnEmpty().pid;
    k.syscall(p, "mmap", [ARENA, PAGE, RW, ANON_FIXED, -1, 0]);
    k.writeMemory(p, ARENA, Uint8Array.of(7));
    const c = k.vfork(p);
    expect(k.process(c).mm).toBe(k.process(p).mm);
    expect(k.process(c).ppid).toBe(p);
    k.exit(c);
    expect(() => k.process(c)).toThrow(/exited/);
    expect(k.readMemory(p, ARENA, 1)?.[0]).toBe(7);
  });

  it("CLONE_FILES shares the fd table, fork copies it", () => {
    const k = new Kernel();
    const p = k.spawnEmpty().pid;
    const shared = k.clone(p, CLONE_VM | CLONE_FILES);
    const copied = k.fork(p);
    expect(k.process(shared).files).toBe(k.process(p).files);
    expect(k.process(copied).files).not.toBe(k.process(p).files);
  });

  it("fork copies credentials and rlimits; a thread shares the rlimits", () => {
    const k = new Kernel({ rlimits: { data: 1 << 20 } });
    const p = k.spawnEmpty().pid;
    const c = k.fork(p);
    const t = k.clone(p, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD);
    expect(k.process(c).creds).toEqual(REFERENCE_ROOT);
    expect(k.process(c).rlimits).toEqual(k.process(p).rlimits);
    expect(k.process(c).rlimits).not.toBe(k.process(p).rlimits);
    expect(k.process(t).rlimits).toBe(k.process(p).rlimits);
  });

  it("exit_group ends every thread; exit ends one task and the mm lives while a user remains", () => {
    const k = new Kernel();
    const p = k.spawnEmpty().pid;
    const t = k.clone(p, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD);
    k.syscall(p, "mmap", [ARENA, PAGE, RW, ANON_FIXED, -1, 0]);
    k.writeMemory(p, ARENA, Uint8Array.of(5));
    k.exit(p);
    expect(k.tasks.lookup(t)).not.toBeNull();
    expect(k.readMemory(t, ARENA, 1)?.[0]).toBe(5);
    const q = k.spawnEmpty().pid;
    const u = k.clone(q, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD);
    k.exitGroup(q);
    expect(k.tasks.lookup(u)).toBeNull();
  });

  it("an unknown pid is a caller bug with a clear message", () => {
    const k = new Kernel();
    expect(() => k.fork(4242)).toThrow(/no process 4242/);
  });
});

describe("the same operations through the syscall surface (from source: kernel/fork.c)", () => {
  it("fork, vfork, clone return the child's pid; refused clone flags are EINVAL; exit/exit_group end tasks", () => {
    const k = new Kernel();
    const p = k.spawnEmpty().pid;
    const f = k.syscall(p, "fork", []);
    expect("ret" in f && k.process(Number(f.ret)).ppid).toBe(p);
    const v = k.syscall(p, "vfork", []);
    expect("ret" in v && k.process(Number(v.ret)).mm).toBe(k.process(p).mm);
    expect(k.syscall(p, "clone", [CLONE_THREAD, 0, 0, 0, 0])).toEqual({ errno: 22, name: "EINVAL" });
    const t = k.syscall(p, "clone", [CLONE_VM | CLONE_SIGHAND | CLONE_THREAD, 0, 0, 0, 0]);
    const tid = Number((t as { ret: bigint }).ret);
    expect(k.process(tid).tgid).toBe(p);
    k.syscall(tid, "exit", [0]);
    expect(k.tasks.lookup(tid)).toBeNull();
    expect(k.tasks.lookup(p)).not.toBeNull();
    k.syscall(p, "exit_group", [0]);
    expect(k.tasks.lookup(p)).toBeNull();
  });

  it("unshare(CLONE_NEWUSER): a child namespace, EINVAL when multithreaded, other namespaces unsupported", () => {
    const k = new Kernel();
    const p = k.spawnEmpty().pid;
    expect(k.syscall(p, "unshare", [CLONE_NEWUSER])).toEqual({ ret: 0n });
    expect(k.process(p).creds.initUserNs).toBe(false);
    const q = k.spawnEmpty().pid;
    k.clone(q, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD);
    expect(k.syscall(q, "unshare", [CLONE_NEWUSER])).toEqual({ errno: 22, name: "EINVAL" });
    expect(() => k.syscall(q, "unshare", [0x40000000])).toThrow(/only CLONE_NEWUSER is modeled/);
    expect(k.syscall(q, "unshare", [1])).toEqual({ errno: 22, name: "EINVAL" });
  });
});

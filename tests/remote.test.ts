// Remote access: process_vm_readv/writev, pidfd_open + process_madvise and /proc/PID/mem.
// The model runs native/probe-remote.c's "remote" section step by step (a parent sets up a
// target layout, forks, and works on the child) and must give the live kernel's results.

import { beforeAll, describe, expect, it } from "vitest";
import { Kernel } from "../src/kernel/kernel.js";
import { NOBODY } from "../src/kernel/mm/creds.js";
import type { Layout } from "../src/kernel/task/layout.js";
import { sealedPageWriteHole } from "../src/kernel/task/remote.js";
import { type ProbeReport, runProbeRemote } from "../src/oracle/remote-live.js";
import { asResult, caseNames, compareReports, MAP_PRIVATE, MAP_SHARED, PAGE, PROT_NONE, PROT_READ, PROT_WRITE, Sim } from "./remote-sim.js";

const MADV_WILLNEED = 3;
const MADV_DONTNEED = 4;
const MADV_COLD = 20;
const MADV_PAGEOUT = 21;
const MADV_COLLAPSE = 25;
const PIDFD_SELF_PROCESS = -10001;
const VSYSCALL = 0xffffffffff600000n;

/** A process image with a [vdso] (what the probe's forked child has), nothing else. */
const VDSO_PAGE = 0x7ffff7ffd;
const LAYOUT: Layout = {
  vmas: [
    {
      start: VDSO_PAGE,
      end: VDSO_PAGE + 2,
      flags: ["rd", "ex", "mr", "mw", "me", "de"],
      pgoff: 0,
      path: "[vdso]",
      dev: "00:00",
      ino: 0,
      anonKb: 0,
    },
  ],
  startBrk: 0,
  brk: 0,
  startStack: 0,
  rlimitStack: 8 << 20,
};

function remoteScenario(): Sim {
  const k = new Kernel();
  const s = new Sim({}, k);
  s.pid = k.spawnFromLayout(LAYOUT).pid;
  const parent = s.pid;
  s.str(""); // the scratch area exists before the forks, as the probe's stack does
  const buf = s.buffer(4 * PAGE);
  // setup_target()
  const r = s.map(3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  s.fill(r, PAGE, 0x11);
  s.fill(r + PAGE, PAGE, 0x22);
  s.sys("mprotect", r + 2 * PAGE, PAGE, PROT_NONE);
  const ro = s.map(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  s.fill(ro, PAGE, 0x33);
  s.sys("mprotect", ro, PAGE, PROT_READ);
  const sealed = s.map(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  s.fill(sealed, PAGE, 0x44);
  s.sys("mprotect", sealed, PAGE, PROT_READ);
  s.sys("mseal", sealed, PAGE, 0);
  const memfd = s.sys("memfd_create", s.str("sh"), 0);
  s.sys("ftruncate", memfd, PAGE);
  const sh = s.map(PAGE, PROT_READ, MAP_SHARED, memfd);
  const u = s.map(3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  s.fill(u, PAGE, 0x55);
  s.fill(u + 2 * PAGE, PAGE, 0x66);
  s.sys("munmap", u + PAGE, PAGE);
  const child = k.fork(parent);
  const unm = s.map(PAGE, PROT_NONE, MAP_PRIVATE);
  s.sys("munmap", unm, PAGE);

  const vm = (name: string, pid: number, lb: number, ll: number, rb: number | bigint, rl: number | bigint) =>
    s.sys(name, pid, s.iov([[lb, ll]]), 1, s.iov([[rb, rl]]), 1, 0);
  const vmr = (pid: number, lb: number, ll: number, rb: number | bigint, rl: number) => vm("process_vm_readv", pid, lb, ll, rb, rl);
  const vmw = (pid: number, lb: number, ll: number, rb: number | bigint, rl: number) => vm("process_vm_writev", pid, lb, ll, rb, rl);

  s.rep("pvm.read.prot_none_tail", vmr(child, buf, 3 * PAGE, r + 100, 3 * PAGE));
  s.val("pvm.read.value", s.byte(buf + PAGE - 100));
  s.write(buf, new Uint8Array([0x77]));
  s.rep("pvm.write.straddle", vmw(child, buf, 10, r + 2 * PAGE - 5, 10));
  s.rep("pvm.write.rw", vmw(child, buf, 1, r, 1));
  s.write(buf, new Uint8Array([0]));
  vmr(child, buf, 1, r, 1);
  s.val("pvm.write.rw.readback", s.byte(buf));
  s.val("pvm.write.rw.parent_unchanged", s.byte(r));
  s.rep(
    "pvm.read.iov_hole",
    s.sys(
      "process_vm_readv",
      child,
      s.iov([[buf, 3 * PAGE]]),
      1,
      s.iov([
        [u, PAGE],
        [u + PAGE, PAGE],
        [u + 2 * PAGE, PAGE],
      ]),
      3,
      0,
    ),
  );
  s.rep(
    "pvm.read.local_fault_after_4",
    s.sys(
      "process_vm_readv",
      child,
      s.iov([
        [buf, 4],
        [unm, 4],
      ]),
      2,
      s.iov([[r, 8]]),
      1,
      0,
    ),
  );
  s.rep("pvm.read.local_fault", vmr(child, unm, 8, r, 8));
  s.rep("pvm.read.ro", vmr(child, buf, 8, ro, 8));
  s.rep("pvm.write.ro", vmw(child, buf, 8, ro, 8));
  s.rep("pvm.write.sealed_ro", vmw(child, buf, 8, sealed, 8));
  s.rep("pvm.write.shared_ro", vmw(child, buf, 8, sh, 8));
  s.rep("pvm.read.prot_none", vmr(child, buf, 8, r + 2 * PAGE, 8));
  s.rep("pvm.read.unmapped", vmr(child, buf, 8, u + PAGE, 8));
  s.rep("pvm.read.vsyscall", vmr(child, buf, 8, VSYSCALL, 8));
  s.rep("pvm.write.vdso", vmw(child, buf, 8, VDSO_PAGE * PAGE, 8));
  const l8 = s.iov([[buf, 8]]);
  const r8 = s.iov([[r, 8]]);
  s.rep("pvm.flags", s.sys("process_vm_readv", child, l8, 1, r8, 1, 1));
  const many = s.iov(Array.from({ length: 1025 }, () => [buf, 1] as [number, number]));
  s.rep("pvm.liovcnt_1025", s.sys("process_vm_readv", child, many, 1025, r8, 1, 0));
  s.rep("pvm.riovcnt_1025", s.sys("process_vm_readv", child, l8, 1, many, 1025, 0));
  s.rep("pvm.liovcnt_1024", s.sys("process_vm_readv", child, many, 1024, r8, 1, 0));
  s.rep("pvm.local_zero.badpid", s.sys("process_vm_readv", 999999, s.iov([[buf, 0]]), 1, r8, 1, 0));
  s.rep("pvm.badpid", s.sys("process_vm_readv", 999999, l8, 1, r8, 1, 0));
  s.rep("pvm.remote_zero", s.sys("process_vm_readv", child, l8, 1, s.iov([[r, 0]]), 1, 0));
  s.rep("pvm.remote_neglen", s.sys("process_vm_readv", child, l8, 1, s.iov([[r, -1n]]), 1, 0));
  s.rep("pvm.local_array_fault", s.sys("process_vm_readv", child, unm, 1, r8, 1, 0));
  s.rep("pvm.remote_array_fault", s.sys("process_vm_readv", child, l8, 1, unm, 1, 0));

  // An unprivileged process (a fork that dropped to nobody) works on the root child.
  const np = k.fork(parent);
  k.setCreds(np, NOBODY);
  s.pid = np;
  s.rep("pvm.unprivileged", vmr(child, buf, 8, r, 8));
  const upfd = s.repok("pidfd_open.unprivileged", s.sys("pidfd_open", child, 0));
  s.rep("pmadv.unprivileged", s.sys("process_madvise", upfd, s.iov([[r, PAGE]]), 1, MADV_COLD, 0));
  const uo = k.procMemRead(np, child, r, 0);
  s.repok("procmem.open.unprivileged", uo.ok ? 0 : -uo.errno);
  s.pid = parent;

  const pidfd = s.repok("pidfd_open", s.sys("pidfd_open", child, 0));
  s.rep("pidfd_open.badpid", s.sys("pidfd_open", 999999, 0));
  s.rep("pidfd_open.flags", s.sys("pidfd_open", child, 1));
  const v = s.iov([[r, 2 * PAGE]]);
  s.rep("pmadv.cold", s.sys("process_madvise", pidfd, v, 1, MADV_COLD, 0));
  s.rep("pmadv.pageout", s.sys("process_madvise", pidfd, v, 1, MADV_PAGEOUT, 0));
  s.rep("pmadv.willneed", s.sys("process_madvise", pidfd, v, 1, MADV_WILLNEED, 0));
  s.rep("pmadv.dontneed", s.sys("process_madvise", pidfd, v, 1, MADV_DONTNEED, 0));
  s.rep("pmadv.collapse", s.sys("process_madvise", pidfd, v, 1, MADV_COLLAPSE, 0));
  s.rep("pmadv.flags", s.sys("process_madvise", pidfd, v, 1, MADV_COLD, 1));
  s.rep("pmadv.vlen0", s.sys("process_madvise", pidfd, v, 0, MADV_COLD, 0));
  const manyv = s.iov(Array.from({ length: 1025 }, () => [r, 2 * PAGE] as [number, number]));
  s.rep("pmadv.vlen1025", s.sys("process_madvise", pidfd, manyv, 1025, MADV_COLD, 0));
  s.rep("pmadv.badfd", s.sys("process_madvise", 9999, v, 1, MADV_COLD, 0));
  s.rep("pmadv.not_pidfd", s.sys("process_madvise", memfd, v, 1, MADV_COLD, 0));
  s.rep(
    "pmadv.iov_hole",
    s.sys(
      "process_madvise",
      pidfd,
      s.iov([
        [u, PAGE],
        [u + PAGE, PAGE],
      ]),
      2,
      MADV_COLD,
      0,
    ),
  );
  s.rep("pmadv.unmapped_first", s.sys("process_madvise", pidfd, s.iov([[u + PAGE, PAGE]]), 1, MADV_COLD, 0));
  s.rep("pmadv.unaligned_first", s.sys("process_madvise", pidfd, s.iov([[r + 1, PAGE]]), 1, MADV_COLD, 0));
  s.rep("pmadv.sealed_pageout", s.sys("process_madvise", pidfd, s.iov([[sealed, PAGE]]), 1, MADV_PAGEOUT, 0));
  const own = s.map(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  s.write(own, new Uint8Array([9]));
  s.rep("pmadv.self_dontneed", s.sys("process_madvise", PIDFD_SELF_PROCESS, s.iov([[own, PAGE]]), 1, MADV_DONTNEED, 0));
  s.val("pmadv.self_dontneed.zeroed", s.byte(own));
  s.rep("pmadv.self_sealed_dontneed", s.sys("process_madvise", PIDFD_SELF_PROCESS, s.iov([[sealed, PAGE]]), 1, MADV_DONTNEED, 0));

  // /proc/PID/mem
  const rd = (addr: number | bigint, len: number) => k.procMemRead(parent, child, addr, len);
  const wr = (addr: number | bigint, bytes: number[]) => k.procMemWrite(parent, child, addr, new Uint8Array(bytes));
  const rec = (name: string, res: ReturnType<typeof rd>) => s.rep(name, res.ok ? res.bytes : -res.errno);
  const first = (res: ReturnType<typeof rd>) => (res.ok ? ((res.data[0] as number) << 24) >> 24 : -1);
  s.repok("procmem.open", rd(r, 0).ok ? 0 : -1);
  rec("procmem.write.ro", wr(ro, [88]));
  s.val("procmem.write.ro.readback", first(rd(ro, 1)));
  s.val("procmem.write.ro.parent_unchanged", s.byte(ro));
  s.maps("procmem.write.ro.maps", ro, child);
  rec("procmem.write.sealed", wr(sealed, [83]));
  s.val("procmem.write.sealed.readback", first(rd(sealed, 1)));
  rec("procmem.write.prot_none", wr(r + 2 * PAGE, [78]));
  const pn = rd(r + 2 * PAGE, 1);
  rec("procmem.read.prot_none", pn);
  s.val("procmem.read.prot_none.value", first(pn));
  rec("procmem.write.shared_ro", wr(sh, [78]));
  rec("procmem.read.shared_ro", rd(sh, 1));
  rec("procmem.write.unmapped", wr(u + PAGE, [78]));
  rec("procmem.read.unmapped", rd(u + PAGE, 1));
  rec("procmem.write.straddle_hole", wr(u + PAGE - 5, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  rec("procmem.read.straddle_hole", rd(u + PAGE - 5, 10));
  rec("procmem.read.vsyscall", rd(VSYSCALL, 8));
  rec("procmem.write.vdso", wr(VDSO_PAGE * PAGE, [0]));
  s.maps("procmem.write.vdso.maps", VDSO_PAGE * PAGE, child);
  return s;
}

const NOT_MODELED: Record<string, string> = {
  "procmem.write.rdonly_fd": "the model has no /proc/PID/mem descriptors: writing through an O_RDONLY one is EBADF in the VFS",
};

describe("remote access against the live kernel", () => {
  let live: ProbeReport;
  beforeAll(async () => {
    live = await runProbeRemote("remote");
  });

  it("the probe ran to the end", () => {
    expect(live.failedSections).toEqual([]);
  });

  it("process_vm_readv/writev, process_madvise and /proc/PID/mem give the kernel's results", () => {
    const model = remoteScenario().report;
    const cases = caseNames(live).filter((c) => !(c in NOT_MODELED));
    expect(compareReports(live, model, cases)).toEqual([]);
    expect(caseNames(model).sort()).toEqual(cases);
  });

  it("the hole: a sealed read-only page is written through /proc/PID/mem but not by process_vm_writev", () => {
    const s = new Sim();
    const page = s.map(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    s.fill(page, PAGE, 0x44);
    s.sys("mprotect", page, PAGE, PROT_READ);
    s.sys("mseal", page, PAGE, 0);
    const child = s.k.fork(s.pid);
    const p = s.k.process(s.pid);
    const hole = sealedPageWriteHole(p, s.k.process(child), page, 83);
    expect(hole.sealed).toBe(true);
    // Live: process_vm_writev to a sealed read-only page → EFAULT; /proc/PID/mem → 1 byte, read back 'S'.
    expect(live.results["pvm.write.sealed_ro"]).toEqual({ ret: -1, errno: "EFAULT" });
    expect(hole.processVmWritev).toBe("EFAULT");
    expect(asResult(hole.procMem.ok ? hole.procMem.bytes : -hole.procMem.errno)).toEqual(live.results["procmem.write.sealed"]);
    expect(hole.after).toBe(live.values["procmem.write.sealed.readback"]);
    // The seal and the protection are unchanged: only the bytes moved.
    expect(s.k.maps(child)).toBe(s.k.maps(s.pid));
  });
});

describe("bad input never crashes the remote, memfd and shm calls", () => {
  const NAMES = [
    "memfd_create",
    "fcntl",
    "ftruncate",
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_open",
    "process_madvise",
  ];
  const interesting = (s: Sim, addr: number): Array<number | bigint> => [
    0,
    1,
    3,
    0xfff,
    PAGE,
    1024,
    1025,
    addr,
    addr + 1,
    addr + PAGE - 8,
    0x7fffffffffffn,
    (1n << 63n) - 1n,
    1n << 63n,
    (1n << 64n) - 1n,
    (1n << 64n) - 4096n,
    s.pid,
    999999,
    -10001,
  ];

  it("random arguments give a result or Unsupported, nothing else", () => {
    const s = new Sim();
    const child = s.k.fork(s.pid);
    const addr = s.map(4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    s.write(addr, new Uint8Array(64).fill(0x41));
    const vals = interesting(s, addr).concat([child]);
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      const name = NAMES[rnd(NAMES.length)] as string;
      const args = Array.from({ length: 6 }, () => vals[rnd(vals.length)] as number | bigint);
      try {
        const r = s.sys(name, ...args);
        expect(Number.isInteger(r)).toBe(true);
      } catch (e) {
        if (!(e instanceof Error) || e.name !== "Unsupported") throw new Error(`${name}(${args.join(", ")}) threw ${String(e)}`);
      }
    }
  });
});

// Credentials and user namespaces: capable() asks the initial namespace, ns_capable() the
// task's own. "Root in a child namespace" against the live kernel (native/probe-prctl
// caps_root / caps_userns): mlock over RLIMIT_MEMLOCK (CAP_IPC_LOCK) and MAP_FIXED below
// dac_mmap_min_addr (CAP_SYS_RAWIO). The namespace walk itself is from kernel/capability.c
// cap_capable (marked "from source").
import { describe, expect, it } from "vitest";
import { Kernel } from "../src/kernel/kernel.js";
import {
  CAP_CHECKPOINT_RESTORE,
  CAP_IPC_LOCK,
  CAP_SYS_ADMIN,
  CAP_SYS_RESOURCE,
  capable,
  capableIn,
  checkpointRestoreNsCapable,
  enterNewUserNs,
  INIT_USER_NS,
  NOBODY,
  nsCapable,
  REFERENCE_ROOT,
  userNsOf,
} from "../src/kernel/mm/creds.js";
import { runProbe } from "./tasks-probe.js";

const ARENA = 0x200000000;
const PAGE = 4096;
const live = runProbe("caps_root", "caps_userns");
const num = (r: ReturnType<Kernel["syscall"]>) => ("errno" in r ? -r.errno : 0);

function capsCase(userns: boolean) {
  const k = new Kernel({ rlimits: { memlock: PAGE } });
  const pid = k.spawnEmpty().pid;
  if (userns) k.unshareUserNs(pid, 0);
  k.syscall(pid, "mmap", [ARENA, 2 * PAGE, 3, 0x32, -1, 0]);
  return {
    mlock: num(k.syscall(pid, "mlock", [ARENA, 2 * PAGE])),
    below: num(k.syscall(pid, "mmap", [0, PAGE, 1, 0x32, -1, 0])),
    atMin: num(k.syscall(pid, "mmap", [0x10000, PAGE, 1, 0x32, -1, 0])),
  };
}

describe("root vs root in a child user namespace (live)", () => {
  for (const [who, userns] of [
    ["root", false],
    ["userns", true],
  ] as const) {
    it(`${who}: mlock over RLIMIT_MEMLOCK, MAP_FIXED at 0, MAP_FIXED at 0x10000`, () => {
      const got = capsCase(userns);
      expect(got).toEqual({
        mlock: live.results.get(`${who}_mlock_over_limit`),
        below: live.results.get(`${who}_mmap_below_dac_min`),
        atMin: live.results.get(`${who}_mmap_at_min`),
      });
    });
  }
});

describe("capability checks (from source: kernel/capability.c, security/commoncap.c cap_capable)", () => {
  it("the reference root lacks only CAP_SYS_RESOURCE", () => {
    expect(capable(REFERENCE_ROOT, CAP_SYS_RESOURCE)).toBe(false);
    expect(capable(REFERENCE_ROOT, CAP_SYS_ADMIN)).toBe(true);
    expect(capable(REFERENCE_ROOT, CAP_CHECKPOINT_RESTORE)).toBe(true);
  });
  it("a new user namespace gives every capability in it, none in the initial one", () => {
    const c = enterNewUserNs(NOBODY, 0);
    expect(nsCapable(c, CAP_SYS_RESOURCE)).toBe(true);
    expect(capable(c, CAP_IPC_LOCK)).toBe(false);
    expect(checkpointRestoreNsCapable(c, userNsOf(c))).toBe(true);
    expect(checkpointRestoreNsCapable(c, INIT_USER_NS)).toBe(false);
  });
  it("a task in the parent namespace holds its capabilities over a child namespace; the creator holds all", () => {
    const child = enterNewUserNs(NOBODY, 0);
    const ns = userNsOf(child);
    expect(capableIn(REFERENCE_ROOT, ns, CAP_SYS_ADMIN)).toBe(true); // root (init ns) over a descendant
    expect(capableIn(REFERENCE_ROOT, ns, CAP_SYS_RESOURCE)).toBe(false); // it does not hold that one
    expect(capableIn(NOBODY, ns, CAP_SYS_ADMIN)).toBe(true); // nobody created it: owner
    expect(capableIn({ ...NOBODY, uid: 1000 }, ns, CAP_SYS_ADMIN)).toBe(false);
  });
  it("a sibling namespace's root has nothing over another child namespace", () => {
    const a = enterNewUserNs(NOBODY, 0);
    const b = enterNewUserNs(NOBODY, 0);
    expect(capableIn(a, userNsOf(b), CAP_SYS_ADMIN)).toBe(false);
  });
  it("clone(CLONE_NEWUSER) puts the child in a new namespace with an unmapped uid", () => {
    const k = new Kernel();
    const p = k.spawnEmpty().pid;
    const c = k.clone(p, 0x10000000 | 17);
    expect(k.process(c).creds.initUserNs).toBe(false);
    expect(k.process(c).creds.uid).toBe(65534);
    expect(k.process(p).creds).toEqual(REFERENCE_ROOT);
  });
});

describe("rlimit syscalls (from source: kernel/sys.c do_prlimit)", () => {
  it("setrlimit(STACK) then getrlimit reads it back; prlimit64 of another pid; cur > max is EINVAL", () => {
    const k = new Kernel();
    const p = k.spawnEmpty().pid;
    const q = k.spawnEmpty().pid;
    k.syscall(p, "mmap", [ARENA, PAGE, 3, 0x32, -1, 0]);
    const rl = new Uint8Array(16);
    const dv = new DataView(rl.buffer);
    dv.setBigUint64(0, 1n << 20n, true);
    dv.setBigUint64(8, (1n << 64n) - 1n, true);
    k.writeMemory(p, ARENA, rl);
    expect(num(k.syscall(p, "setrlimit", [3, ARENA]))).toBe(0);
    expect(k.process(p).rlimits.stack).toBe(1 << 20);
    expect(num(k.syscall(p, "getrlimit", [3, ARENA + 64]))).toBe(0);
    expect(k.readMemory(p, ARENA + 64, 8)).toEqual(rl.subarray(0, 8));
    expect(num(k.syscall(p, "prlimit64", [q, 8, ARENA, 0]))).toBe(0);
    expect(k.process(q).rlimits.memlock).toBe(1 << 20);
    expect(num(k.syscall(p, "prlimit64", [99999, 8, ARENA, 0]))).toBe(-3);
    const other = k.spawnEmpty({ creds: NOBODY }).pid;
    expect(num(k.syscall(p, "prlimit64", [other, 8, ARENA, 0]))).toBe(-1); // root lacks CAP_SYS_RESOURCE
    dv.setBigUint64(8, 1n, true);
    k.writeMemory(p, ARENA, rl);
    expect(num(k.syscall(p, "setrlimit", [2, ARENA]))).toBe(-22);
    expect(num(k.syscall(p, "setrlimit", [2, 8]))).toBe(-14);
    expect(num(k.syscall(p, "setrlimit", [16, ARENA]))).toBe(-22);
  });
});

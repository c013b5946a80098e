// SysV shared memory: the model runs native/probe-remote.c's "shm" section step by step and
// every result, maps line and "still mapped?" fact must equal the live kernel's.

import { beforeAll, describe, expect, it } from "vitest";
import { Unsupported } from "../src/kernel/unsupported.js";
import { type ProbeReport, runProbeRemote } from "../src/oracle/remote-live.js";
import { caseNames, compareReports, MAP_FIXED, MAP_PRIVATE, PAGE, PROT_NONE, PROT_READ, PROT_WRITE, Sim } from "./remote-sim.js";

const IPC_PRIVATE = 0;
const IPC_CREAT = 0o1000;
const IPC_EXCL = 0o2000;
const IPC_RMID = 0;
const SHM_RDONLY = 0o10000;
const SHM_RND = 0o20000;
const SHM_REMAP = 0o40000;
const SHM_EXEC = 0o100000;
const SHM_HUGETLB = 0o4000;

/** The probe's section_shm(), on the model; `key` is the key the live run used. */
function shmScenario(key: number): Sim {
  const s = new Sim();
  const at = (id: number, addr: number, flg: number) => s.sys("shmat", id, addr, flg);
  s.rep("shm.get.size0", s.sys("shmget", IPC_PRIVATE, 0, IPC_CREAT | 0o600));
  s.rep("shm.get.hugetlb", s.sys("shmget", IPC_PRIVATE, 2 << 20, IPC_CREAT | SHM_HUGETLB | 0o600));
  const id = s.repok("shm.get.private", s.sys("shmget", IPC_PRIVATE, 2 * PAGE, IPC_CREAT | 0o600));
  const a = s.repok("shm.at.null", at(id, 0, 0));
  s.maps("shm.at.null.maps", a);
  s.write(a, new Uint8Array([7]));
  const r = at(id, 0, SHM_RDONLY);
  s.maps("shm.at.rdonly.maps", r);
  s.val("shm.at.rdonly.reads_shared", s.byte(r));
  s.rep("shm.at.rdonly.mprotect_rw", s.sys("mprotect", r, PAGE, PROT_READ | PROT_WRITE));
  const x = at(id, 0, SHM_EXEC);
  s.maps("shm.at.exec.maps", x);
  const hole = s.map(4 * PAGE, PROT_NONE, MAP_PRIVATE);
  s.sys("munmap", hole, 4 * PAGE);
  s.rep("shm.at.unaligned", Math.min(0, at(id, hole + 100, 0)));
  const u = at(id, hole + 100, SHM_RND);
  s.rep("shm.at.rnd.offset", u < 0 ? u : u - hole);
  s.sys("shmdt", u);
  s.map(4 * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, -1, hole);
  s.rep("shm.at.overlap", Math.min(0, at(id, hole, 0)));
  const ov = at(id, hole, SHM_REMAP);
  s.rep("shm.at.overlap.remap", ov < 0 ? ov : ov - hole);
  s.maps("shm.at.overlap.remap.maps", hole);
  s.maps("shm.at.overlap.remap.rest", hole + 2 * PAGE);
  s.rep("shm.at.remap_null", Math.min(0, at(id, 0, SHM_REMAP)));
  s.rep("shm.at.badid", Math.min(0, at(-1, 0, 0)));
  s.repok("shm.at.unknown_flag", at(id, 0, 0x1000000));
  s.rep("shm.dt.not_attached", s.sys("shmdt", hole + 2 * PAGE));
  s.rep("shm.dt.unaligned", s.sys("shmdt", a + 1));
  s.rep("shm.dt.unmapped", s.sys("shmdt", 0x10000));
  s.rep("shm.dt.ok", s.sys("shmdt", x));
  s.val("shm.dt.ok.still_mapped", s.mapped(x));
  const sealed = at(id, 0, 0);
  s.rep("shm.dt.sealed.mseal", s.sys("mseal", sealed, 2 * PAGE, 0));
  s.rep("shm.dt.sealed", s.sys("shmdt", sealed));
  s.val("shm.dt.sealed.still_mapped", s.mapped(sealed));
  const id3 = s.sys("shmget", IPC_PRIVATE, 3 * PAGE, IPC_CREAT | 0o600);
  const t = at(id3, 0, 0);
  s.sys("munmap", t + PAGE, PAGE);
  s.rep("shm.dt.split", s.sys("shmdt", t));
  s.val("shm.dt.split.tail_mapped", s.mapped(t + 2 * PAGE));
  const t2 = at(id3, 0, 0);
  s.sys("munmap", t2, PAGE);
  s.rep("shm.dt.split.head_gone", s.sys("shmdt", t2 + PAGE));
  s.val("shm.dt.split.head_gone.tail_mapped", s.mapped(t2 + 2 * PAGE));
  const id5 = s.sys("shmget", IPC_PRIVATE, 5000, IPC_CREAT | 0o600);
  const f = at(id5, 0, 0);
  s.val("shm.size5000.second_page_mapped", s.mapped(f + PAGE));
  s.val("shm.size5000.third_page_mapped", s.mapped(f + 2 * PAGE));
  s.rep("shm.ctl.rmid", s.sys("shmctl", id, IPC_RMID, 0));
  s.maps("shm.ctl.rmid.maps", a);
  s.repok("shm.at.after_rmid", at(id, 0, 0));
  s.rep("shm.ctl.rmid_twice", s.sys("shmctl", id, IPC_RMID, 0));
  const kid = s.repok("shm.get.key", s.sys("shmget", key, PAGE, IPC_CREAT | IPC_EXCL | 0o600));
  const k = at(kid, 0, 0);
  s.maps("shm.at.key.maps", k);
  s.rep("shm.get.key.excl", s.sys("shmget", key, PAGE, IPC_CREAT | IPC_EXCL | 0o600));
  s.rep("shm.get.key.bigger", s.sys("shmget", key, 2 * PAGE, 0o600));
  s.repok("shm.get.key.smaller", s.sys("shmget", key, 100, 0o600));
  s.rep("shm.get.key.absent", s.sys("shmget", key ^ 0x00800000, PAGE, 0o600));
  s.sys("shmctl", kid, IPC_RMID, 0);
  s.maps("shm.at.key.rmid.maps", k);
  s.sys("shmctl", id3, IPC_RMID, 0);
  s.sys("shmctl", id5, IPC_RMID, 0);
  const idf = s.sys("shmget", IPC_PRIVATE, PAGE, IPC_CREAT | 0o600);
  const pa = at(idf, 0, 0);
  const holder = s.k.fork(s.pid);
  s.rep("shm.fork.rmid", s.sys("shmctl", idf, IPC_RMID, 0));
  s.rep("shm.fork.parent_dt", s.sys("shmdt", pa));
  const again = s.repok("shm.fork.at_child_holds", at(idf, 0, 0));
  s.rep("shm.fork.parent_dt_again", s.sys("shmdt", again));
  s.k.exit(holder);
  s.rep("shm.fork.at_after_child_exit", Math.min(0, at(idf, 0, 0)));
  return s;
}

const NOT_MODELED: Record<string, string> = {
  "shm.get.huge_size": "a 2^62-byte segment fails in shmem accounting (depends on RAM): Unsupported, see below",
};

describe("SysV shm against the live kernel", () => {
  let live: ProbeReport;
  beforeAll(async () => {
    live = await runProbeRemote("shm");
  });

  it("the probe ran to the end", () => {
    expect(live.failedSections).toEqual([]);
    expect(live.key).not.toBeNull();
  });

  it("shmget/shmat/shmdt/shmctl give the kernel's results, maps lines and leftovers", () => {
    const model = shmScenario(live.key as number).report;
    const cases = caseNames(live).filter((c) => !(c in NOT_MODELED));
    expect(compareReports(live, model, cases)).toEqual([]);
    expect(caseNames(model).sort()).toEqual(cases);
  });

  it("a segment larger than the model can account for is Unsupported, not guessed (live: ENOMEM)", () => {
    expect(live.results["shm.get.huge_size"]).toEqual({ ret: -1, errno: "ENOMEM" });
    const s = new Sim();
    expect(() => s.sys("shmget", IPC_PRIVATE, 1n << 62n, IPC_CREAT | 0o600)).toThrow(Unsupported);
  });
});

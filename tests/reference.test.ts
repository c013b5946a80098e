// Cases whose expected values come from ../shared/reference/linux-6.18-mm.md (sections
// cited per test; [V] there = verified on the reference machine). They cover what the
// random differential runs cannot reach cheaply: the max_map_count limit (65530 VMAs) and
// the 6.10 seal semantics (not the kernel on this machine).

import { describe, expect, it } from "vitest";
import { Kernel } from "../src/kernel/kernel.js";
import { procMaps } from "../src/kernel/procfs/maps.js";

const P = 4096;
const BASE = 0x100000000;
const FIXED_ANON = 0x10 | 0x02 | 0x20; // MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS
const R = 1;
const RW = 3;

/** A process with VMAs up to `count` (1-page, alternating prot so none merge). */
function withVmas(count: number, opts: ConstructorParameters<typeof Kernel>[0] = {}) {
  const k = new Kernel(opts);
  const p = k.spawnEmpty();
  const mm = p.mm;
  for (let i = 0; mm.mapCount < count; i++) {
    const r = k.syscallRaw(p.pid, "mmap", [BASE + 2 * i * P, P, i % 2 ? R : RW, FIXED_ANON, -1, 0]);
    if (r < 0) throw new Error(`setup mmap failed: ${r}`);
  }
  return { k, pid: p.pid, mm };
}

const err = (name: string) => ({ errno: expect.any(Number), name });

describe("max_map_count off-by-one (reference §6.3, §10.7)", () => {
  it("a non-merging mmap takes map_count from max to max+1, the next one fails ENOMEM", () => {
    const { k, pid, mm } = withVmas(65530);
    expect(k.syscall(pid, "mmap", [0x300000000, P, RW, FIXED_ANON, -1, 0])).toEqual({ ret: 0x300000000n });
    expect(mm.mapCount).toBe(65531);
    expect(k.syscall(pid, "mmap", [0x300002000, P, R, FIXED_ANON, -1, 0])).toEqual(err("ENOMEM"));
  });

  it("at the limit, munmap in the middle of a VMA is ENOMEM while trimming an end works", () => {
    const { k, pid, mm } = withVmas(65529);
    expect(k.syscall(pid, "mmap", [0x300000000, 3 * P, RW, FIXED_ANON, -1, 0])).toEqual({ ret: 0x300000000n });
    expect(mm.mapCount).toBe(65530);
    expect(k.syscall(pid, "munmap", [0x300000000 + P, P])).toEqual(err("ENOMEM"));
    expect(k.syscall(pid, "munmap", [0x300000000 + 2 * P, P])).toEqual({ ret: 0n });
    expect(mm.mapCount).toBe(65530);
  });

  it("a split at the limit: mprotect and mseal report ENOMEM, madvise reports EAGAIN", () => {
    const { k, pid, mm } = withVmas(65529);
    k.syscall(pid, "mmap", [0x300000000, 3 * P, RW, FIXED_ANON, -1, 0]);
    expect(mm.mapCount).toBe(65530);
    expect(k.syscall(pid, "mprotect", [0x300000000 + P, P, R])).toEqual(err("ENOMEM"));
    expect(k.syscall(pid, "mseal", [0x300000000 + P, P, 0])).toEqual(err("ENOMEM"));
    expect(k.syscall(pid, "madvise", [0x300000000 + P, P, 10 /* MADV_DONTFORK */])).toEqual(err("EAGAIN"));
  });
});

describe("mseal in 6.10: whole-range checks up front (reference §2.3)", () => {
  it("munmap over a sealed VMA fails before splitting its unsealed neighbour (6.18 leaves the split)", () => {
    for (const version of ["6.10", "6.18"] as const) {
      const k = new Kernel({ config: { version } });
      const pid = k.spawnEmpty().pid;
      k.syscall(pid, "mmap", [BASE, 4 * P, RW, FIXED_ANON, -1, 0]);
      k.syscall(pid, "mmap", [BASE + 4 * P, 2 * P, R, FIXED_ANON, -1, 0]);
      expect(k.syscall(pid, "mseal", [BASE + 4 * P, 2 * P, 0])).toEqual({ ret: 0n });
      expect(k.syscall(pid, "munmap", [BASE + 2 * P, 4 * P])).toEqual(err("EPERM"));
      const lines = procMaps(k.process(pid).mm)
        .split("\n")
        .filter((l) => l.startsWith("1"));
      // §10.1 [V]: on 6.18 the unsealed VMA stays split at the munmap's start.
      expect(lines.length).toBe(version === "6.10" ? 2 : 3);
    }
  });

  it("mprotect across an unsealed and a sealed VMA: 6.18 changes the first (partial), 6.10 nothing", () => {
    for (const version of ["6.10", "6.18"] as const) {
      const k = new Kernel({ config: { version } });
      const pid = k.spawnEmpty().pid;
      k.syscall(pid, "mmap", [BASE, 2 * P, RW, FIXED_ANON, -1, 0]);
      k.syscall(pid, "mmap", [BASE + 2 * P, 2 * P, R, FIXED_ANON, -1, 0]);
      k.syscall(pid, "mseal", [BASE + 2 * P, 2 * P, 0]);
      expect(k.syscall(pid, "mprotect", [BASE, 4 * P, R])).toEqual(err("EPERM"));
      const first = procMaps(k.process(pid).mm).split("\n")[0];
      expect(first.split(" ")[1]).toBe(version === "6.10" ? "rw-p" : "r--p");
    }
  });
});

describe("brk and shmdt-like silent failures (reference §2.2, §7.8)", () => {
  it("brk never returns an errno: a shrink over a sealed heap returns the old break", () => {
    const k = new Kernel();
    const p = k.spawnEmpty();
    p.mm.startBrk = BASE;
    p.mm.brk = BASE;
    expect(k.syscall(p.pid, "brk", [BASE + 3 * P + 5])).toEqual({ ret: BigInt(BASE + 3 * P + 5) });
    expect(k.syscall(p.pid, "mseal", [BASE, 4 * P, 0])).toEqual({ ret: 0n });
    expect(k.syscall(p.pid, "brk", [BASE + P])).toEqual({ ret: BigInt(BASE + 3 * P + 5) });
    expect(k.syscall(p.pid, "brk", [BASE - P])).toEqual({ ret: BigInt(BASE + 3 * P + 5) });
  });
});

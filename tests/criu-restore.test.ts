// CRIU restore of the real CRIU 4.2 image, executed by the model, against what the live
// kernel did: the restorer-phase syscall sequence recorded with ftrace during the real
// restore, and /proc/PID/maps after it.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeImages, encodeImages, ImageError, readImageDir } from "../src/checkpoint/images/index.js";
import { restore } from "../src/checkpoint/restore/restore.js";
import { bootstrapHint } from "../src/checkpoint/restore/restorer-layout.js";
import { searchStrategies } from "../src/checkpoint/restore/search.js";
import { Unsupported } from "../src/kernel/unsupported.js";

const CRIU = resolve(__dirname, "../../shared/traces/criu");
const IMAGES = join(CRIU, "images-loop");
const MAP: Array<[string, string]> = [["/tmp/ct/loop", join(CRIU, "loop")]];
const img = readImageDir(IMAGES);

/** The address-space calls of the recorded restorer phase, as [name, args, result]. */
function observed(): Array<[string, bigint[], bigint]> {
  const lines = readFileSync(join(CRIU, "criu42-restore-restorer-phase-all-syscalls.txt"), "utf8").split("\n");
  const out: Array<[string, bigint[], bigint]> = [];
  let pending: [string, bigint[]] | null = null;
  let resumedAt = -1;
  for (const l of lines) {
    // The trace goes on with the restored program's own calls: stop after compel's munmap.
    if (resumedAt >= 0 && out.length > resumedAt && out[out.length - 1]?.[0] === "munmap") break;
    if (l.includes("sys_rt_sigreturn(")) resumedAt = out.length;
    const call = /: sys_(\w+)\((.*)\)$/.exec(l);
    const ret = /: sys_(\w+) -> (0x[0-9a-f]+|-?\d+)$/.exec(l);
    if (call !== null) {
      const args = call[2] === "" ? [] : (call[2] as string).split(", ").map((kv) => BigInt(kv.split(": ")[1] as string));
      pending = [call[1] as string, args];
    } else if (ret !== null && pending !== null && ret[1] === pending[0]) {
      out.push([pending[0], pending[1], BigInt(ret[2] as string)]);
      pending = null;
    }
  }
  return out.filter(([name, a]) => keep(name, a));
}

/** The calls the restore model makes: memory calls, ARCH_MAP_VDSO, the mm prctls, closes of criu's mapped-file fds. */
function keep(name: string, a: bigint[]): boolean {
  if (["munmap", "mmap", "mremap", "mprotect", "madvise", "preadv"].includes(name)) return true;
  if (name === "arch_prctl") return a[0] === 0x2003n;
  if (name === "prctl") return a[0] === 0x29n || a[0] === 0x23n;
  if (name === "close") return (a[0] as bigint) < 8n; // 8 and 0x1ff are criu's own (log, transport)
  return false;
}

describe("restore of the real image under policy none", () => {
  const r = restore(img, { policy: "none", mapPath: MAP });

  it("succeeds and takes the path CRIU took (runtime vdso matches the dumped one: remap in place)", () => {
    expect(r.ok).toBe(true);
    expect(r.failed_step).toBeNull();
    expect(r.vdso_path).toBe("remap");
  });

  it("places the bootstrap where criu did: the lowest hole free in both layouts (restore log: hint 0x10000)", () => {
    expect(r.steps[0]?.name).toBe("bootstrap");
    expect(r.steps[0]?.result).toBe("0x10000");
    const own: Array<[number, number]> = [[0x7ff637167000, 0x7ff63716f000]];
    expect(bootstrapHint(own, [[0x10000, 0x20000]], 0x28000, 0x10000, 0x7ffffffff000)).toBe(0x20000);
  });

  it("makes the recorded restorer's calls, in order, with the same arguments and results", () => {
    const mine = r.steps
      .filter((s) => s.status === "ok")
      .map((s) => [s.name, s.args.map((x) => (x.endsWith(" iovecs") ? null : BigInt(x))), BigInt(s.result)] as const)
      .filter(([name, a]) =>
        keep(
          name,
          a.filter((x): x is bigint => x !== null),
        ),
      );
    const want = observed();
    expect(mine.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      const [wn, wa, wr] = want[i] as [string, bigint[], bigint];
      const [mn, ma, mr] = mine[i] as (typeof mine)[number];
      const label = `call ${i}: ${wn}(${wa.map((x) => x.toString(16)).join(", ")})`;
      expect(mn, label).toBe(wn);
      if (wn === "preadv") {
        // preadv(fd, iov, vlen, pos_l, pos_h): the iovec pointer is criu's own memory.
        expect([ma[0], ma[2], ma[3]], label).toEqual([wa[0], wa[2], wa[3]]);
      } else expect(ma.slice(0, wa.length), label).toEqual(wa.slice(0, ma.length));
      expect(mr, label).toBe(wr);
    }
  });

  it("leaves /proc/PID/maps as the kernel did (loop-maps-after-restore.txt; the relocated binary has another inode)", () => {
    const want = readFileSync(join(CRIU, "loop-maps-after-restore.txt"), "utf8");
    const norm = (t: string) => t.replace(/fe:00 \d+( +\/tmp\/ct\/loop)/g, "fe:00 INODE$1");
    expect(norm(r.maps_after)).toBe(norm(want));
  });

  it("puts the dumped bytes in place (the 'A' page and the 'B' pages of loop.c)", () => {
    const t = img.tasks[0];
    const pages = t?.pages as Uint8Array;
    let off = 0;
    for (const e of t?.pagemap ?? []) {
      const n = Number(e.nrPages);
      for (let i = 0; i < n; i++) {
        const addr = Number(e.vaddr) + i * 4096;
        if (addr >= 0x7fe980a17000 && addr < 0x7fe980a1f000) continue; // vvar/vdso: now the kernel's own pages
        const got = r.kernel.readMemory(r.pid, addr, 4096);
        expect(
          got !== null && Buffer.from(got).equals(Buffer.from(pages.subarray(off + i * 4096, off + (i + 1) * 4096))),
          addr.toString(16),
        ).toBe(true);
      }
      off += n * 4096;
    }
    expect(r.kernel.readMemory(r.pid, 0x7fe980a10000, 1)?.[0]).toBe("B".charCodeAt(0));
  });
});

describe("restore under sealed system mappings", () => {
  it("sysmap: fails at the first munmap covering the restorer's own vdso, with EPERM, nothing unmapped", () => {
    const r = restore(img, { policy: "sysmap", mapPath: MAP });
    expect(r.ok).toBe(false);
    const f = r.failed_step;
    expect(f?.name).toBe("munmap");
    expect(f?.result).toBe("EPERM");
    expect(f?.mirrors).toBe("unmap_old_vmas");
    const [addr, len] = (f?.args ?? []).map((x) => Number(BigInt(x)));
    expect(addr).toBeLessThanOrEqual(0x7ff63716d000);
    expect((addr as number) + (len as number)).toBeGreaterThanOrEqual(0x7ff63716f000);
    // Earlier munmaps covered no system mapping; this one is all-or-nothing.
    expect(r.maps_after).toContain("7ff63716d000-7ff63716f000 r-xp 00000000 00:00 0                          [vdso]");
  });

  it("sysmap: every CRIU strategy fails, each for a sealed system mapping; keeping the runtime vdso in place works", () => {
    const out = searchStrategies(img, "sysmap", { mapPath: MAP });
    const by = Object.fromEntries(out.map((o) => [o.strategy, o]));
    for (const s of ["auto", "remap", "proxy"]) {
      expect(by[s]?.ok).toBe(false);
      expect(by[s]?.explanation).toMatch(/unmap_old_vmas.*EPERM.*sealed \[vvar\].*\[vdso\] 0x7ff63716d000/);
    }
    expect(by.park?.ok).toBe(false);
    expect(by.park?.failed_step?.name).toBe("mremap");
    expect(by.park?.explanation).toMatch(/EPERM: the range holds sealed \[vdso\]/);
    expect(by["keep-runtime"]?.ok).toBe(true);
  });

  it("none: every strategy restores", () => {
    for (const o of searchStrategies(img, "none", { mapPath: MAP })) expect(o.ok, `${o.strategy}: ${o.explanation}`).toBe(true);
  });

  it("proxy keeps the runtime vdso in the bootstrap tail and leaves anonymous copies at the old addresses (as CRIU_FAULT=127 did)", () => {
    const r = restore(img, { policy: "none", strategy: "proxy", mapPath: MAP });
    expect(r.ok).toBe(true);
    expect(r.maps_after).toMatch(/^00036000-00038000 r-xp 00000000 00:00 0 +\[vdso\]$/m);
    expect(r.maps_after).toMatch(/^00030000-00034000 r--p 00000000 00:00 0 +\[vvar\]$/m);
    expect(r.maps_after).toMatch(/7fe980a17000-7fe980a1d000 r--p 00000000 00:00 0 \n/);
    expect(r.maps_after).toMatch(/7fe980a1d000-7fe980a1f000 r-xp 00000000 00:00 0 \n/);
    const last = r.steps[r.steps.length - 1];
    expect(last?.call).toBe("munmap(0x10000, 0x20000)");
  });
});

describe("the park path (no ARCH_MAP_VDSO, as CRIU_FAULT=133 ran it)", () => {
  it("moves criu's vdso, vvar_vclock, vvar into the bootstrap tail first, then ends with the same maps as the normal restore", () => {
    const r = restore(img, { policy: "none", strategy: "park", mapPath: MAP });
    expect(r.ok).toBe(true);
    const parks = r.steps.filter((s) => s.phase === "A" && s.name === "mremap").map((s) => [s.args[0], s.args[4]]);
    expect(parks).toEqual([
      ["0x7ff63716d000", "0x36000"],
      ["0x7ff63716b000", "0x34000"],
      ["0x7ff637167000", "0x30000"],
    ]);
    expect(r.steps.some((s) => s.name === "arch_prctl")).toBe(false);
    const want = readFileSync(join(CRIU, "loop-maps-after-restore.txt"), "utf8");
    const norm = (t: string) => t.replace(/fe:00 \d+( +\/tmp\/ct\/loop)/g, "fe:00 INODE$1");
    expect(norm(r.maps_after)).toBe(norm(want));
  });
});

describe("mapped files", () => {
  it("a file that is not on this machine is a clear error naming it", () => {
    expect(() => restore(img, { policy: "none" })).toThrow(ImageError);
    expect(() => restore(img, { policy: "none" })).toThrow(/\/tmp\/ct\/loop not found on this machine.*--map-path/);
  });
});

describe("hostile images at restore", () => {
  it("fuzz: mutated VMA and pagemap fields give a failed step or a typed error, never a crash", () => {
    const fields = ["start", "end", "pgoff", "prot", "flags", "status", "madv", "shmid"] as const;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(23), fc.constantFrom(...fields), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.option(fc.tuple(fc.nat(12), fc.bigInt({ min: 0n, max: (1n << 48n) - 1n })), { nil: null }),
        (muts, pm) => {
          const copy = decodeImages(encodeImages(img));
          const mm = copy.tasks[0]?.mm;
          if (mm === undefined || mm === null) throw new Error("no mm");
          for (const [i, f, v] of muts) {
            const vma = mm.vmas[i % mm.vmas.length] as unknown as Record<string, unknown>;
            vma[f] = ["prot", "flags", "status"].includes(f) ? Number(v & 0xffffffffn) : v;
          }
          if (pm !== null) {
            const e = copy.tasks[0]?.pagemap[pm[0]];
            if (e !== undefined) e.vaddr = pm[1] & ~0xfffn;
          }
          try {
            const r = restore(copy, { policy: "none", mapPath: MAP });
            expect(typeof r.ok).toBe("boolean");
          } catch (e) {
            if (!(e instanceof ImageError) && !(e instanceof Unsupported)) throw e;
          }
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });
});

// The fast dump and restore paths keep the contents semantics: dumpToDir writes the
// pages images straight from the model's frames (writev, no concatenation), restore(dir)
// lets the frames adopt the one buffer the pages image was read into. The expected bytes are
// the ones each test writes into the process itself; the directory is checked against the
// copying path (dumpProcess + writeImageDir), file for file.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dumpProcess, dumpToDir } from "../src/checkpoint/dump.js";
import { readDirFiles, writeDirFilesAtomic, writeImageDir } from "../src/checkpoint/images/dir.js";
import { decodeImages } from "../src/checkpoint/images/image-set.js";
import { pagePieces } from "../src/checkpoint/restore/contents.js";
import { restore } from "../src/checkpoint/restore/restore.js";
import { buildScenario, referenceVdsoImage } from "../src/checkpoint/scenarios.js";
import { benchCheckpoint } from "../src/report/bench-checkpoint.js";

const vdsoImage = referenceVdsoImage();
const work = mkdtempSync(join(tmpdir(), "aspace-checkpoint-perf-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const PAGE = 4096;

/** The loop scenario plus an anonymous rw mapping of `pages` pages, each page written by `fill`. */
function processWith(pages: number, fill: (page: number) => Uint8Array | null) {
  const { kernel, pid } = buildScenario("loop");
  const r = kernel.syscall(pid, "mmap", [0, pages * PAGE, 3, 0x22, 0xffffffffffffffffn, 0]);
  if ("errno" in r) throw new Error(r.name);
  const addr = Number(r.ret);
  for (let i = 0; i < pages; i++) {
    const bytes = fill(i);
    if (bytes !== null) expect(kernel.writeMemory(pid, addr + i * PAGE, bytes)).toBe(true);
  }
  return { kernel, pid, addr };
}

const pattern = (i: number): Uint8Array => {
  const b = new Uint8Array(PAGE);
  for (let k = 0; k < PAGE; k += 64) b[k] = (i * 7 + k) & 0xff;
  b[PAGE - 1] = (i % 250) + 1;
  return b;
};

describe("dumpToDir", () => {
  it("writes the same files as dumpProcess + writeImageDir, pages included", () => {
    // Pages written one at a time have a frame each: 1500 pieces, more than one writev takes.
    const { kernel, pid } = processWith(1500, (i) => (i % 3 === 2 ? null : pattern(i)));
    const a = join(work, "fast");
    const b = join(work, "copying");
    dumpToDir(kernel, pid, a, { vdsoImage, unknownPages: "approximate" });
    writeImageDir(b, dumpProcess(kernel, pid, { vdsoImage, unknownPages: "approximate" }));
    expect(readdirSync(a).sort()).toEqual(readdirSync(b).sort());
    for (const name of readdirSync(b)) expect(readFileSync(join(a, name)).equals(readFileSync(join(b, name))), name).toBe(true);
  });

  it("puts on disk the bytes the process held at the dump, and they restore readable and equal", () => {
    const { kernel, pid, addr } = processWith(64, pattern);
    const dir = join(work, "snap");
    const times = { write: 0, fsync: 0 };
    const written = dumpToDir(kernel, pid, dir, { vdsoImage, unknownPages: "approximate", times });
    expect(written).toBeGreaterThanOrEqual(64 * PAGE);
    expect(times.write).toBeGreaterThan(0);
    expect(times.fsync).toBeGreaterThan(0);
    // Written after the dump: not in the image.
    expect(kernel.writeMemory(pid, addr + 5 * PAGE, new Uint8Array([0xee, 0xee]))).toBe(true);
    const r = restore(dir, { policy: "none" });
    expect(r.ok, r.reason ?? "").toBe(true);
    for (let i = 0; i < 64; i++) {
      const got = r.kernel.readMemory(r.pid, addr + i * PAGE, PAGE);
      expect(got !== null && Buffer.from(got).equals(Buffer.from(pattern(i))), `page ${i}`).toBe(true);
    }
  });

  it("refuses an existing directory and leaves no temporary directory behind", () => {
    const { kernel, pid } = processWith(4, pattern);
    const dir = join(work, "exists");
    dumpToDir(kernel, pid, dir, { vdsoImage, unknownPages: "approximate" });
    expect(() => dumpToDir(kernel, pid, dir, { vdsoImage, unknownPages: "approximate" })).toThrow(/already exists/);
    expect(readdirSync(work).filter((n) => n.includes(".exists.tmp-"))).toEqual([]);
  });
});

describe("pagePieces", () => {
  it("joins adjacent views of one buffer, keeps others apart, writes zero pages for unknown-free null frames", () => {
    const big = new Uint8Array(4 * PAGE).map((_, i) => (i >> 12) + 1);
    const other = new Uint8Array(PAGE).fill(9);
    const pieces = pagePieces([
      { start: 0, pages: 2, list: [big.subarray(0, PAGE), big.subarray(PAGE, 2 * PAGE)] },
      { start: 10, pages: 3, list: [big.subarray(2 * PAGE, 3 * PAGE), null, other] },
      { start: 20, pages: 1, list: [big.subarray(3 * PAGE, 4 * PAGE)] },
    ]);
    expect(pieces.map((p) => p.byteLength)).toEqual([3 * PAGE, PAGE, PAGE, PAGE]);
    const all = Buffer.concat(pieces.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
    expect([...[0, 1, 2, 3, 4, 5].map((k) => all[k * PAGE])]).toEqual([1, 2, 3, 0, 9, 4]);
  });
});

describe("restore adopts the pages buffer", () => {
  it("a write after restore changes only that page of that process; a second restore of the same directory is unaffected", () => {
    const { kernel, pid, addr } = processWith(8, pattern);
    const dir = join(work, "adopt");
    dumpToDir(kernel, pid, dir, { vdsoImage, unknownPages: "approximate" });
    const one = restore(dir, { policy: "none" });
    const two = restore(dir, { policy: "none" });
    expect(one.ok && two.ok).toBe(true);
    expect(one.kernel.writeMemory(one.pid, addr + 3 * PAGE + 10, new Uint8Array([0xab]))).toBe(true);
    expect(one.kernel.readMemory(one.pid, addr + 3 * PAGE + 10, 1)?.[0]).toBe(0xab);
    for (const i of [2, 4]) expect(Buffer.from(one.kernel.readMemory(one.pid, addr + i * PAGE, PAGE) ?? []).equals(pattern(i))).toBe(true);
    expect(Buffer.from(two.kernel.readMemory(two.pid, addr + 3 * PAGE, PAGE) ?? []).equals(pattern(3))).toBe(true);
    // The image on disk is untouched.
    const img = decodeImages(readDirFiles(dir));
    const t = img.tasks[0];
    if (t === undefined || t.pages === null) throw new Error("no pages image");
    const want = addr + 3 * PAGE;
    let off = 0;
    let found = 0;
    for (const e of t.pagemap) {
      const at = Number(e.vaddr);
      const n = Number(e.nrPages);
      if (at <= want && want < at + n * PAGE) {
        const p = off + (want - at);
        expect(Buffer.from(t.pages.subarray(p, p + PAGE)).equals(pattern(3))).toBe(true);
        found++;
      }
      off += n * PAGE;
    }
    expect(found).toBe(1);
  });

  it("fork after restore shares the adopted frames copy-on-write", () => {
    const { kernel, pid, addr } = processWith(4, pattern);
    const dir = join(work, "fork");
    dumpToDir(kernel, pid, dir, { vdsoImage, unknownPages: "approximate" });
    const r = restore(dir, { policy: "none" });
    const child = r.kernel.syscall(r.pid, "fork", []);
    if ("errno" in child) throw new Error(child.name);
    const cpid = Number(child.ret);
    expect(r.kernel.writeMemory(cpid, addr + PAGE, new Uint8Array([0x55]))).toBe(true);
    expect(r.kernel.readMemory(cpid, addr + PAGE, 1)?.[0]).toBe(0x55);
    expect(Buffer.from(r.kernel.readMemory(r.pid, addr + PAGE, PAGE) ?? []).equals(pattern(1))).toBe(true);
  });
});

describe("writeDirFilesAtomic with pieces", () => {
  it("writes a file given as more pieces than one writev takes, in order", () => {
    const pieces = Array.from({ length: 2500 }, (_, i) => new Uint8Array(3 + (i % 5)).fill(i & 0xff));
    const dir = join(work, "pieces");
    writeDirFilesAtomic(dir, new Map<string, Uint8Array | Uint8Array[]>([["x.img", pieces]]));
    const got = readFileSync(join(dir, "x.img"));
    expect(got.equals(Buffer.concat(pieces))).toBe(true);
  });
});

describe("the checkpoint bench", () => {
  it("runs the real path on a small mapping and reports every figure (no speed asserted here)", () => {
    // The "tmpfs" part is pointed at the test's own directory: what is checked is that it runs
    // the same path, reports its figures and leaves nothing behind.
    const b = benchCheckpoint({ runs: 2, bytes: 1 << 22, dir: work, tmpfsDir: work });
    expect(b.dump_seconds.length).toBe(2);
    expect(b.tmpfs?.dump_seconds.length).toBe(2);
    expect(b.tmpfs?.io_floor_read_touched_seconds.length).toBe(2);
    for (const k of ["dump_restore_over_memcpy", "io_floor_over_memcpy"] as const) {
      const v = b.tmpfs?.[k] ?? Number.NaN;
      expect(Number.isFinite(v) && v > 0, `tmpfs.${k}`).toBe(true);
    }
    expect(b.restore_seconds.length).toBe(2);
    for (const k of ["memcpy_gb_per_s", "dump_gb_per_s", "restore_gb_per_s", "dump_restore_over_memcpy", "io_floor_over_memcpy"] as const)
      expect(Number.isFinite(b[k]) && b[k] > 0, k).toBe(true);
    expect(readdirSync(work).filter((n) => n.startsWith("aspace-bench-checkpoint-"))).toEqual([]);
  });
});

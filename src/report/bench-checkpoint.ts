// Checkpoint speed: dump and restore of a modeled process with 1 GiB of touched memory (the
// `loop` scenario plus one 1 GiB anonymous mapping whose every page holds data), against
// memcpy bandwidth measured in the same run.
//
// - dump: `dumpToDir`, the real path: images written to a temporary directory, every file
//   fsynced, inventory last, renamed into place; the pages image is written (writev) from
//   the model's frames. Timed whole; the part spent in fsync is also reported, so the
//   figure without fsync is `dump_no_fsync_*`.
// - restore: `restore(dir)`, the real path: every file read (the pages image in one read
//   into one buffer of its own), decoded, and the restorer's steps run; the frames adopt the
//   pages buffer (views, no second copy). Then (not timed) every restored page is compared
//   with the bytes that were dumped.
// - memcpy (`memcpy_gb_per_s`, the reference figure): Uint8Array.set of the same bytes
//   between two buffers already touched; also memcpy into fresh memory (Uint8Array.slice,
//   which pays the first-touch page faults that a restore pays too: its pages must land in
//   memory that did not exist before).
// - the I/O floor: the same bytes written with one write() + fsync() to a file and read back
//   with one read() into a fresh buffer, without the model: what any dump to disk and
//   restore from disk of these bytes costs in this process on this machine.
//
// - tmpfs (`tmpfs`, when a tmpfs such as /dev/shm is there): the model's dump and restore
//   with the images in memory-backed files, and the bare floor there (write+fsync, then a
//   read into memory already touched): no disk, no first-touch faults on the read side,
//   so this is the best any dump to files and restore from them can reach on this machine.
//
// Every figure is the median of `runs` runs; the model's process is built once, untimed.

import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { dumpToDir } from "../checkpoint/dump.js";
import type { WriteTimes } from "../checkpoint/images/dir.js";
import { writePagesBulk } from "../checkpoint/restore/contents.js";
import { restore } from "../checkpoint/restore/restore.js";
import { buildScenario, referenceVdsoImage } from "../checkpoint/scenarios.js";

export interface CheckpointBench {
  bytes: number;
  runs: number;
  /** memcpy between two already-touched buffers: the reference figure. */
  memcpy_gb_per_s: number;
  /** memcpy into fresh memory (first-touch page faults included). */
  memcpy_fresh_gb_per_s: number;
  /** Dump to an image directory, fsync included. */
  dump_gb_per_s: number;
  /** The same dump without the time spent in fsync. */
  dump_no_fsync_gb_per_s: number;
  /** Restore from the image directory (read, decode, restorer steps, contents). */
  restore_gb_per_s: number;
  /** (bytes dumped + bytes restored) / (dump time + restore time), over memcpy into touched memory. */
  dump_restore_over_memcpy: number;
  /** The same with the dump's fsync time left out. */
  dump_restore_no_fsync_over_memcpy: number;
  /** The same over memcpy into fresh memory. */
  dump_restore_over_memcpy_fresh: number;
  /** One write()+fsync() and one read() into a fresh buffer of the same bytes (no model). */
  io_floor_write_fsync_gb_per_s: number;
  io_floor_read_fresh_gb_per_s: number;
  /** (2 × bytes) / (io floor write+fsync + read) over memcpy into touched memory: the best any on-disk round trip reaches here. */
  io_floor_over_memcpy: number;
  /** Dump + restore time over the I/O floor's time (1: the model adds nothing). */
  dump_restore_over_io_floor: number;
  /** dump_restore_over_memcpy and io_floor_over_memcpy from each phase's fastest run (the least disturbed on a shared machine). */
  best: { dump_restore_over_memcpy: number; io_floor_over_memcpy: number; dump_restore_over_io_floor: number };
  /** The same dump and restore with the images on tmpfs, and the bare floor there (null: no tmpfs found). */
  tmpfs: TmpfsCheckpointBench | null;
  dump_seconds: number[];
  dump_fsync_seconds: number[];
  restore_seconds: number[];
  memcpy_seconds: number[];
  memcpy_fresh_seconds: number[];
  io_floor_write_fsync_seconds: number[];
  io_floor_read_seconds: number[];
}

export interface TmpfsCheckpointBench {
  dir: string;
  /** The model's dump + restore with the images on tmpfs, over memcpy into touched memory. */
  dump_restore_over_memcpy: number;
  /** write+fsync to tmpfs and a read back into touched memory, no model: the ceiling for any file-based dump and restore. */
  io_floor_over_memcpy: number;
  best: { dump_restore_over_memcpy: number; io_floor_over_memcpy: number };
  dump_seconds: number[];
  restore_seconds: number[];
  io_floor_write_fsync_seconds: number[];
  io_floor_read_touched_seconds: number[];
}

/** A tmpfs to put bench images on (memory-backed, like CRIU's images for live migration), or null. */
export function findTmpfs(): string | null {
  const TMPFS_MAGIC = 0x01021994;
  for (const d of ["/dev/shm", "/run/shm"]) {
    try {
      if (existsSync(d) && statfsSync(d).type === TMPFS_MAGIC) return d;
    } catch {
      // not usable: try the next
    }
  }
  return null;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const seconds = (t0: number) => (performance.now() - t0) / 1000;
/**
 * A full GC between phases, so that one phase's garbage does not weigh on the next. `npm run
 * bench` runs this stage in the bench's own process, without --expose-gc: the flag is then
 * set at run time and gc() taken from a fresh context (V8 installs it there).
 */
function fullGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) return g;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

export function benchCheckpoint(o: { runs: number; bytes?: number; dir?: string; tmpfsDir?: string | null }): CheckpointBench {
  const bytes = o.bytes ?? 1 << 30;
  const pages = bytes / 4096;
  const { kernel, pid } = buildScenario("loop");
  const addr = kernel.syscall(pid, "mmap", [0, bytes, 3, 0x22, 0xffffffffffffffffn, 0]);
  if ("errno" in addr) throw new Error(`mmap of ${bytes} bytes failed: ${addr.name}`);
  const start = Number(addr.ret) / 4096;
  const src = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 4096) src[i] = (i / 4096) & 0xff || 1; // every page holds data
  for (let i = 4095; i < bytes; i += 4096) src[i] = (i >>> 12) % 251; // and differs from its neighbours
  if (writePagesBulk(kernel.process(pid).enter(), src, [[start, pages, 0]]) !== null) throw new Error("could not touch the bench memory");
  const vdsoImage = referenceVdsoImage();
  const dst = new Uint8Array(bytes).fill(1); // touched before any timing
  const collect = fullGc();
  const work = mkdtempSync(join(o.dir ?? tmpdir(), "aspace-bench-checkpoint-"));
  const tmpfsDir = o.tmpfsDir === undefined ? findTmpfs() : o.tmpfsDir;
  const tmpfsWork = tmpfsDir === null ? null : mkdtempSync(join(tmpfsDir, "aspace-bench-checkpoint-"));
  const r = {
    memcpy: [] as number[],
    fresh: [] as number[],
    dump: [] as number[],
    fsync: [] as number[],
    restore: [] as number[],
    floorWrite: [] as number[],
    floorRead: [] as number[],
    tmpfsDump: [] as number[],
    tmpfsRestore: [] as number[],
    tmpfsFloorWrite: [] as number[],
    tmpfsFloorRead: [] as number[],
  };
  try {
    // Within a run: memcpy, then the model's dump and restore (the restored process then
    // dropped) and the I/O floor — in turn first on even runs, second on odd ones, since on
    // this VM whichever comes second gets memory the first just freed — then memcpy into
    // fresh memory. A full GC before each phase that needs new memory.
    for (let i = 0; i < o.runs; i++) {
      collect();
      let t = performance.now();
      dst.set(src);
      r.memcpy.push(seconds(t));
      const dumpAndRestore = (where: string, dumps: number[], restores: number[], fsyncs: number[] | null) => {
        const dir = join(where, `images-${i}`);
        const times: WriteTimes = { write: 0, fsync: 0 };
        collect();
        const t0 = performance.now();
        const written = dumpToDir(kernel, pid, dir, { vdsoImage, unknownPages: "approximate", times });
        dumps.push(seconds(t0));
        fsyncs?.push(times.fsync);
        if (written < bytes) throw new Error(`the dump wrote ${written} bytes of pages, expected at least ${bytes}`);
        collect();
        restores.push(restoreAndCheck(dir, start, src));
        removeSettled(dir);
      };
      const model = () => dumpAndRestore(work, r.dump, r.restore, r.fsync);
      const floor = () => {
        collect();
        const f = ioFloor(join(work, "floor.bin"), src);
        r.floorWrite.push(f.writeFsync);
        r.floorRead.push(f.read);
      };
      if (i % 2 === 0) {
        model();
        floor();
      } else {
        floor();
        model();
      }
      if (tmpfsWork !== null) {
        dumpAndRestore(tmpfsWork, r.tmpfsDump, r.tmpfsRestore, null);
        collect();
        const f = ioFloor(join(tmpfsWork, "floor.bin"), src, dst);
        r.tmpfsFloorWrite.push(f.writeFsync);
        r.tmpfsFloorRead.push(f.read);
      }
      collect();
      t = performance.now();
      const copy = src.slice();
      r.fresh.push(seconds(t));
      if (copy[4095] !== src[4095]) throw new Error("slice");
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (tmpfsWork !== null) rmSync(tmpfsWork, { recursive: true, force: true });
  }
  const gb = bytes / 1e9;
  const m = median(r.memcpy);
  const f = median(r.fresh);
  const d = median(r.dump);
  const dNoSync = median(r.dump.map((x, i) => x - (r.fsync[i] as number)));
  const rs = median(r.restore);
  const fw = median(r.floorWrite);
  const fr = median(r.floorRead);
  const list = (xs: number[]) => xs.map((x) => round(x, 4));
  return {
    bytes,
    runs: o.runs,
    memcpy_gb_per_s: round(gb / m),
    memcpy_fresh_gb_per_s: round(gb / f),
    dump_gb_per_s: round(gb / d),
    dump_no_fsync_gb_per_s: round(gb / dNoSync),
    restore_gb_per_s: round(gb / rs),
    dump_restore_over_memcpy: round((2 * gb) / (d + rs) / (gb / m)),
    dump_restore_no_fsync_over_memcpy: round((2 * gb) / (dNoSync + rs) / (gb / m)),
    dump_restore_over_memcpy_fresh: round((2 * gb) / (d + rs) / (gb / f)),
    io_floor_write_fsync_gb_per_s: round(gb / fw),
    io_floor_read_fresh_gb_per_s: round(gb / fr),
    io_floor_over_memcpy: round((2 * gb) / (fw + fr) / (gb / m)),
    dump_restore_over_io_floor: round((d + rs) / (fw + fr)),
    best: (() => {
      const [bm, bd, br, bw, bf] = [r.memcpy, r.dump, r.restore, r.floorWrite, r.floorRead].map((x) => Math.min(...x)) as number[];
      return {
        dump_restore_over_memcpy: round((2 * gb) / (bd + br) / (gb / bm)),
        io_floor_over_memcpy: round((2 * gb) / (bw + bf) / (gb / bm)),
        dump_restore_over_io_floor: round((bd + br) / (bw + bf)),
      };
    })(),
    tmpfs:
      tmpfsDir === null
        ? null
        : {
            dir: tmpfsDir,
            dump_restore_over_memcpy: round((2 * m) / (median(r.tmpfsDump) + median(r.tmpfsRestore))),
            io_floor_over_memcpy: round((2 * m) / (median(r.tmpfsFloorWrite) + median(r.tmpfsFloorRead))),
            best: {
              dump_restore_over_memcpy: round((2 * Math.min(...r.memcpy)) / (Math.min(...r.tmpfsDump) + Math.min(...r.tmpfsRestore))),
              io_floor_over_memcpy: round((2 * Math.min(...r.memcpy)) / (Math.min(...r.tmpfsFloorWrite) + Math.min(...r.tmpfsFloorRead))),
            },
            dump_seconds: list(r.tmpfsDump),
            restore_seconds: list(r.tmpfsRestore),
            io_floor_write_fsync_seconds: list(r.tmpfsFloorWrite),
            io_floor_read_touched_seconds: list(r.tmpfsFloorRead),
          },
    dump_seconds: list(r.dump),
    dump_fsync_seconds: list(r.fsync),
    restore_seconds: list(r.restore),
    memcpy_seconds: list(r.memcpy),
    memcpy_fresh_seconds: list(r.fresh),
    io_floor_write_fsync_seconds: list(r.floorWrite),
    io_floor_read_seconds: list(r.floorRead),
  };
}

/**
 * Remove a bench file or directory and wait (untimed) for the journal commit that frees its
 * blocks: the filesystem here is mounted with `discard`, and a commit trimming 1 GiB would
 * otherwise land in whichever phase is timed next.
 */
function removeSettled(path: string): void {
  rmSync(path, { recursive: true, force: true });
  const fd = openSync(dirname(path), "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Seconds to restore `dir`; then (not timed) every page of the bench mapping must read back as `src`. */
function restoreAndCheck(dir: string, start: number, src: Uint8Array): number {
  const t = performance.now();
  const res = restore(dir, { policy: "none" });
  const s = seconds(t);
  if (!res.ok) throw new Error(`restore failed: ${res.reason}`);
  const bad = firstDifferentPage(res.kernel.process(res.pid).mm, start, src);
  if (bad !== null) throw new Error(`restored page 0x${(bad * 4096).toString(16)} differs from the dumped bytes`);
  return s;
}

/** The first page of [start, start + src pages) whose restored bytes differ from `src`, or null. */
function firstDifferentPage(
  mm: { pt: { get(page: number): { frame: { data: Uint8Array | null } } | undefined } },
  start: number,
  src: Uint8Array,
): number | null {
  const pages = src.length / 4096;
  for (let i = 0; i < pages; i++) {
    const data = mm.pt.get(start + i)?.frame.data;
    if (data === undefined || data === null) return start + i;
    if (Buffer.compare(data, src.subarray(i * 4096, (i + 1) * 4096)) !== 0) return start + i;
  }
  return null;
}

/**
 * Seconds for write+fsync and for the read back of `bytes` through the file at `path`
 * (removed after): into a fresh buffer, or into `into` (memory already touched).
 */
export function ioFloor(path: string, bytes: Uint8Array, into?: Uint8Array): { writeFsync: number; read: number } {
  let t = performance.now();
  const fd = openSync(path, "w", 0o600);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const writeFsync = (performance.now() - t) / 1000;
  t = performance.now();
  const rfd = openSync(path, "r");
  let got = 0;
  try {
    const buf = into ?? Buffer.allocUnsafeSlow(bytes.length);
    while (got < bytes.length) {
      const n = readSync(rfd, buf, got, bytes.length - got, got);
      if (n === 0) break;
      got += n;
    }
  } finally {
    closeSync(rfd);
  }
  const read = (performance.now() - t) / 1000;
  removeSettled(path);
  if (got !== bytes.length) throw new Error(`read back ${got} of ${bytes.length} bytes`);
  return { writeFsync, read };
}

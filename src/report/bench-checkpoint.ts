// Checkpoint speed: dump and restore of a modeled process with 1 GiB of touched memory (the
// `loop` scenario plus one 1 GiB anonymous mapping whose every page holds data), against
// memcpy bandwidth measured in the same run. Dump copies each byte once (frames → a new
// pages image), restore once (pages image → new frames), so each phase is compared with one
// memcpy of the same bytes, two ways: into memory already touched (`memcpy_gb_per_s`,
// Uint8Array.set) and into fresh memory (`memcpy_fresh_gb_per_s`, Uint8Array.slice, which
// pays the first-touch page faults that dump and restore pay too, since each materializes
// new memory). Only dump and restore are timed (building the process and encoding the
// image directory are not).

import { dumpProcess } from "../checkpoint/dump.js";
import { decodeImages, encodeImages } from "../checkpoint/images/image-set.js";
import { writePagesBulk } from "../checkpoint/restore/contents.js";
import { restore } from "../checkpoint/restore/restore.js";
import { buildScenario, referenceVdsoImage } from "../checkpoint/scenarios.js";

export interface CheckpointBench {
  bytes: number;
  memcpy_gb_per_s: number;
  memcpy_fresh_gb_per_s: number;
  dump_gb_per_s: number;
  restore_gb_per_s: number;
  /** (bytes dumped + bytes restored) / (dump time + restore time), over memcpy into touched memory. */
  dump_restore_over_memcpy: number;
  /** The same over memcpy into fresh memory. */
  dump_restore_over_memcpy_fresh: number;
  dump_seconds: number[];
  restore_seconds: number[];
  memcpy_seconds: number[];
  memcpy_fresh_seconds: number[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

export function benchCheckpoint(o: { runs: number; bytes?: number }): CheckpointBench {
  const bytes = o.bytes ?? 1 << 30;
  const pages = bytes / 4096;
  const { kernel, pid } = buildScenario("loop");
  const addr = kernel.syscall(pid, "mmap", [0, bytes, 3, 0x22, 0xffffffffffffffffn, 0]);
  if ("errno" in addr) throw new Error(`mmap of ${bytes} bytes failed: ${addr.name}`);
  const start = Number(addr.ret) / 4096;
  const src = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 4096) src[i] = (i / 4096) & 0xff || 1; // every page holds data
  if (writePagesBulk(kernel.process(pid).enter(), src, [[start, pages, 0]]) !== null) throw new Error("could not touch the bench memory");
  const vdsoImage = referenceVdsoImage();
  const memcpy: number[] = [];
  const fresh: number[] = [];
  const dumps: number[] = [];
  const restores: number[] = [];
  const dst = new Uint8Array(bytes);
  for (let i = 0; i < o.runs; i++) {
    let t = performance.now();
    dst.set(src);
    memcpy.push((performance.now() - t) / 1000);
    t = performance.now();
    const copy = src.slice();
    fresh.push((performance.now() - t) / 1000);
    if (copy.length !== bytes) throw new Error("slice");
    t = performance.now();
    const img = dumpProcess(kernel, pid, { vdsoImage, unknownPages: "approximate" });
    dumps.push((performance.now() - t) / 1000);
    const decoded = decodeImages(encodeImages(img));
    t = performance.now();
    const r = restore(decoded, { policy: "none" });
    restores.push((performance.now() - t) / 1000);
    if (!r.ok) throw new Error(`restore failed: ${r.reason}`);
  }
  const gb = bytes / 1e9;
  const [m, f, d, r] = [median(memcpy), median(fresh), median(dumps), median(restores)];
  return {
    bytes,
    memcpy_gb_per_s: round(gb / m),
    memcpy_fresh_gb_per_s: round(gb / f),
    dump_gb_per_s: round(gb / d),
    restore_gb_per_s: round(gb / r),
    dump_restore_over_memcpy: round((2 * gb) / (d + r) / (gb / m)),
    dump_restore_over_memcpy_fresh: round((2 * gb) / (d + r) / (gb / f)),
    dump_seconds: dumps.map((x) => round(x, 4)),
    restore_seconds: restores.map((x) => round(x, 4)),
    memcpy_seconds: memcpy.map((x) => round(x, 4)),
    memcpy_fresh_seconds: fresh.map((x) => round(x, 4)),
  };
}

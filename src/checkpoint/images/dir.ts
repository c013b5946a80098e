// Image directories on disk. Reading takes every file of the directory (bounded by the
// files' real sizes); writing is crash-safe: files go to a fresh temporary directory beside
// the target, each is fsynced, inventory.img (the image CRIU reads first, so our completion
// marker) is written last, the directory is fsynced, and only then renamed into place. A
// dump killed at any point leaves at most a `.tmp-` directory, never a directory that
// loads as complete.

import { constants } from "node:buffer";
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  writevSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { ImageError } from "./errors.js";
import { type CheckpointImages, decodeImages, encodeImages } from "./image-set.js";

/** Every regular file of an image directory, by name. */
export function readDirFiles(dir: string): Map<string, Uint8Array> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ImageError("missing", dir, 0, "no such image directory");
  const files = new Map<string, Uint8Array>();
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (!statSync(p).isFile()) continue;
    files.set(name, readWholeFile(p, name));
  }
  return files;
}

/**
 * A file's bytes in one buffer of its own (never a shared pool slab, never copied again):
 * a restore lets the model's frames adopt the pages image in place. Bounded by the size
 * fstat gives; a file that shrinks meanwhile is returned as far as it goes.
 */
function readWholeFile(path: string, name: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size > constants.MAX_LENGTH)
      throw new ImageError("bad-length", name, 0, `${size} bytes: larger than one buffer can hold (${constants.MAX_LENGTH})`);
    // Every byte is overwritten by the read: no zero-fill (allocUnsafeSlow is never pooled).
    const buf = Buffer.allocUnsafeSlow(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, off);
  } finally {
    closeSync(fd);
  }
}

export function readImageDir(dir: string): CheckpointImages {
  return decodeImages(readDirFiles(dir));
}

/**
 * A file's content: one buffer, or pieces written in order with writev (a dump's pages
 * image straight from the model's frames, never concatenated).
 */
export type FileContent = Uint8Array | readonly Uint8Array[];

/** Where the time of a directory write went (seconds), for the checkpoint bench. */
export interface WriteTimes {
  /** write()/writev() of every file's bytes (into the page cache). */
  write: number;
  /** fsync() of every file, the directory and its parent. */
  fsync: number;
}

/** Pieces per writev call (the kernel's UIO_MAXIOV). */
const IOV_MAX = 1024;

/** Write every piece, resuming after short writes. */
function writePieces(fd: number, pieces: readonly Uint8Array[]): void {
  let i = 0;
  let skip = 0; // bytes of pieces[i] already written
  while (i < pieces.length) {
    const batch: Uint8Array[] = [];
    for (let j = i; j < pieces.length && batch.length < IOV_MAX; j++) {
      const p = pieces[j] as Uint8Array;
      batch.push(j === i && skip > 0 ? p.subarray(skip) : p);
    }
    let n = batch.length === 1 ? writeSync(fd, batch[0] as Uint8Array) : writevSync(fd, batch);
    if (n === 0 && batch.some((b) => b.length > 0)) throw new Error("write made no progress");
    while (i < pieces.length && n > 0) {
      const left = (pieces[i] as Uint8Array).length - skip;
      if (n >= left) {
        n -= left;
        i++;
        skip = 0;
      } else {
        skip += n;
        n = 0;
      }
    }
    while (i < pieces.length && (pieces[i] as Uint8Array).length === 0) i++;
  }
}

function writeFileSynced(path: string, content: FileContent, times: WriteTimes | undefined): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    let t = performance.now();
    writePieces(fd, content instanceof Uint8Array ? [content] : content);
    const t1 = performance.now();
    fsyncSync(fd);
    if (times !== undefined) {
      times.write += (t1 - t) / 1000;
      t = performance.now();
      times.fsync += (t - t1) / 1000;
    }
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string, times: WriteTimes | undefined): void {
  const t = performance.now();
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (times !== undefined) times.fsync += (performance.now() - t) / 1000;
}

/**
 * Write files (in map order; the caller puts inventory.img last) to `dir` atomically.
 * An existing `dir` is replaced only with `overwrite`.
 */
export function writeDirFilesAtomic(
  dir: string,
  files: Map<string, FileContent>,
  opts: { overwrite?: boolean; times?: WriteTimes } = {},
): void {
  if (existsSync(dir) && !opts.overwrite) throw new Error(`${dir} already exists (use a new directory or overwrite)`);
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  try {
    const names = [...files.keys()].filter((n) => n !== "inventory.img");
    if (files.has("inventory.img")) names.push("inventory.img");
    for (const name of names) writeFileSynced(join(tmp, name), files.get(name) as FileContent, opts.times);
    fsyncDir(tmp, opts.times);
    if (existsSync(dir)) {
      const old = `${tmp}.old`;
      renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(tmp, dir);
    fsyncDir(parent, opts.times);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export function writeImageDir(dir: string, img: CheckpointImages, opts: { overwrite?: boolean } = {}): void {
  writeDirFilesAtomic(dir, encodeImages(img), opts);
}

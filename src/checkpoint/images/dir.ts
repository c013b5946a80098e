// Image directories on disk. Reading takes every file of the directory (bounded by the
// files' real sizes); writing is crash-safe: files go to a fresh temporary directory beside
// the target, each is fsynced, inventory.img (the image CRIU reads first, so our completion
// marker) is written last, the directory is fsynced, and only then renamed into place. A
// dump killed at any point leaves at most a `.tmp-` directory, never a directory that
// loads as complete.

import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
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
    files.set(name, new Uint8Array(readFileSync(p)));
  }
  return files;
}

export function readImageDir(dir: string): CheckpointImages {
  return decodeImages(readDirFiles(dir));
}

function writeFileSynced(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Write files (in map order; the caller puts inventory.img last) to `dir` atomically.
 * An existing `dir` is replaced only with `overwrite`.
 */
export function writeDirFilesAtomic(dir: string, files: Map<string, Uint8Array>, opts: { overwrite?: boolean } = {}): void {
  if (existsSync(dir) && !opts.overwrite) throw new Error(`${dir} already exists (use a new directory or overwrite)`);
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  try {
    const names = [...files.keys()].filter((n) => n !== "inventory.img");
    if (files.has("inventory.img")) names.push("inventory.img");
    for (const name of names) writeFileSynced(join(tmp, name), files.get(name) as Uint8Array);
    fsyncDir(tmp);
    if (existsSync(dir)) {
      const old = `${tmp}.old`;
      renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(tmp, dir);
    fsyncDir(parent);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export function writeImageDir(dir: string, img: CheckpointImages, opts: { overwrite?: boolean } = {}): void {
  writeDirFilesAtomic(dir, encodeImages(img), opts);
}

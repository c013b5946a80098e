// A Resolver over the real filesystem (the engine does the I/O, the model asks): what
// /proc/PID/maps would print for a path (device as "maj:min" in hex, inode number, the
// path with symlinks resolved), its size, mode and owner, whether its mount is noexec, and
// its bytes on demand (pread of the asked range; files are never read whole: node alone
// is ~100 MB).

import { closeSync, openSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { FileFacts, Resolver } from "../kernel/fs/vfs.js";

export interface HostResolverOptions {
  /** Directory relative paths are resolved against (default: process.cwd()). */
  cwd?: string;
  /** /proc/self/mountinfo text (default: read it), for noexec mounts. */
  mountinfo?: string;
}

/** "maj:min" as /proc/PID/maps prints a device number (new_encode_dev layout of st_dev). */
export function devString(dev: number): string {
  const major = Math.floor(dev / 256) % 4096;
  const minor = (dev % 256) + Math.floor(dev / 2 ** 20) * 256;
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

interface Mount {
  point: string;
  noexec: boolean;
}

/** Mount points and their noexec flag from mountinfo (field 5: mount point, 6: options). */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f.length < 6) continue;
    const point = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    out.push({ point, noexec: f[5].split(",").includes("noexec") });
  }
  return out;
}

/** The mount a path lives on: the last-listed mount whose point is the longest prefix. */
function mountOf(mounts: readonly Mount[], path: string): Mount | null {
  let best: Mount | null = null;
  for (const m of mounts) {
    const inside = m.point === "/" || path === m.point || path.startsWith(`${m.point}/`);
    if (inside && (best === null || m.point.length >= best.point.length)) best = m;
  }
  return best;
}

/** pread of [offset, offset+length): fewer bytes at the end of the file. */
function preadRange(path: string, offset: number, length: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, got);
  } finally {
    closeSync(fd);
  }
}

/** A Resolver over the host filesystem (see the file comment). */
export function hostResolver(opts: HostResolverOptions = {}): Resolver {
  let mounts: Mount[] | null = null;
  const mountList = (): Mount[] => {
    if (mounts === null) {
      let text = opts.mountinfo;
      if (text === undefined) {
        try {
          text = readFileSync("/proc/self/mountinfo", "utf8");
        } catch {
          text = "";
        }
      }
      mounts = parseMountinfo(text);
    }
    return mounts;
  };
  return (path: string): FileFacts | null => {
    const abs = resolve(opts.cwd ?? process.cwd(), path);
    let real: string;
    let st: ReturnType<typeof statSync>;
    try {
      real = realpathSync(abs);
      st = statSync(real);
    } catch {
      return null;
    }
    if (st === undefined) return null;
    const regular = st.isFile();
    const facts: FileFacts = {
      dev: devString(st.dev),
      ino: st.ino,
      size: st.size,
      regular,
      noexec: mountOf(mountList(), real)?.noexec ?? false,
      zeroDevice: st.isCharacterDevice() && st.rdev === 0x105,
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      read: regular ? (offset, length) => preadRange(real, offset, length) : undefined,
    };
    if (real !== path) facts.path = real;
    return facts;
  };
}

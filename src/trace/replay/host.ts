// A resolver over this machine's files (stat + pread), for replays run here. Device numbers
// are printed as /proc/PID/maps prints them (hex major:minor).

import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { FileFacts, Resolver } from "../../kernel/fs/vfs.js";

/** new_decode_dev(): the major and minor of a stat st_dev, as "%02x:%02x". */
export function devString(dev: number): string {
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & ~0xff & 0xfffff);
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

/** Facts about a path on this machine, or null when it does not exist. */
export function hostFacts(path: string): FileFacts | null {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return null;
  }
  if (st === undefined) return null;
  return {
    dev: devString(Number(st.dev)),
    ino: Number(st.ino),
    size: Number(st.size),
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    regular: st.isFile(),
    zeroDevice: st.isCharacterDevice() && Number(st.rdev) === 0x105,
    read: (offset: number, length: number): Uint8Array => {
      const fd = openSync(path, "r");
      try {
        const buf = Buffer.alloc(length);
        const n = readSync(fd, buf, 0, length, offset);
        return new Uint8Array(buf.subarray(0, n));
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** A memoizing resolver over the host filesystem. */
export function hostFileResolver(): Resolver {
  const cache = new Map<string, FileFacts | null>();
  return (path) => {
    let f = cache.get(path);
    if (f === undefined) {
      f = hostFacts(path);
      cache.set(path, f);
    }
    return f;
  };
}

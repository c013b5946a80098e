// Mapped files on this machine, for import and restore: a Resolver (the model's view of a
// path: device, inode, size, mode, bytes on demand) over the real filesystem, with
// `--map-path OLD=NEW` rewrites for files that were dumped at one path and now live at
// another (images-loop was dumped from /tmp/ct/loop; the binary now sits beside it).
// The model keeps seeing the recorded path, as the restored process's maps show it.

import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { FileFacts, Resolver } from "../kernel/fs/vfs.js";

export type PathMap = Array<[from: string, to: string]>;

/** Parse `OLD=NEW` pairs (a clear error for anything else). */
export function parsePathMap(specs: string[]): PathMap {
  return specs.map((s) => {
    const i = s.indexOf("=");
    if (i <= 0 || i === s.length - 1) throw new Error(`--map-path takes OLD=NEW, got '${s}'`);
    return [s.slice(0, i), s.slice(i + 1)];
  });
}

/** Where a recorded path is on this machine (the longest matching OLD prefix wins). */
export function hostPath(path: string, map: PathMap): string {
  let best: [string, string] | null = null;
  for (const [from, to] of map) {
    const hit = path === from || path.startsWith(from.endsWith("/") ? from : `${from}/`);
    if (hit && (best === null || from.length > best[0].length)) best = [from, to];
  }
  return best === null ? path : best[1] + path.slice(best[0].length);
}

/** The device number as /proc/PID/maps prints it ("fe:00"). */
function devString(dev: number): string {
  const major = (dev >>> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

export function hostFileFacts(real: string): FileFacts | null {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(real);
  } catch {
    return null;
  }
  return {
    dev: devString(Number(st.dev)),
    ino: Number(st.ino),
    size: Number(st.size),
    regular: st.isFile(),
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    zeroDevice: st.isCharacterDevice() && Number(st.rdev) === 0x105,
    read: (offset: number, length: number) => {
      const out = new Uint8Array(Math.max(0, Math.min(length, Number(st.size) - offset)));
      const fd = openSync(real, "r");
      try {
        let got = 0;
        while (got < out.length) {
          const n = readSync(fd, out, got, out.length - got, offset + got);
          if (n === 0) break;
          got += n;
        }
      } finally {
        closeSync(fd);
      }
      return out;
    },
  };
}

/** A Resolver over this machine's files, recorded paths rewritten by `map`. */
export function hostFileResolver(map: PathMap = []): Resolver {
  return (path: string) => hostFileFacts(hostPath(path, map));
}

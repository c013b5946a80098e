// Mapped files on this machine, for import and restore: a Resolver (the model's view of a
// path: device, inode, size, mode, bytes on demand) over the real filesystem, with
// `--map-path OLD=NEW` rewrites for files that were dumped at one path and now live at
// another (images-loop was dumped from /tmp/ct/loop; the binary now sits beside it).
// The model keeps seeing the recorded path, as the restored process's maps show it.

import type { FileFacts, Resolver } from "../kernel/fs/vfs.js";
import { hostResolver } from "../oracle/host-files.js";

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

/**
 * A Resolver over this machine's files (hostResolver of src/oracle/host-files.ts), recorded
 * paths rewritten by `map`. A rewritten file keeps its recorded path in the model.
 */
export function hostFileResolver(map: PathMap = []): Resolver {
  const host = hostResolver();
  return (path: string): FileFacts | null => {
    const real = hostPath(path, map);
    const f = host(real);
    if (f !== null && real !== path) (f as { path?: string }).path = path;
    return f;
  };
}

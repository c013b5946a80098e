// File helpers for the faces (CLI, reports): traces that may be gzip-compressed, and outputs
// written atomically so that a reader never sees half a file.
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";

/** A file the user named could not be used; `line` is 1-based when known. Exit status 2. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly file: string | null = null,
    readonly line: number | null = null,
  ) {
    super(message);
    this.name = "InputError";
  }

  /** "FILE:LINE: message", "FILE: message" or "message". */
  where(): string {
    if (this.file === null) return this.message;
    return this.line === null ? `${this.file}: ${this.message}` : `${this.file}:${this.line}: ${this.message}`;
  }
}

const REASONS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "is a directory",
  ENOTDIR: "a parent is not a directory",
  ENOSPC: "no space left on the device",
  EROFS: "read-only file system",
};

/** A short reason for a failed file operation, e.g. "no such file (ENOENT)". */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === undefined) return (e as Error).message;
  return REASONS[code] ? `${REASONS[code]} (${code})` : code;
}

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** The file's text, gunzipped first if it starts with the gzip magic. */
export async function readMaybeGzip(path: string): Promise<string> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (e) {
    throw new InputError(`cannot read: ${fsReason(e)}`, path);
  }
  if (!isGzip(raw)) return raw.toString("utf8");
  try {
    return gunzipSync(raw).toString("utf8");
  } catch (e) {
    throw new InputError(`starts with the gzip magic but does not decompress: ${(e as Error).message}`, path);
  }
}

/** Writes `data` to a temporary file beside `path`, then renames it over `path`. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new InputError(`cannot write: ${fsReason(e)}`, path);
  }
}

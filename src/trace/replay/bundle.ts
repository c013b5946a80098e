// The record bundle (`bundle.json` beside `trace.strace`, written by `aspace record`): what
// a replay on another machine needs to know about the recording machine's files. Replay
// consults it for files absent here or different from the recorded ones (and says which).

import { readFileSync } from "node:fs";
import type { FileFacts, Resolver } from "../../kernel/fs/vfs.js";
import { Unsupported } from "../../kernel/unsupported.js";

export const BUNDLE_FORMAT = "aspace-record-bundle";

/** One ELF program header as the kernel reads it (offsets and sizes in bytes). */
export interface BundlePhdr {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface BundleFile {
  dev: string;
  ino: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** ELF files: type (ET_EXEC 2, ET_DYN 3), entry, program headers, interpreter path. */
  elf?: { type: number; entry: number; phdrs: BundlePhdr[]; interp: string | null };
  /**
   * The first bytes of an ELF file, base64: the ELF header, the program headers and the
   * PT_INTERP string, i.e. everything execve reads. Reads beyond it are unsupported.
   */
  head?: string;
}

export interface RecordBundle {
  format: typeof BUNDLE_FORMAT;
  version: 1;
  kernel_release: string;
  recorded_at: string;
  command: string[];
  /** The environment the command was started with (exact: it sizes the initial stack). */
  env: string[];
  cwd: string;
  /** Sizes in bytes of the system mappings of a process on the recording machine. */
  system_mappings: Record<string, number>;
  /** Every file executed or mapped in the log, by the path the log names. */
  files: Record<string, BundleFile>;
}

/** The bundle file is unreadable or not a bundle. */
export class BundleError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = "BundleError";
  }
}

export function readBundle(path: string): RecordBundle {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new BundleError(`cannot read the bundle: ${(e as Error).message}`, path);
  }
  const b = data as Partial<RecordBundle>;
  if (b === null || typeof b !== "object" || b.format !== BUNDLE_FORMAT || typeof b.files !== "object" || b.files === null) {
    throw new BundleError(`not an aspace record bundle (format must be "${BUNDLE_FORMAT}")`, path);
  }
  return b as RecordBundle;
}

/** FileFacts from a bundle entry; its bytes are the saved head only. */
export function bundleFacts(path: string, f: BundleFile): FileFacts {
  const head = f.head === undefined ? null : Buffer.from(f.head, "base64");
  const facts: FileFacts = {
    dev: f.dev,
    ino: f.ino,
    size: f.size,
    mode: f.mode,
    uid: f.uid,
    gid: f.gid,
    regular: (f.mode & 0o170000) === 0o100000,
  };
  if (head !== null) {
    facts.read = (offset: number, length: number): Uint8Array => {
      if (offset + length > head.length) {
        throw new Unsupported(`bytes ${offset}..${offset + length} of ${path} are not in the bundle (it keeps the first ${head.length})`);
      }
      return new Uint8Array(head.subarray(offset, offset + length));
    };
  }
  return facts;
}

/** Small reads (ELF and program headers, what execve reads) kept: every execve reads them again. */
function cachedReads(f: FileFacts | null): FileFacts | null {
  const read = f?.read;
  if (f === null || read === undefined) return f;
  const cache = new Map<string, Uint8Array>();
  return {
    ...f,
    read: (offset: number, length: number): Uint8Array => {
      if (length > 65536 || cache.size > 64) return read(offset, length);
      const k = `${offset}:${length}`;
      let b = cache.get(k);
      if (b === undefined) {
        b = read(offset, length);
        cache.set(k, b);
      }
      return b.slice();
    },
  };
}

/** How each path was resolved: the host's file, the bundle's record (and why), or nothing. */
export type FileSource = { path: string; source: "host" | "bundle" | "none"; why?: string };

/**
 * A resolver that prefers the host's file when it is the recorded one (same size and
 * inode), else the bundle's record. `sources` lists the decisions, one per path.
 */
export function bundleResolver(bundle: RecordBundle | null, host: Resolver): { resolver: Resolver; sources: Map<string, FileSource> } {
  const sources = new Map<string, FileSource>();
  // Each path is looked up once: files do not change during a replay.
  const memo = new Map<string, FileFacts | null>();
  const resolver: Resolver = (path) => {
    let f = memo.get(path);
    if (f === undefined) {
      f = cachedReads(decide(path));
      memo.set(path, f);
    }
    return f;
  };
  const decide = (path: string): FileFacts | null => {
    const h = host(path);
    const b = bundle?.files[path];
    if (b === undefined) {
      if (!sources.has(path)) sources.set(path, { path, source: h === null ? "none" : "host" });
      return h;
    }
    let why: string | undefined;
    if (h === null) why = "absent here";
    else if (h.size !== b.size) why = `differs here (size ${h.size}, recorded ${b.size})`;
    else if (h.ino !== b.ino || h.dev !== b.dev) why = `differs here (dev:ino ${h.dev}:${h.ino}, recorded ${b.dev}:${b.ino})`;
    if (why === undefined && h !== null) {
      sources.set(path, { path, source: "host" });
      return h;
    }
    sources.set(path, { path, source: "bundle", why });
    return bundleFacts(path, b);
  };
  return { resolver, sources };
}

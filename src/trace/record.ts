// `aspace record`: run a command under `setarch -R strace -f -y` the way the shared traces
// were recorded, and save beside the log what a replay on another machine needs
// (bundle.json: kernel release, system mapping sizes, the files executed or mapped with
// their sizes, dev/ino, mode and, for ELF files, program headers and the bytes execve
// reads). The directory appears whole or not at all (temp dir + rename).

import { spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { release } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { devString } from "../oracle/host-files.js";
import { BUNDLE_FORMAT, type BundleFile, type BundlePhdr, type RecordBundle } from "./replay/bundle.js";
import { readLogLines } from "./strace/lines.js";
import { StraceParser } from "./strace/parser.js";

/** The environment of the shared traces (`env -i` with these four; see their README). */
export const CLEAN_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "TERM=dumb"];

/** Recording could not start or finish (no strace, output directory taken, ...). */
export class RecordError extends Error {
  constructor(
    message: string,
    readonly file: string | null = null,
  ) {
    super(message);
    this.name = "RecordError";
  }
}

export interface RecordOptions {
  /** Use CLEAN_ENV instead of this process's environment. */
  cleanEnv?: boolean;
  /** Environment to use (overrides cleanEnv). */
  env?: string[];
  cwd?: string;
  /** Where the program's stdout/stderr go: "inherit" (default) or a file in the output dir. */
  output?: "inherit" | "file";
  strace?: string;
  setarch?: string;
}

export interface RecordResult {
  dir: string;
  trace: string;
  bundle: RecordBundle;
  /** The command's exit status (null when killed by a signal). */
  exitStatus: number | null;
}

const PT_INTERP = 3;
const PT_GNU_PROPERTY = 0x6474e553;
const BINPRM_BUF_SIZE = 256;

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(length);
    const n = readSync(fd, b, 0, length, offset);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** A 64-bit little-endian ELF file's header facts and the bytes execve reads; null if not one. */
export function elfFacts(path: string): { elf: NonNullable<BundleFile["elf"]>; head: Buffer } | null {
  const hdr = readAt(path, 0, 64);
  if (hdr.length < 64 || hdr[0] !== 0x7f || hdr.toString("latin1", 1, 4) !== "ELF" || hdr[4] !== 2 || hdr[5] !== 1) return null;
  const type = hdr.readUInt16LE(16);
  const entry = Number(hdr.readBigUInt64LE(24));
  const phoff = Number(hdr.readBigUInt64LE(32));
  const phentsize = hdr.readUInt16LE(54);
  const phnum = hdr.readUInt16LE(56);
  if (phentsize !== 56 || phnum > 256) return null;
  const ph = readAt(path, phoff, phnum * 56);
  const phdrs: BundlePhdr[] = [];
  let end = Math.max(BINPRM_BUF_SIZE, phoff + phnum * 56);
  let interp: string | null = null;
  for (let i = 0; i + 56 <= ph.length; i += 56) {
    const p: BundlePhdr = {
      type: ph.readUInt32LE(i),
      flags: ph.readUInt32LE(i + 4),
      offset: Number(ph.readBigUInt64LE(i + 8)),
      vaddr: Number(ph.readBigUInt64LE(i + 16)),
      filesz: Number(ph.readBigUInt64LE(i + 32)),
      memsz: Number(ph.readBigUInt64LE(i + 40)),
      align: Number(ph.readBigUInt64LE(i + 48)),
    };
    phdrs.push(p);
    if ((p.type === PT_INTERP || p.type === PT_GNU_PROPERTY) && p.filesz < 4096 && p.offset < 1 << 16) {
      end = Math.max(end, p.offset + p.filesz);
      if (p.type === PT_INTERP) interp = readAt(path, p.offset, p.filesz).toString("latin1").replace(/\0.*$/s, "");
    }
  }
  return { elf: { type, entry, phdrs, interp }, head: readAt(path, 0, end) };
}

/** Stat facts (and ELF facts) of a path on this machine; null if it is gone. */
export function fileFacts(path: string, withHead: boolean): BundleFile | null {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return null;
  }
  if (st === undefined) return null;
  const f: BundleFile = {
    dev: devString(Number(st.dev)),
    ino: Number(st.ino),
    size: Number(st.size),
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
  };
  if (st.isFile()) {
    const e = elfFacts(path);
    if (e !== null) {
      f.elf = e.elf;
      if (withHead) f.head = e.head.toString("base64");
    } else if (withHead) f.head = readAt(path, 0, BINPRM_BUF_SIZE).toString("base64");
  }
  return f;
}

/** Sizes of this process's system mappings ([vdso], [vvar], [vvar_vclock], [vsyscall]). */
export function systemMappingSizes(maps = readFileSync("/proc/self/maps", "utf8")): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of maps.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) .*\s(\[(?:vdso|vvar|vvar_vclock|vsyscall|sigpage|vectors|uprobes)\])$/.exec(line);
    if (m !== null) out[m[3]] = Number(BigInt(`0x${m[2]}`) - BigInt(`0x${m[1]}`));
  }
  return out;
}

/** Paths the log executed (execve that succeeded) and mapped (mmap of an fd with a -y path). */
export async function filesOfLog(trace: string): Promise<{ executed: Set<string>; mapped: Set<string> }> {
  const executed = new Set<string>();
  const mapped = new Set<string>();
  const p = new StraceParser();
  const take = (evs: ReturnType<StraceParser["push"]>) => {
    for (const ev of evs) {
      if (ev.kind !== "call") continue;
      if ((ev.name === "execve" || ev.name === "execveat") && ev.ret.kind === "value") {
        const a = ev.args[ev.name === "execve" ? 0 : 1];
        if (a?.kind === "str" && !a.truncated) executed.add(a.value);
      } else if (ev.name === "mmap" && ev.ret.kind === "value") {
        const fd = ev.args[4];
        if (fd?.kind === "int" && fd.path !== undefined && fd.path.startsWith("/")) mapped.add(fd.path);
      }
    }
  };
  for await (const line of readLogLines(trace)) take(p.push(line));
  take(p.finish());
  return { executed, mapped };
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  out: "inherit" | number,
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ["ignore", out, out] });
    child.on("error", (e) => rej(e));
    child.on("close", (code, signal) => res({ code, signal }));
  });
}

/** Record `command` into `outDir` (which must not exist or be empty). */
export async function record(outDir: string, command: string[], opts: RecordOptions = {}): Promise<RecordResult> {
  if (command.length === 0) throw new RecordError("no command to record (aspace record -o DIR -- CMD ARGS...)");
  const dir = resolve(outDir);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    throw new RecordError("the output directory exists and is not empty", dir);
  }
  const parent = dirname(dir);
  if (!existsSync(parent)) throw new RecordError("the parent directory does not exist", parent);
  const tmp = mkdtempSync(join(parent, `.${basename(dir)}.tmp-`));
  try {
    const envList = opts.env ?? (opts.cleanEnv ? CLEAN_ENV : Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ""}`));
    const env: NodeJS.ProcessEnv = {};
    for (const kv of envList) {
      const i = kv.indexOf("=");
      env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    // setarch and strace are found through this process's PATH, not the recorded env.
    const setarch = opts.setarch ?? "/usr/bin/setarch";
    const strace = opts.strace ?? "/usr/bin/strace";
    for (const tool of [setarch, strace]) if (!existsSync(tool)) throw new RecordError(`${tool} is not installed`);
    const trace = join(tmp, "trace.strace");
    const cwd = opts.cwd ?? process.cwd();
    let outFd: "inherit" | number = "inherit";
    if (opts.output === "file") outFd = openSync(join(tmp, "out.txt"), "w");
    let res: { code: number | null; signal: string | null };
    try {
      res = await run(setarch, ["-R", strace, "-f", "-y", "-o", trace, "--", ...command], env, cwd, outFd);
    } finally {
      if (typeof outFd === "number") closeSync(outFd);
    }
    if (!existsSync(trace) || statSync(trace).size === 0) {
      const said =
        opts.output === "file"
          ? `: ${readFileSync(join(tmp, "out.txt"), "utf8").trim().split("\n").pop() ?? ""}`
          : "; its message is above";
      throw new RecordError(`strace could not run ${command[0]} (exit status ${res.code ?? res.signal})${said}`);
    }
    const { executed, mapped } = await filesOfLog(trace);
    const files: Record<string, BundleFile> = {};
    for (const p of [...executed, ...mapped]) {
      if (files[p] !== undefined) continue;
      // Only execve reads bytes of a file; mappings need its facts and program headers.
      const f = fileFacts(p, executed.has(p));
      if (f !== null) files[p] = f;
      // The interpreter execve reads is named in PT_INTERP, not in the log.
      const interp = f?.elf?.interp;
      if (interp !== undefined && interp !== null && files[interp] === undefined) {
        const g = fileFacts(interp, true);
        if (g !== null) files[interp] = g;
      }
    }
    const bundle: RecordBundle = {
      format: BUNDLE_FORMAT,
      version: 1,
      kernel_release: release(),
      recorded_at: new Date().toISOString(),
      command,
      env: envList,
      cwd,
      system_mappings: systemMappingSizes(),
      files,
    };
    writeFileSync(join(tmp, "bundle.json"), `${JSON.stringify({ ...bundle, exit_status: res.code, signal: res.signal }, null, 1)}\n`);
    chmodSync(tmp, 0o755); // mkdtemp made it private
    if (existsSync(dir)) rmSync(dir, { recursive: true });
    renameSync(tmp, dir);
    return { dir, trace: join(dir, "trace.strace"), bundle, exitStatus: res.code };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

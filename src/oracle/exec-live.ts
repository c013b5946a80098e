// Driver of native/build/execmaps: one execve on the live kernel with ASLR off, stopped
// before its first instruction, reported as maps text, VmFlags per VMA, the mm fields of
// /proc/PID/stat, smaps Rss/Anonymous and the auxv (protocol in native/execmaps.c).

import { execFileSync } from "node:child_process";
import { nativeProgramPath, nativeProgramRunnable } from "./native.js";

export interface LiveExecRequest {
  path: string;
  argv: string[];
  envp: string[];
  /** RLIMIT_STACK soft limit for the new program (bytes, Infinity = unlimited); default: inherited. */
  stackRlimit?: number;
  /** personality bits besides ADDR_NO_RANDOMIZE (e.g. ADDR_COMPAT_LAYOUT 0x200000). */
  personality?: number;
}

export interface LiveMmFields {
  start_code: number;
  end_code: number;
  start_stack: number;
  start_data: number;
  end_data: number;
  start_brk: number;
  arg_start: number;
  arg_end: number;
  env_start: number;
  env_end: number;
}

export type LiveExecResult =
  | {
      ok: true;
      maps: string;
      /** VMA start (bytes) → smaps VmFlags mnemonics. */
      vmflags: Map<number, string[]>;
      /** VMA start (bytes) → smaps Rss and Anonymous, kB (the pages execve itself wrote). */
      resident: Map<number, { rssKb: number; anonKb: number }>;
      stat: LiveMmFields;
      auxv: Array<[number, bigint]>;
    }
  | { ok: false; errno: number }
  | { ok: false; signal: number }
  | { ok: false; exit: number };

export class ExecLiveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ExecLiveError";
  }
}

export function execmapsPath(): string {
  return nativeProgramPath("execmaps");
}

/** Whether the live execve oracle is built. */
export function execmapsAvailable(): boolean {
  return nativeProgramRunnable(execmapsPath());
}

/** Parse execmaps' output (exported for tests of malformed output). */
export function parseExecmapsOutput(out: string): LiveExecResult {
  const lines = out.split("\n");
  const head = lines[0] ?? "";
  const m = /^exec (ok|errno|signal|exit)(?: (-?\d+))?$/.exec(head);
  if (m === null) throw new ExecLiveError(`execmaps: unexpected first line '${head}'`);
  if (m[1] === "errno") return { ok: false, errno: Number(m[2]) };
  if (m[1] === "signal") return { ok: false, signal: Number(m[2]) };
  if (m[1] === "exit") return { ok: false, exit: Number(m[2]) };
  const sections = new Map<string, string[]>();
  let i = 1;
  while (i < lines.length) {
    const name = lines[i++];
    if (name === "") continue;
    const body: string[] = [];
    while (i < lines.length && lines[i] !== "end") body.push(lines[i++]);
    if (i >= lines.length) throw new ExecLiveError(`execmaps: section '${name}' has no end`);
    i++;
    sections.set(name, body);
  }
  const need = (n: string): string[] => {
    const s = sections.get(n);
    if (s === undefined) throw new ExecLiveError(`execmaps: no '${n}' section`);
    return s;
  };
  const maps = need("maps");
  const vmflags = new Map<number, string[]>();
  const resident = new Map<number, { rssKb: number; anonKb: number }>();
  for (const l of need("vmflags")) {
    const [start, ...rest] = l.trim().split(/\s+/);
    const at = Number.parseInt(start, 16);
    const flags: string[] = [];
    const r = { rssKb: 0, anonKb: 0 };
    for (const t of rest) {
      if (t.startsWith("rss=")) r.rssKb = Number(t.slice(4));
      else if (t.startsWith("anon=")) r.anonKb = Number(t.slice(5));
      else flags.push(t);
    }
    vmflags.set(at, flags);
    resident.set(at, r);
  }
  const stat: Record<string, number> = {};
  for (const l of need("stat")) {
    const [k, v] = l.split(" ");
    stat[k] = Number(v);
  }
  const auxv: Array<[number, bigint]> = need("auxv").map((l) => {
    const [t, v] = l.split(" ");
    return [Number(t), BigInt(`0x${v}`)];
  });
  return { ok: true, maps: maps.length ? `${maps.join("\n")}\n` : "", vmflags, resident, stat: stat as unknown as LiveMmFields, auxv };
}

/** Run one execve on the live kernel (ASLR off) and report the new image. */
export function liveExec(req: LiveExecRequest): LiveExecResult {
  const args: string[] = [];
  if (req.personality) args.push("-p", `0x${req.personality.toString(16)}`);
  if (req.stackRlimit !== undefined) args.push("-s", Number.isFinite(req.stackRlimit) ? String(req.stackRlimit) : "unlimited");
  args.push("--stdin");
  // The words go through stdin, NUL-terminated: a string too long for execmaps' own argv
  // must still reach the execve under test.
  const words = [req.path, String(req.argv.length), ...req.argv, String(req.envp.length), ...req.envp];
  for (const w of words) if (w.includes("\0")) throw new ExecLiveError("execve strings cannot contain NUL bytes");
  const input = words.map((w) => `${w}\0`).join("");
  let out: string;
  try {
    out = execFileSync(execmapsPath(), args, { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 20000 });
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0].slice(0, 200);
    throw new ExecLiveError(`cannot run ${execmapsPath()}: ${msg} (run \`node native/build.js\`)`, { cause: e });
  }
  return parseExecmapsOutput(out);
}

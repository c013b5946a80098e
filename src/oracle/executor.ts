// Driver for the native executor (native/executor.c), the oracle that runs syscall programs on
// the live kernel. Protocol: docs/executor-protocol.md. One executor process runs a whole batch:
// stdin carries every program, stdout carries every report, parsed here strictly so that a
// protocol drift is an error rather than a silently wrong comparison.

import { spawn } from "node:child_process";
import { parseMapsLine } from "../kernel/procfs/parse.js";
import { nativeProgramPath, nativeProgramRunnable } from "./native.js";

export type Program = { name: string; ops: string[] };

export type SmapsLine = {
  start: bigint;
  end: bigint;
  rssKb: number;
  anonKb: number;
  /** The kernel's AnonHugePages (kB); 0 in the digest of an executor older than the field. */
  anonHugeKb?: number;
  /** The model's only: resident pages of each 2 MiB block that lies wholly inside this VMA,
   *  when the VMA is THP-enabled (what khugepaged could collapse on the kernel). */
  hugeBlockPages?: number[];
  flags: string[];
};

export type OpResult =
  | { kind: "ret"; value: bigint }
  | { kind: "errno"; name: string }
  | { kind: "fault"; signal: "SEGV" | "BUS"; offset: bigint }
  | { kind: "hash"; value: bigint; hash: number };

export type ExecInfo = {
  startBrk: bigint;
  brk: bigint;
  startStack: bigint;
  /** null: RLIM_INFINITY. */
  rlimitStack: bigint | null;
  mmapMinAddr: number;
  /** mm->saved_auxv words (PR_GET_AUXV), when the executor could read them. */
  auxv?: bigint[];
};

/** The peer process a program's `fork` op created (docs/executor-protocol.md). */
export type PeerResult = {
  /** null if the peer died before its final snapshot. */
  finalMaps: string[] | null;
  finalSmaps: SmapsLine[] | null;
  /** "exit N" or "killed SIGNAME". */
  status: string;
};

export type ExecResult = {
  name: string;
  info: ExecInfo;
  initMaps: string[];
  initSmaps: SmapsLine[];
  /** One per op that completed, in order; shorter than the program if the child died. */
  results: OpResult[];
  /** null if the child died before its final snapshot. */
  finalMaps: string[] | null;
  finalSmaps: SmapsLine[] | null;
  /** null if the program ran to its end; otherwise how and where the child died, e.g.
   *  "SIGSEGV at op 0 (munmap 0x400000 0x100000)". */
  died: string | null;
  /** The peer, if the program forked one (absent or null otherwise). */
  peer?: PeerResult | null;
};

export class ExecutorError extends Error {
  /** The program being run or parsed, if known. */
  readonly program: string | null;
  /** 1-based line of the executor's stdout, if the error is about its output. */
  readonly line: number | null;
  constructor(message: string, opts: { program?: string | null; line?: number | null; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ExecutorError";
    this.program = opts.program ?? null;
    this.line = opts.line ?? null;
  }
}

/** Limits of the child's static buffers (native/executor.c). */
export const MAX_OPS = 8192;
export const MAX_PROGRAM_BYTES = 1 << 20;
/** The executor kills a child after this long (per program). */
export const PROGRAM_ALARM_MS = 5000;

/** The executor binary; ASPACE_EXECUTOR overrides the built one. */
export function executorPath(): string {
  const override = process.env.ASPACE_EXECUTOR;
  if (override) return override;
  return nativeProgramPath("executor");
}

export function executorAvailable(): boolean {
  return nativeProgramRunnable(executorPath());
}

// An op line the child is guaranteed to reject with -EBADOP. Used for op text that cannot be
// sent as one line (embedded newline or NUL) or that the parent would take as the program's
// terminator ("end"): such an op is malformed, and malformed ops get a per-op error.
const UNSENDABLE_OP = "?";

function serialize(programs: Program[]): string {
  const parts: string[] = [];
  for (const p of programs) {
    if (p.name === "" || /[\n\r\0]/.test(p.name)) {
      throw new ExecutorError(`program name ${JSON.stringify(p.name)} must be non-empty and one line`, {
        program: p.name,
      });
    }
    if (p.ops.length > MAX_OPS) {
      throw new ExecutorError(`program "${p.name}" has ${p.ops.length} ops; the executor takes at most ${MAX_OPS}`, {
        program: p.name,
      });
    }
    const lines = p.ops.map((op) => (/[\n\0]/.test(op) || op === "end" ? UNSENDABLE_OP : op));
    const body = lines.map((l) => `${l}\n`).join("");
    if (Buffer.byteLength(body) > MAX_PROGRAM_BYTES) {
      throw new ExecutorError(`program "${p.name}" is larger than ${MAX_PROGRAM_BYTES} bytes of text`, {
        program: p.name,
      });
    }
    parts.push(`program ${p.name}\n${body}end\n`);
  }
  return parts.join("");
}

type Raw = { stdout: string; stderr: string };

/**
 * Run the executor with `args`, feeding `input` (or nothing) on stdin; resolves with its
 * output when it exits 0, rejects with an ExecutorError naming what went wrong otherwise
 * (missing binary, non-zero exit, signal, or `timeoutMs` exceeded).
 */
export function spawnExecutor(args: string[], input: string | null, timeoutMs: number): Promise<Raw> {
  const path = executorPath();
  const what = ["executor", ...args].join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: [input === null ? "ignore" : "pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const finish = (e: ExecutorError | null, raw?: Raw) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(raw as Raw);
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(new ExecutorError(`${what} (${path}) did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      finish(new ExecutorError(`cannot run executor ${path}: ${e.message} (run \`node native/build.js\`)`, { cause: e }));
    });
    child.on("close", (code, signal) => {
      const stderr = Buffer.concat(err).toString("utf8");
      if (code !== 0) {
        const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        finish(new ExecutorError(`${what} (${path}) ${how}${stderr ? `: ${stderr.trim()}` : ""}`));
        return;
      }
      finish(null, { stdout: Buffer.concat(out).toString("utf8"), stderr });
    });
    if (input !== null && child.stdin) {
      // EPIPE here means the executor exited early; its exit status explains why.
      child.stdin.on("error", () => {});
      child.stdin.end(input);
    }
  });
}

/** Runs every program in one executor process and returns one result per program, in order. */
export async function runPrograms(programs: Program[], opts: { timeoutMs?: number } = {}): Promise<ExecResult[]> {
  if (programs.length === 0) return [];
  const input = serialize(programs);
  // Every child may use its whole alarm; add slack for process start-up and reporting.
  const timeoutMs = opts.timeoutMs ?? 10_000 + programs.length * (PROGRAM_ALARM_MS + 500);
  const raw = await spawnExecutor([], input, timeoutMs);
  return parseOutput(programs, raw.stdout, raw.stderr);
}

// ---------------------------------------------------------------------------------------------
// Output parsing.

const INFO =
  /^info start_brk=0x([0-9a-f]+) brk=0x([0-9a-f]+) start_stack=0x([0-9a-f]+) rlimit_stack=(?:0x([0-9a-f]+)|inf) mmap_min_addr=(\d+)(?: auxv=(0x[0-9a-f]+(?:,0x[0-9a-f]+)*))?$/;
// "START END RSS ANON [ANONHUGE] FLAG...": mnemonics never start with a digit, so the
// AnonHugePages column is told apart from the first flag of an older digest.
const SMAPS = /^([0-9a-f]+) ([0-9a-f]+) (\d+) (\d+)(?: (\d+))?((?: \S+)*)$/;
const RESULT = /^r (\d+) (.*)$/;
const EXIT = /^exit (-?\d+)$/;
const KILLED = /^killed (\S+)( timeout)?$/;
// The parent's status line follows the child's output directly; if the child died in the middle
// of a buffered section the status can be glued to a partial line.
const GLUED_STATUS = /(exit -?\d+|killed \S+(?: timeout)?)$/;

export function parseResult(text: string): OpResult | null {
  let m = /^0x([0-9a-f]+)$/.exec(text);
  if (m) return { kind: "ret", value: BigInt(`0x${m[1]}`) };
  m = /^0x([0-9a-f]+) ([0-9a-f]{8})$/.exec(text);
  if (m) return { kind: "hash", value: BigInt(`0x${m[1]}`), hash: Number.parseInt(m[2] as string, 16) };
  m = /^-(E[A-Z0-9_]+)$/.exec(text);
  if (m) return { kind: "errno", name: m[1] as string };
  m = /^(SEGV|BUS) 0x([0-9a-f]+)$/.exec(text);
  if (m) return { kind: "fault", signal: m[1] as "SEGV" | "BUS", offset: BigInt(`0x${m[2]}`) };
  return null;
}

export function parseSmapsLine(text: string): SmapsLine | null {
  const m = SMAPS.exec(text);
  if (!m) return null;
  return {
    start: BigInt(`0x${m[1]}`),
    end: BigInt(`0x${m[2]}`),
    rssKb: Number(m[3]),
    anonKb: Number(m[4]),
    anonHugeKb: m[5] === undefined ? 0 : Number(m[5]),
    flags: (m[6] as string).split(" ").filter((f) => f !== ""),
  };
}

type Section =
  | "start"
  | "info"
  | "init-maps"
  | "init-smaps"
  | "ops"
  | "peer-final-maps"
  | "peer-final-smaps"
  | "peer-done"
  | "final-maps"
  | "final-smaps"
  | "end";

const PEER_STATUS = /^peer-(exit \d+|killed \S+)$/;

function parseOutput(programs: Program[], stdout: string, stderr: string): ExecResult[] {
  const lines = stdout.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  let i = 0;
  const results: ExecResult[] = [];
  const stderrNote = stderr.trim() ? ` (executor stderr: ${stderr.trim()})` : "";

  for (const prog of programs) {
    const fail = (msg: string, at = i): never => {
      const text = at < lines.length ? `: ${JSON.stringify(lines[at])}` : "";
      throw new ExecutorError(`executor output line ${at + 1}, program "${prog.name}": ${msg}${text}${stderrNote}`, {
        program: prog.name,
        line: at + 1,
      });
    };
    if (i >= lines.length) fail("output ended before this program's report");
    if (lines[i] !== `program ${prog.name}`) fail(`expected "program ${prog.name}"`);
    i++;

    let section: Section = "start";
    let info: ExecInfo | null = null;
    const initMaps: string[] = [];
    const initSmaps: SmapsLine[] = [];
    const res: OpResult[] = [];
    const finalMaps: string[] = [];
    const finalSmaps: SmapsLine[] = [];
    let status: Status | null = null;
    let peer: PeerResult | null = null;
    const peerMaps: string[] = [];
    const peerSmaps: SmapsLine[] = [];
    const peerStatus = (line: string, complete: boolean): boolean => {
      const m = PEER_STATUS.exec(line);
      if (!m) return false;
      peer = { finalMaps: complete ? peerMaps : null, finalSmaps: complete ? peerSmaps : null, status: m[1] as string };
      section = "peer-done";
      return true;
    };

    while (status === null) {
      if (i >= lines.length) fail("output ended inside this program's report");
      const line = lines[i] as string;
      i++;
      status = parseStatus(line);
      if (status) break;
      switch (section as Section) {
        case "start": {
          const m = INFO.exec(line);
          if (!m) return fail('expected the "info" line', i - 1);
          info = {
            startBrk: BigInt(`0x${m[1]}`),
            brk: BigInt(`0x${m[2]}`),
            startStack: BigInt(`0x${m[3]}`),
            rlimitStack: m[4] === undefined ? null : BigInt(`0x${m[4]}`),
            mmapMinAddr: Number(m[5]),
            ...(m[6] === undefined ? {} : { auxv: m[6].split(",").map((w) => BigInt(w)) }),
          };
          section = "info";
          break;
        }
        case "info":
          if (line !== "init-maps") fail('expected "init-maps"', i - 1);
          section = "init-maps";
          break;
        case "init-maps":
        case "final-maps": {
          const next: Section = section === "init-maps" ? "init-smaps" : "final-smaps";
          if (line === next) {
            section = next;
          } else if (isMapsLine(line)) {
            (section === "init-maps" ? initMaps : finalMaps).push(line);
          } else {
            status = gluedStatus(line) ?? fail("malformed maps line", i - 1);
          }
          break;
        }
        case "init-smaps":
        case "final-smaps": {
          const s = parseSmapsLine(line);
          if (s) {
            (section === "init-smaps" ? initSmaps : finalSmaps).push(s);
            break;
          }
          if (section === "final-smaps") {
            if (line === "end") section = "end";
            else status = gluedStatus(line) ?? fail("malformed smaps line", i - 1);
            break;
          }
          // init-smaps ends at the first result line or at "final-maps" (a program without ops).
          section = "ops";
          i--; // re-read this line as a result
          break;
        }
        case "peer-final-maps":
          if (line === "peer-final-smaps") section = "peer-final-smaps";
          else if (isMapsLine(line)) peerMaps.push(line);
          else if (!peerStatus(line, false)) status = gluedStatus(line) ?? fail("malformed peer maps line", i - 1);
          break;
        case "peer-final-smaps": {
          const s = parseSmapsLine(line);
          if (s) peerSmaps.push(s);
          else if (!peerStatus(line, true)) status = gluedStatus(line) ?? fail("malformed peer smaps line", i - 1);
          break;
        }
        case "peer-done":
          if (line !== "final-maps") fail('expected "final-maps" after the peer\'s status', i - 1);
          section = "final-maps";
          break;
        case "ops": {
          if (line === "final-maps") {
            section = "final-maps";
            break;
          }
          if (line === "peer-final-maps") {
            section = "peer-final-maps";
            break;
          }
          // The peer died running an op: its status, then process 0's own.
          if (peerStatus(line, false)) {
            section = "ops";
            break;
          }
          const m = RESULT.exec(line);
          if (!m) {
            status = gluedStatus(line) ?? fail("malformed result line", i - 1);
            break;
          }
          const k = Number(m[1]);
          if (k !== res.length) fail(`expected the result of op ${res.length}`, i - 1);
          if (k >= prog.ops.length) fail(`result for op ${k} but the program has ${prog.ops.length} ops`, i - 1);
          res.push(parseResult(m[2] as string) ?? fail("malformed result", i - 1));
          break;
        }
        case "end":
          fail('expected "exit N" or "killed SIG" after "end"', i - 1);
      }
    }

    const st: Status = status;
    if (info === null) return fail(`the executor child failed before reporting (${describeStatus(st)})`, i - 1);
    const ended = section === "end";
    let died: string | null = null;
    if (!ended || !("exit" in st) || st.exit !== 0) {
      const where =
        section === "info" || section === "init-maps"
          ? "during the initial snapshot"
          : res.length < prog.ops.length
            ? `at op ${res.length} (${prog.ops[res.length]})`
            : ended
              ? "after the report"
              : "during the final snapshot";
      died = `${describeStatus(st)} ${where}`;
    } else if (res.length !== prog.ops.length) {
      fail(`"end" after ${res.length} results for ${prog.ops.length} ops`, i - 1);
    }
    results.push({
      name: prog.name,
      info,
      initMaps,
      initSmaps,
      results: res,
      finalMaps: ended ? finalMaps : null,
      finalSmaps: ended ? finalSmaps : null,
      died,
      peer,
    });
  }
  if (i < lines.length) {
    throw new ExecutorError(`executor output line ${i + 1}: unexpected output after the last program: ${JSON.stringify(lines[i])}`, {
      line: i + 1,
    });
  }
  return results;
}

function isMapsLine(line: string): boolean {
  try {
    parseMapsLine(line);
    return true;
  } catch {
    return false;
  }
}

type Status = { exit: number } | { signal: string; timeout: boolean };

function parseStatus(line: string): Status | null {
  let m = EXIT.exec(line);
  if (m) return { exit: Number(m[1]) };
  m = KILLED.exec(line);
  if (m) return { signal: m[1] as string, timeout: m[2] !== undefined };
  return null;
}

// A partial line from a child that died mid-section, followed by the parent's status line.
function gluedStatus(line: string): Status | null {
  const m = GLUED_STATUS.exec(line);
  return m !== null && m.index > 0 ? parseStatus(m[1] as string) : null;
}

function describeStatus(st: Status): string {
  if ("exit" in st) return `exit ${st.exit}`;
  return st.timeout ? `${st.signal} (timeout)` : st.signal;
}

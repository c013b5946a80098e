// What one strace log line, or one joined call, is. Produced by the streaming parser in
// parser.ts; consumed by the replayer (src/trace/replay) and by impact/study.

/**
 * One argument as strace printed it, classified; `raw` is the exact text. Named arguments
 * (`flags=CLONE_VM|SIGCHLD` in clone) carry `name` and the value's classification.
 */
export type StraceArg = StraceArgValue & { name?: string };

export type StraceArgValue =
  /** A number (decimal, hex or octal); `path` is the `-y` decoration (`3</etc/passwd>`). */
  | { kind: "int"; raw: string; value: bigint; path?: string }
  /** NULL. */
  | { kind: "null"; raw: string; value: 0n }
  /** Symbolic flags joined by `|`, numeric parts OR-ed into `bits` (`MAP_PRIVATE|0x40000`). */
  | { kind: "flags"; raw: string; names: string[]; bits: bigint; path?: string }
  /** A quoted string, unescaped; `truncated` when strace printed `"..."...`. */
  | { kind: "str"; raw: string; value: string; truncated: boolean }
  /** `{...}` structure, `[...]` array, or anything else: kept as text. */
  | { kind: "struct" | "array" | "other"; raw: string };

/** What a call returned. */
export type StraceRet =
  /** `= 0`, `= 0x7ffff7fc0000`, `= 3</etc/ld.so.cache>`; `comment` is a trailing `(...)`. */
  | { kind: "value"; value: bigint; path?: string; comment?: string }
  /** `= -1 ENOMEM (Cannot allocate memory)` (or `= ? ERESTARTSYS (...)`: value null). */
  | { kind: "error"; value: bigint | null; errno: string; message: string }
  /** `= ?` (exit, execve that never returned), or never resumed (`incomplete`). */
  | { kind: "unknown"; text: string };

/** A complete syscall: a plain line, or an `<unfinished ...>` line joined with its resume. */
export interface StraceCall {
  kind: "call";
  /** The PID prefix (`1234 ` or `[pid 1234] `); null when the log has none (no `-f`). */
  pid: number | null;
  /** 1-based line of the call's first line. */
  line: number;
  /** Line of its `<... resumed>` part (== line when not split). */
  endLine: number;
  /** Timestamp text as printed with -t/-tt/-ttt. */
  time?: string;
  /** Canonical name: `syscall_0x1ce` → `mseal`. */
  name: string;
  /** The name as printed. */
  rawName: string;
  /** The argument text between the parentheses (unfinished and resumed parts joined). */
  argsText: string;
  /** The arguments, classified (parsed on first use). */
  readonly args: StraceArg[];
  ret: StraceRet;
  /** -T: seconds spent in the call. */
  duration?: number;
  /** True when the call's `<unfinished ...>` was never resumed (process died, log ended). */
  incomplete?: boolean;
}

/** The first half of a split call (`NAME(args <unfinished ...>`), reported when seen. */
export interface StraceUnfinished {
  kind: "unfinished";
  pid: number | null;
  line: number;
  time?: string;
  name: string;
  rawName: string;
  argsText: string;
}

/** `--- SIGCHLD {...} ---` or `--- stopped by SIGSTOP ---`. */
export interface StraceSignal {
  kind: "signal";
  pid: number | null;
  line: number;
  signal: string;
  text: string;
}

/** `+++ exited with N +++` or `+++ killed by SIGX [(core dumped)] +++`. */
export interface StraceExit {
  kind: "exit";
  pid: number | null;
  line: number;
  code: number | null;
  signal: string | null;
}

/** A line the parser could not read: reported with its number and skipped. */
export interface StraceDiagnostic {
  kind: "diagnostic";
  line: number;
  message: string;
  text: string;
}

export type StraceEvent = StraceCall | StraceUnfinished | StraceSignal | StraceExit | StraceDiagnostic;

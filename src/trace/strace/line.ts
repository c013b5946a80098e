// One line of strace output → what it says, without joining split calls (parser.ts does
// that). Forms, as strace 4.x–6.x print them (strace.c printleader, syscall.c
// syscall_exiting_trace):
//   [PID ]["[pid N] "][TIME ]NAME(ARGS) = RET[ <DUR>]
//   ... NAME(ARGS <unfinished ...>        <... NAME resumed>ARGS) = RET
//   --- SIGNAL {...} ---                   +++ exited with N +++ / +++ killed by SIG +++

/** A line, split into its parts; `args` is text (classified lazily later). */
export type LineRecord =
  | { kind: "call"; pid: number | null; time?: string; name: string; args: string; ret: string; duration?: number }
  | { kind: "unfinished"; pid: number | null; time?: string; name: string; args: string }
  | { kind: "resumed"; pid: number | null; time?: string; name: string; args: string; ret: string; duration?: number }
  | { kind: "signal"; pid: number | null; time?: string; signal: string; text: string }
  | { kind: "exit"; pid: number | null; time?: string; code: number | null; signal: string | null }
  | { kind: "skip" }
  | { kind: "bad"; message: string };

const UNFINISHED = " <unfinished ...>";
const DURATION = /\s<(\d+\.\d+)>$/;
const EXITED = /^\+\+\+ exited with (-?\d+) \+\+\+$/;
const KILLED = /^\+\+\+ killed by (SIG[A-Z0-9+]+|\d+)( \(core dumped\))? \+\+\+$/;
const SIGNAL = /^--- (?:stopped by )?(SIG[A-Z0-9+]+|\d+)\b.* ---$/;
const NAME = /^([a-z_A-Z][a-zA-Z0-9_]*|\?\?\?)\(/;
const RESUMED = /^<\.\.\. ([a-z_A-Z][a-zA-Z0-9_]*|\?\?\?) resumed>/;
const CLOCK = /^(\d\d:\d\d:\d\d(?:\.\d+)?|\d{9,}\.\d+) +/;

/** Index of the `)` that closes the argument list before ` = RET` (searching from the end), or -1. */
function closingParen(s: string): number {
  let from = s.length;
  for (;;) {
    const eq = s.lastIndexOf(" = ", from);
    if (eq < 0) return -1;
    let j = eq - 1;
    while (j >= 0 && s.charCodeAt(j) === 32) j--;
    if (j >= 0 && s.charCodeAt(j) === 41) return j;
    from = eq - 1;
    if (from < 0) return -1;
  }
}

/** `ARGS) = RET[ <DUR>]` → its parts, or null. */
function splitReturn(rest: string): { args: string; ret: string; duration?: number } | null {
  let body = rest;
  let duration: number | undefined;
  const d = body.endsWith(">") ? DURATION.exec(body) : null;
  if (d !== null) {
    duration = Number(d[1]);
    body = body.slice(0, d.index);
  }
  const close = closingParen(body);
  if (close < 0) return null;
  const eq = body.indexOf("= ", close);
  const ret = body.slice(eq + 2).trim();
  return duration === undefined ? { args: body.slice(0, close), ret } : { args: body.slice(0, close), ret, duration };
}

/** Parse one line (without its newline). */
export function parseLine(text: string): LineRecord {
  let s = text.endsWith("\r") ? text.slice(0, -1) : text;
  if (s.length === 0 || (s.charCodeAt(0) <= 32 && s.trim() === "")) return { kind: "skip" };
  // strace's own messages (`strace: Process 1234 attached`, when stderr was captured too) and
  // -k stack frames (` > /lib/x86_64-linux-gnu/libc.so.6(mmap+0x1a) [0x...]`) are not calls.
  if (s.startsWith("strace: ") || s.startsWith(" > ")) return { kind: "skip" };
  let pid: number | null = null;
  // "[pid  1234] " (stderr output) or "1234 " (-o with -f).
  if (s.startsWith("[pid")) {
    const close = s.indexOf("]");
    const n = close > 0 ? s.slice(4, close).trim() : "";
    if (!/^\d+$/.test(n)) return { kind: "bad", message: "a '[pid' prefix without a number" };
    pid = Number(n);
    s = s.slice(close + 1).trimStart();
  } else {
    let i = 0;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i > 0 && i < s.length && s.charCodeAt(i) === 32) {
      pid = Number(s.slice(0, i));
      while (i < s.length && s.charCodeAt(i) === 32) i++;
      s = s.slice(i);
    }
  }
  let time: string | undefined;
  const c0 = s.charCodeAt(0);
  const clock = c0 >= 48 && c0 <= 57 ? CLOCK.exec(s) : null;
  if (clock !== null) {
    time = clock[1];
    s = s.slice(clock[0].length);
  }
  const c = s.charCodeAt(0);
  if (c === 43 /* + */) {
    const ex = EXITED.exec(s);
    if (ex !== null) return { kind: "exit", pid, time, code: Number(ex[1]), signal: null };
    const k = KILLED.exec(s);
    if (k !== null) return { kind: "exit", pid, time, code: null, signal: k[1] };
    return { kind: "bad", message: "an unknown '+++' line" };
  }
  if (c === 45 /* - */ && s.startsWith("--- ")) {
    const sig = SIGNAL.exec(s);
    if (sig !== null) return { kind: "signal", pid, time, signal: sig[1], text: s };
    return { kind: "bad", message: "an unknown '---' line" };
  }
  if (c === 60 /* < */) {
    const m = RESUMED.exec(s);
    if (m === null) return { kind: "bad", message: "a '<' line that is not '<... NAME resumed>'" };
    const rest = s.slice(m[0].length);
    if (rest.endsWith(UNFINISHED)) return { kind: "bad", message: "a resumed call that is unfinished again" };
    const r = splitReturn(rest);
    if (r === null) return { kind: "bad", message: "a resumed call without ') = RESULT'" };
    return { kind: "resumed", pid, time, name: m[1], ...r };
  }
  const m = NAME.exec(s);
  if (m === null) return { kind: "bad", message: "not a syscall, signal or exit line" };
  const rest = s.slice(m[0].length);
  if (rest.endsWith(UNFINISHED)) {
    let args = rest.slice(0, -UNFINISHED.length);
    // strace prints the separator (", ") before it knows the call will block.
    if (args.endsWith(" ") && !args.endsWith(", ")) args = args.slice(0, -1);
    return { kind: "unfinished", pid, time, name: m[1], args };
  }
  const r = splitReturn(rest);
  if (r === null) return { kind: "bad", message: `${m[1]}: no ') = RESULT'` };
  return { kind: "call", pid, time, name: m[1], ...r };
}

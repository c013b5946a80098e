// The streaming strace parser: lines in, events out. Split calls are joined per PID
// (`<unfinished ...>` then `<... NAME resumed>`); only the calls still open are held, so
// memory stays bounded however long the log is. A line it cannot read becomes a
// `diagnostic` event with its number and is skipped.

import { parseArgs } from "./args.js";
import { parseLine } from "./line.js";
import { parseRet } from "./ret.js";
import { canonicalSyscallName } from "./syscall-numbers.js";
import type { StraceArg, StraceCall, StraceEvent, StraceRet, StraceUnfinished } from "./types.js";

const ATTACHED = /^strace: Process \d+ (attached|detached|resumed)/;

/** A call record whose arguments are classified on first use (most calls are never asked). */
class Call implements StraceCall {
  readonly kind = "call";
  private parsed: StraceArg[] | null = null;
  time?: string;
  duration?: number;
  incomplete?: boolean;
  constructor(
    readonly pid: number | null,
    readonly line: number,
    readonly endLine: number,
    readonly name: string,
    readonly rawName: string,
    readonly argsText: string,
    readonly ret: StraceRet,
  ) {}

  get args(): StraceArg[] {
    if (this.parsed === null) this.parsed = parseArgs(this.argsText) ?? [{ kind: "other", raw: this.argsText }];
    return this.parsed;
  }

  toJSON(): object {
    return { ...this, parsed: undefined, args: this.args };
  }
}

/** Parser state: open (unfinished) calls per PID. Feed lines in order with `push`. */
export class StraceParser {
  private lineNo = 0;
  private readonly open = new Map<number, StraceUnfinished>();
  /** The start of a line cut by strace's own "Process N attached" message. */
  private carry: string | null = null;
  private sawLine = false;
  /** Lines that were calls, signals or exits (to tell a log from other text). */
  recognized = 0;
  diagnostics = 0;

  /** The events of the next line (0, 1 or 2 events: a dangling call may be closed first). */
  push(raw: string): StraceEvent[] {
    const line = ++this.lineNo;
    this.sawLine = true;
    // strace writing to stderr (no -o) may print "strace: Process N attached" in the middle
    // of a line; the line goes on at the next one.
    let text = raw;
    if (this.carry !== null) {
      text = this.carry + raw;
      this.carry = null;
    }
    const cut = text.indexOf("strace: Process ");
    if (cut > 0 && ATTACHED.test(text.slice(cut))) {
      this.carry = text.slice(0, cut);
      return [];
    }
    const r = parseLine(text);
    switch (r.kind) {
      case "skip":
        return [];
      case "bad":
        return [this.diag(line, r.message, text)];
      case "call": {
        const ret = parseRet(r.ret);
        if (ret === null) return [this.diag(line, `${r.name}: unreadable result '${r.ret}'`, text)];
        this.recognized++;
        const out: StraceEvent[] = [];
        const dangling = this.takeOpen(r.pid);
        if (dangling !== null) out.push(dangling);
        out.push(this.call(r.pid, line, line, r.name, r.args, ret, r.time, r.duration));
        return out;
      }
      case "unfinished": {
        this.recognized++;
        const out: StraceEvent[] = [];
        const dangling = this.takeOpen(r.pid);
        if (dangling !== null) out.push(dangling);
        const u: StraceUnfinished = {
          kind: "unfinished",
          pid: r.pid,
          line,
          name: canonicalSyscallName(r.name),
          rawName: r.name,
          argsText: r.args,
        };
        if (r.time !== undefined) u.time = r.time;
        this.open.set(r.pid ?? -1, u);
        out.push(u);
        return out;
      }
      case "resumed": {
        let key = r.pid ?? -1;
        let u = this.open.get(key);
        if (u === undefined && r.pid !== null && this.open.get(-1)?.rawName === r.name) {
          // stderr output: the first task's lines carry no PID until a second task exists,
          // so its call may be resumed under the PID it is printed with from then on...
          key = -1;
          u = this.open.get(key);
        } else if (u === undefined && r.pid === null) {
          // ... and carry none again once it is the only one left.
          const same = [...this.open].filter(([, o]) => o.rawName === r.name);
          if (same.length === 1) [key, u] = same[0] as [number, StraceUnfinished];
        }
        if (u === undefined || u.rawName !== r.name) {
          return [this.diag(line, `'<... ${r.name} resumed>' without its '${r.name}(... <unfinished ...>' line`, text)];
        }
        this.open.delete(key);
        const ret = parseRet(r.ret);
        if (ret === null) return [this.diag(line, `${r.name}: unreadable result '${r.ret}'`, text)];
        this.recognized++;
        return [this.call(u.pid, u.line, line, u.rawName, u.argsText + r.args, ret, u.time, r.duration)];
      }
      case "signal":
        this.recognized++;
        return [{ kind: "signal", pid: r.pid, line, signal: r.signal, text: r.text }];
      case "exit": {
        this.recognized++;
        const out: StraceEvent[] = [];
        const dangling = this.takeOpen(r.pid);
        if (dangling !== null) out.push(dangling);
        out.push({ kind: "exit", pid: r.pid, line, code: r.code, signal: r.signal });
        return out;
      }
    }
  }

  /** At the end of the log: the calls never resumed, as incomplete calls. */
  finish(): StraceEvent[] {
    const out: StraceEvent[] = [];
    for (const pid of [...this.open.keys()]) {
      const c = this.takeOpen(pid === -1 ? null : pid);
      if (c !== null) out.push(c);
    }
    return out;
  }

  /** Lines read so far. */
  get lines(): number {
    return this.sawLine ? this.lineNo : 0;
  }

  /** A PID's open call closed without a result (its task went on to something else or died). */
  private takeOpen(pid: number | null): StraceCall | null {
    const u = this.open.get(pid ?? -1);
    if (u === undefined) return null;
    this.open.delete(pid ?? -1);
    const c = this.call(u.pid, u.line, u.line, u.rawName, u.argsText, { kind: "unknown", text: "<unfinished>" }, u.time);
    c.incomplete = true;
    return c;
  }

  private call(
    pid: number | null,
    line: number,
    endLine: number,
    rawName: string,
    args: string,
    ret: StraceRet,
    time?: string,
    duration?: number,
  ): Call {
    const c = new Call(pid, line, endLine, canonicalSyscallName(rawName), rawName, args, ret);
    if (time !== undefined) c.time = time;
    if (duration !== undefined) c.duration = duration;
    return c;
  }

  private diag(line: number, message: string, text: string): StraceEvent {
    this.diagnostics++;
    return { kind: "diagnostic", line, message, text: text.length > 200 ? `${text.slice(0, 200)}…` : text };
  }
}

/** Parse a whole stream of lines into events (async: lines may come from a file or stdin). For speed, pass readLogBatches(path). */
export async function* parseStrace(lines: AsyncIterable<string | string[]> | Iterable<string>): AsyncGenerator<StraceEvent> {
  const p = new StraceParser();
  for await (const item of lines) {
    if (typeof item === "string") for (const ev of p.push(item)) yield ev;
    else for (const text of item) for (const ev of p.push(text)) yield ev;
  }
  for (const ev of p.finish()) yield ev;
}

/** Parse lines held in memory (tests, small logs). */
export function parseStraceSync(lines: Iterable<string>): StraceEvent[] {
  const p = new StraceParser();
  const out: StraceEvent[] = [];
  for (const text of lines) for (const ev of p.push(text)) out.push(ev);
  out.push(...p.finish());
  return out;
}

// A scenario's program: issues syscalls through the model's Kernel (the surface a real
// program has), records each with the kind of mapping it touched, and stops where the real
// program would stop, i.e. at the first result it cannot accept.

import type { Kernel } from "../kernel/kernel.js";
import { Unsupported } from "../kernel/unsupported.js";
import { argRanges, formatCall, kindsIn, primaryKind, resultRange } from "./kinds.js";
import type { CallRecord, CallResult, MappingKind, PageRange } from "./types.js";

/**
 * What the program needs from a call to go on: "ok" (no error), an exact return value, an
 * errno name it expects (e.g. "EPERM" where the program knows the call must fail), or a
 * predicate.
 */
export type Expect = "ok" | bigint | `E${string}` | ((r: CallResult) => boolean);

export interface CallOptions {
  /** The program's step, named as its source names it. */
  step: string;
  expect?: Expect;
  /** What the real program does when the result is not what it needs (from its source). */
  reaction?: string;
  /** Force the reported kind (a call that creates a system mapping names no range). */
  kind?: MappingKind;
}

/** Thrown to end the program at the first result it cannot accept (caught by `runProgram`). */
class ProgramStopped extends Error {}

function accepts(expect: Expect, r: CallResult): boolean {
  if ("unsupported" in r) return false;
  if (typeof expect === "function") return expect(r);
  if (expect === "ok") return "ret" in r;
  if (typeof expect === "bigint") return "ret" in r && r.ret === expect;
  return "errno" in r && r.name === expect;
}

export class ScenarioProgram {
  readonly calls: CallRecord[] = [];

  constructor(
    readonly kernel: Kernel,
    /** The task the next calls run in (a scenario may switch, e.g. after fork). */
    public pid: number,
  ) {}

  /** Issue one syscall; returns its result, or ends the program if it cannot go on. */
  call(name: string, args: ReadonlyArray<number | bigint>, opts: CallOptions): CallResult {
    const words = args.map((x) => BigInt.asUintN(64, BigInt(x)));
    const before = argRanges(name, words);
    const mm = this.kernel.process(this.pid).mm;
    const k = kindsIn(mm, before);
    let result: CallResult;
    try {
      result = this.kernel.syscall(this.pid, name, [...args]);
    } catch (e) {
      if (e instanceof Unsupported) result = { unsupported: e.reason };
      else if (e instanceof Error && /^unknown syscall/.test(e.message)) result = { unsupported: `the model has no ${name} yet` };
      else throw e;
    }
    const touched: PageRange[] = [...before];
    if ("ret" in result) {
      const after = resultRange(name, words, result.ret);
      if (after !== null) touched.push(after);
    }
    const accepted = accepts(opts.expect ?? "ok", result);
    const rec: CallRecord = {
      seq: this.calls.length,
      pid: this.pid,
      name,
      call: formatCall(name, args),
      result,
      kind: opts.kind ?? primaryKind(k),
      kinds: opts.kind !== undefined && !k.kinds.includes(opts.kind) ? [opts.kind, ...k.kinds] : k.kinds,
      touched,
      step: opts.step,
      accepted,
    };
    if (!accepted) {
      rec.reaction =
        "unsupported" in result
          ? "the model cannot run this call, so what follows is not modeled"
          : (opts.reaction ?? "the program treats this as fatal and stops");
    }
    this.calls.push(rec);
    if (!accepted) throw new ProgramStopped();
    return result;
  }
}

/** Run a program body; the calls up to and including the one it stopped at. */
export function runProgram(prog: ScenarioProgram, body: (p: ScenarioProgram) => void): CallRecord[] {
  try {
    body(prog);
  } catch (e) {
    if (!(e instanceof ProgramStopped)) throw e;
  }
  return prog.calls;
}

/** The value of a successful result (a scenario uses it as the next call's argument). */
export function retOf(r: CallResult): bigint {
  if (!("ret" in r)) throw new Error("retOf: the call failed");
  return r.ret;
}

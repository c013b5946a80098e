// The comparison of a subject's calls across policies (src/trace/impact.ts). The runs here
// are written by hand, so the expectations are the comparison's own rules (issue 4 item 4):
// a changed call makes the pages it touched unknown, later calls on those pages are
// `unknown`, calls elsewhere are still compared; changes are grouped by mapping kind.
import { describe, expect, it } from "vitest";
import type { CallRecord, CallResult, MappingKind, PageRange } from "../src/scenarios/types.js";
import { compareRuns, fromReplayRecord, groupByKind, resultFromText, type SubjectRun } from "../src/trace/impact.js";

const OK: CallResult = { ret: 0n };
const EPERM: CallResult = { errno: 1, name: "EPERM" };

function rec(seq: number, call: string, result: CallResult, touched: PageRange[], kind: MappingKind = "ordinary", pid = 7): CallRecord {
  return { seq, pid, name: call.split("(")[0] as string, call, result, kind, kinds: [kind], touched, step: `step ${seq}`, accepted: true };
}

function run(policy: string, calls: CallRecord[], type: "scenario" | "log" = "log"): SubjectRun {
  return { subject: "s", type, policy, calls };
}

describe("compareRuns", () => {
  const none = run("none", [
    rec(0, "munmap(vdso)", OK, [[100, 102]], "vdso"),
    rec(1, "mmap(FIXED over old vdso)", { ret: 100n * 4096n }, [[100, 101]]),
    rec(2, "mprotect(elsewhere)", OK, [[10, 11]]),
    rec(3, "mprotect(elsewhere 2)", OK, [[20, 21]]),
  ]);

  it("a policy that changes nothing reports ok with every call the same", () => {
    const i = compareRuns(none, run("p", none.calls));
    expect(i.ok).toBe(true);
    expect(i.status).toBe("ok");
    expect(i.counts).toMatchObject({ calls: 4, same: 4, changed: 0, unknown: 0 });
    expect(i.first_failure).toBeNull();
  });

  it("a failed munmap makes later calls on its pages unknown, calls elsewhere are compared", () => {
    const sysmap = run("sysmap", [
      rec(0, "munmap(vdso)", EPERM, [[100, 102]], "vdso"),
      rec(1, "mmap(FIXED over old vdso)", EPERM, [[100, 101]]),
      rec(2, "mprotect(elsewhere)", OK, [[10, 11]]),
      rec(3, "mprotect(elsewhere 2)", EPERM, [[20, 21]]),
    ]);
    const i = compareRuns(none, sysmap);
    expect(i.ok).toBe(false);
    expect(i.status).toBe("breaks");
    expect(i.first_failure).toMatchObject({ seq: 0, call: "munmap(vdso)", result: "-1 EPERM", base: "0", kind: "vdso" });
    expect(i.counts).toMatchObject({ same: 1, changed: 2, unknown: 1 });
    expect(i.changed.map((c) => [c.seq, c.status])).toEqual([
      [0, "changed"],
      [1, "unknown"],
      [3, "changed"],
    ]);
    expect(i.by_kind).toEqual({ vdso: 1, ordinary: 1 });
    expect(groupByKind(i).map((g) => g.kind)).toEqual(["vdso", "ordinary"]);
    expect(i.notes.join(" ")).toMatch(/unknown/);
  });

  it("reports the first changed call of every task", () => {
    const base = run("none", [
      rec(0, "a", OK, [[1, 2]], "vdso", 1),
      rec(1, "b", OK, [[5, 6]], "vvar", 2),
      rec(2, "c", OK, [[8, 9]], "ordinary", 1),
    ]);
    const pol = run("p", [
      rec(0, "a", EPERM, [[1, 2]], "vdso", 1),
      rec(1, "b", EPERM, [[5, 6]], "vvar", 2),
      rec(2, "c", EPERM, [[8, 9]], "ordinary", 1),
    ]);
    const i = compareRuns(base, pol);
    expect(i.first_per_task.map((f) => [f.pid, f.call])).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
  });

  it("a scenario fails where its program stopped, with what the program does then", () => {
    const base = run("none", [rec(0, "a", OK, [[1, 2]]), rec(1, "b", OK, [[3, 4]])], "scenario");
    const stop: CallRecord = { ...rec(0, "a", EPERM, [[1, 2]], "vdso"), accepted: false, reaction: "the restore aborts" };
    const i = compareRuns(base, run("p", [stop], "scenario"));
    expect(i.status).toBe("breaks");
    expect(i.first_failure).toMatchObject({ call: "a", result: "-1 EPERM", next: ["the restore aborts"] });
    expect(i.counts.not_run).toBe(1);
  });

  it("a log under none fails only where the model differs from the recorded result", () => {
    const good = { ...rec(0, "a", OK, []), recorded: OK };
    const bad = { ...rec(1, "b", EPERM, []), recorded: OK };
    const base = run("none", [good, bad]);
    const i = compareRuns(base, base);
    expect(i.status).toBe("mismatch");
    expect(i.first_failure).toMatchObject({ seq: 1, result: "-1 EPERM", base: "0" });
  });

  it("a subject that could not run is an error, not a pass", () => {
    const i = compareRuns(run("none", []), { ...run("p", []), error: "execve failed" });
    expect(i.ok).toBe(false);
    expect(i.status).toBe("error");
  });
});

describe("replayed calls as study records", () => {
  it("reads strace results", () => {
    expect(resultFromText("0x7ffff7fc8000")).toEqual({ ret: 0x7ffff7fc8000n });
    expect(resultFromText("0")).toEqual({ ret: 0n });
    expect(resultFromText("-1 EPERM (Operation not permitted)")).toMatchObject({ name: "EPERM" });
  });

  it("takes the touched pages from the logged arguments and the result", () => {
    const r = fromReplayRecord(
      {
        pid: 23799,
        line: 23,
        name: "mmap",
        args: "0x7ffff7d1a000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3</usr/lib/x86_64-linux-gnu/libc.so.6>, 0x26000",
        recorded: "0x7ffff7d1a000",
        predicted: "0x7ffff7d1a000",
        status: "matched",
        memory: true,
        vmaKind: "vvar_vclock",
      },
      4,
    );
    expect(r.touched[0]).toEqual([0x7ffff7d1a, 0x7ffff7d1a + 342]);
    expect(r.kind).toBe("vvar");
    expect(r.line).toBe(23);
    expect(r.recorded).toEqual({ ret: 0x7ffff7d1a000n });
    const u = fromReplayRecord(
      {
        pid: 1,
        line: 2,
        name: "munmap",
        args: "NULL, 4096",
        recorded: "0",
        predicted: null,
        status: "unsupported",
        reason: "x",
        memory: true,
      },
      0,
    );
    expect(u.result).toEqual({ unsupported: "x" });
    expect(u.touched).toEqual([[0, 1]]);
  });
});

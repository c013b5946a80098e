// The replayer on the shared real traces (recorded on the reference machine; their results
// are the expected values) and on the mechanics that need no expected values from a kernel:
// unsupported reasons, diagnostics, onCall records, the bundle's role.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CallRecord, metaEnvironment, replayLog } from "../src/trace/replay/index.js";

const TRACES = "/work/shared/traces";
const SHARED = ["ls_la_root", "python3_pass", "perl_e1", "sh_echo_pipe_cat", "gcc_hello"];

describe("the shared traces", { timeout: 60_000 }, () => {
  for (const name of SHARED) {
    it(`${name}: ≥ 99 % of memory syscalls modeled, ≥ 99.9 % of modeled calls match the kernel`, async () => {
      const r = await replayLog(`${TRACES}/${name}.strace`);
      const why = JSON.stringify({ unsupported: r.unsupported, divergences: r.divergences.slice(0, 2), notes: r.notes }, null, 1);
      expect(r.diagnostic_count).toBe(0);
      expect(r.syscalls).toBeGreaterThan(0);
      expect(r.modeled / r.syscalls, why).toBeGreaterThanOrEqual(0.99);
      expect(r.matched / r.modeled, why).toBeGreaterThanOrEqual(0.999);
      expect(r.process_calls.mismatched, why).toBe(0);
    });
  }

  it("reads the environment of the first execve from NAME.meta.txt (strace prints only its size)", () => {
    const m = metaEnvironment(`${TRACES}/perl_e1.strace`);
    expect(m?.env).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=/root",
      "LANG=C.UTF-8",
      "TERM=dumb",
    ]);
  });

  it("onCall sees every memory call of sh -c 'echo hi | cat' with its task", async () => {
    const recs: CallRecord[] = [];
    const r = await replayLog(`${TRACES}/sh_echo_pipe_cat.strace`, { onCall: (c) => recs.push(c) });
    const mem = recs.filter((c) => c.memory);
    expect(mem.length).toBe(r.syscalls);
    // README: 30 mmap, 3 munmap, 6 mprotect, 6 brk
    expect(mem.filter((c) => c.name === "mmap").length).toBe(30);
    // the shell and cat map memory; the echo child (a fork of the shell) only writes
    expect(new Set(mem.map((c) => c.pid)).size).toBe(2);
    expect(r.tasks).toBe(3);
    // the first munmap of the log (the ld.so.cache mapping) touches an ordinary file mapping
    expect(mem.find((c) => c.name === "munmap")?.vmaKind).toBe("ordinary");
  });
});

describe("what the replayer cannot know is unsupported, with a reason", () => {
  it("a task whose beginning the log does not show", async () => {
    const r = await replayLog(["42 munmap(0x7f0000000000, 4096) = 0", "42 brk(NULL) = 0x555555559000"]);
    expect(r.modeled).toBe(0);
    expect(r.unsupported_count).toBe(2);
    expect(Object.keys(r.unsupported)[0]).toMatch(/does not show how task 42 began/);
  });

  it("an execve of a file absent here and not in the bundle", async () => {
    const r = await replayLog(
      ['7 execve("/nonexistent/prog", ["prog"], 0x7fffffffed68 /* 0 vars */) = 0', "7 brk(NULL) = 0x555555559000"],
      { resolver: () => null },
    );
    expect(r.modeled).toBe(0);
    expect(r.unsupported_count).toBe(1);
    expect(r.process_calls.mismatched).toBe(1);
    expect(Object.keys(r.unsupported)[0]).toMatch(
      /execve of \/nonexistent\/prog failed in the model: ENOENT .*not present here and not in the bundle$/,
    );
  });

  it("a malformed line is a diagnostic with its number; the replay goes on", async () => {
    const r = await replayLog(["this is not strace", '7 execve("/x", ["x"], 0x1 /* 0 vars */) = -1 ENOENT (No such file or directory)']);
    expect(r.diagnostic_count).toBe(1);
    expect(r.diagnostics[0]).toMatchObject({ line: 1 });
    expect(r.lines).toBe(2);
  });

  it("input that is no strace log at all is refused", async () => {
    await expect(replayLog(["hello", "world"])).rejects.toThrow(/no line of 2 reads as strace output/);
    await expect(replayLog(`${TRACES}/README.md`)).rejects.toThrow(/reads as strace output/);
  });
});

describe("a log recorded the other way (ASLR on, no -y: the CRIU mseal probe)", () => {
  it("says why results are not comparable instead of guessing", async () => {
    const r = await replayLog(`${TRACES}/criu/strace-mseal-probe-native.txt`);
    expect(r.diagnostic_count).toBe(0);
    expect(r.by_name.mseal.calls).toBe(5);
    expect(Object.keys(r.unsupported)).toEqual(expect.arrayContaining(["mmap of fd 4, which the log does not show opened (no -y)"]));
    expect(r.notes.some((n) => /recorded with ASLR on/.test(n))).toBe(true);
    // brk is never adopted: a mismatched brk(NULL) leaves the model's heap as it was
    expect(r.divergences.find((d) => d.name === "brk")?.adopted).toBe(false);
  });
});

describe("long logs", () => {
  it("a PID reused after its task exited is a new task (the perl trace twice in one log)", async () => {
    const lines = readFileSync(`${TRACES}/perl_e1.strace`, "utf8").trimEnd().split("\n");
    const env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "TERM=dumb"];
    const r = await replayLog([...lines, ...lines], { env });
    expect(r.tasks).toBe(2);
    expect(r.syscalls).toBe(80);
    expect(r.matched).toBe(80);
    expect(r.diagnostic_count).toBe(0);
  });
});

describe("damaged logs", () => {
  it("never end the replay: lines cut, spliced, dropped or swapped in a real multi-process log", async () => {
    const real = readFileSync(`${TRACES}/sh_echo_pipe_cat.strace`, "utf8").trimEnd().split("\n");
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.nat(real.length - 1),
            fc.nat(200),
            fc.nat(200),
            fc.constantFrom("", ")", " <unfinished ...>", "= -1 EPERM (x)", "0x"),
          ),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        async (edits) => {
          const lines = real.slice();
          for (const [i, a, b, ins] of edits) {
            if (i >= lines.length) continue;
            const l = lines[i] as string;
            lines[i] = l.slice(0, a % (l.length + 1)) + ins + l.slice(b % (l.length + 1));
            if (a % 7 === 0) lines.splice(i, 1);
            else if (a % 11 === 0 && i + 1 < lines.length) [lines[i], lines[i + 1]] = [lines[i + 1] as string, lines[i] as string];
          }
          const r = await replayLog(lines);
          expect(r.lines).toBe(lines.length);
          expect(r.syscalls).toBe(r.modeled + r.unsupported_count);
        },
      ),
      { numRuns: 60 },
    );
  });
});

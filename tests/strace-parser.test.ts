// The strace parser on hand-written lines of each form strace 4.x–6.x prints, and on the
// shared real traces (their README's per-syscall counts are the expected values).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  parseLine,
  parseStrace,
  parseStraceSync,
  readLogLines,
  type StraceCall,
  type StraceEvent,
  splitArgs,
} from "../src/trace/strace/index.js";

const TRACES = "/work/shared/traces";

function calls(events: StraceEvent[]): StraceCall[] {
  return events.filter((e): e is StraceCall => e.kind === "call");
}

function one(line: string): StraceCall {
  const evs = parseStraceSync([line]);
  const c = calls(evs);
  expect(evs.filter((e) => e.kind === "diagnostic")).toEqual([]);
  expect(c).toHaveLength(1);
  return c[0];
}

describe("one line of each form", () => {
  it("a plain call without PID prefix, padded result", () => {
    const c = one("brk(NULL)                               = 0x555555576000");
    expect(c.pid).toBeNull();
    expect(c.name).toBe("brk");
    expect(c.args).toEqual([{ kind: "null", raw: "NULL", value: 0n }]);
    expect(c.ret).toEqual({ kind: "value", value: 0x555555576000n });
  });

  it("'N ' and '[pid N] ' prefixes", () => {
    expect(one("23849 getpid()                          = 23849").pid).toBe(23849);
    expect(one("[pid  4242] getpid()                          = 4242").pid).toBe(4242);
  });

  it("-t, -tt, -ttt timestamps and -T durations", () => {
    const a = one("1234  12:34:56 munmap(0x7f0000000000, 4096) = 0");
    expect(a.time).toBe("12:34:56");
    const b = one("12:34:56.123456 munmap(0x7f0000000000, 4096) = 0 <0.000021>");
    expect(b.time).toBe("12:34:56.123456");
    expect(b.duration).toBeCloseTo(0.000021);
    const c = one("1234 1700000000.123456 munmap(0x7f0000000000, 4096) = 0");
    expect(c.pid).toBe(1234);
    expect(c.time).toBe("1700000000.123456");
  });

  it("symbolic and numeric flags, -y fd decorations", () => {
    const c = one(
      "23849 mmap(0x7ffff7dfa000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE|0x40000, 3</usr/lib/x86_64-linux-gnu/libc.so.6>, 0x26000) = 0x7ffff7dfa000",
    );
    expect(c.args.map((a) => a.kind)).toEqual(["int", "int", "flags", "flags", "int", "int"]);
    expect(c.args[2]).toMatchObject({ names: ["PROT_READ", "PROT_EXEC"], bits: 0n });
    expect(c.args[3]).toMatchObject({ names: ["MAP_PRIVATE", "MAP_FIXED", "MAP_DENYWRITE"], bits: 0x40000n });
    expect(c.args[4]).toMatchObject({ value: 3n, path: "/usr/lib/x86_64-linux-gnu/libc.so.6" });
    expect(c.args[5]).toMatchObject({ value: 0x26000n });
  });

  it("-yy sockets and pipes, AT_FDCWD with a path, fd results with decoration", () => {
    const c = one('1 openat(AT_FDCWD</tmp/tracework/wd>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>');
    expect(c.args[0]).toMatchObject({ kind: "flags", names: ["AT_FDCWD"], path: "/tmp/tracework/wd" });
    expect(c.args[1]).toMatchObject({ kind: "str", value: "/etc/ld.so.cache", truncated: false });
    expect(c.ret).toEqual({ kind: "value", value: 3n, path: "/etc/ld.so.cache" });
    const s = one('1 connect(3<UNIX-STREAM:[54321->54322,"/run/x"]>, {sa_family=AF_UNIX, sun_path="/run/x"}, 110) = 0');
    expect(s.args).toHaveLength(3);
    expect(s.args[0]).toMatchObject({ value: 3n, path: 'UNIX-STREAM:[54321->54322,"/run/x"]' });
    expect(s.args[1].kind).toBe("struct");
    const t = one("1 close(4<TCP:[10.0.0.1:22->10.0.0.2:5000]>) = 0");
    expect(t.args[0]).toMatchObject({ value: 4n, path: "TCP:[10.0.0.1:22->10.0.0.2:5000]" });
    const m = one("1 ftruncate(3</memfd:aspace>(deleted), 4096) = -1 EPERM (Operation not permitted)");
    expect(m.args[0]).toMatchObject({ kind: "int", value: 3n, path: "/memfd:aspace" });
    const p = one("1 pipe2([3<pipe:[54758]>, 4<pipe:[54758]>], 0) = 0");
    expect(p.args[0].kind).toBe("array");
  });

  it("errors, '= ?', hex and commented results", () => {
    expect(one('1 access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)').ret).toEqual({
      kind: "error",
      value: -1n,
      errno: "ENOENT",
      message: "No such file or directory",
    });
    expect(
      one("1 mmap(NULL, 1099511627776, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)").ret,
    ).toMatchObject({
      errno: "ENOMEM",
    });
    expect(one("1 exit_group(0)                     = ?").ret).toEqual({ kind: "unknown", text: "?" });
    expect(one("1 fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)").ret).toEqual({ kind: "value", value: 1n, comment: "flags FD_CLOEXEC" });
    expect(one("1 nanosleep({tv_sec=1, tv_nsec=0}, NULL) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)").ret).toMatchObject({
      kind: "error",
      value: null,
      errno: "ERESTART_RESTARTBLOCK",
    });
  });

  it("truncated strings, structs, arrays, comments, escapes and parentheses in values", () => {
    const c = one('1 read(3</usr/lib/x86_64-linux-gnu/libc.so.6>, "\\177ELF\\2\\1\\1\\3\\0\\0\\0, ) = \\\\\\"x"..., 832) = 832');
    expect(c.args).toHaveLength(3);
    expect(c.args[1]).toMatchObject({ kind: "str", truncated: true, value: '\x7fELF\x02\x01\x01\x03\0\0\0, ) = \\"x' });
    const e = one('1 execve("/usr/bin/sh", ["sh", "-c", "echo hi | cat"], 0x7fffffffed68 /* 4 vars */) = 0');
    expect(e.args.map((a) => a.kind)).toEqual(["str", "array", "int"]);
    expect(e.args[2]).toMatchObject({ value: 0x7fffffffed68n });
    const w = one("1 wait4(23934, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 23934");
    expect(w.args).toHaveLength(4);
    const s = one('1 newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=39155, ...}, AT_EMPTY_PATH) = 0');
    expect(s.args.map((a) => a.kind)).toEqual(["int", "str", "struct", "flags"]);
    expect(one("1 umask(022) = 0").args[0]).toMatchObject({ value: 18n });
  });

  it("named arguments (clone) and clone3's struct", () => {
    const c = one("1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f60cdb3ea10) = 24399");
    expect(c.args[1]).toMatchObject({ name: "flags", kind: "flags", names: ["CLONE_CHILD_CLEARTID", "CLONE_CHILD_SETTID", "SIGCHLD"] });
    expect(c.args[0]).toMatchObject({ name: "child_stack", kind: "null" });
    const c3 = one("1 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f7d19120000, stack_size=0x9000}, 88) = 24398");
    expect(c3.args[0].kind).toBe("struct");
  });

  it("unknown syscalls printed by number: syscall_0x1ce is mseal", () => {
    const c = one("24397 syscall_0x1ce(0x7f7d19315000, 0x2000, 0, 0xffffffff, 0, 0x2f2f2f2f2f2f2f2f) = 0");
    expect(c.name).toBe("mseal");
    expect(c.rawName).toBe("syscall_0x1ce");
    expect(c.args).toHaveLength(6);
    expect(one("1 syscall_0x3e7(0) = -1 ENOSYS (Function not implemented)").name).toBe("syscall_0x3e7");
  });

  it("signals and exits", () => {
    const evs = parseStraceSync([
      "23933 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=23934, si_uid=0, si_status=0} ---",
      "23933 --- stopped by SIGSTOP ---",
      "23934 +++ exited with 3 +++",
      "23935 +++ killed by SIGSEGV (core dumped) +++",
      "+++ killed by SIGKILL +++",
    ]);
    expect(evs).toMatchObject([
      { kind: "signal", pid: 23933, signal: "SIGCHLD", line: 1 },
      { kind: "signal", signal: "SIGSTOP" },
      { kind: "exit", pid: 23934, code: 3, signal: null },
      { kind: "exit", pid: 23935, code: null, signal: "SIGSEGV" },
      { kind: "exit", pid: null, signal: "SIGKILL" },
    ]);
  });
});

describe("older and optional forms", () => {
  it("strace 4.x resumed lines with a space before ')', -X verbose comments, strace's own messages and -k frames", () => {
    const evs = parseStraceSync([
      "strace: Process 4242 attached",
      "[pid  4242] mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>",
      "[pid  4242] <... mmap resumed> )      = 0x7f0000000000",
      " > /lib/x86_64-linux-gnu/libc.so.6(mmap64+0x26) [0xfe7a6]",
      "4242 mprotect(0x7f0000000000, 4096, 0x1 /* PROT_READ */) = 0",
      "--- SIGCHLD (Child exited) @ 0 (0) ---",
    ]);
    expect(evs.filter((e) => e.kind === "diagnostic")).toEqual([]);
    const c = calls(evs);
    expect(c.map((x) => [x.pid, x.name, x.ret.kind === "value" ? x.ret.value : null])).toEqual([
      [4242, "mmap", 0x7f0000000000n],
      [4242, "mprotect", 0n],
    ]);
    expect(c[0].args).toHaveLength(6);
    expect(c[1].args[2]).toMatchObject({ kind: "int", value: 1n });
    expect(evs.some((e) => e.kind === "signal" && e.signal === "SIGCHLD")).toBe(true);
  });
});

describe("strace writing to stderr (no -o)", () => {
  it("a line cut by 'strace: Process N attached' is joined; the first task's calls resume across its PID appearing and going", () => {
    const evs = parseStraceSync([
      "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLDstrace: Process 21130 attached",
      ", child_tidptr=0x7ffff7dd2a10) = 21130",
      "wait4(-1,  <unfinished ...>",
      "[pid 21130] exit_group(0) = ?",
      "[pid 21128] <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 21130",
      "[pid 21128] wait4(-1,  <unfinished ...>",
      "[pid 21131] +++ exited with 0 +++",
      "<... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 21131",
    ]);
    expect(evs.filter((e) => e.kind === "diagnostic")).toEqual([]);
    expect(calls(evs).map((c) => [c.name, c.line, c.endLine, c.args.length])).toEqual([
      ["clone", 2, 2, 3],
      ["exit_group", 4, 4, 1],
      ["wait4", 3, 5, 4],
      ["wait4", 6, 8, 4],
    ]);
  });
});

describe("split calls", () => {
  it("joins <unfinished ...> and <... resumed> per PID across interleaved tasks", () => {
    const evs = parseStraceSync([
      "23933 vfork( <unfinished ...>",
      '23934 execve("/usr/bin/as", ["as"], 0x56d980 /* 9 vars */ <unfinished ...>',
      "23933 <... vfork resumed>)              = 23934",
      "23933 wait4(23934,  <unfinished ...>",
      "23934 <... execve resumed>)             = 0",
      "23934 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>",
      "23934 <... mmap resumed>)               = 0x7ffff7fc0000",
      "23933 <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 23934",
    ]);
    const c = calls(evs);
    expect(c.map((x) => [x.pid, x.name, x.line, x.endLine])).toEqual([
      [23933, "vfork", 1, 3],
      [23934, "execve", 2, 5],
      [23934, "mmap", 6, 7],
      [23933, "wait4", 4, 8],
    ]);
    expect(c[1].args).toHaveLength(3);
    expect(c[2].args.map((a) => a.raw)).toEqual(["NULL", "8192", "PROT_READ|PROT_WRITE", "MAP_PRIVATE|MAP_ANONYMOUS", "-1", "0"]);
    expect(c[3].args.map((a) => a.raw)).toEqual(["23934", "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]", "0", "NULL"]);
    expect(c[3].ret).toMatchObject({ value: 23934n });
    expect(evs.filter((e) => e.kind === "unfinished").length).toBe(4);
  });

  it("a call never resumed is closed as incomplete at exit or end of log", () => {
    const evs = parseStraceSync([
      "7 futex(0x1, FUTEX_WAIT, 0, NULL <unfinished ...>",
      "7 +++ killed by SIGKILL +++",
      "8 pause( <unfinished ...>",
    ]);
    const c = calls(evs);
    expect(c.map((x) => [x.pid, x.name, x.incomplete, x.ret.kind])).toEqual([
      [7, "futex", true, "unknown"],
      [8, "pause", true, "unknown"],
    ]);
  });
});

describe("malformed lines", () => {
  it("never throw: random text and cut or spliced real lines give events or diagnostics", () => {
    const real = readFileSync(`${TRACES}/gcc_hello.strace`, "utf8").split("\n").slice(0, 400);
    const cut = fc
      .tuple(fc.constantFrom(...real), fc.nat(), fc.nat(), fc.string())
      .map(([l, a, b, ins]) => l.slice(0, a % (l.length + 1)) + ins + l.slice(b % (l.length + 1)));
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), cut), { maxLength: 20 }), (lines) => {
        const evs = parseStraceSync(lines);
        for (const e of evs) if (e.kind === "call") void e.args;
      }),
      { numRuns: 1500 },
    );
  });

  it("are diagnostics with their line number, never fatal", () => {
    const evs = parseStraceSync([
      "hello world",
      "1 mmap(NULL, 4096",
      "1 <... mmap resumed>) = 0x1000",
      "1 munmap(0x1000, 4096) = banana",
      "",
      "1 munmap(0x1000, 4096) = 0",
    ]);
    const d = evs.filter((e) => e.kind === "diagnostic");
    expect(d.map((e) => e.line)).toEqual([1, 2, 3, 4]);
    expect(calls(evs).map((c) => c.line)).toEqual([6]);
  });

  it("parseLine reports what it saw", () => {
    expect(parseLine("[pid abc] x() = 0")).toMatchObject({ kind: "bad" });
    expect(parseLine("   ")).toEqual({ kind: "skip" });
    expect(splitArgs('"unterminated, 1')).toBeNull();
  });
});

// Per-syscall counts from /work/shared/traces/README.md (one call counted once, at its first line).
const README_COUNTS: Record<string, { pids: number; counts: Record<string, number> }> = {
  ls_la_root: { pids: 1, counts: { mmap: 30, munmap: 1, mprotect: 5, mremap: 0, madvise: 0, brk: 3, mseal: 0, prctl: 0 } },
  python3_pass: { pids: 1, counts: { mmap: 27, munmap: 3, mprotect: 6, mremap: 0, madvise: 0, brk: 9, mseal: 0, prctl: 0 } },
  perl_e1: { pids: 1, counts: { mmap: 30, munmap: 1, mprotect: 5, mremap: 0, madvise: 0, brk: 4, mseal: 0, prctl: 0 } },
  sh_echo_pipe_cat: { pids: 3, counts: { mmap: 30, munmap: 3, mprotect: 6, mremap: 0, madvise: 0, brk: 6, mseal: 0, prctl: 0 } },
  gcc_hello: { pids: 5, counts: { mmap: 144, munmap: 8, mprotect: 33, mremap: 0, madvise: 0, brk: 75, mseal: 0, prctl: 0 } },
};

async function tally(path: string) {
  const counts: Record<string, number> = {};
  const pids = new Set<number | null>();
  let diagnostics = 0;
  let lines = 0;
  for await (const ev of parseStrace(readLogLines(path))) {
    if (ev.kind === "call") {
      counts[ev.name] = (counts[ev.name] ?? 0) + 1;
      pids.add(ev.pid);
      lines = Math.max(lines, ev.endLine);
      // every argument list of the real traces splits
      expect(ev.args.some((a) => a.kind === "other" && a.raw === ev.argsText && ev.argsText.includes(","))).toBe(false);
    } else if (ev.kind === "diagnostic") diagnostics++;
  }
  return { counts, pids: pids.size, diagnostics };
}

describe("the shared real traces", () => {
  for (const [name, want] of Object.entries(README_COUNTS)) {
    it(`${name}: counts per syscall equal the README table`, async () => {
      const t = await tally(`${TRACES}/${name}.strace`);
      expect(t.diagnostics).toBe(0);
      expect(t.pids).toBe(want.pids);
      for (const [sc, n] of Object.entries(want.counts)) expect([sc, t.counts[sc] ?? 0]).toEqual([sc, n]);
    });
  }

  it("the mseal probe: syscall_0x1ce lines are mseal calls (5, as grep counts them)", async () => {
    const path = `${TRACES}/criu/strace-mseal-probe-native.txt`;
    const grep = Number(execFileSync("grep", ["-c", "syscall_0x1ce(", path], { encoding: "utf8" }).trim());
    const t = await tally(path);
    expect(t.diagnostics).toBe(0);
    expect(t.counts.mseal).toBe(grep);
    expect(grep).toBe(5);
  });

  it("reads gzip-compressed logs the same way, and a missing file is a read error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "strace-gz-"));
    const gz = join(dir, "perl.strace.gz");
    writeFileSync(gz, gzipSync(readFileSync(`${TRACES}/perl_e1.strace`)));
    const t = await tally(gz);
    expect(t.counts.mmap).toBe(30);
    await expect(tally(join(dir, "absent.strace"))).rejects.toThrow(/no such file/);
  });
});

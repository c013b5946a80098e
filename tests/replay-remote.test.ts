// The replayer on process_vm_readv/writev, pidfd_open + process_madvise and
// prctl(PR_SET_MM, PR_SET_MM_MAP): a C probe (tests/fixtures/replay/remote.c) is compiled and
// recorded here with `aspace record` (live kernel, ASLR off); the results strace logged are
// the expected values. The probe also prints each prctl_mm_map it passes on stdout, which
// strace does not print, so the decoded-struct path is checked against the same kernel results.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { record } from "../src/trace/record.js";
import { type CallRecord, type ReplayReport, readBundle, replayLog, replayLogModel } from "../src/trace/replay/index.js";
import { printedMmMap, printedVector } from "../src/trace/replay/remote-args.js";
import { parseArgs } from "../src/trace/strace/args.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "aspace-replay-remote-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const REMOTE = new Set(["process_vm_readv", "process_vm_writev", "process_madvise"]);
const LOCAL_FAULT = /^process_vm_readv: the recorded result is short of what the target's pages allow/;
const STRUCT_UNPRINTED = /^prctl\(PR_SET_MM_MAP\): strace prints the struct's address, not its fields/;

let dir: string;
let log: string[];
let recs: CallRecord[];
let report: ReplayReport;

function why(r: ReplayReport): string {
  return JSON.stringify({ unsupported: r.unsupported, divergences: r.divergences.slice(0, 2), diagnostics: r.diagnostics }, null, 1);
}

beforeAll(async () => {
  const bin = join(work, "remote");
  execFileSync("cc", ["-O1", "-o", bin, join(ROOT, "tests/fixtures/replay/remote.c")]);
  dir = join(work, "rec");
  await record(dir, [bin], { cleanEnv: true, cwd: work, output: "file" });
  log = readFileSync(join(dir, "trace.strace"), "utf8").split("\n");
  recs = [];
  report = await replayLog(join(dir, "trace.strace"), { bundle: readBundle(join(dir, "bundle.json")), onCall: (c) => recs.push(c) });
}, 60_000);

describe("process_vm_readv/writev and process_madvise of a recorded fork", () => {
  it("the log holds the cases the probe makes (full, partial, EFAULT, EINVAL, ESRCH, 0; 4096 and 8192 advised, EINVAL, ENOMEM, EBADF)", () => {
    const results = (name: string) => new Set(recs.filter((c) => c.name === name).map((c) => c.recorded));
    expect([...results("process_vm_readv")].sort()).toEqual(["-1 EFAULT", "-1 EINVAL", "-1 ESRCH", "0", "16", "8"]);
    expect([...results("process_vm_writev")].sort()).toEqual(["-1 EFAULT", "16", "8"]);
    expect([...results("process_madvise")].sort()).toEqual(["-1 EBADF", "-1 EINVAL", "-1 ENOMEM", "0x1000", "0x2000"]);
    // one record per logged call (a call split by <unfinished ...> counts once)
    const logged = log.filter((l) => /^\d+ +(process_vm_readv|process_vm_writev|process_madvise)\(/.test(l)).length;
    expect(recs.filter((c) => REMOTE.has(c.name)).length).toBe(logged);
  });

  it("every call is modeled and matches, except the short one whose local buffer ended (the log shows its data, not its address)", () => {
    const remote = recs.filter((c) => REMOTE.has(c.name));
    const unsupported = remote.filter((c) => c.status === "unsupported");
    expect(
      unsupported.map((c) => [c.name, c.recorded]),
      why(report),
    ).toEqual([["process_vm_readv", "8"]]);
    expect(unsupported[0].args).toMatch(/^\d+, \[\{iov_base="aaaaaaaa", iov_len=16\}\], 1, \[\{iov_base=0x[0-9a-f]+000, iov_len=16\}\]/);
    expect(unsupported[0].reason).toMatch(LOCAL_FAULT);
    // a failed call's log prints the local addresses: the caller's modeled memory decides
    const local = remote.find((c) => c.args.includes("[{iov_base=0x8, iov_len=16}]"));
    expect(local).toMatchObject({ recorded: "-1 EFAULT", predicted: "-1 EFAULT", status: "matched" });
    expect(remote.filter((c) => c.status === "mismatched")).toEqual([]);
    expect(remote.filter((c) => c.status === "matched").length).toBe(remote.length - 1);
  });

  it("the partial transfers stop at the page the child unmapped; the write to a read-only page is EFAULT", () => {
    const partial = recs.filter((c) => c.name.startsWith("process_vm_") && c.recorded === "8" && c.status !== "unsupported");
    expect(partial.length).toBe(3);
    for (const c of partial) expect(c.predicted).toBe("8");
    const ro = recs.find((c) => c.name === "process_vm_writev" && c.recorded === "-1 EFAULT");
    expect(ro?.predicted).toBe("-1 EFAULT");
    expect(ro?.vmaKind).toBe("ordinary");
    // what the remote vector touches is looked up in the target's (the child's) address space
    const hole = recs.find((c) => c.name === "process_vm_readv" && c.recorded === "-1 EFAULT" && !c.args.includes("iov_base=0x8,"));
    expect(hole?.vmaKind).toBe("none");
    expect(recs.find((c) => c.name === "process_madvise" && c.recorded === "-1 ENOMEM")?.vmaKind).toBe("none");
    expect(recs.find((c) => c.name === "process_madvise" && c.recorded === "0x1000")?.vmaKind).toBe("ordinary");
  });

  it("pidfd_open is run with the child's model pid and the fd moved to the recorded number", () => {
    const open = recs.filter((c) => c.name === "pidfd_open");
    expect(open.length).toBe(1);
    expect(open[0]).toMatchObject({ status: "matched", memory: false, predicted: open[0].recorded });
    expect(report.process_calls.mismatched).toBe(0);
    expect(report.process_calls.unsupported).toBe(0);
  });

  it("a target PID the log never showed is unsupported, with the PID in the reason", async () => {
    const parent = /^(\d+) /.exec(log[0])?.[1];
    const lines = log.map((l) => l.replace(/process_vm_readv\((\d+), \[/, (m, pid) => (pid === parent ? m : "process_vm_readv(424242, [")));
    const r = await replayLog(lines, { bundle: readBundle(join(dir, "bundle.json")) });
    expect(r.unsupported["process_vm_readv: target PID 424242 is not a modeled task of the log at this point"]).toBeGreaterThan(0);
    expect(r.mismatched).toBe(0);
  });
});

describe("prctl(PR_SET_MM, PR_SET_MM_MAP)", () => {
  const prctls = () => recs.filter((c) => c.name === "prctl" && c.memory);

  it("strace prints the struct's address: what does not depend on its fields is modeled, the rest unsupported", () => {
    const map = prctls().filter((c) => c.args.startsWith("PR_SET_MM, PR_SET_MM_MAP,"));
    const unsupported = map.filter((c) => c.status === "unsupported");
    // the struct read fine on the kernel: every call with size 0x68 and a stack address
    expect(unsupported.length).toBe(map.filter((c) => /, 0x7f[0-9a-f]+, 0x68, 0$/.test(c.args)).length);
    for (const c of unsupported) expect(c.reason).toMatch(STRUCT_UNPRINTED);
    // the wrong size (EINVAL) and the unreadable struct (EFAULT) need no fields
    const modeled = map.filter((c) => c.status !== "unsupported");
    expect(modeled.map((c) => c.recorded).sort()).toEqual(["-1 EFAULT", "-1 EINVAL"]);
    expect(modeled.every((c) => c.status === "matched")).toBe(true);
    // PR_SET_MM_MAP_SIZE and the single-field ops (EPERM without CAP_SYS_RESOURCE) run as words
    const others = prctls().filter((c) => !c.args.startsWith("PR_SET_MM, PR_SET_MM_MAP,"));
    expect(others.map((c) => c.recorded)).toEqual(["0", "-1 EPERM", "-1 EPERM", "-1 EPERM"]);
    expect(others.every((c) => c.status === "matched")).toBe(true);
  });

  it("with the struct printed (from the probe's stdout), every PR_SET_MM_MAP is modeled and matches the kernel", async () => {
    const structs = readFileSync(join(dir, "out.txt"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{start_code="));
    expect(structs.length).toBe(9);
    let k = 0;
    const lines = log.map((l) => l.replace(/PR_SET_MM_MAP, (0x7f[0-9a-f]+),/, () => `PR_SET_MM_MAP, ${structs[k++]},`));
    expect(k).toBe(9);
    const got: CallRecord[] = [];
    const r = await replayLog(lines, { bundle: readBundle(join(dir, "bundle.json")), onCall: (c) => got.push(c) });
    const map = got.filter((c) => c.name === "prctl" && c.args.startsWith("PR_SET_MM, PR_SET_MM_MAP,"));
    expect(map.length).toBe(10);
    expect(
      map.map((c) => [c.recorded, c.status]),
      why(r),
    ).toEqual(map.map((c) => [c.recorded, "matched"]));
    // the kernel's answers the struct decides: 0 (valid, with and without auxv), EINVAL, EFAULT (auxv), EBADF, EBUSY (exe_fd)
    expect(new Set(map.map((c) => c.recorded))).toEqual(new Set(["0", "-1 EINVAL", "-1 EFAULT", "-1 EBADF", "-1 EBUSY"]));
    expect(r.unsupported_count).toBe(1); // the local-fault process_vm_readv only
    expect(r.mismatched).toBe(0);
  });
});

describe("the whole recorded log, and the model kept after it", () => {
  it("counts: every memory call modeled and matching but the 9 the log cannot decide", () => {
    expect(report.diagnostic_count).toBe(0);
    expect(report.mismatched, why(report)).toBe(0);
    expect(report.unsupported_count).toBe(9);
    expect(report.modeled).toBe(report.syscalls - 9);
    expect(Object.values(report.unsupported).sort()).toEqual([1, 8]);
  });

  it("replayLogModel keeps the kernel: the parent just before exit_group, with the region it read from the child", async () => {
    const parent = Number(/^(\d+) /.exec(log[0])?.[1]);
    const child = Number(/clone\(.*\) = (\d+)$/.exec(log.find((l) => l.includes(" clone(")) ?? "")?.[1]);
    const m = await replayLogModel(join(dir, "trace.strace"), { bundle: readBundle(join(dir, "bundle.json")), stopBeforeExitOf: parent });
    const exitLine = log.findIndex((l) => l.startsWith(`${parent} `) && l.includes("exit_group(")) + 1;
    expect(m.stoppedAt).toBe(exitLine);
    const pid = m.pidOf(parent);
    expect(pid).not.toBeNull();
    expect(m.pidOf(child)).toBeNull(); // killed by SIGKILL before
    // the probe's 3-page region: its last 12288-byte anonymous mmap before the fork
    const mmaps = log
      .slice(
        0,
        log.findIndex((l) => l.includes(" clone(")),
      )
      .filter((l) => l.includes("mmap(NULL, 12288, "));
    const base = / = 0x([0-9a-f]+)$/.exec(mmaps[mmaps.length - 1] ?? "")?.[1];
    expect(base).toBeDefined();
    expect(m.kernel.maps(pid as number)).toMatch(new RegExp(`^${base}-[0-9a-f]+ rw-p `, "m"));
  });
});

describe("printed arguments (strace 6.1 formats from the recorded log)", () => {
  it("iovec arrays: addresses, data, cut data; an array printed as an address or cut is refused with a reason", () => {
    const a = parseArgs(
      '123, [{iov_base="aaaa"..., iov_len=16}, {iov_base=NULL, iov_len=0}], 2, [{iov_base=0x7ffff7fbd000, iov_len=16}], 1, 0',
    );
    expect(a).not.toBeNull();
    const local = printedVector(a?.[1], 2, "local");
    expect(local).toMatchObject({
      iov: [
        { base: null, len: 16n, data: { complete: false } },
        { base: 0n, len: 0n },
      ],
    });
    expect(printedVector(a?.[3], 1, "remote")).toMatchObject({ iov: [{ base: 0x7ffff7fbd000n, len: 16n }] });
    expect(printedVector(a?.[3], 2, "remote")).toEqual({ error: "remote: 1 iovecs printed for a count of 2" });
    const addr = parseArgs("123, 0x7ffd0000, 1, [], 0, 0");
    expect(printedVector(addr?.[1], 1, "local")).toEqual({
      error: "local: the iovec array is printed as an address (strace could not read it)",
    });
    const cut = parseArgs("[{iov_base=0x1000, iov_len=1}, ...]");
    expect(printedVector(cut?.[0], 5, "remote")).toEqual({ error: "remote: strace printed only 1 of 5 iovecs" });
  });

  it("a huge page size printed as N<<MAP_HUGE_SHIFT is a shift, not a -y decoration", () => {
    const line = log.find((l) => l.includes("<<MAP_HUGE_SHIFT"));
    expect(line).toMatch(/MAP_HUGETLB\|21<<MAP_HUGE_SHIFT, -1, 0\) = /);
    const rec = recs.find((c) => c.name === "mmap" && c.args.includes("<<MAP_HUGE_SHIFT"));
    expect(rec?.status, rec?.reason).toBe("matched");
    const a = parseArgs("NULL, 2097152, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, 0</dev/null>, 0");
    expect(a?.length).toBe(6);
    expect(a?.[3]).toMatchObject({ kind: "flags", names: ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_HUGETLB", "21<<MAP_HUGE_SHIFT"] });
    expect(a?.[4]).toMatchObject({ kind: "int", value: 0n, path: "/dev/null" });
  });

  it("struct prctl_mm_map: every field or nothing", () => {
    const full =
      "{start_code=0x1000, end_code=0x2000, start_data=0x3000, end_data=0x3000, start_brk=0x4000, brk=0x4000, start_stack=0x7ff0, arg_start=0x7f00, arg_end=0x7f10, env_start=0x7f10, env_end=0x7f20, auxv=NULL, auxv_size=0, exe_fd=-1}";
    expect(printedMmMap(parseArgs(full)?.[0])).toMatchObject({ startCode: 0x1000n, auxv: 0n, auxvSize: 0, exeFd: 0xffffffff });
    expect(printedMmMap(parseArgs("{start_code=0x1000}")?.[0])).toBeNull();
    expect(printedMmMap(parseArgs("0x7fffffffd920")?.[0])).toBeNull();
  });
});

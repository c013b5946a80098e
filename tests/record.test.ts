// `aspace record` in the test setup on programs present on a fresh Debian machine (a small C
// probe compiled here, /bin/true, sh -c 'echo | cat'), then replayed: the recorded results
// are the expected values (live kernel, ASLR off).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLEAN_ENV, record } from "../src/trace/record.js";
import { type CallRecord, type RecordBundle, readBundle, replayLog } from "../src/trace/replay/index.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "aspace.js");
const work = mkdtempSync(join(tmpdir(), "aspace-record-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const probe = join(work, "probe");
const threads = join(work, "threads");
beforeAll(() => {
  execFileSync("cc", ["-O1", "-o", probe, join(ROOT, "tests/fixtures/replay/probe.c")]);
  execFileSync("cc", ["-O1", "-pthread", "-o", threads, join(ROOT, "tests/fixtures/replay/threads.c")]);
});

function targets(r: Awaited<ReturnType<typeof replayLog>>): string {
  return JSON.stringify({ unsupported: r.unsupported, divergences: r.divergences.slice(0, 2), notes: r.notes }, null, 1);
}

describe("aspace record, then replay", { timeout: 60_000 }, () => {
  let probeDir: string;
  let recs: CallRecord[];
  let probeReport: Awaited<ReturnType<typeof replayLog>>;

  beforeAll(async () => {
    probeDir = join(work, "probe-rec");
    await record(probeDir, [probe], { cleanEnv: true, cwd: work, output: "file" });
    recs = [];
    probeReport = await replayLog(join(probeDir, "trace.strace"), {
      bundle: readBundle(join(probeDir, "bundle.json")),
      onCall: (c) => recs.push(c),
    });
  });

  it("writes trace.strace and bundle.json (kernel release, system mappings, executed and mapped ELF files)", () => {
    const b = JSON.parse(readFileSync(join(probeDir, "bundle.json"), "utf8")) as RecordBundle & { exit_status: number };
    expect(b.exit_status).toBe(0);
    expect(b.kernel_release).toBe(execFileSync("uname", ["-r"], { encoding: "utf8" }).trim());
    expect(b.env).toEqual(CLEAN_ENV);
    expect(b.system_mappings["[vdso]"]).toBeGreaterThan(0);
    expect(Object.keys(b.files)).toEqual(expect.arrayContaining([probe, "/bin/true", "/usr/lib/x86_64-linux-gnu/libc.so.6"]));
    const t = b.files["/bin/true"];
    expect(t.elf?.phdrs.some((p) => p.type === 3)).toBe(true);
    expect(t.elf?.interp).toBe("/lib64/ld-linux-x86-64.so.2");
    expect(b.files["/lib64/ld-linux-x86-64.so.2"]).toBeDefined();
    expect(t.head).toBeDefined();
  });

  it("the probe (mmap through fds, mseal as syscall_0x1ce, memfd seals, SysV shm, prctl, fork + execve): every memory call modeled and matching", () => {
    const r = probeReport;
    expect(r.syscalls, targets(r)).toBe(r.modeled);
    expect(r.matched, targets(r)).toBe(r.modeled);
    expect(r.process_calls).toMatchObject({ mismatched: 0, unsupported: 0 });
    // the kernel's EPERMs on the sealed range and the fd-dependent errors, as recorded
    const errs = recs.filter((c) => c.memory && c.recorded.startsWith("-1")).map((c) => `${c.name} ${c.recorded}`);
    expect(errs).toEqual(
      expect.arrayContaining([
        "mseal -1 EINVAL",
        "mprotect -1 EPERM",
        "munmap -1 EPERM",
        "mremap -1 EPERM",
        "mmap -1 EACCES",
        "mmap -1 EBADF",
        "mmap -1 EEXIST",
      ]),
    );
    expect(recs.filter((c) => c.name === "mseal").length).toBe(2);
    expect(recs.find((c) => c.name === "mprotect" && c.recorded === "-1 EPERM")?.vmaKind).toBe("user-sealed");
    expect(new Set(recs.filter((c) => c.memory).map((c) => c.pid)).size).toBe(2);
  });

  it("replays from the bundle alone when the files are absent here, and says which", async () => {
    const r = await replayLog(join(probeDir, "trace.strace"), { bundle: readBundle(join(probeDir, "bundle.json")), resolver: () => null });
    expect(r.notes.some((n) => n.startsWith(`${probe}: taken from the bundle (absent here)`))).toBe(true);
    expect(r.process_calls.mismatched, targets(r)).toBe(0);
    expect(r.matched, targets(r)).toBe(r.modeled);
    expect(r.modeled / r.syscalls).toBeGreaterThanOrEqual(0.99);
  });

  it("threads (clone3 CLONE_VM|CLONE_THREAD) share the mm: a seal made by one thread stops the main thread's munmap", async () => {
    const dir = join(work, "threads-rec");
    await record(dir, [threads], { cleanEnv: true, cwd: work, output: "file" });
    const recs: CallRecord[] = [];
    const r = await replayLog(join(dir, "trace.strace"), { onCall: (c) => recs.push(c) });
    expect(r.syscalls, targets(r)).toBe(r.modeled);
    expect(r.matched, targets(r)).toBe(r.modeled);
    expect(r.tasks).toBe(4);
    expect(recs.filter((c) => c.name === "clone3").map((c) => c.status)).toEqual(["matched", "matched", "matched"]);
    const eperm = recs.find((c) => c.name === "munmap" && c.recorded === "-1 EPERM");
    expect(eperm?.vmaKind).toBe("user-sealed");
  });

  it("a log strace wrote to stderr (no -o: PIDs appear and go, 'Process N attached' inside lines) replays the same", async () => {
    const log = join(work, "stderr.strace");
    const env = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C.UTF-8", TERM: "dumb" };
    const run = spawnSync("setarch", ["-R", "strace", "-f", "-y", "sh", "-c", "echo hi | cat"], { env, cwd: work, encoding: "utf8" });
    expect(run.status).toBe(0);
    writeFileSync(log, run.stderr);
    const r = await replayLog(log, { env: CLEAN_ENV });
    expect(r.diagnostic_count, JSON.stringify(r.diagnostics)).toBe(0);
    expect(r.tasks).toBe(3);
    expect(r.syscalls, targets(r)).toBe(r.modeled);
    expect(r.matched, targets(r)).toBe(r.modeled);
  });

  it("takes a file from the bundle when the one here differs, and says how", async () => {
    const b = readBundle(join(probeDir, "bundle.json"));
    b.files["/bin/true"] = { ...b.files["/bin/true"], size: b.files["/bin/true"].size + 4096 };
    const r = await replayLog(join(probeDir, "trace.strace"), { bundle: b });
    expect(
      r.notes.some((n) => /^\/bin\/true: taken from the bundle \(differs here \(size \d+, recorded \d+\)\)$/.test(n)),
      r.notes.join("\n"),
    ).toBe(true);
    expect(r.process_calls.mismatched, targets(r)).toBe(0);
  });

  it("/bin/true and sh -c 'echo | cat' through the CLI: exit 0, every memory call matched", async () => {
    for (const [name, cmd] of [
      ["true", ["/bin/true"]],
      ["pipe", ["sh", "-c", "echo | cat"]],
    ] as const) {
      const dir = join(work, name);
      const rec = spawnSync(process.execPath, [BIN, "record", "-o", dir, "--clean-env", "--json", "--", ...cmd], {
        encoding: "utf8",
        cwd: work,
      });
      expect(rec.status, rec.stderr).toBe(0);
      expect(JSON.parse(rec.stdout.trim().split("\n").pop() as string).exit_status).toBe(0);
      const rp = spawnSync(process.execPath, [BIN, "replay", "--json", join(dir, "trace.strace")], { encoding: "utf8" });
      expect(rp.status, rp.stderr).toBe(0);
      const j = JSON.parse(rp.stdout) as { syscalls: number; modeled: number; matched: number; mismatched: number; unsupported: object };
      expect(j.syscalls).toBeGreaterThan(10);
      expect(j.modeled, JSON.stringify(j.unsupported)).toBe(j.syscalls);
      expect(j.matched).toBe(j.modeled);
    }
  });

  it("refuses an output directory that is not empty or a command strace cannot run, and leaves no temporary directory", async () => {
    await expect(record(probeDir, ["/bin/true"])).rejects.toThrow(/not empty/);
    await expect(record(join(work, "nx"), ["/nonexistent/command"], { output: "file" })).rejects.toThrow(
      /strace could not run \/nonexistent\/command/,
    );
    const left = execFileSync("ls", ["-A", work], { encoding: "utf8" });
    expect(left).not.toMatch(/\.tmp-/);
  });
});

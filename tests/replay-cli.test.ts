// `aspace replay` as a user runs it (child process): the JSON contract, the exit statuses,
// and how a divergence is shown. Expected results are the shared traces' recorded ones.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "aspace.js");
const TRACES = "/work/shared/traces";
const dir = mkdtempSync(join(tmpdir(), "aspace-replay-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function aspace(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("aspace replay", { timeout: 60_000 }, () => {
  it("--json: one object with syscalls, modeled, matched, mismatched, unsupported, divergences; exit 0", () => {
    const r = aspace("replay", "--json", `${TRACES}/sh_echo_pipe_cat.strace`);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    // README: 30 mmap + 3 munmap + 6 mprotect + 6 brk
    expect(j).toMatchObject({ syscalls: 45, modeled: 45, matched: 45, mismatched: 0, unsupported: {}, divergences: [] });
    expect(j.by_name.mmap).toEqual({ calls: 30, modeled: 30, matched: 30, mismatched: 0, unsupported: 0 });
  });

  it("prints a per-syscall table for people", () => {
    const r = aspace("replay", `${TRACES}/perl_e1.strace`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^mmap\s+30\s+30\s+30\s+0\s+0$/m);
    expect(r.stdout).toContain("no divergence");
  });

  it("a result that differs from the model's is shown with log context and the model's maps; exit 0 (it ran), 1 with --fail-on-mismatch", () => {
    // The kernel's munmap of ld.so.cache returned 0; this copy claims EINVAL.
    const text = readFileSync(`${TRACES}/perl_e1.strace`, "utf8").replace(/(munmap\([^)]*\)\s+= )0$/m, "$1-1 EINVAL (Invalid argument)");
    const log = join(dir, "perl_edited.strace");
    writeFileSync(log, text);
    expect(aspace("replay", "--fail-on-mismatch", log).status).toBe(1);
    const r = aspace("replay", log);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 divergence/);
    expect(r.stdout).toMatch(/munmap\(0x[0-9a-f]+, \d+\) = -1 EINVAL; model: 0/);
    expect(r.stdout).toContain("the model's maps after the call:");
    expect(r.stdout).toContain("[stack]");
  });

  it("unusable input exits 2 naming the file: missing, not strace, unknown policy", () => {
    const missing = aspace("replay", join(dir, "absent.strace"));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/absent\.strace: cannot read: no such file/);
    const notLog = aspace("replay", `${TRACES}/README.md`);
    expect(notLog.status).toBe(2);
    expect(notLog.stderr).toMatch(/README\.md: no line of \d+ reads as strace output/);
    const policy = aspace("replay", "--policy", "nope", `${TRACES}/perl_e1.strace`);
    expect(policy.status).toBe(2);
  });
});

// The `aspace` command as a user runs it: a child process through bin/aspace.js.
// Expected values come from the 6.18 reference (../shared/reference/linux-6.18-mm.md §2.2),
// never from the model.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "aspace.js");
const KBENCH = resolve(ROOT, "../shared/traces/kbench/mixed-1M.trace.gz");
const dir = mkdtempSync(join(tmpdir(), "aspace-cli-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function aspace(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Step = { call: string; result: string; reference: { section: string; expect: string } | null; follows_reference: boolean | null };

describe("aspace CLI", { timeout: 60_000 }, () => {
  it("--help lists the subcommands and exits 0", () => {
    const r = aspace("--help");
    expect(r.status).toBe(0);
    for (const c of ["demo", "conform", "run-ops", "bench", "maps"]) expect(r.stdout).toContain(c);
    expect(r.stdout).not.toContain("bench-stage");
  });

  it("demo --json: the munmap of a sealed range is EPERM (reference §2.2) and nothing is unmapped", () => {
    const r = aspace("demo", "--json");
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { steps: Step[]; maps_before: string; maps_after: string };
    expect(Array.isArray(j.steps)).toBe(true);
    expect(j.maps_before).toMatch(/^[0-9a-f]+-[0-9a-f]+ /m);
    expect(j.maps_after).toMatch(/^[0-9a-f]+-[0-9a-f]+ /m);
    for (const s of j.steps) {
      expect(typeof s.call).toBe("string");
      expect(typeof s.result).toBe("string");
    }
    // The first munmap covers the whole of S, whose upper two pages are sealed.
    const munmap = j.steps.find((s) => s.call.startsWith("munmap("));
    expect(munmap?.result).toBe("EPERM");
    const m = /^munmap\((0x[0-9a-f]+), (0x[0-9a-f]+)\)$/.exec(munmap?.call ?? "");
    expect(m).not.toBeNull();
    // Reference §2.2: "munmap: EPERM; no VMA is unmapped (atomic)" — S's first page is still mapped.
    const start = (m?.[1] ?? "").slice(2);
    expect(j.maps_after).toContain(`${start}-`);
    // Discard advice on a sealed, anonymous, read-only VMA: EPERM (§2.2).
    const madvise = j.steps.find((s) => s.call.startsWith("madvise("));
    expect(madvise?.result).toBe("EPERM");
    // Every stated expectation of the reference holds.
    expect(j.steps.filter((s) => s.follows_reference === false)).toEqual([]);
  });

  it("demo prints the maps and the results as errno names", () => {
    const r = aspace("demo");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("maps before");
    expect(r.stdout).toContain("maps after");
    expect(r.stdout).toMatch(/munmap\(0x[0-9a-f]+, 0x3000\) = -1 EPERM/);
    expect(r.stdout).toContain("§2.2");
  });

  it("maps --smaps shows the seal as `sl` in VmFlags", () => {
    const r = aspace("maps", "--smaps");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^VmFlags:.* sl $/m);
  });

  it("run-ops on a malformed trace exits 2 and names the file and line", () => {
    const trace = [
      "# kbench trace v1: test",
      "# arena: 0x8000000 bytes",
      "mmap 0x0 0x1000 RW FIXED|PRIVATE|ANONYMOUS - 0x0",
      "munmap 0x0 zz - - - 0",
      "",
    ].join("\n");
    const plain = join(dir, "bad.trace");
    writeFileSync(plain, trace);
    const r = aspace("run-ops", plain);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${plain}:4:`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const gz = join(dir, "bad.trace.gz");
    writeFileSync(gz, gzipSync(trace));
    const g = aspace("run-ops", gz, "--json");
    expect(g.status).toBe(2);
    expect(g.stderr).toContain(`${gz}:4:`);
    expect(g.stdout).toBe("");
  });

  it("run-ops on a missing file exits 2 and names it", () => {
    const missing = join(dir, "no-such.trace");
    const r = aspace("run-ops", missing);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(missing);
  });

  it("an unknown subcommand exits non-zero with a clear message", () => {
    const r = aspace("frobnicate");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stdout).toBe("");
  });

  it("a bad option value is unusable input (exit 2)", () => {
    const r = aspace("conform", "--programs", "lots");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--programs");
  });

  // The first 3000 ops of the recorded kbench trace, with the kernel's recorded results: both the
  // model and this machine's kernel (executor --kbench) must reproduce every one of them.
  it("bench replays a kbench trace on the model and on the live kernel", () => {
    const lines = gunzipSync(readFileSync(KBENCH)).toString("utf8").split("\n");
    const header = lines.filter((l) => l.startsWith("#")).map((l) => l.replace(/timed ops: \d+/, "timed ops: 3000"));
    const ops = lines.filter((l) => l !== "" && !l.startsWith("#")).slice(0, 3000);
    const trace = join(dir, "prefix.trace");
    writeFileSync(trace, `${[...header, ...ops].join("\n")}\n`);
    const out = join(dir, "bench.json");
    const r = aspace("bench", "--trace", trace, "--sizes", "16,1024", "--runs", "1", "--out", out);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(j);
    expect(j.kernel).toMatchObject({ ops: 3000, mismatches: 0 });
    expect(j.model).toMatchObject({ ops: 3000, mismatches: 0 });
    expect(j.model_over_kernel).toBeGreaterThan(0);
    expect(j.mmap_munmap_ns["16"].ns_per_pair).toBeGreaterThan(0);
    expect(j.mmap_munmap_ns["1024"].ns_per_pair).toBeGreaterThan(0);
    expect(j.bytes_per_vma).toMatchObject({ vmas: 1024 });
  });
});

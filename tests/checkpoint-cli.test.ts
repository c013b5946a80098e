// aspace checkpoint / restore / inspect as a user runs them (child processes). Expected
// values: the real CRIU image and its recorded restore (../shared/traces/criu), the exit
// status convention (0 ok, 1 the restore fails, 2 unusable input).
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "aspace.js");
const CRIU = resolve(ROOT, "../shared/traces/criu");
const IMAGES = join(CRIU, "images-loop");
const MAP = `/tmp/ct/loop=${join(CRIU, "loop")}`;
const dir = mkdtempSync(join(tmpdir(), "aspace-ckpt-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function aspace(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("checkpoint CLI", { timeout: 60_000 }, () => {
  it("restore --json of the real image: ok under none, maps as recorded after the real restore", () => {
    const r = aspace("restore", IMAGES, "--map-path", MAP, "--json");
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(true);
    expect(j.policy).toBe("none");
    expect(j.strategy).toBe("auto");
    expect(j.failed_step).toBeNull();
    expect(j.steps.length).toBeGreaterThan(40);
    expect(j.maps_after).toContain("7fe980a1d000-7fe980a1f000 r-xp 00000000 00:00 0                          [vdso]");
  });

  it("restore under sysmap exits 1 and names the failing munmap (EPERM)", () => {
    const r = aspace("restore", IMAGES, "--map-path", MAP, "--policy", "sysmap", "--json");
    expect(r.status, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(false);
    expect(j.failed_step.call).toBe("munmap(0x7ff636c70000, 0x9c938f000)");
    expect(j.failed_step.result).toBe("EPERM");
  });

  it("unusable input exits 2 with the file and offset: missing files, a corrupt image, an unknown policy", () => {
    const missing = aspace("restore", IMAGES);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/\/tmp\/ct\/loop not found/);
    const bad = join(dir, "bad");
    cpSync(IMAGES, bad, { recursive: true });
    chmodSync(join(bad, "pstree.img"), 0o644);
    writeFileSync(join(bad, "pstree.img"), Buffer.from([0x19, 0x43, 0x56, 0x54, 0x30, 0x30, 0x27, 0x50, 0xff, 0xff, 0xff, 0x7f]));
    const corrupt = aspace("inspect", bad);
    expect(corrupt.status).toBe(2);
    expect(corrupt.stderr).toMatch(/pstree.img@8: bad-length/);
    expect(aspace("restore", IMAGES, "--policy", "nope").status).toBe(2);
  });

  it("checkpoint --scenario sealed, then inspect and restore with and without --keep-seals", () => {
    const out = join(dir, "sealed");
    const c = aspace("checkpoint", "--scenario", "sealed", "-o", out, "--json");
    expect(c.status, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout).sealed).toBe(2);
    const i = aspace("inspect", out, "--json");
    expect(i.status, i.stderr).toBe(0);
    expect(JSON.parse(i.stdout).ok).toBe(true);
    const drop = JSON.parse(aspace("restore", out, "--json").stdout);
    const keep = JSON.parse(aspace("restore", out, "--keep-seals", "--json").stdout);
    expect(drop.seals).toEqual({ recorded: 2, sealed_after: 0 });
    expect(keep.seals).toEqual({ recorded: 2, sealed_after: 2 });
    expect(aspace("checkpoint", "--scenario", "sealed", "-o", out).status).toBe(2); // exists: no --force
  });

  it("checkpoint --from-log dumps a process of a recorded strace log just before it exits; it restores", () => {
    const log = resolve(ROOT, "../shared/traces/perl_e1.strace");
    const out = join(dir, "fromlog");
    const r = aspace("checkpoint", "--from-log", log, "--pid", "23799", "-o", out, "--json");
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).files).toContain("/usr/bin/perl");
    const j = JSON.parse(aspace("restore", out, "--json").stdout);
    expect(j.ok, j.reason).toBe(true);
    expect(j.maps_after).toMatch(/ \/usr\/bin\/perl\n/);
    const none = aspace("checkpoint", "--from-log", log, "--pid", "999999", "-o", join(dir, "none"));
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/traced PID 999999/);
  });
});

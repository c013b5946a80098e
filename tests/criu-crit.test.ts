// CRIU's own decoder accepts what we write: `crit decode` (Debian's criu package, installed by
// .ci/run when missing) reads every image file we write — re-encoded real images and dumps of
// modeled processes, the seal extension (VmaEntry field 1000) included — and, for the real
// dump, prints exactly what it prints for the files CRIU 4.2 wrote.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dumpProcess } from "../src/checkpoint/dump.js";
import { readImageDir, writeImageDir } from "../src/checkpoint/images/index.js";
import { buildScenario, referenceVdsoImage } from "../src/checkpoint/scenarios.js";

const REAL = new URL("../../shared/traces/criu/images-loop/", import.meta.url).pathname;
const CRIT = ["/usr/bin/crit", "/usr/sbin/crit"].find((p) => existsSync(p)) ?? "crit";
const tmp = mkdtempSync(join(tmpdir(), "aspace-crit-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `crit decode -i FILE` → its JSON text; fails the test with crit's stderr otherwise. */
function critDecode(file: string): string {
  const r = spawnSync("python3", [CRIT, "decode", "-i", file], {
    encoding: "utf8",
    env: { ...process.env, PATH: `/usr/bin:${process.env.PATH}` },
  });
  if (r.error) throw new Error(`cannot run crit (${CRIT}): ${r.error.message}; install Debian's criu package`);
  expect(r.status, `crit decode ${file}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The image files crit decodes (raw pages files are not protobuf). */
function decodable(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".img") && !f.startsWith("pages-"))
    .sort();
}

describe("crit decode (CRIU's own tool) accepts our images", () => {
  it("crit is installed (Debian package criu; .ci/run installs it)", () => {
    const r = spawnSync("/usr/bin/python3", [CRIT, "--help"], { encoding: "utf8" });
    expect(r.status, r.stderr || String(r.error)).toBe(0);
  });

  it("the real CRIU 4.2 dump, read and written back by us: crit prints the same for every file", () => {
    const out = join(tmp, "real-again");
    writeImageDir(out, readImageDir(REAL));
    const files = decodable(REAL);
    expect(decodable(out)).toEqual(files);
    for (const f of files) expect(critDecode(join(out, f)), f).toBe(critDecode(join(REAL, f)));
  });

  for (const scenario of ["loop", "sealed"]) {
    it(`a dump of the modeled '${scenario}' process decodes, with one VmaEntry per modeled VMA`, () => {
      const { kernel, pid } = buildScenario(scenario);
      const img = dumpProcess(kernel, pid, { vdsoImage: referenceVdsoImage(), unknownPages: "approximate", warnings: [] });
      const out = join(tmp, scenario);
      writeImageDir(out, img);
      for (const f of decodable(out)) {
        const text = critDecode(join(out, f));
        const json = JSON.parse(text) as { magic: string; entries: unknown[] };
        expect(json.entries.length, f).toBeGreaterThan(0);
      }
      const mm = JSON.parse(critDecode(join(out, `mm-${pid}.img`))) as { entries: Array<{ vmas: unknown[] }> };
      // Every maps line (the [vsyscall] gate included, which CRIU dumps as a VMA), except that
      // CRIU 4.2 dumps [vvar] and [vvar_vclock] as one VMA_AREA_VVAR entry: the real dump has
      // 24 VmaEntries for the 25 lines of loop-maps-before-dump.txt.
      const lines = kernel.maps(pid).trimEnd().split("\n");
      const expected = lines.length - (lines.some((l) => l.endsWith("[vvar_vclock]")) ? 1 : 0);
      expect(mm.entries[0]?.vmas.length).toBe(expected);
    });
  }
});

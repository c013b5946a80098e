// `aspace impact` on a log recorded here, now, from a real program: it munmaps its own vdso
// (found through AT_SYSINFO_EHDR, as Valgrind does at startup: criu-restore.md §5d), then
// mprotects a page of its own and exits. Expected values: the live kernel's recorded results
// (under `none` the replay must reproduce every one), the reference (§5.3: with ASLR off the
// vdso is 0x7ffff7fc8000, 2 pages; §3 + §2.2: under sysmap it is sealed, so munmap → EPERM),
// and the comparison's own rule (the mprotect elsewhere is still compared).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusLogs } from "../src/cli/study.js";
import { policyByName } from "../src/kernel/policy/index.js";
import { hostResolver } from "../src/oracle/host-files.js";
import { impactsOf, runStudy } from "../src/scenarios/study.js";
import { runLog } from "../src/trace/impact.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "aspace.js");
const dir = mkdtempSync(join(tmpdir(), "aspace-impact-live-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PROGRAM = `#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
  char *vdso = (char *)getauxval(AT_SYSINFO_EHDR);
  char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (munmap(vdso, 8192) != 0) { write(2, "munmap failed\\n", 14); _exit(1); }
  mprotect(p, 4096, PROT_READ);
  write(1, "vdso gone\\n", 10);
  _exit(0);
}
`;

let log = "";
beforeAll(() => {
  writeFileSync(join(dir, "vdso_unmap.c"), PROGRAM);
  const cc = spawnSync("cc", ["-O1", "-o", join(dir, "vdso_unmap"), join(dir, "vdso_unmap.c")], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(`cc failed (a C compiler is needed for this live test): ${cc.error?.message ?? cc.stderr}`);
  const rec = spawnSync(process.execPath, [BIN, "record", "-o", join(dir, "rec"), "--", join(dir, "vdso_unmap")], {
    encoding: "utf8",
    timeout: 60_000,
  });
  if (rec.status !== 0) throw new Error(`aspace record failed (strace and setarch are needed): ${rec.stderr}`);
  log = join(dir, "rec", "trace.strace");
}, 120_000);

describe("impact of a recorded program that unmaps its own vdso", { timeout: 60_000 }, () => {
  it("the kernel let it (recorded munmap of 0x7ffff7fc8000, 8192 = 0), and under none the replay reproduces every recorded result", async () => {
    const text = readFileSync(log, "utf8");
    expect(text).toMatch(/munmap\(0x7ffff7fc8000, 8192\)\s+= 0/);
    const [none] = impactsOf([await runLog(log, policyByName("none"), hostResolver())]);
    expect(none?.status, JSON.stringify(none?.first_failure)).toBe("ok");
    expect(none?.counts.unsupported).toBe(0);
  });

  it("under sysmap that munmap is EPERM (vdso), the program's next lines are shown, the mprotect elsewhere is still compared", async () => {
    const runs = [await runLog(log, policyByName("none"), hostResolver()), await runLog(log, policyByName("sysmap"), hostResolver())];
    const sysmap = impactsOf(runs).find((i) => i.policy === "sysmap");
    expect(sysmap?.status).toBe("breaks");
    expect(sysmap?.first_failure).toMatchObject({ result: "-1 EPERM", base: "0", kind: "vdso" });
    expect(sysmap?.first_failure?.call).toMatch(/^munmap\(0x7ffff7fc8000, 8192\)/);
    expect(sysmap?.first_failure?.next[0]).toMatch(/mprotect\(/);
    expect(sysmap?.counts.changed).toBe(1);
    expect(sysmap?.counts.unknown).toBe(0);
    expect(sysmap?.by_kind).toEqual({ vdso: 1 });
  });

  it("a corpus holding the recorded directory: the study lists rec/trace.strace, sysmap breaks it on the vdso", async () => {
    const logs = corpusLogs(dir);
    expect(logs).toEqual([log]);
    const rep = await runStudy(
      { policies: [policyByName("sysmap")], resolver: hostResolver(), scenarios: [], logs: logs ?? [], runLog },
      policyByName("none"),
    );
    expect(rep.results.map((r) => [r.subject, r.policy, r.status, r.first_failure?.kind])).toEqual([
      ["rec/trace.strace", "sysmap", "breaks", "vdso"],
    ]);
  });

  it("aspace impact prints it and exits 1", () => {
    const r = spawnSync(process.execPath, [BIN, "impact", log, "--policies", "sysmap"], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/munmap\(0x7ffff7fc8000, 8192\) = -1 EPERM \(none: 0\) \[vdso\]/);
    expect(r.stdout).toMatch(/then: .*mprotect\(/);
  });
});

// The study as users run it (`aspace study`, `aspace impact`, and the engine behind them).
// Expected values: the reference (../shared/reference/linux-6.18-mm.md §3: sysmap creates
// [vdso]/[vvar]/[vvar_vclock] sealed on x86_64; §2.2: munmap/mremap of a sealed VMA → EPERM;
// §5.3: where those mappings are after execve with ASLR off), the recorded traces
// (../shared/traces/: under `none` every recorded result is reproduced; the README says every
// memory call of those programs succeeds), and the policies' definitions in
// ../shared/design.md. Never the model's own output.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POLICIES, policyByName } from "../src/kernel/policy/index.js";
import { hostResolver } from "../src/oracle/host-files.js";
import { criuEngineScenarios } from "../src/scenarios/criu-engine.js";
import { runStudy, type StudyReport } from "../src/scenarios/study.js";
import { runLog } from "../src/trace/impact.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "aspace.js");
const TRACES = resolve(ROOT, "../shared/traces");
const LOGS = ["ls_la_root", "python3_pass", "perl_e1", "sh_echo_pipe_cat", "gcc_hello"].map((n) => join(TRACES, `${n}.strace`));
const dir = mkdtempSync(join(tmpdir(), "aspace-study-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function aspace(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let study: StudyReport;
beforeAll(async () => {
  study = await runStudy({ policies: POLICIES, resolver: hostResolver(), logs: LOGS, runLog }, policyByName("none"));
}, 120_000);

const result = (subject: string, policy: string) => {
  const r = study.results.find((x) => x.subject === subject && x.policy === policy);
  if (r === undefined) throw new Error(`no result for ${subject} under ${policy}`);
  return r;
};

describe("the study's target (issue 4)", () => {
  it("none keeps every scenario working", () => {
    for (const s of study.subjects.filter((x) => x.type === "scenario")) {
      expect(result(s.name, "none").status, `${s.name}: ${JSON.stringify(result(s.name, "none").first_failure)}`).toBe("ok");
    }
  });

  it("sysmap breaks CRIU restore at the restorer's unmap of its own vdso (munmap → EPERM, §3 + §2.2)", () => {
    for (const s of ["criu-restore", "criu-restore-proxy"]) {
      const r = result(s, "sysmap");
      expect(r.ok, s).toBe(false);
      expect(r.first_failure?.step, s).toMatch(/unmap_old_vmas/);
      expect(r.first_failure?.call, s).toMatch(/^munmap\(/);
      expect(r.first_failure?.result, s).toBe("-1 EPERM");
      expect(r.first_failure?.base, s).toBe("0");
      expect(r.first_failure?.kind, s).toBe("vdso");
    }
  });

  it("sysmap breaks the gVisor stub where it unmaps the host's system mappings (EPERM)", () => {
    const r = result("gvisor-stub", "sysmap");
    expect(r.ok).toBe(false);
    expect(r.first_failure).toMatchObject({ result: "-1 EPERM", base: "0", kind: "vdso" });
    expect(r.first_failure?.call).toMatch(/^munmap\(/);
  });

  it("the prctl opt-out restores CRIU (every vdso path) and the gVisor stub", () => {
    for (const s of ["criu-restore", "criu-restore-proxy", "criu-restore-park", "gvisor-stub"]) {
      expect(result(s, "sysmap+prctl-optout").status, s).toBe("ok");
    }
  });

  it("sysmap+bootparam (build default y, no parameter) breaks what sysmap breaks", () => {
    for (const s of study.subjects) {
      expect(result(s.name, "sysmap+bootparam").status, s.name).toBe(result(s.name, "sysmap").status);
    }
  });
});

describe("CRIU's restore by the checkpoint engine, from the recorded image directory", () => {
  let engine: StudyReport;
  beforeAll(async () => {
    engine = await runStudy({ policies: POLICIES, resolver: hostResolver(), scenarios: criuEngineScenarios(TRACES) }, policyByName("none"));
  }, 120_000);
  const of = (s: string, p: string) => engine.results.find((x) => x.subject === s && x.policy === p);

  it("restores under none, as criu restore did on the reference machine (criu-restore.md §1a)", () => {
    expect(engine.subjects.map((s) => s.name)).toEqual(["criu-engine-auto", "criu-engine-proxy", "criu-engine-park"]);
    for (const s of engine.subjects) expect(of(s.name, "none")?.status, s.name).toBe("ok");
  });

  it("fails under sysmap where criu-restore.md §3g says: unmap_old_vmas (EPERM), or the park path's first mremap", () => {
    expect(of("criu-engine-auto", "sysmap")?.first_failure).toMatchObject({ result: "-1 EPERM", kind: "vdso" });
    expect(of("criu-engine-auto", "sysmap")?.first_failure?.step).toMatch(/unmap_old_vmas/);
    expect(of("criu-engine-park", "sysmap")?.first_failure?.call).toMatch(/^mremap\(/);
    expect(of("criu-engine-park", "sysmap")?.first_failure?.result).toBe("-1 EPERM");
  });
});

describe("the recorded logs", () => {
  it("under none every recorded result is reproduced and the calls are modeled", () => {
    for (const path of LOGS) {
      const name = path.split("/").at(-1) as string;
      const r = result(name, "none");
      expect(r.status, `${name}: ${JSON.stringify(r.first_failure)} ${r.notes}`).toBe("ok");
      expect(r.calls, name).toBeGreaterThan(30);
      expect(r.unsupported, name).toBeLessThanOrEqual(0.01 * r.calls);
    }
  });

  it("no policy changes any of their results: none of their calls touches the system mappings", () => {
    // §5.3: with ASLR off [vvar] [vvar_vclock] [vdso] are 0x7ffff7fc2000-0x7ffff7fca000. No
    // munmap/mprotect/mremap/madvise in the logs names a range there (checked on the log text).
    for (const path of LOGS) {
      for (const line of readFileSync(path, "utf8").split("\n")) {
        const m = /\b(munmap|mprotect|mremap|madvise)\((0x[0-9a-f]+), (\d+)/.exec(line);
        if (m === null) continue;
        const s = Number(m[2]);
        const e = s + Number(m[3]);
        expect(s < 0x7ffff7fca000 && e > 0x7ffff7fc2000, line).toBe(false);
      }
      const name = path.split("/").at(-1) as string;
      for (const p of POLICIES) {
        const r = result(name, p.name);
        expect(r.status, `${name} ${p.name}`).toBe("ok");
        expect(r.changed, `${name} ${p.name}`).toBe(0);
      }
    }
  });
});

describe("aspace study", { timeout: 120_000 }, () => {
  it("--json: one object, a result per subject and policy with subject, policy, ok, first_failure", () => {
    const r = aspace("study", "--json", "--corpus", dir);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      corpus: { present: boolean; logs: string[] };
      subjects: Array<{ name: string }>;
      results: Array<{
        subject: string;
        policy: string;
        ok: boolean;
        first_failure: { call: string; result: string; step: string } | null;
      }>;
    };
    expect(j.corpus).toMatchObject({ present: true, logs: [] });
    expect(j.results.length).toBe(j.subjects.length * POLICIES.length);
    for (const x of j.results) {
      expect(Object.keys(x)).toEqual(expect.arrayContaining(["subject", "policy", "ok", "first_failure"]));
      if (x.ok) expect(x.first_failure).toBeNull();
      else expect(x.first_failure).toMatchObject({ call: expect.any(String), result: expect.any(String), step: expect.any(String) });
    }
  });

  it("says so when the corpus is absent, and still runs the scenarios", () => {
    const r = aspace("study", "--corpus", join(dir, "nope"), "--policies", "none,sysmap");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nope is absent/);
    expect(r.stdout).toMatch(/gvisor-stub/);
  });

  it("a log of the corpus that is not an strace log is reported as not run, with why, and the status is 1", () => {
    const corpus = join(dir, "corpus");
    mkdirSync(corpus);
    writeFileSync(join(corpus, "junk.strace"), "hello\n");
    const r = aspace("study", "--corpus", corpus, "--policies", "none", "--json");
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout) as { results: Array<{ subject: string; status: string; notes: string[] }> };
    const junk = j.results.find((x) => x.subject === "junk.strace");
    expect(junk?.status).toBe("error");
    expect(junk?.notes.join(" ")).toMatch(/strace/);
  });

  it("an unknown policy is unusable input (status 2, the known names listed)", () => {
    const r = aspace("study", "--policies", "sysmap,bogus");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bogus/);
    expect(r.stderr).toMatch(/sysmap\+prctl-optout/);
  });
});

describe("aspace impact", { timeout: 120_000 }, () => {
  it("scenario:gvisor-stub under sysmap: the changed munmap, grouped as vdso, status 1", () => {
    const r = aspace("impact", "scenario:gvisor-stub", "--policies", "sysmap", "--json");
    expect(r.status, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout) as {
      subjects: Array<{ policies: Array<{ policy: string; by_kind: Record<string, number>; first_failure: { result: string } }> }>;
    };
    const s = j.subjects[0]?.policies.find((p) => p.policy === "sysmap");
    expect(s?.first_failure.result).toBe("-1 EPERM");
    expect(s?.by_kind.vdso).toBeGreaterThanOrEqual(1);
  });

  it("a recorded log under sysmap changes nothing: status 0", () => {
    const r = aspace("impact", join(TRACES, "perl_e1.strace"), "--policies", "sysmap");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no change against none/);
  });

  it("a missing log or an unknown scenario is unusable input (status 2)", () => {
    expect(aspace("impact", join(dir, "missing.strace")).status).toBe(2);
    const notLog = aspace("impact", join(ROOT, "package.json"));
    expect(notLog.status).toBe(2);
    expect(notLog.stderr).toMatch(/package\.json: .*strace/);
    expect(notLog.stderr).not.toMatch(/internal error/);
    const r = aspace("impact", "scenario:nope");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown scenario 'nope'/);
  });
});

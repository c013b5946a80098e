// The scenarios from the review debate, run through the model under each policy.
// Expected values: the recorded CRIU restore (../shared/traces/criu/, ftrace of the restored
// task), the reference (../shared/reference/linux-6.18-mm.md §3: on x86_64 `sysmap` creates
// [vdso], [vvar] and [vvar_vclock] sealed; §2.2: munmap/mremap/mprotect touching a sealed VMA
// fail with EPERM), and the policies' definitions in ../shared/design.md (the prctl opt-out
// leaves vdso/vvar unsealed; CAP_CHECKPOINT_RESTORE lets its holder move or unmap them).
// Nothing here is taken from a model run.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { policyByName } from "../src/kernel/policy/index.js";
import { hostResolver } from "../src/oracle/host-files.js";
import {
  CRIU_RESTORE,
  CRIU_RESTORE_PARK,
  CRIU_RESTORE_PROXY,
  CRIU_RESTORE_UPROBE,
  RESTORE_MMAPS,
  RESTORE_MPROTECTS,
} from "../src/scenarios/criu-restore.js";
import { GVISOR_STUB } from "../src/scenarios/gvisor-stub.js";
import { GVISOR_VM_EXEC } from "../src/scenarios/gvisor-vm-exec.js";
import { SCENARIOS } from "../src/scenarios/index.js";
import { LDSO_RELRO_SEAL } from "../src/scenarios/ldso-relro-seal.js";
import { ORDINARY } from "../src/scenarios/ordinary.js";
import { RR_VDSO_REMAP } from "../src/scenarios/rr-vdso-remap.js";
import type { Scenario } from "../src/scenarios/types.js";
import { compareRuns, runScenario } from "../src/trace/impact.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CRIU_TRACE = resolve(ROOT, "../shared/traces/criu/criu42-restore-restoredtask-mem-prctl-process.txt");
const resolver = hostResolver();

/** The ftrace lines `sys_NAME(k: v, ...)` of the recorded restore, as numbers. */
function traceCalls(name: string): number[][] {
  const out: number[][] = [];
  for (const line of readFileSync(CRIU_TRACE, "utf8").split("\n")) {
    const m = new RegExp(`sys_${name}\\((.*)\\)$`).exec(line);
    if (m === null) continue;
    out.push((m[1] as string).split(", ").map((kv) => Number(BigInt.asIntN(64, BigInt(kv.split(": ")[1] as string)))));
  }
  return out;
}

function under(s: Scenario, policy: string) {
  const none = runScenario(s, policyByName("none"), resolver);
  const run = policy === "none" ? none : runScenario(s, policyByName(policy), resolver);
  return { none, run, impact: compareRuns(none, run) };
}

describe("the CRIU restore scenario is the recorded one", () => {
  it("recreates the image's VMAs with the trace's MAP_FIXED mmaps, in order", () => {
    const recorded = traceCalls("mmap")
      .filter(([addr, , , flags]) => (addr as number) >= 0x100000 && ((flags as number) & 0x10) !== 0)
      .map(([addr, len, prot, flags, , off]) => [addr, len, prot, flags, off]);
    expect(RESTORE_MMAPS.map((m) => [m.addr, m.len, m.prot, m.flags, m.off])).toEqual(recorded);
  });

  it("drops the temporary PROT_WRITE with the trace's mprotects", () => {
    expect(RESTORE_MPROTECTS.map((m) => [...m])).toEqual(traceCalls("mprotect"));
  });

  it("the restorer's unmap_old_vmas are three munmaps: below the bootstrap, up to the premap, up to TASK_SIZE", () => {
    const munmaps = traceCalls("munmap");
    const i = munmaps.findIndex(([a, l]) => a === 0 && l === 0x10000);
    const [, second, third] = munmaps.slice(i, i + 3);
    expect(second?.[0]).toBe(0x38000);
    expect((third?.[0] as number) + (third?.[1] as number)).toBe(0x7ffffffff000);
    const none = runScenario(CRIU_RESTORE, policyByName("none"), resolver);
    const steps = none.calls.filter((c) => c.step.startsWith("B8"));
    expect(steps.map((c) => c.call.split(",")[0])).toEqual(["munmap(0", "munmap(0x38000", expect.stringMatching(/^munmap\(0x/)]);
    // Under none each of them succeeds, as recorded (sys_munmap -> 0x0).
    for (const c of steps) expect(c.result).toEqual({ ret: 0n });
  });
});

describe("under none the CRIU scenario gets the recorded results", () => {
  it("from ARCH_MAP_VDSO to the final munmap, each address-space call returns what it returned on the reference machine", () => {
    // The trace's calls and results (`sys_NAME(...)` then `sys_NAME -> RET`) after
    // unmap_old_vmas, without the thread/creds calls the scenario does not make.
    const lines = readFileSync(CRIU_TRACE, "utf8").split("\n");
    const start = lines.findIndex((l) => l.includes("sys_arch_prctl(option: 0x2003"));
    const recorded: Array<[string, number, string]> = [];
    for (let i = start; i < lines.length; i++) {
      const m = /sys_(\w+)\((\w+: (0x[0-9a-f]+|\d+))?/.exec(lines[i] as string);
      if (m === null || (lines[i] as string).includes("->")) continue;
      const name = m[1] as string;
      const first = Number(BigInt(m[3] ?? "0"));
      if (!["arch_prctl", "prctl", "mmap", "munmap", "mremap", "mprotect", "madvise"].includes(name)) continue;
      if ((name === "arch_prctl" && first !== 0x2003) || (name === "prctl" && first !== 0x29 && first !== 0x23)) continue;
      const ret = /-> (0x[0-9a-f]+|-?\d+)/.exec(lines.slice(i + 1).find((l) => l.includes(`sys_${name} ->`)) ?? "");
      recorded.push([name, first, `0x${BigInt(ret?.[1] ?? "-1").toString(16)}`]);
    }
    const none = runScenario(CRIU_RESTORE, policyByName("none"), resolver);
    const b9 = none.calls.findIndex((c) => c.step.startsWith("B9"));
    const modeled = none.calls
      .slice(b9)
      .filter((c) => c.name !== "close")
      .map((c): [string, number, string] => [
        c.name,
        Number(BigInt(c.call.slice(c.name.length + 1).split(",")[0] as string)),
        "ret" in c.result ? `0x${c.result.ret.toString(16)}` : JSON.stringify(c.result),
      ]);
    expect(recorded.length).toBe(40);
    expect(modeled).toEqual(recorded);
  });
});

describe("sysmap (§3: x86_64 creates [vdso], [vvar], [vvar_vclock] sealed; §2.2: EPERM)", () => {
  for (const s of [CRIU_RESTORE, CRIU_RESTORE_PROXY]) {
    it(`${s.name} fails at the restorer's first unmap of its own vdso, with EPERM`, () => {
      const { none, run, impact } = under(s, "sysmap");
      // The first call whose pages hold the process's own system mappings, found in the
      // none run by what the call touches (not by its result).
      const first = none.calls.find((c) => c.kinds.includes("vdso") || c.kinds.includes("vvar"));
      expect(first?.step).toMatch(/^B8 unmap_old_vmas/);
      expect(first?.name).toBe("munmap");
      expect(first?.result).toEqual({ ret: 0n });
      expect(impact.status).toBe("breaks");
      expect(impact.first_failure).toMatchObject({ seq: first?.seq, call: first?.call, result: "-1 EPERM", kind: "vdso" });
      expect(run.calls.at(-1)?.accepted).toBe(false);
    });
  }

  it("criu-restore-park fails at its first mremap of its own [vdso] (park path), with EPERM", () => {
    const { impact } = under(CRIU_RESTORE_PARK, "sysmap");
    expect(impact.first_failure?.call).toMatch(/^mremap\(/);
    expect(impact.first_failure).toMatchObject({ result: "-1 EPERM", kind: "vdso" });
    expect(impact.first_failure?.step).toMatch(/park criu's own \[vdso\]/);
  });

  it("gvisor-stub fails where the stub unmaps the host's system mappings, with EPERM", () => {
    const { none, impact } = under(GVISOR_STUB, "sysmap");
    const first = none.calls.find((c) => c.kinds.includes("vdso"));
    expect(first?.name).toBe("munmap");
    expect(impact.first_failure).toMatchObject({ seq: first?.seq, result: "-1 EPERM", kind: "vdso" });
  });

  it("rr-vdso-remap fails at its first mremap of the group, with EPERM", () => {
    const { impact } = under(RR_VDSO_REMAP, "sysmap");
    expect(impact.first_failure?.call).toMatch(/^mremap\(/);
    expect(impact.first_failure?.result).toBe("-1 EPERM");
    expect(["vdso", "vvar"]).toContain(impact.first_failure?.kind);
  });
});

describe("the proposals", () => {
  it("sysmap+prctl-optout: the gVisor stub and rr work again (vdso/vvar left unsealed)", () => {
    for (const s of [GVISOR_STUB, RR_VDSO_REMAP]) {
      const { impact } = under(s, "sysmap+prctl-optout");
      expect(impact.status, s.name).toBe("ok");
      expect(impact.counts.changed, s.name).toBe(0);
    }
  });

  it("process_vm_exec on an empty mm (modeled proposal): the stub works under every policy, no call touches a system mapping", () => {
    for (const p of ["none", "sysmap", "sysmap+prctl-optout", "sysmap+cap-cr", "sysmap+bootparam"]) {
      const { run, impact } = under(GVISOR_VM_EXEC, p);
      expect(impact.status, p).toBe("ok");
      expect(run.calls.length, p).toBeGreaterThanOrEqual(4);
      for (const c of run.calls)
        expect(
          c.kinds.filter((k) => k !== "ordinary"),
          `${p} ${c.call}`,
        ).toEqual([]);
    }
  });

  it("sysmap+prctl-optout does not cover [uprobes] (§3, design.md): a restore after a uprobe hit fails at unmap_old_vmas on it", () => {
    expect(under(CRIU_RESTORE_UPROBE, "none").impact.status).toBe("ok");
    const { none, impact } = under(CRIU_RESTORE_UPROBE, "sysmap+prctl-optout");
    const first = none.calls.find((c) => c.kinds.includes("uprobes"));
    expect(first?.step).toMatch(/^B8 unmap_old_vmas/);
    expect(impact.first_failure).toMatchObject({ seq: first?.seq, result: "-1 EPERM", kind: "uprobes" });
  });

  it("sysmap+cap-cr: no help for a stub that is root only in its own user namespace, nor for rr as a user", () => {
    for (const s of [GVISOR_STUB, RR_VDSO_REMAP]) {
      const { impact } = under(s, "sysmap+cap-cr");
      expect(impact.status, s.name).toBe("breaks");
      expect(impact.first_failure?.result, s.name).toBe("-1 EPERM");
    }
  });
});

describe("programs no system-mapping policy touches", () => {
  it("ld.so sealing libc's text and RELRO: loading works, the program's own later mprotect/munmap is EPERM under every policy (§2.2)", () => {
    for (const p of ["none", "sysmap", "sysmap+prctl-optout", "sysmap+cap-cr", "sysmap+bootparam"]) {
      const { run, impact } = under(LDSO_RELRO_SEAL, p);
      expect(impact.status, p).toBe("ok");
      expect(impact.counts.changed, p).toBe(0);
      const late = run.calls.filter((c) => c.step.startsWith("the program's own later"));
      expect(
        late.map((c) => [c.name, c.result]),
        p,
      ).toEqual([
        ["mprotect", { errno: 1, name: "EPERM" }],
        ["munmap", { errno: 1, name: "EPERM" }],
      ]);
      expect(late.map((c) => c.kind)).toEqual(["user-sealed", "user-sealed"]);
      expect(run.calls.filter((c) => !c.step.startsWith("the program's own later")).every((c) => "ret" in c.result)).toBe(true);
    }
  });

  it("an ordinary program works under every policy, with every result as under none", () => {
    for (const p of ["sysmap", "sysmap+prctl-optout", "sysmap+cap-cr", "sysmap+bootparam"]) {
      const { impact } = under(ORDINARY, p);
      expect(impact.status, p).toBe("ok");
      expect(impact.counts.changed, p).toBe(0);
    }
  });

  it("every scenario says what it models and where that came from", () => {
    for (const s of SCENARIOS) {
      expect(s.what.length, s.name).toBeGreaterThan(20);
      expect(s.source, s.name).toMatch(/\.(md|c|cc|go|ts|txt|strace)\b/);
    }
    expect(new Set(SCENARIOS.map((s) => s.name)).size).toBe(SCENARIOS.length);
  });
});

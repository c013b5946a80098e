// Sealing policies. What `sysmap` seals per architecture comes from the kernel source
// (arch/*/Kconfig selecting ARCH_SUPPORTS_MSEAL_SYSTEM_MAPPINGS, security/Kconfig, reference §3);
// the proposals' behaviour comes from their definitions in the review threads (docs/policies.md).
// This machine runs `none` (CONFIG_MSEAL_SYSTEM_MAPPINGS unset), so nothing here can be run live.
import { describe, expect, it } from "vitest";
import { Kernel } from "../src/kernel/kernel.js";
import { CAP_CHECKPOINT_RESTORE, NOBODY, REFERENCE_ROOT, withCap } from "../src/kernel/mm/creds.js";
import { POLICIES, policyByName, UnknownPolicyError } from "../src/kernel/policy/index.js";
import type { Arch, SystemMappingKind } from "../src/kernel/policy/policy.js";
import type { Layout } from "../src/kernel/task/layout.js";

const KINDS: SystemMappingKind[] = ["vdso", "vvar", "vvar_vclock", "sigpage", "vectors", "uprobes", "vsyscall"];
const sealed = (name: string, arch: Arch, optOutRequested = false) =>
  KINDS.filter((k) => policyByName(name).sealsAtCreate(k, { arch, optOutRequested }));

describe("registry", () => {
  it("has the five policies by name", () => {
    expect(POLICIES.map((p) => p.name)).toEqual(["none", "sysmap", "sysmap+prctl-optout", "sysmap+cap-cr", "sysmap+bootparam"]);
    for (const p of POLICIES) {
      expect(p.summary.length).toBeGreaterThan(10);
      expect(p.source).toMatch(/^(merged|proposed)/);
    }
  });

  it("an unknown name is a typed error naming the known ones", () => {
    expect(() => policyByName("sysmapp")).toThrow(UnknownPolicyError);
    expect(() => policyByName("sysmapp")).toThrow(/unknown sealing policy 'sysmapp' \(known: none, sysmap,/);
    expect(() => new Kernel({ policy: "strict" })).toThrow(UnknownPolicyError);
  });

  it("Kernel takes a name or an object, and its processes' mm carry it and the arch", () => {
    const k = new Kernel({ policy: "sysmap", arch: "arm64" });
    const p = k.spawnEmpty();
    expect(p.mm.sealPolicy.name).toBe("sysmap");
    expect(p.mm.arch).toBe("arm64");
    expect(new Kernel({ policy: policyByName("sysmap+cap-cr") }).spawnEmpty().mm.sealPolicy.name).toBe("sysmap+cap-cr");
    expect(new Kernel().spawnEmpty().mm.sealPolicy.name).toBe("none");
  });
});

describe("sysmap: what CONFIG_MSEAL_SYSTEM_MAPPINGS seals (from source: arch Kconfig, reference §3)", () => {
  it("none seals nothing anywhere", () => {
    for (const arch of ["x86_64", "arm64", "arm", "riscv64"] as Arch[]) expect(sealed("none", arch)).toEqual([]);
  });
  it("x86_64, arm64, riscv64 select the option: every system mapping but vsyscall (not a VMA)", () => {
    for (const arch of ["x86_64", "arm64", "riscv64"] as Arch[]) {
      expect(sealed("sysmap", arch)).toEqual(["vdso", "vvar", "vvar_vclock", "sigpage", "vectors", "uprobes"]);
    }
  });
  it("32-bit arm does not select it (and the option depends on 64BIT): nothing sealed", () => {
    expect(sealed("sysmap", "arm")).toEqual([]);
  });
});

describe("sysmap+prctl-optout (proposal)", () => {
  it("without the request it is sysmap", () => {
    expect(sealed("sysmap+prctl-optout", "x86_64")).toEqual(sealed("sysmap", "x86_64"));
  });
  it("with the request, vdso/vvar/vvar_vclock/sigpage stay unsealed; uprobes and vectors do not", () => {
    expect(sealed("sysmap+prctl-optout", "arm64", true)).toEqual(["vectors", "uprobes"]);
  });
  it("only it offers the modeled opt-out prctl", () => {
    expect(POLICIES.filter((p) => p.offersOptOut).map((p) => p.name)).toEqual(["sysmap+prctl-optout"]);
  });
});

describe("sysmap+bootparam (v4 proposal): exec.seal_system_mappings= overrides the build default", () => {
  it("absent: build default (y)", () => expect(sealed("sysmap+bootparam", "x86_64")).toContain("vdso"));
  it("=no: nothing", () => expect(sealed("sysmap+bootparam=no", "x86_64")).toEqual([]));
  it("=yes: sealed", () => expect(sealed("sysmap+bootparam=yes", "x86_64")).toContain("vvar"));
  it("an invalid value is ignored (build default)", () => expect(sealed("sysmap+bootparam=maybe", "x86_64")).toContain("vdso"));
  it("=yes on arm: still nothing (arch does not support it)", () => expect(sealed("sysmap+bootparam=yes", "arm")).toEqual([]));
});

// A small image: an anonymous page sealed by the program, and a sealed [vdso] (as sysmap
// creates it). Layout flags are smaps mnemonics; `sl` is the seal.
const LAYOUT: Layout = {
  vmas: [
    {
      start: 0x200000,
      end: 0x200001,
      flags: ["rd", "wr", "mr", "mw", "me", "ac", "sl"],
      pgoff: 0,
      path: "",
      dev: "00:00",
      ino: 0,
      anonKb: 0,
    },
    {
      start: 0x7ffff7fc0,
      end: 0x7ffff7fc2,
      flags: ["rd", "ex", "mr", "mw", "me", "de", "sl"],
      pgoff: 0,
      path: "[vdso]",
      dev: "00:00",
      ino: 0,
      anonKb: 0,
    },
  ],
  startBrk: 0,
  brk: 0,
  startStack: 0,
  rlimitStack: 8 << 20,
};
const VDSO = 0x7ffff7fc0000;
const USER = 0x200000000;
const errnoOf = (r: ReturnType<Kernel["syscall"]>) => ("errno" in r ? r.name : "OK");

describe("sysmap+cap-cr (proposal): CAP_CHECKPOINT_RESTORE in the initial namespace may unmap or move sealed system mappings", () => {
  const run = (policy: string, call: (k: Kernel, pid: number) => ReturnType<Kernel["syscall"]>, creds = REFERENCE_ROOT, userns = false) => {
    const k = new Kernel({ policy });
    const pid = k.spawnFromLayout(LAYOUT, { creds }).pid;
    if (userns) k.unshareUserNs(pid);
    return errnoOf(call(k, pid));
  };
  const munmapVdso = (k: Kernel, pid: number) => k.syscall(pid, "munmap", [VDSO, 0x2000]);
  const moveVdso = (k: Kernel, pid: number) => k.syscall(pid, "mremap", [VDSO, 0x2000, 0x2000, 3, 0x300000000]);
  const mprotectVdso = (k: Kernel, pid: number) => k.syscall(pid, "mprotect", [VDSO, 0x2000, 1]);
  const munmapUser = (k: Kernel, pid: number) => k.syscall(pid, "munmap", [USER, 0x1000]);

  it("root (holds CAP_CHECKPOINT_RESTORE) unmaps and moves the sealed vdso", () => {
    expect(run("sysmap+cap-cr", munmapVdso)).toBe("OK");
    expect(run("sysmap+cap-cr", moveVdso)).toBe("OK");
  });
  it("but may not mprotect it, nor unmap a user seal", () => {
    expect(run("sysmap+cap-cr", mprotectVdso)).toBe("EPERM");
    expect(run("sysmap+cap-cr", munmapUser)).toBe("EPERM");
  });
  it("without the capability, or holding it only in a child user namespace: EPERM", () => {
    expect(run("sysmap+cap-cr", munmapVdso, withCap(REFERENCE_ROOT, CAP_CHECKPOINT_RESTORE, false))).toBe("EPERM");
    expect(run("sysmap+cap-cr", munmapVdso, NOBODY)).toBe("EPERM");
    expect(run("sysmap+cap-cr", munmapVdso, NOBODY, true)).toBe("EPERM");
  });
  it("under sysmap and none the seal binds root too (mseal semantics, reference §2.2)", () => {
    expect(run("sysmap", munmapVdso)).toBe("EPERM");
    expect(run("none", moveVdso)).toBe("EPERM");
  });
});

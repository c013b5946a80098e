// execve error cases, system mappings and arch_prctl. Expected values come from the live
// kernel in the same run (native/build/execmaps, including its --arch-prctl and --vsyscall
// probes) unless a test says "kernel source" (what this machine cannot show: other
// architectures, sealing policies it does not build, the uprobes page).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sysArchPrctl } from "../src/kernel/arch/syscalls.js";
import { uprobeXolPage } from "../src/kernel/arch/uprobes.js";
import { ADDR_NO_RANDOMIZE, type ExecOutcome, type ExecRequest, execImage } from "../src/kernel/exec/execve.js";
import { type FileFacts, Vfs } from "../src/kernel/fs/vfs.js";
import { makeConfig } from "../src/kernel/mm/config.js";
import { REFERENCE_ROOT } from "../src/kernel/mm/creds.js";
import { sysMunmap } from "../src/kernel/mm/munmap.js";
import { DEFAULT_RLIMITS } from "../src/kernel/mm/rlimits.js";
import { NONE } from "../src/kernel/policy/none.js";
import type { SealPolicy } from "../src/kernel/policy/policy.js";
import { procMaps, procSmaps, vmFlagNames } from "../src/kernel/procfs/maps.js";
import { SYSCALLS } from "../src/kernel/syscalls.js";
import { Process } from "../src/kernel/task/process.js";
import { Unsupported } from "../src/kernel/unsupported.js";
import { compareExec, type ExecCase, modelExec } from "../src/oracle/conform-exec.js";
import { execmapsPath, liveExec } from "../src/oracle/exec-live.js";
import { devString, hostResolver, parseMountinfo } from "../src/oracle/host-files.js";

const TRUE = readFileSync("/bin/true");
let dir = "";

function file(name: string, bytes: Uint8Array | string, mode = 0o755): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  chmodSync(p, mode);
  return p;
}

/** /bin/true with some bytes changed (little-endian fields). */
function patched(name: string, edits: Array<[offset: number, size: 1 | 2 | 4, value: number]>, mode = 0o755): string {
  const b = Buffer.from(TRUE);
  for (const [o, size, v] of edits) {
    if (size === 1) b.writeUInt8(v, o);
    else if (size === 2) b.writeUInt16LE(v, o);
    else b.writeUInt32LE(v, o);
  }
  return file(name, b, mode);
}

/** Offsets of /bin/true's program headers of a type (Elf64_Phdr: 56 bytes from e_phoff). */
function phdrOffsets(type: number): number[] {
  const phoff = Number(TRUE.readBigUInt64LE(32));
  const n = TRUE.readUInt16LE(56);
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (TRUE.readUInt32LE(phoff + i * 56) === type) out.push(phoff + i * 56);
  return out;
}

/** /bin/true with its PT_INTERP string replaced (same length or shorter, NUL-padded unless told). */
function withInterp(name: string, interp: string, terminate = true): string {
  const b = Buffer.from(TRUE);
  const ph = phdrOffsets(3)[0];
  const off = Number(b.readBigUInt64LE(ph + 8));
  const size = Number(b.readBigUInt64LE(ph + 32));
  const s = Buffer.from(interp);
  if (s.length > size - (terminate ? 1 : 0)) throw new Error("interp too long for the fixture");
  b.fill(terminate ? 0 : 0x41, off, off + size);
  s.copy(b, off);
  return file(name, b);
}

function same(c: ExecCase): { model: string; live: string } {
  const r = compareExec(c);
  expect(r.diffs, `${c.path}: ${r.reason ?? ""}`).toEqual([]);
  return { model: r.model, live: r.live };
}

const run = (path: string) => same({ path, argv: ["x"], envp: ["A=1"] });

beforeAll(() => {
  // A short directory: interpreter paths written into /bin/true's PT_INTERP must fit its 27 bytes.
  dir = mkdtempSync("/tmp/ax-");
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("bad executables get the kernel's errno (live)", () => {
  it("a file shorter than its headers: ENOEXEC", () => {
    expect(run(file("trunc10", TRUE.subarray(0, 10))).live).toBe("errno ENOEXEC");
    expect(run(file("trunc64", TRUE.subarray(0, 64))).live).toBe("errno ENOEXEC");
    expect(run(file("trunc200", TRUE.subarray(0, 200))).live).toBe("errno ENOEXEC");
  });
  it("empty file and non-ELF bytes: ENOEXEC", () => {
    expect(run(file("empty", "")).live).toBe("errno ENOEXEC");
    expect(run(file("junk", "hello world\n".repeat(20))).live).toBe("errno ENOEXEC");
  });
  it("class, data and version bytes are not checked: the image loads", () => {
    expect(run(patched("class32", [[4, 1, 1]])).live).toBe("ok");
    expect(run(patched("msb", [[5, 1, 2]])).live).toBe("ok");
    expect(run(patched("ver0", [[6, 1, 0]])).live).toBe("ok");
  });
  it("wrong e_machine or e_type: ENOEXEC", () => {
    expect(run(patched("i386", [[18, 2, 3]])).live).toBe("errno ENOEXEC");
    expect(run(patched("aarch64", [[18, 2, 183]])).live).toBe("errno ENOEXEC");
    expect(run(patched("core", [[16, 2, 4]])).live).toBe("errno ENOEXEC");
  });
  it("e_phnum 0, huge, over 64 KiB of headers, wrong e_phentsize: ENOEXEC", () => {
    expect(run(patched("phnum0", [[56, 2, 0]])).live).toBe("errno ENOEXEC");
    expect(run(patched("phnumffff", [[56, 2, 0xffff]])).live).toBe("errno ENOEXEC");
    expect(run(patched("phnum1200", [[56, 2, 1200]])).live).toBe("errno ENOEXEC");
    expect(run(patched("phent32", [[54, 2, 32]])).live).toBe("errno ENOEXEC");
  });
  it("garbage program headers past the point of no return: killed by SIGSEGV", () => {
    expect(run(patched("phnum20", [[56, 2, 20]])).live).toBe("signal 11");
    expect(run(patched("phnum74", [[56, 2, 74]])).live).toBe("signal 11");
  });
  it("no execute permission, a directory, no such file: EACCES, EACCES, ENOENT", () => {
    expect(run(file("nox", TRUE, 0o644)).live).toBe("errno EACCES");
    const d = join(dir, "adir");
    mkdirSync(d);
    expect(run(d).live).toBe("errno EACCES");
    expect(run(join(dir, "missing")).live).toBe("errno ENOENT");
  });
});

describe("interpreter errors (live)", () => {
  it("missing interpreter: ENOENT", () => {
    expect(run(withInterp("nointerp", "/nonexistent/ld.so")).live).toBe("errno ENOENT");
  });
  it("interpreter that is not ELF, or not for x86_64: ELIBBAD", () => {
    file("notelf", "not an elf file at all, padded to be long enough for a header".repeat(2));
    expect(run(withInterp("interp-notelf", join(dir, "notelf"))).live).toBe("errno ELIBBAD");
    patched("arm-ld", [[18, 2, 183]]);
    expect(run(withInterp("interp-arm", join(dir, "arm-ld"))).live).toBe("errno ELIBBAD");
  });
  it("interpreter without execute permission: EACCES", () => {
    file("ld-nox", readFileSync("/lib64/ld-linux-x86-64.so.2"), 0o644);
    expect(run(withInterp("interp-nox", join(dir, "ld-nox"))).live).toBe("errno EACCES");
  });
  it("PT_INTERP not NUL-terminated: ENOEXEC", () => {
    expect(run(withInterp("interp-nonul", "/lib64/ld-linux-x86-64.so", false)).live).toBe("errno ENOEXEC");
  });
});

describe('"#!" scripts (live)', () => {
  const sh = (name: string, text: string, mode = 0o755) => file(name, text, mode);
  it("the interpreter is loaded; argv becomes interpreter, argument, script name, the rest; AT_EXECFN is the script", () => {
    const p = sh("s1", "#!/bin/sh -e\necho hi\n");
    expect(same({ path: p, argv: ["s1", "a", "b"], envp: ["A=1"] }).live).toBe("ok");
    const o = ok(modelExec({ path: p, argv: ["s1", "a", "b"], envp: ["A=1"] }));
    expect(o.exe.inode.path).toBe("/usr/bin/dash");
  });
  it("blanks around the interpreter and argument, no argument, CRLF-less last line", () => {
    expect(run(sh("s2", "#!  /bin/sh   \n")).live).toBe("ok");
    expect(run(sh("s3", "#!/bin/sh")).live).toBe("ok");
    expect(run(sh("s4", "#!/usr/bin/env  A=1 B=2 true\n")).live).toBe("ok");
  });
  it("a script whose interpreter is a script, five deep: ok; six deep: ELOOP", () => {
    let prev = "/bin/true";
    for (let i = 1; i <= 6; i++) prev = sh(`n${i}`, `#!${prev}\n`);
    expect(run(join(dir, "n5")).live).toBe("ok");
    expect(run(join(dir, "n6")).live).toBe("errno ELOOP");
  });
  it("no interpreter named, or a name that may be truncated: ENOEXEC", () => {
    expect(run(sh("e1", "#!\n")).live).toBe("errno ENOEXEC");
    expect(run(sh("e2", "#!   \n")).live).toBe("errno ENOEXEC");
    expect(run(sh("e3", `#!/${"x".repeat(300)}`)).live).toBe("errno ENOEXEC");
  });
  it("missing or non-executable interpreter: ENOENT, EACCES; non-executable script: EACCES", () => {
    expect(run(sh("m1", "#!/nonexistent/sh\n")).live).toBe("errno ENOENT");
    file("nx-interp", TRUE, 0o644);
    expect(run(sh("m2", `#!${join(dir, "nx-interp")}\n`)).live).toBe("errno EACCES");
    expect(run(sh("m3", "#!/bin/sh\n", 0o644)).live).toBe("errno EACCES");
  });
});

describe("a loader run directly with 2 MiB p_align (live)", () => {
  it("the kernel maps it once to learn where it lands, then places it aligned down with MAP_FIXED_NOREPLACE", () => {
    const ld = Buffer.from(readFileSync("/lib64/ld-linux-x86-64.so.2"));
    const phoff = Number(ld.readBigUInt64LE(32));
    for (let i = 0; i < ld.readUInt16LE(56); i++) {
      if (ld.readUInt32LE(phoff + i * 56) === 1) ld.writeBigUInt64LE(0x200000n, phoff + i * 56 + 48);
    }
    const p = file("ld-2m", ld);
    expect(same({ path: p, argv: ["ld"], envp: [] }).live).toBe("ok");
    const o = ok(modelExec({ path: p, argv: ["ld"], envp: [] }));
    expect(o.mm.vmas()[0].start % 512).toBe(0);
  });
});

describe("a PIE with 2 MiB p_align (live)", () => {
  it("loads at ELF_ET_DYN_BASE aligned down to 2 MiB (0x555555400000)", () => {
    const b = Buffer.from(TRUE);
    for (const off of phdrOffsets(1)) b.writeBigUInt64LE(0x200000n, off + 48);
    const p = file("true-2m", b);
    expect(same({ path: p, argv: ["x"], envp: [] }).live).toBe("ok");
    expect(procMaps(ok(modelExec({ path: p, argv: ["x"], envp: [] })).mm).startsWith("555555400000-")).toBe(true);
  });
});

describe("set-uid programs", () => {
  it("execve clears ADDR_NO_RANDOMIZE for them (live: randomized layout), so the model says Unsupported", () => {
    const p = file("suid-true", TRUE, 0o4755);
    const live = liveExec({ path: p, argv: ["x"], envp: [] });
    if (!live.ok) throw new Error("set-uid exec failed on the live kernel");
    expect(live.maps.startsWith("555555554000-")).toBe(false);
    expect(() => modelExec({ path: p, argv: ["x"], envp: [] })).toThrow(Unsupported);
    expect(() => modelExec({ path: p, argv: ["x"], envp: [] })).toThrow(/clears ADDR_NO_RANDOMIZE/);
  });
});

describe("PT_GNU_STACK (live)", () => {
  it("PF_X makes the stack executable", () => {
    const gs = phdrOffsets(0x6474e551)[0];
    const r = run(patched("xstack", [[gs + 4, 4, 7]]));
    expect(r.live).toBe("ok");
    const o = modelExec({ path: join(dir, "xstack"), argv: ["x"], envp: ["A=1"] });
    expect(o.ok && procMaps(o.mm).includes("rwxp 00000000 00:00 0                          [stack]")).toBe(true);
  });
  it("no PT_GNU_STACK at all (EXSTACK_DEFAULT): not executable on x86_64", () => {
    const gs = phdrOffsets(0x6474e551)[0];
    expect(run(patched("nostackhdr", [[gs, 4, 0]])).live).toBe("ok");
  });
});

describe("noexec mount", () => {
  it("an executable on a noexec mount: EACCES (live when a tmpfs can be mounted, else kernel source)", () => {
    const mnt = join(dir, "nx");
    mkdirSync(mnt);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "noexec,size=1m", "tmpfs", mnt]).status === 0;
    try {
      if (mounted) {
        writeFileSync(join(mnt, "true"), TRUE);
        chmodSync(join(mnt, "true"), 0o755);
        expect(same({ path: join(mnt, "true"), argv: ["x"], envp: [] }).live).toBe("errno EACCES");
      } else {
        // Kernel source: do_open_execat() refuses path_noexec() with EACCES.
        const facts: FileFacts = { dev: "00:30", ino: 2, size: TRUE.length, noexec: true, mode: 0o100755, read: () => TRUE };
        const o = execImage(request({ resolver: () => facts, path: "/nx/true" }));
        expect(o.ok ? "ok" : o.errno).toBe(13);
      }
    } finally {
      if (mounted) spawnSync("umount", [mnt]);
    }
  });
});

function request(o: {
  resolver?: (p: string) => FileFacts | null;
  path: string;
  policy?: SealPolicy;
  arch?: ExecRequest["arch"];
}): ExecRequest {
  return {
    vfs: new Vfs(o.resolver ?? hostResolver()),
    cfg: makeConfig(),
    creds: REFERENCE_ROOT,
    rlimits: DEFAULT_RLIMITS,
    arch: o.arch ?? "x86_64",
    policy: o.policy ?? NONE,
    optOutRequested: false,
    path: o.path,
    argv: ["x"],
    envp: ["A=1"],
    personality: ADDR_NO_RANDOMIZE,
  };
}

function ok(o: ExecOutcome): Extract<ExecOutcome, { ok: true }> {
  if (!o.ok) throw new Error(o.reason);
  return o;
}

function probe(mode: string): string[] {
  const r = spawnSync(execmapsPath(), [mode], { encoding: "utf8" });
  expect(r.status).toBe(0);
  return r.stdout.trim().split("\n");
}

describe("arch_prctl(ARCH_MAP_VDSO_*) (live probe: native/build/execmaps --arch-prctl)", () => {
  it("EEXIST while mapped; after unmapping, maps [vvar][vvar_vclock][vdso] at the hint and returns the image size", () => {
    const live = probe("--arch-prctl");
    const p = new Process(1, ok(execImage(request({ path: "/bin/true" }))).mm);
    const lines: string[] = [];
    const show = () => {
      for (const l of procMaps(p.mm).trimEnd().split("\n")) if (l.includes("[v")) lines.push(`  ${l}`);
    };
    lines.push(`ARCH_MAP_VDSO_64 while mapped: ${sysArchPrctl(p, 0x2003, 0x10000000)}`);
    const unmapSpecials = () => {
      for (const v of p.mm.vmas()) if (v.special !== null) sysMunmap(p.mm, v.start * 4096, v.pages * 4096);
    };
    for (const [code, name] of [
      [0x2003, "ARCH_MAP_VDSO_64"],
      [0x2002, "ARCH_MAP_VDSO_32"],
      [0x2001, "ARCH_MAP_VDSO_X32"],
    ] as const) {
      unmapSpecials();
      for (let k = 0; k < 2; k++) {
        lines.push(`${name}: ${sysArchPrctl(p, code, 0x10000000)}`);
        show();
      }
    }
    expect(lines).toEqual(live);
  });
  it("is in the syscall table; other architectures have no arch_prctl (ENOSYS)", () => {
    const p = new Process(1, ok(execImage(request({ path: "/bin/true" }))).mm);
    expect(SYSCALLS.arch_prctl.impl(p, [0x2003, 0])).toBe(-17);
    p.mm.arch = "arm64";
    expect(sysArchPrctl(p, 0x2003, 0)).toBe(-38);
  });
});

describe("[vsyscall] (live probe: native/build/execmaps --vsyscall)", () => {
  it("munmap EINVAL, mremap EFAULT, mprotect/madvise/mseal/mlock/msync ENOMEM", () => {
    const live = probe("--vsyscall");
    const p = new Process(1, ok(execImage(request({ path: "/bin/true" }))).mm);
    const v = 0xffffffffff600000n;
    const call = (name: string, args: Array<number | bigint>) => `${name} ${SYSCALLS[name].impl(p, args)}`;
    const model = [
      call("munmap", [v, 4096]),
      call("mprotect", [v, 4096, 1]),
      call("mremap", [v, 4096, 8192, 1, 0]),
      call("madvise", [v, 4096, 4]),
      call("mseal", [v, 4096, 0]),
      call("mlock", [v, 4096]),
      call("msync", [v, 4096, 4]),
    ];
    expect(model).toEqual(live);
    expect(procMaps(p.mm).trimEnd().split("\n").at(-1)).toMatch(/^ffffffffff600000-ffffffffff601000 --xp .*\[vsyscall\]$/);
  });
});

describe("the exec'd system mappings under the mm calls (reference §3, verified there on this kernel)", () => {
  it("[vdso]: mprotect RW works, growing is EFAULT, a MREMAP_FIXED move keeps the name; [vvar]: RW EACCES, DONTNEED EINVAL, DONTUNMAP EINVAL", () => {
    const p = new Process(1, ok(execImage(request({ path: "/bin/true" }))).mm);
    const sys = (name: string, args: Array<number | bigint>) => SYSCALLS[name].impl(p, args);
    const vdso = 0x7ffff7fc8000;
    const vvar = 0x7ffff7fc2000;
    expect(sys("mremap", [vdso, 8192, 16384, 1, 0])).toBe(-14);
    expect(sys("mprotect", [vdso, 8192, 3])).toBe(0);
    expect(sys("mprotect", [vvar, 4096, 3])).toBe(-13);
    expect(sys("madvise", [vvar, 4096, 4])).toBe(-22);
    expect(sys("mremap", [vvar, 16384, 16384, 1 | 2 | 4, 0x300000000])).toBe(-22);
    expect(sys("mremap", [vdso, 8192, 8192, 1 | 2, 0x200000000])).toBe(0x200000000);
    expect(procMaps(p.mm)).toMatch(/^200000000-200002000 rw-p 00000000 00:00 0 +\[vdso\]$/m);
  });
});

const SEAL_ALL: SealPolicy = {
  name: "test-seal-all",
  summary: "seals every system mapping (test policy)",
  source: "test",
  sealsAtCreate: () => true,
  exemptFromSeal: () => false,
};

describe("ia32 tasks on the x86_64 kernel (live)", () => {
  it("an ELFCLASS32 EM_386 file: 4 GiB layout, 32-bit vdso, no [vsyscall], AT_SYSINFO, 4-byte words", () => {
    const p = file("i386", tinyElf(32, 3, 0x8048000));
    expect(same({ path: p, argv: ["x", "y"], envp: ["A=1"] }).live).toBe("ok");
    const o = ok(modelExec({ path: p, argv: ["x", "y"], envp: ["A=1"] }));
    expect(procMaps(o.mm)).not.toContain("[vsyscall]");
    expect(o.auxv[0][0]).toBe(32);
  });
  it("without PT_GNU_STACK: READ_IMPLIES_EXEC makes every mapping executable", () => {
    const b = Buffer.from(tinyElf(32, 3, 0x8048000));
    b.writeUInt32LE(0, 52 + 32); // PT_GNU_STACK → PT_NULL
    const p = file("i386-nostack", b);
    expect(same({ path: p, argv: ["x"], envp: [] }).live).toBe("ok");
  });
  it("an ia32 PIE with an interpreter: loaded at COMPAT_ELF_ET_DYN_BASE (0x56555000), the interpreter below the vdso", () => {
    const interp = Buffer.from(tinyElf(32, 3, 0));
    interp.writeUInt16LE(3, 16); // ET_DYN
    const ip = file("ld32", interp);
    const b = Buffer.from(tinyElf(32, 3, 0));
    b.writeUInt16LE(3, 16);
    b.writeUInt16LE(3, 44); // three program headers: PT_INTERP goes last
    const ph = 52 + 64;
    const at = 0x200;
    Buffer.from(`${ip}\0`).copy(b, at);
    b.writeUInt32LE(3, ph);
    b.writeUInt32LE(at, ph + 4);
    b.writeUInt32LE(at, ph + 8);
    b.writeUInt32LE(ip.length + 1, ph + 16);
    b.writeUInt32LE(ip.length + 1, ph + 20);
    b.writeUInt32LE(4, ph + 24);
    const p = file("pie32", b);
    expect(same({ path: p, argv: ["x"], envp: ["A=1"] }).live).toBe("ok");
    expect(procMaps(ok(modelExec({ path: p, argv: ["x"], envp: [] })).mm).startsWith("56555000-")).toBe(true);
  });
  it("a static PIE ia32 file, and a broken one (ENOEXEC)", () => {
    const b = Buffer.from(tinyElf(32, 3, 0));
    b.writeUInt16LE(3, 16); // ET_DYN
    expect(same({ path: file("i386-dyn", b), argv: ["x"], envp: [] }).live).toBe("ok");
    const c = Buffer.from(tinyElf(32, 3, 0x8048000));
    c.writeUInt16LE(40, 42); // e_phentsize
    expect(same({ path: file("i386-bad", c), argv: ["x"], envp: [] }).live).toBe("errno ENOEXEC");
  });
});

describe("system mappings sealed per policy (kernel source: VM_SEALED_SYSMAP in map_vdso)", () => {
  it("policy none: nothing sealed (the live VmFlags comparison in exec.test.ts shows no sl)", () => {
    const o = ok(execImage(request({ path: "/bin/true" })));
    expect(procSmaps(o.mm)).not.toMatch(/ sl /);
  });
  it("a sealing policy seals [vvar], [vvar_vclock], [vdso] and nothing else; they cannot be unmapped", () => {
    const o = ok(execImage(request({ path: "/bin/true", policy: SEAL_ALL })));
    const sealed = o.mm.vmas().filter((v) => v.sealed);
    expect(sealed.map((v) => v.special?.name)).toEqual(["[vvar]", "[vvar_vclock]", "[vdso]"]);
    const vdso = sealed[2];
    expect(sysMunmap(o.mm, vdso.start * 4096, 8192)).toBe(-1);
  });
  it("ARCH_MAP_VDSO maps sealed under a sealing policy", () => {
    const p = new Process(1, ok(execImage(request({ path: "/bin/true", policy: SEAL_ALL }))).mm);
    const q = new Process(2, ok(execImage(request({ path: "/bin/true" }))).mm);
    for (const v of q.mm.vmas()) if (v.special !== null) sysMunmap(q.mm, v.start * 4096, v.pages * 4096);
    q.mm.sealPolicy = SEAL_ALL;
    expect(sysArchPrctl(q, 0x2003, 0x10000000)).toBe(8192);
    expect(q.mm.vmas().filter((v) => v.special !== null && v.sealed)).toHaveLength(3);
    expect(p.mm.vmas().filter((v) => v.sealed)).toHaveLength(3);
  });
});

describe("[uprobes] XOL page (kernel/events/uprobes.c xol_add_vma)", () => {
  it("live (execmaps --uprobe: a tracefs uprobe hit in a static program): one --xp page right below the system mappings", () => {
    const live = probe("--uprobe");
    const o = ok(execImage(request({ path: execmapsPath() })));
    const a = uprobeXolPage(o.mm);
    const v = o.mm.tree.find(a / 4096);
    if (v === null) throw new Error("no [uprobes] VMA");
    const line = procMaps(o.mm)
      .split("\n")
      .find((l) => l.endsWith("[uprobes]"));
    expect([line, `VmFlags: ${vmFlagNames(v).join(" ")}`]).toEqual(live.map((l) => l.trimEnd()));
  });
  it("created once, sealed per policy (kernel source: VM_SEALED_SYSMAP)", () => {
    const o = ok(execImage(request({ path: "/bin/true", policy: SEAL_ALL })));
    const a = uprobeXolPage(o.mm);
    expect(a).toBe(0x7ffff7fc1000);
    expect(uprobeXolPage(o.mm)).toBe(a);
    const v = o.mm.tree.find(a / 4096);
    expect(v?.special?.name).toBe("[uprobes]");
    expect(vmFlagNames(v as NonNullable<typeof v>)).toEqual(["ex", "me", "io", "dc", "de", "sl"]);
  });
});

/** A minimal static ELF: one R+X PT_LOAD of the whole file at `base`, a PT_GNU_STACK. */
function tinyElf(cls: 32 | 64, machine: number, base: number): Uint8Array {
  const ehsize = cls === 64 ? 64 : 52;
  const phent = cls === 64 ? 56 : 32;
  const size = 4096;
  const b = Buffer.alloc(size);
  b.set([0x7f, 0x45, 0x4c, 0x46, cls === 64 ? 2 : 1, 1, 1], 0);
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(machine, 18);
  b.writeUInt32LE(1, 20);
  const ph = ehsize;
  if (cls === 64) {
    b.writeBigUInt64LE(BigInt(base + 0x100), 24);
    b.writeBigUInt64LE(BigInt(ph), 32);
    b.writeUInt16LE(phent, 54);
    b.writeUInt16LE(2, 56);
    b.writeUInt32LE(1, ph);
    b.writeUInt32LE(5, ph + 4);
    b.writeBigUInt64LE(0n, ph + 8);
    b.writeBigUInt64LE(BigInt(base), ph + 16);
    b.writeBigUInt64LE(BigInt(size), ph + 32);
    b.writeBigUInt64LE(BigInt(size + 8192), ph + 40);
    b.writeBigUInt64LE(4096n, ph + 48);
    b.writeUInt32LE(0x6474e551, ph + 56);
    b.writeUInt32LE(6, ph + 56 + 4);
  } else {
    b.writeUInt32LE(base + 0x100, 24);
    b.writeUInt32LE(ph, 28);
    b.writeUInt16LE(phent, 42);
    b.writeUInt16LE(2, 44);
    b.writeUInt32LE(1, ph);
    b.writeUInt32LE(0, ph + 4);
    b.writeUInt32LE(base, ph + 8);
    b.writeUInt32LE(size, ph + 16);
    b.writeUInt32LE(size + 8192, ph + 20);
    b.writeUInt32LE(5, ph + 24);
    b.writeUInt32LE(4096, ph + 28);
    b.writeUInt32LE(0x6474e551, ph + 32);
    b.writeUInt32LE(6, ph + 32 + 24);
  }
  return new Uint8Array(b);
}

function tinyResolver(bytes: Uint8Array): (p: string) => FileFacts | null {
  return (p) =>
    p === "/tiny"
      ? { dev: "fe:00", ino: 42, size: bytes.length, mode: 0o100755, read: (o, l) => bytes.subarray(o, Math.min(bytes.length, o + l)) }
      : null;
}

describe("other architectures (kernel source; every outcome says 'modeled, not verified')", () => {
  it("arm64: static ELF at 0x400000, [vvar] 3 pages and [vdso] below mmap_base, stack at 2^48", () => {
    const o = ok(execImage(request({ resolver: tinyResolver(tinyElf(64, 183, 0x400000)), path: "/tiny", arch: "arm64" })));
    expect(o.note).toBe("modeled, not verified");
    const maps = procMaps(o.mm);
    // mm/util.c mmap_base(): STACK_TOP (2^48) − 128 MiB (8 MiB + guard gap, clamped to
    // MIN_GAP) = 0xfffff8000000; [vvar] (3 pages) + [vdso] (2) end there.
    expect(maps).toContain("fffff7ffb000-fffff7ffe000 r--p 00000000 00:00 0                          [vvar]");
    expect(maps).toContain("fffff7ffe000-fffff8000000 r-xp 00000000 00:00 0                          [vdso]");
    expect(maps).toMatch(/^00400000-00401000 r-xp 00000000 fe:00 42 +\/tiny$/m);
    // elf_load(): the bss of an executable segment is vm_brk_flags(VM_EXEC) memory.
    expect(maps).toMatch(/^00401000-00403000 rwxp 00000000 00:00 0 *$/m);
    expect(maps).toMatch(/^fffffffdf000-1000000000000 rw-p .*\[stack\]$/m);
    expect(maps).not.toContain("[vsyscall]");
    expect(o.auxv[0]).toEqual([33, 0xfffff7ffen * 4096n]);
  });
  it("riscv64: [vvar] 4 pages below the [vdso], stack at 2^47, no AT_PLATFORM", () => {
    const o = ok(execImage(request({ resolver: tinyResolver(tinyElf(64, 243, 0x10000)), path: "/tiny", arch: "riscv64" })));
    expect(o.note).toBe("modeled, not verified");
    const names = o.mm.vmas().map((v) => v.special?.name ?? null);
    expect(names.filter((n) => n !== null)).toEqual(["[vvar]", "[vdso]"]);
    expect(o.auxv.some(([t]) => t === 15)).toBe(false);
  });
  it("arm: [sigpage] then [vvar] and [vdso], 4-byte stack words, [vectors] gate line", () => {
    const o = ok(execImage(request({ resolver: tinyResolver(tinyElf(32, 40, 0x10000)), path: "/tiny", arch: "arm" })));
    expect(o.note).toBe("modeled, not verified");
    const specials = o.mm.vmas().filter((v) => v.special !== null);
    expect(specials.map((v) => v.special?.name)).toEqual(["[sigpage]", "[vvar]", "[vdso]"]);
    expect(specials[1].start).toBe(specials[0].end);
    expect(procMaps(o.mm).trimEnd().split("\n").at(-1)).toMatch(/^ffff0000-ffff1000 r-xp .*\[vectors\]$/);
    expect(o.mm.startStack % 16).toBe(0);
  });
  it("arm64 running an AArch32 file: compat task with [vectors] at 0xffff0000 (its STACK_TOP) and [sigpage]", () => {
    const o = ok(execImage(request({ resolver: tinyResolver(tinyElf(32, 40, 0x10000)), path: "/tiny", arch: "arm64" })));
    expect(o.note).toBe("modeled, not verified");
    const maps = procMaps(o.mm);
    expect(maps).toMatch(/^ffff0000-ffff1000 r-xp 00000000 00:00 0 +\[vectors\]$/m);
    expect(maps).toMatch(/^[0-9a-f]+-ffff0000 rw-p 00000000 00:00 0 +\[stack\]$/m);
    // mmap_base = STACK_TOP − 128 MiB: the sigpage is the first page below it.
    expect(maps).toContain("f7fef000-f7ff0000 r-xp 00000000 00:00 0                                  [sigpage]");
    expect(o.auxv.find(([t]) => t === 4)?.[1]).toBe(32n);
  });
  it("an x86_64 binary under --arch arm64 is ENOEXEC (e_machine)", () => {
    const o = execImage(request({ path: "/bin/true", arch: "arm64" }));
    expect(o.ok ? "ok" : o.errno).toBe(8);
  });
});

// Each case starts node processes: allow for a slow, shared machine.
describe("host resolver (src/oracle/host-files.ts)", () => {
  it("device and inode as the live kernel's maps print them, the symlink resolved, bytes by range", () => {
    const live = liveExec({ path: "/usr/bin/python3", argv: ["x"], envp: [] });
    if (!live.ok) throw new Error("live exec failed");
    const first = live.maps.split("\n")[0].split(/\s+/);
    const f = hostResolver()("/usr/bin/python3");
    expect(f).not.toBeNull();
    expect([f?.dev, String(f?.ino), f?.path]).toEqual([first[3], first[4], first[5]]);
    expect(Array.from(f?.read?.(0, 4) ?? [])).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(f?.read?.((f?.size ?? 0) - 2, 10).length).toBe(2);
    expect(hostResolver()("/nonexistent")).toBeNull();
  });
  it("devString encodes major:minor as new_encode_dev does; mountinfo mount points are unescaped", () => {
    expect(devString(0xfe00)).toBe("fe:00");
    expect(devString((259 << 8) | 1)).toBe("103:01");
    expect(devString(((0x123 & ~0xff) << 12) | (8 << 8) | (0x123 & 0xff))).toBe("08:123");
    // As /proc/self/mountinfo escapes a space in a mount point: backslash, then octal 040.
    const mi = "36 25 0:32 / /mnt/a\\040b rw,nosuid,noexec shared:1 - tmpfs tmpfs rw\n";
    expect(parseMountinfo(mi)).toEqual([{ point: "/mnt/a b", noexec: true }]);
  });
});

describe("aspace exec-maps and conform --exec (CLI)", { timeout: 30000 }, () => {
  const BIN = join(import.meta.dirname, "..", "bin", "aspace.js");
  const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

  it("--live -i --env: identical to the kernel, exit 0; --json has the maps", () => {
    const r = cli(["exec-maps", "--live", "-i", "--env", "A=1", "--json", "--", "/bin/true", "--version"]);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.live.equal).toBe(true);
    expect(j.argv).toEqual(["/bin/true", "--version"]);
    expect(j.envc).toBe(1);
    expect(j.maps).toContain("[vdso]");
  });
  it("unknown policy or arch, bad --env: exit 2 with the reason", () => {
    const a = cli(["exec-maps", "--policy", "nope", "--", "/bin/true"]);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/unknown sealing policy 'nope'/);
    const b = cli(["exec-maps", "--arch", "mips", "--", "/bin/true"]);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/unknown architecture 'mips'/);
    const c = cli(["exec-maps", "--env", "NOEQUALS", "--", "/bin/true"]);
    expect(c.status).toBe(2);
  });
  it("conform --exec BIN --json: one object, no divergence", () => {
    const r = cli(["conform", "--exec", "/bin/true", "/usr/bin/ls", "--json"]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ binaries: 2, divergences: 0 });
  });
});

// execve of real binaries: the model's image right after execve (ASLR off) against the live
// kernel's, as native/build/execmaps reports it (maps, VmFlags, /proc/PID/stat mm fields,
// auxv). Every expected value comes from the live kernel in the same test run.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FdTable } from "../src/kernel/fs/fdtable.js";
import { sysMmap } from "../src/kernel/mm/mmap.js";
import { compareExec, type ExecCase, modelExec } from "../src/oracle/conform-exec.js";
import { execmapsAvailable, liveExec, parseExecmapsOutput } from "../src/oracle/exec-live.js";

const ENV = ["A=1", "HOME=/root", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"];
/** aspace's own environment, as `aspace exec-maps` passes it without -i. */
const OWN_ENV = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);

function expectSame(c: ExecCase): void {
  const r = compareExec(c);
  expect(r.diffs, `${c.path}: ${r.reason ?? ""}\nmodel:\n${r.modelMaps}\nkernel:\n${r.liveMaps}`).toEqual([]);
  expect(r.model).toBe(r.live);
}

describe("the live execve oracle", () => {
  it("is built (node native/build.js)", () => {
    expect(execmapsAvailable()).toBe(true);
  });

  it("reports a failed execve as its errno", () => {
    expect(liveExec({ path: "/nonexistent/x", argv: ["x"], envp: [] })).toEqual({ ok: false, errno: 2 });
  });

  it("rejects malformed oracle output with a clear error", () => {
    expect(() => parseExecmapsOutput("garbage")).toThrow(/unexpected first line 'garbage'/);
    expect(() => parseExecmapsOutput("exec ok\nmaps\n00400000-00401000 r--p 0 00:00 0\n")).toThrow(/section 'maps' has no end/);
  });
});

describe("model image after execve equals the live kernel's (maps, VmFlags, stat, auxv)", () => {
  it("/bin/true (PIE with ld.so)", () => expectSame({ path: "/bin/true", argv: ["/bin/true"], envp: ENV }));
  it("/usr/bin/ls with arguments", () => expectSame({ path: "/usr/bin/ls", argv: ["ls", "-la", "/"], envp: ENV }));
  it("/usr/bin/python3 (non-PIE through a symlink, anonymous bss pages)", () =>
    expectSame({ path: "/usr/bin/python3", argv: ["python3", "-c", "pass"], envp: ENV }));
  it("node (large non-PIE, segments with holes)", () => expectSame({ path: process.execPath, argv: ["node", "-e", "0"], envp: ENV }));
  it("with aspace's own environment", () => expectSame({ path: "/usr/bin/ls", argv: ["ls"], envp: OWN_ENV }));
  it("ld.so run directly (static PIE: loaded in the mmap area, brk at ELF_ET_DYN_BASE)", () =>
    expectSame({ path: "/lib64/ld-linux-x86-64.so.2", argv: ["ld.so"], envp: ENV }));
  it("empty argv (the kernel adds an empty argv[0])", () => expectSame({ path: "/bin/true", argv: [], envp: [] }));
  it("environment spanning several stack pages", () =>
    expectSame({ path: "/bin/true", argv: ["true"], envp: Array.from({ length: 40 }, (_, i) => `V${i}=${"x".repeat(300 + i)}`) }));
  it("1 GiB stack rlimit moves mmap_base (ld.so and the vdso follow)", () =>
    expectSame({ path: "/bin/true", argv: ["true"], envp: ENV, stackRlimit: 1024 * 1024 * 1024 }));
  it("unlimited stack rlimit", () => expectSame({ path: "/bin/true", argv: ["true"], envp: ENV, stackRlimit: Number.POSITIVE_INFINITY }));
  it("ADDR_COMPAT_LAYOUT (setarch -L): legacy bottom-up layout from TASK_UNMAPPED_BASE", () =>
    expectSame({ path: "/bin/true", argv: ["true"], envp: ENV, personality: 0x0200000 }));
  it("a caller with READ_IMPLIES_EXEC (setarch -X): cleared for a 64-bit image", () =>
    expectSame({ path: "/usr/bin/python3", argv: ["python3"], envp: ENV, personality: 0x0400000 }));
  it("a static non-PIE executable (native/build/executor)", () =>
    expectSame({ path: `${import.meta.dirname}/../native/build/executor`, argv: ["executor"], envp: ENV }));
  it("a stack rlimit smaller than strings + 128 KiB caps the [stack] VMA", () =>
    expectSame({ path: "/bin/true", argv: ["true"], envp: ENV, stackRlimit: 64 * 1024 }));
});

describe("argument limits", () => {
  it("a single string longer than MAX_ARG_STRLEN is E2BIG", () => {
    const c = { path: "/bin/true", argv: ["true", "y".repeat(32 * 4096)], envp: [] };
    expectSame(c);
    expect(compareExec(c).live).toBe("errno E2BIG");
  });
  it("strings over a quarter of a small stack rlimit are E2BIG", () => {
    // limit = max(min(6 MiB, rlimit / 4), 32 pages) = 128 KiB here: 100000 fits, twice does not.
    const fits = { path: "/bin/true", argv: ["true", "z".repeat(100000)], envp: [], stackRlimit: 256 * 1024 };
    expectSame(fits);
    expect(compareExec(fits).live).toBe("ok");
    const c = { ...fits, argv: ["true", "z".repeat(100000), "z".repeat(100000)] };
    expectSame(c);
    expect(compareExec(c).live).toBe("errno E2BIG");
  });
});

describe("small stack rlimits (live)", () => {
  const env = (n: number) => Array.from({ length: n }, (_, i) => `V${i}=${"y".repeat(100)}`);
  it("below one page: the first stack page needs no growth, so execve works", () => {
    expectSame({ path: "/bin/true", argv: ["x"], envp: ["A=1"], stackRlimit: 0 });
    expectSame({ path: "/bin/true", argv: ["x"], envp: ["A=1"], stackRlimit: 4095 });
  });
  it("strings that must grow the new stack past the rlimit: E2BIG (get_arg_page)", () => {
    const c = { path: "/bin/true", argv: ["x"], envp: env(60), stackRlimit: 4096 };
    expectSame(c);
    expect(compareExec(c).live).toBe("errno E2BIG");
  });
  it("tables that spill below the one allowed page: killed by SIGSEGV (create_elf_tables EFAULT)", () => {
    const c = { path: "/bin/true", argv: ["x"], envp: env(34), stackRlimit: 4096 };
    expectSame(c);
    expect(compareExec(c).live).toBe("signal 11");
    expectSame({ ...c, envp: env(32) });
  });
});

describe("model-only facts checked against the same live run", () => {
  it("the executable's VMAs share one open file, the interpreter's another", () => {
    const o = modelExec({ path: "/bin/true", argv: ["true"], envp: ENV });
    if (!o.ok) throw new Error(o.reason);
    const files = new Set<number>();
    o.mm.tree.forEach((v) => {
      if (v.file !== null) files.add(v.file.id);
    });
    expect(files.size).toBe(2);
    expect(o.exe.inode.path).toBe("/usr/bin/true");
  });
});

describe("recorded traces (../shared/traces, setarch -R strace): brk and the first mmap after execve", () => {
  // The traces ran with `env -i` and these four variables; brk(NULL) and the first
  // anonymous mmap depend only on the image, which the model builds from the same files.
  const TRACE_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "TERM=dumb"];
  for (const name of ["ls_la_root", "python3_pass", "perl_e1", "gcc_hello", "sh_echo_pipe_cat"]) {
    it(name, () => {
      const lines = readFileSync(`${import.meta.dirname}/../../shared/traces/${name}.strace`, "utf8").split("\n", 3);
      const ex = /execve\("([^"]+)", \[(.*)\], .*\) = 0$/.exec(lines[0]);
      const brk = /brk\(NULL\)\s+= (0x[0-9a-f]+)$/.exec(lines[1]);
      const mm1 = /mmap\(NULL, (\d+), PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS, -1, 0\) = (0x[0-9a-f]+)$/.exec(lines[2]);
      if (ex === null || brk === null || mm1 === null) throw new Error(`${name}: unexpected first lines`);
      const argv = ex[2].split(", ").map((a) => JSON.parse(a) as string);
      const o = modelExec({ path: ex[1], argv, envp: TRACE_ENV });
      if (!o.ok) throw new Error(o.reason);
      expect(`0x${o.mm.brk.toString(16)}`).toBe(brk[1]);
      const addr = sysMmap(o.mm, new FdTable(), 0, Number(mm1[1]), 3, 0x22, -1, 0);
      expect(`0x${addr.toString(16)}`).toBe(mm1[2]);
    });
  }
});

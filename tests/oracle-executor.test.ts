// The native executor against the live kernel: each test states what Linux does and checks that
// the executor reports it and the driver parses it. Runs only where the executor is built.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MapsParseError, parseMaps, parseMapsLine } from "../src/kernel/procfs/parse.js";
import {
  type ExecResult,
  ExecutorError,
  executorAvailable,
  executorPath,
  type OpResult,
  type Program,
  runPrograms,
} from "../src/oracle/executor.js";

const ARENA = 0x200000000n;
const PAGE = 0x1000n;
const hex = (v: bigint) => `0x${v.toString(16)}`;
// mmap flags/prot/advice (x86_64 uapi)
const PROT_NONE = 0;
const PROT_READ = 1;
const PROT_RW = 3;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const ANON_FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const MADV_DONTNEED = 4;

const mmapAnon = (addr: bigint, len: bigint, prot: number) => `mmap ${hex(addr)} ${hex(len)} ${prot} ${hex(BigInt(ANON_FIXED))} -1 0`;

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

const ret = (value: bigint): OpResult => ({ kind: "ret", value });
const errno = (name: string): OpResult => ({ kind: "errno", name });

const _available = executorAvailable();

describe("native executor (live kernel)", () => {
  const dir = mkdtempSync(join(tmpdir(), "aspace-exec-"));
  const file = join(dir, "f");
  const programs: Program[] = [
    { name: "mmap-fixed", ops: [mmapAnon(ARENA, 2n * PAGE, PROT_RW)] },
    { name: "munmap-unaligned", ops: [mmapAnon(ARENA, PAGE, PROT_RW), `munmap ${hex(ARENA + 1n)} ${hex(PAGE)}`] },
    {
      name: "mseal",
      ops: [mmapAnon(ARENA, 2n * PAGE, PROT_RW), `mseal ${hex(ARENA)} ${hex(2n * PAGE)} 0`, `munmap ${hex(ARENA)} ${hex(PAGE)}`],
    },
    {
      name: "faults",
      ops: [
        mmapAnon(ARENA, PAGE, PROT_NONE),
        `touch ${hex(ARENA)} ${hex(PAGE)}`,
        mmapAnon(ARENA + 0x10000n, 2n * PAGE, PROT_RW),
        `mprotect ${hex(ARENA + 0x11000n)} ${hex(PAGE)} ${PROT_READ}`,
        // read succeeds on both pages, the write half of touch faults on the read-only one
        `touch ${hex(ARENA + 0x10010n)} 0x1ff0`,
        `rtouch ${hex(ARENA + 0x10010n)} 0x1ff0`,
        `write ${hex(ARENA + 0x10ff0n)} 0x20 7`,
      ],
    },
    {
      name: "hash",
      ops: [
        mmapAnon(ARENA, 2n * PAGE, PROT_RW),
        `read ${hex(ARENA)} ${hex(2n * PAGE)}`,
        `write ${hex(ARENA)} ${hex(2n * PAGE)} 0xab`,
        `read ${hex(ARENA)} ${hex(2n * PAGE)}`,
        `read ${hex(ARENA)} ${hex(2n * PAGE)}`,
        `madvise ${hex(ARENA)} ${hex(2n * PAGE)} ${MADV_DONTNEED}`,
        `read ${hex(ARENA)} ${hex(2n * PAGE)}`,
        `read ${hex(ARENA)} 0`,
      ],
    },
    {
      name: "sigbus",
      ops: [
        `open ${file} 2 4096`,
        `mmap ${hex(ARENA)} ${hex(2n * PAGE)} ${PROT_READ} ${hex(BigInt(MAP_SHARED | MAP_FIXED))} 3 0`,
        `rtouch ${hex(ARENA)} ${hex(2n * PAGE)}`,
        "close 3",
      ],
    },
    { name: "malformed", ops: ["bogus 1 2", "mmap 1 2", "munmap 0x1000 zz", "", "end", "brk 0\nbrk 0", "write 0 1 256", "brk 0"] },
    { name: "empty", ops: [] },
  ];
  let res: Map<string, ExecResult>;

  beforeAll(async () => {
    const out = await runPrograms(programs);
    res = new Map(out.map((r) => [r.name, r]));
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const get = (name: string) => {
    const r = res.get(name);
    if (!r) throw new Error(`no result for ${name}`);
    return r;
  };

  it("returns one result per program, in order, all alive", () => {
    expect([...res.keys()]).toEqual(programs.map((p) => p.name));
    for (const p of programs) {
      const r = get(p.name);
      expect(r.died, p.name).toBeNull();
      expect(r.results, p.name).toHaveLength(p.ops.length);
    }
  });

  it("mmap MAP_FIXED of two anonymous RW pages returns the address and shows in the final maps", () => {
    const r = get("mmap-fixed");
    expect(r.results).toEqual([ret(ARENA)]);
    // An unnamed VMA's line ends in "inode " (trailing space): the kernel only pads before a name.
    expect(r.finalMaps).toContain("200000000-200002000 rw-p 00000000 00:00 0 ");
    expect(r.initMaps.some((l) => l.startsWith("200000000-"))).toBe(false);
    const sm = r.finalSmaps?.find((s) => s.start === ARENA);
    expect(sm).toMatchObject({ end: ARENA + 2n * PAGE, rssKb: 0, anonKb: 0 });
    expect(sm?.flags).toEqual(expect.arrayContaining(["rd", "wr", "mr", "mw", "me"]));
  });

  it("munmap with an unaligned address fails with EINVAL", () => {
    expect(get("munmap-unaligned").results).toEqual([ret(ARENA), errno("EINVAL")]);
  });

  it("mseal makes munmap fail with EPERM and sets the sl flag", () => {
    const r = get("mseal");
    expect(r.results).toEqual([ret(ARENA), ret(0n), errno("EPERM")]);
    expect(r.finalSmaps?.find((s) => s.start === ARENA)?.flags).toContain("sl");
  });

  it("faults report the signal and the offset of the first faulting access", () => {
    expect(get("faults").results).toEqual([
      ret(ARENA),
      { kind: "fault", signal: "SEGV", offset: 0n },
      ret(ARENA + 0x10000n),
      ret(0n),
      { kind: "fault", signal: "SEGV", offset: 0xff0n }, // page 2 starts 0xff0 after addr
      ret(0n), // reads of a read-only page are fine
      { kind: "fault", signal: "SEGV", offset: 0x10n },
    ]);
    // The write stopped at the page boundary: the first 0x10 bytes were stored.
  });

  it("read hashes the bytes (FNV-1a), and MADV_DONTNEED zero-fills private anonymous memory", () => {
    const r = get("hash");
    const zeros = fnv1a(new Uint8Array(8192));
    const ab = fnv1a(new Uint8Array(8192).fill(0xab));
    expect(r.results).toEqual([
      ret(ARENA),
      { kind: "hash", value: 0n, hash: zeros },
      ret(0n),
      { kind: "hash", value: 0n, hash: ab },
      { kind: "hash", value: 0n, hash: ab },
      ret(0n),
      { kind: "hash", value: 0n, hash: zeros },
      { kind: "hash", value: 0n, hash: 0x811c9dc5 },
    ]);
  });

  it("touching a file mapping beyond EOF gives SIGBUS at the first page past the end", () => {
    expect(get("sigbus").results).toEqual([ret(3n), ret(ARENA), { kind: "fault", signal: "BUS", offset: PAGE }, ret(0n)]);
    const line = get("sigbus").finalMaps?.find((l) => l.startsWith("200000000-"));
    expect(line).toBeDefined();
    expect(parseMapsLine(line as string)).toMatchObject({ perms: "r--s", name: file, offset: 0n });
  });

  it("an op it cannot parse gets -EBADOP without disturbing the others", () => {
    const r = get("malformed");
    const bad = errno("EBADOP");
    expect(r.results).toEqual([bad, bad, bad, bad, bad, bad, bad, ret(r.info.brk)]);
  });

  it("a program without ops still gets both snapshots", () => {
    const r = get("empty");
    expect(r.results).toEqual([]);
    expect(r.finalMaps).toEqual(r.initMaps);
    // Reporting itself must not change the executor's own RSS (its buffers are pre-touched).
    expect(r.finalSmaps).toEqual(r.initSmaps);
  });

  it("reports its saved auxv: 56 words, AT_SYSINFO_EHDR at its own [vdso], AT_PAGESZ 4096, AT_NULL last", () => {
    const { info, initMaps } = get("empty");
    const auxv = info.auxv ?? [];
    expect(auxv).toHaveLength(56);
    const pairs = new Map<bigint, bigint>();
    for (let i = 0; i + 1 < auxv.length && auxv[i] !== 0n; i += 2) pairs.set(auxv[i] as bigint, auxv[i + 1] as bigint);
    const vdso = parseMaps(initMaps.join("\n")).find((m) => m.name === "[vdso]");
    expect(pairs.get(33n)).toBe(vdso?.start);
    expect(pairs.get(6n)).toBe(4096n);
    expect(auxv.slice(-2)).toEqual([0n, 0n]);
  });

  it("reports the info line and a fixed, non-randomised initial layout", () => {
    const minAddr = Number(readFileSync("/proc/sys/vm/mmap_min_addr", "utf8").trim());
    const infos = [...res.values()].map((r) => r.info);
    for (const info of infos) expect(info).toEqual(infos[0]);
    const info = get("empty").info;
    expect(info.mmapMinAddr).toBe(minAddr);
    expect(info.brk).toBeGreaterThanOrEqual(info.startBrk);
    const maps = parseMaps(get("empty").initMaps.join("\n"));
    const heap = maps.find((m) => m.name === "[heap]");
    const stack = maps.find((m) => m.name === "[stack]");
    expect(heap).toMatchObject({ start: info.startBrk, end: info.brk });
    expect(stack && info.startStack >= stack.start && info.startStack < stack.end).toBe(true);
    // ADDR_NO_RANDOMIZE: the stack ends at the top of the 47-bit user address space.
    expect(stack?.end).toBe(0x7ffffffff000n);
    expect(maps.map((m) => m.name)).toEqual(expect.arrayContaining(["[vdso]", "[vsyscall]"]));
    for (const r of res.values()) expect(r.initMaps).toEqual(get("empty").initMaps);
    // smaps digest: one line per VMA, same ranges as maps
    expect(get("empty").initSmaps.map((s) => [s.start, s.end])).toEqual(maps.map((m) => [m.start, m.end]));
  });

  it("reports a child that destroys itself as died, and the batch goes on", async () => {
    const text = parseMaps(get("empty").initMaps.join("\n")).find((m) => m.perms === "r-xp" && m.name.startsWith("/"));
    expect(text).toBeDefined();
    const t = text as NonNullable<typeof text>;
    const [dead, after] = await runPrograms([
      { name: "unmap-own-text", ops: ["brk 0", `munmap ${hex(t.start)} ${hex(t.end - t.start)}`, "brk 0"] },
      { name: "after", ops: ["brk 0"] },
    ]);
    expect(dead?.results).toEqual([ret(get("empty").info.brk)]);
    expect(dead?.died).toMatch(/^SIGSEGV at op 1 \(munmap /);
    expect(dead?.finalMaps).toBeNull();
    expect(dead?.finalSmaps).toBeNull();
    expect(after?.died).toBeNull();
    expect(after?.results).toEqual([ret(get("empty").info.brk)]);
  }, 30_000);

  it("executorPath points at the built binary", () => {
    expect(executorPath()).toMatch(/native\/build\/executor$/);
    expect(get("empty").initMaps.some((l) => l.endsWith(" /proc/self/exe"))).toBe(false);
  });
});

describe("executor driver errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "aspace-drv-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function withExecutor<T>(path: string, f: () => Promise<T>): Promise<T> {
    const saved = process.env.ASPACE_EXECUTOR;
    process.env.ASPACE_EXECUTOR = path;
    try {
      return await f();
    } finally {
      if (saved === undefined) delete process.env.ASPACE_EXECUTOR;
      else process.env.ASPACE_EXECUTOR = saved;
    }
  }

  it("a missing executor is an ExecutorError", async () => {
    await withExecutor(join(dir, "nope"), async () => {
      expect(executorAvailable()).toBe(false);
      await expect(runPrograms([{ name: "p", ops: [] }])).rejects.toBeInstanceOf(ExecutorError);
    });
  });

  it("malformed output is an ExecutorError naming the program and the line", async () => {
    const fake = join(dir, "fake.sh");
    writeFileSync(fake, "#!/bin/sh\ncat >/dev/null\necho 'program p'\necho 'garbage'\n");
    chmodSync(fake, 0o755);
    await withExecutor(fake, async () => {
      const err = await runPrograms([{ name: "p", ops: ["brk 0"] }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExecutorError);
      expect(err).toMatchObject({ program: "p", line: 2 });
      expect((err as Error).message).toMatch(/line 2, program "p".*info.*garbage/);
    });
  });

  it("a child that died in the middle of a snapshot is reported as died, not as an error", async () => {
    const fake = join(dir, "glued.sh");
    const lines = [
      "program p",
      "info start_brk=0x674000 brk=0x696000 start_stack=0x7fffffffee20 rlimit_stack=inf mmap_min_addr=4096",
      "init-maps",
      "00400000-00401000 r--p 00000000 fe:00 1                          /x",
      "init-smaps",
      "00400000 00401000 4 0 rd mr",
      "r 0 0x0",
      "final-maps",
      "00400000-0040killed SIGSEGV",
    ];
    writeFileSync(fake, `#!/bin/sh\ncat >/dev/null\nprintf '%s\\n' ${lines.map((l) => `'${l}'`).join(" ")}\n`);
    chmodSync(fake, 0o755);
    await withExecutor(fake, async () => {
      const [r] = await runPrograms([{ name: "p", ops: ["munmap 0 0"] }]);
      expect(r).toMatchObject({
        died: "SIGSEGV during the final snapshot",
        info: { rlimitStack: null, startBrk: 0x674000n },
        results: [ret(0n)],
        finalMaps: null,
      });
      expect(r?.initSmaps).toEqual([{ start: 0x400000n, end: 0x401000n, rssKb: 4, anonKb: 0, anonHugeKb: 0, flags: ["rd", "mr"] }]);
    });
  });

  it("rejects programs that cannot be framed", async () => {
    await expect(runPrograms([{ name: "a\nb", ops: [] }])).rejects.toBeInstanceOf(ExecutorError);
    await expect(runPrograms([{ name: "big", ops: new Array(8193).fill("brk 0") }])).rejects.toThrow(/at most 8192/);
  });
});

describe("parseMapsLine", () => {
  it("parses a file mapping", () => {
    expect(parseMapsLine("5609460e6000-5609460eb000 r-xp 00002000 fe:00 260131                     /usr/bin/cat")).toEqual({
      start: 0x5609460e6000n,
      end: 0x5609460eb000n,
      perms: "r-xp",
      offset: 0x2000n,
      dev: "fe:00",
      inode: 260131,
      name: "/usr/bin/cat",
    });
  });

  it("parses [vsyscall] above the canonical user half", () => {
    expect(parseMapsLine("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]")).toEqual({
      start: 0xffffffffff600000n,
      end: 0xffffffffff601000n,
      perms: "--xp",
      offset: 0n,
      dev: "00:00",
      inode: 0,
      name: "[vsyscall]",
    });
  });

  it("keeps spaces inside a path and the (deleted) suffix", () => {
    const e = parseMapsLine("7ffff7ff4000-7ffff7ff7000 rw-s 00003000 fe:00 2146350                    /tmp/my dir/a  b (deleted)");
    expect(e.name).toBe("/tmp/my dir/a  b (deleted)");
    expect(e.offset).toBe(0x3000n);
    expect(e.perms).toBe("rw-s");
  });

  it("gives an unnamed VMA (trailing space) an empty name", () => {
    expect(parseMapsLine("004ae000-00674000 rw-p 00000000 00:00 0 ").name).toBe("");
    expect(parseMapsLine("004ae000-00674000 rw-p 00000000 00:00 0").name).toBe("");
  });

  it("accepts wide device majors", () => {
    expect(parseMapsLine("00400000-00401000 r--p 00000000 103:02 42                         /bin/x").dev).toBe("103:02");
  });

  it("throws MapsParseError with the line number on malformed input", () => {
    expect(() => parseMapsLine("00400000-00401000 rwzp 00000000 00:00 0", 7)).toThrow(MapsParseError);
    try {
      parseMaps("00400000-00401000 r--p 00000000 00:00 0 \nnot a maps line\n");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(MapsParseError);
      expect((e as MapsParseError).lineNo).toBe(2);
      expect((e as Error).message).toMatch(/maps line 2/);
    }
    expect(() => parseMapsLine("00401000-00400000 r--p 00000000 00:00 0")).toThrow(/end is not above start/);
  });

  it("parses a whole file, ignoring the final newline", () => {
    const text =
      "00400000-00401000 r--p 00000000 fe:00 1                          /x\n7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";
    expect(parseMaps(text).map((e) => e.name)).toEqual(["/x", "[stack]"]);
  });
});

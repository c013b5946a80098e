// The model runner: op parsing exactly as the executor parses, -EBADOP, the open resolver
// (stat facts, files the program creates), adoption of the executor's initial layout, and a
// short program on both sides where the executor is built.
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ExecResult, parseSmapsLine, runPrograms } from "../src/oracle/executor.js";
import { collectFileFacts, formatDev, layoutFromExec, parseNum, parseOp, runOnModel, statFileFacts } from "../src/oracle/model-runner.js";
import { RECORDED_INIT_MAPS } from "./fixtures/executor-layout.js";

const TWO64 = 1n << 64n;

// The executor child's initial state as the protocol document shows it.
const INIT_MAPS = RECORDED_INIT_MAPS;
const INIT_SMAPS = [
  "400000 401000 4 0 rd mr mw me",
  "401000 47d000 496 0 rd ex mr mw me",
  "47d000 4a6000 128 0 rd mr mw me",
  "4a6000 4ab000 20 8 rd mr mw me ac",
  "4ab000 4ae000 12 12 rd wr mr mw me ac",
  "4ae000 674000 276 276 rd wr mr mw me ac",
  "674000 696000 8 8 rd wr mr mw me ac",
  "7ffff7ff7000 7ffff7ffb000 0 0 rd mr pf io de dd",
  "7ffff7ffb000 7ffff7ffd000 0 0 rd mr pf io de dd",
  "7ffff7ffd000 7ffff7fff000 4 0 rd ex mr mw me de",
  "7ffffffde000 7ffffffff000 8 8 rd wr mr mw me gd ac",
  "ffffffffff600000 ffffffffff601000 0 0 ex",
].map((l) => parseSmapsLine(l) as NonNullable<ReturnType<typeof parseSmapsLine>>);

function fakeInit(): ExecResult {
  return {
    name: "fake",
    info: { startBrk: 0x674000n, brk: 0x696000n, startStack: 0x7fffffffee20n, rlimitStack: 0x800000n, mmapMinAddr: 4096 },
    initMaps: INIT_MAPS,
    initSmaps: INIT_SMAPS,
    results: [],
    finalMaps: INIT_MAPS,
    finalSmaps: INIT_SMAPS,
    died: null,
  };
}

const model = (ops: string[], files = collectFileFacts(ops)) => runOnModel({ name: "t", ops }, fakeInit(), files);
const bad = { kind: "errno", name: "EBADOP" };

describe("parseNum (native/executor.c parse_num)", () => {
  it("reads decimal, 0x/0X hex and negatives as two's complement u64", () => {
    expect(parseNum("0")).toBe(0n);
    expect(parseNum("4096")).toBe(4096n);
    expect(parseNum("0x1000")).toBe(0x1000n);
    expect(parseNum("0XfF")).toBe(0xffn);
    expect(parseNum("-1")).toBe(TWO64 - 1n);
    expect(parseNum("-0x1000")).toBe(TWO64 - 0x1000n);
    expect(parseNum("-0")).toBe(0n);
    expect(parseNum("18446744073709551615")).toBe(TWO64 - 1n);
    expect(parseNum("0xffffffffffffffff")).toBe(TWO64 - 1n);
    expect(parseNum("0x0000000000000000001")).toBe(1n); // leading zeros are not digits that overflow
  });

  it("rejects overflow, empty digits and anything but digits", () => {
    for (const t of [
      "18446744073709551616",
      "0x10000000000000000",
      "",
      "-",
      "0x",
      "-0x",
      "+1",
      "1e3",
      "0b1",
      "12a",
      "--1",
      "0x1g",
      "PROT_READ",
    ]) {
      expect(parseNum(t), t).toBeNull();
    }
  });
});

describe("parseOp (native/executor.c parse_op)", () => {
  it("splits at spaces, tabs and carriage returns", () => {
    expect(parseOp("munmap\t0x1000  4096\r")).toEqual({ kind: "sys", name: "munmap", args: [0x1000n, 4096n] });
    expect(parseOp("  munlockall ")).toEqual({ kind: "sys", name: "munlockall", args: [] });
  });

  it("parses open's path token and access ops", () => {
    expect(parseOp("open /tmp/x 2 -1")).toEqual({ kind: "open", path: "/tmp/x", oflags: 2n, size: TWO64 - 1n });
    expect(parseOp("write 0x1000 16 255")).toEqual({ kind: "access", access: "write", addr: 0x1000n, len: 16n, byte: 255 });
    expect(parseOp("read 0x1000 0")).toEqual({ kind: "access", access: "read", addr: 0x1000n, len: 0n, byte: 0 });
  });

  it("marks malformed lines bad: unknown op, wrong arity, bad numbers, byte > 255, unsendable text", () => {
    for (const l of [
      "",
      "   ",
      "bogus 1",
      "mmap 1 2",
      "munmap 0x1000 zz",
      "brk",
      "brk 0 0",
      "write 0 1 256",
      "write 0 1 -1",
      "open /x 2",
      "end",
      "brk 0\nbrk 0",
      "brk 0\0",
    ]) {
      expect(parseOp(l), JSON.stringify(l)).toEqual({ kind: "bad" });
    }
  });
});

describe("runOnModel", () => {
  it("gives -EBADOP for malformed ops and runs the others", () => {
    const r = model(["bogus 1 2", "mmap 1 2", "munmap 0x1000 zz", "", "end", "brk 0\nbrk 0", "write 0 1 256", "brk 0"]);
    expect(r.results).toEqual([bad, bad, bad, bad, bad, bad, bad, { kind: "ret", value: 0x696000n }]);
    expect(r.errors).toEqual([]);
  });

  it("adopts the executor's layout: a program without ops ends with the initial maps and smaps", () => {
    const r = model([]);
    expect(r.finalMaps).toEqual(INIT_MAPS);
    expect(r.finalSmaps.map((s) => [s.start, s.end, s.flags.join(" ")])).toEqual(
      INIT_SMAPS.map((s) => [s.start, s.end, s.flags.join(" ")]),
    );
  });

  it("converts maps + smaps into a Layout in pages, without the gate VMA", () => {
    const l = layoutFromExec(fakeInit());
    expect(l.vmas).toHaveLength(INIT_MAPS.length - 1);
    expect(l.vmas[1]).toEqual({
      start: 0x401,
      end: 0x47d,
      flags: ["rd", "ex", "mr", "mw", "me"],
      pgoff: 1,
      path: "/work/main/native/build/executor",
      dev: "fe:00",
      ino: 5308517,
      anonKb: 0,
      rssKb: 496,
    });
    expect(l).toMatchObject({ startBrk: 0x674000, brk: 0x696000, startStack: 0x7fffffffee20, rlimitStack: 0x800000 });
  });

  it("reports accesses in the executor's shapes, addresses above 2^53 included", () => {
    const r = model([
      "mmap 0x200000000 0x2000 3 0x32 -1 0",
      "read 0x200000000 0",
      "touch 0x200000000 0x2000",
      "touch 0x200001000 0x2000",
      "write -1 16 1",
      "rtouch 0xffffffffff600000 1",
    ]);
    expect(r.results).toEqual([
      { kind: "ret", value: 0x200000000n },
      { kind: "hash", value: 0n, hash: 0x811c9dc5 },
      { kind: "ret", value: 0n },
      { kind: "fault", signal: "SEGV", offset: 0x1000n },
      { kind: "fault", signal: "SEGV", offset: 0n },
      { kind: "fault", signal: "SEGV", offset: 0n },
    ]);
  });

  it("knows the executor's stdio: fd 0 is a pipe (no mmap), fd 1 is open", () => {
    const r = model(["mmap 0 0x1000 1 2 0 0", "mmap 0 0x1000 3 1 0 0", "close 1", "close 1", "mmap 0 0x1000 1 2 5 0"]);
    expect(r.results.map((x) => (x.kind === "errno" ? x.name : x.kind))).toEqual(["ENODEV", "EACCES", "ret", "EBADF", "EBADF"]);
  });
});

describe("the open resolver", () => {
  const dir = mkdtempSync(join(tmpdir(), "aspace-runner-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("formats st_dev as maps prints it (%02x:%02x of the glibc encoding)", () => {
    expect(formatDev(0xfe00n)).toBe("fe:00");
    expect(formatDev(0x6n)).toBe("00:06");
    expect(formatDev((259n << 8n) | 2n)).toBe("103:02");
    expect(formatDev((0x12n << 8n) | 0x34n | ((0x56n << 12n) << 8n))).toBe("12:5634");
  });

  it("stats a path into FileFacts, null if it does not exist", () => {
    const f = join(dir, "a");
    writeFileSync(f, "x".repeat(5000));
    const st = statSync(f, { bigint: true });
    expect(statFileFacts(f)).toEqual({
      dev: formatDev(st.dev),
      ino: Number(st.ino),
      size: 5000,
      regular: true,
      noexec: false,
      zeroDevice: false,
    });
    expect(statFileFacts(join(dir, "nope"))).toBeNull();
    expect(statFileFacts("/dev/zero")).toMatchObject({ regular: false, zeroDevice: true });
  });

  it("marks paths under the program's directory as created by it", () => {
    const f = join(dir, "b");
    writeFileSync(f, "");
    const facts = collectFileFacts([`open ${f} 2 4096`, "open /dev/zero 2 -1", `open ${join(dir, "nope")} 0 -1`, "bogus"], {
      createdUnder: dir,
    });
    expect([...facts.keys()]).toEqual([f, "/dev/zero"]);
    expect(facts.get(f)?.preexisting).toBe(false);
    expect(facts.get("/dev/zero")?.preexisting).toBe(true);
  });

  it("a created file exists for the model only from the op that creates it", () => {
    const f = join(dir, "c");
    writeFileSync(f, "");
    const ops = [`open ${f} 2 -1`, `open ${f} 2 8192`, `open ${f} 0 -1`, "mmap 0x200000000 0x2000 1 0x12 4 0", "rtouch 0x200000000 0x3000"];
    const st = statSync(f);
    const r = model(ops, collectFileFacts(ops, { createdUnder: dir }));
    expect(r.results.slice(0, 4)).toEqual([
      { kind: "errno", name: "ENOENT" },
      { kind: "ret", value: 3n },
      { kind: "ret", value: 4n },
      { kind: "ret", value: 0x200000000n },
    ]);
    expect(r.finalMaps).toContain(`200000000-200002000 r--p 00000000 ${formatDev(BigInt(st.dev))} ${st.ino}`.padEnd(73, " ") + f);
  });
});

describe("runOnModel against the executor", () => {
  const dir = mkdtempSync(join(tmpdir(), "aspace-runner-live-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("agrees with the kernel on a short program", async () => {
    const ops = [
      "mmap 0x200000000 0x4000 3 0x32 -1 0",
      "write 0x200000000 0x1800 7",
      "read 0x200000000 0x2000",
      "mprotect 0x200001000 0x1000 1",
      "touch 0x200000000 0x3000",
      "munmap 0x200002000 0x1000",
      `open ${dir}/f 2 8192`,
      "mmap 0 0x3000 1 1 3 0",
      "bogus",
      "munmap 0x200000001 0x1000",
    ];
    const [kernel] = await runPrograms([{ name: "short", ops }]);
    if (kernel === undefined) throw new Error("no executor result");
    const r = runOnModel({ name: "short", ops }, kernel, collectFileFacts(ops, { createdUnder: dir }));
    expect(r.results).toEqual(kernel.results);
    expect(r.finalMaps).toEqual(kernel.finalMaps);
  }, 30_000);
});

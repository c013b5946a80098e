// aspace conform --procs: programs with two processes (a peer forked by the executor child),
// prctl, process_vm_readv/writev, pidfd_open + process_madvise and /proc/PID/mem. The
// expected values are the live kernel's, from the native executor run inside each test;
// the model must give the same answers (results, both processes' final maps and VmFlags).
import { describe, expect, it } from "vitest";
import { ConformSession, compareRuns, formatResult, runConform } from "../src/oracle/conform.js";
import { type ExecResult, runPrograms } from "../src/oracle/executor.js";
import { type GenTargets, generateProgram, programSeed, SCRATCH, SHARED_TARGET, targetsFromExec } from "../src/oracle/generator.js";
import { type ModelRun, parseOp } from "../src/oracle/model-runner.js";
import { shrinkOps } from "../src/oracle/shrink.js";
import { RECORDED_INIT_MAPS } from "./fixtures/executor-layout.js";

const hex = (x: bigint) => `0x${x.toString(16)}`;
const u64le = (v: bigint, at: bigint) => `poke ${hex(at)} ${hex(BigInt.asUintN(64, v))}`;

const targets: GenTargets = targetsFromExec(
  {
    info: { startBrk: 0x674000n, brk: 0x696000n, startStack: 0x7fffffffee20n, rlimitStack: 0x800000n, mmapMinAddr: 4096 },
    initMaps: RECORDED_INIT_MAPS,
  } as ExecResult,
  { memoryFailure: false },
);

/** Runs hand-written programs on both sides; returns the kernel's results as printed. */
async function both(programs: string[][]): Promise<Array<{ kernel: ExecResult; results: string[]; divergence: string | null }>> {
  const session = new ConformSession();
  try {
    const runs = await session.runBoth(programs);
    return runs.map((r) => ({
      kernel: r.kernel,
      results: r.kernel.results.map(formatResult),
      divergence: r.divergence?.text ?? null,
    }));
  } finally {
    session.close();
  }
}

describe("executor: the peer process", () => {
  it("runs @1 ops in a forked peer, resolves %N pids, and reports the peer's final state", async () => {
    const A = 0x200000000n;
    const [r] = await runPrograms([
      {
        name: "peer",
        ops: [
          "@1 mmap 0 4096 3 0x22 -1 0", // before the fork: no peer
          "memread %1 0 1", // %1 before the fork
          `mmap ${hex(A)} 0x2000 3 0x22 -1 0`,
          "fork",
          `write ${hex(A)} 0x10 7`, // after the fork: the peer's copy stays zero
          `@1 read ${hex(A)} 0x10`,
          `read ${hex(A)} 0x10`,
          "@1 fork", // only process 0 forks, once
          "fork",
          "@2 fork",
          `touch %0 1`, // pids only where numbers go to the kernel as they are
          `@1 munmap ${hex(A)} 0x1000`,
        ],
      },
    ]);
    if (r === undefined) throw new Error("no result");
    expect(r.died).toBeNull();
    const res = r.results.map(formatResult);
    expect(res.slice(0, 4)).toEqual(["-EBADOP", "-EBADOP", hex(A), "0x1"]);
    // FNV-1a of 16 zero bytes vs 16 bytes of 7: the peer has its own copy.
    expect(res[5]).toBe("0x0 69691905");
    expect(res[6]).not.toBe(res[5]);
    expect(res.slice(7, 11)).toEqual(["-EBADOP", "-EBADOP", "-EBADOP", "-EBADOP"]);
    expect(res[11]).toBe("0x0");
    expect(r.peer?.status).toBe("exit 0");
    // The peer unmapped the first page; process 0 still has both.
    const start = (lines: readonly string[] | null | undefined) =>
      (lines ?? []).filter((l) => l.startsWith("200000000-") || l.startsWith("200001000-"));
    expect(start(r.peer?.finalMaps)).toEqual([expect.stringMatching(/^200001000-200002000 rw-p /)]);
    expect(start(r.finalMaps)).toEqual([expect.stringMatching(/^200000000-200002000 rw-p /)]);
  }, 60_000);

  it("reports a peer that died running an op, then process 0 gives up", async () => {
    const [r] = await runPrograms([{ name: "dies", ops: ["fork", "@1 munmap 0x7ffffffde000 0x21000", "brk 0"] }]);
    expect(r?.results.map(formatResult)).toEqual(["0x1"]);
    expect(r?.peer?.status).toBe("killed SIGSEGV");
    expect(r?.died).toBe("exit 2 at op 1 (@1 munmap 0x7ffffffde000 0x21000)");
  }, 60_000);
});

describe("model against the live kernel: hand-written process programs", () => {
  // Valid struct prctl_mm_map fields for the executor child: brk fields as the kernel has
  // them (from the info line of an empty program: they move with every executor build).
  const stackTop = 0x7ffffffde000n + 0x20000n;
  let brk: [bigint, bigint] = [0n, 0n];
  const mmMap = (fields: Partial<Record<number, bigint>>, tail: bigint = 0xffffffffn << 32n): string[] => {
    const f = [
      0x401000n,
      0x47d000n,
      0x4ab000n,
      0x4ae000n,
      brk[0],
      brk[1],
      stackTop,
      stackTop + 0x100n,
      stackTop + 0x200n,
      stackTop + 0x200n,
      stackTop + 0x300n,
    ];
    const ops = f.map((v, i) => u64le(fields[i] ?? v, SCRATCH + BigInt(i) * 8n));
    return [...ops, u64le(0n, SCRATCH + 88n), u64le(tail, SCRATCH + 96n)];
  };
  const setup = [`mmap ${hex(SCRATCH)} 0x4000 3 0x32 -1 0`, `mmap ${hex(SHARED_TARGET)} 0x8000 3 0x32 -1 0`];
  const setMmMap = `prctl 35 14 ${hex(SCRATCH)} 104 0`;

  it("prctl: PR_SET_MM_MAP rules, single-field PR_SET_MM without CAP_SYS_RESOURCE, PR_SET_VMA, THP disable", async () => {
    const [probe] = await runPrograms([{ name: "probe", ops: [] }]);
    brk = [probe?.info.startBrk ?? 0n, probe?.info.brk ?? 0n];
    const exe = /\s(\/\S+)$/.exec(probe?.initMaps[0] ?? "")?.[1] ?? "";
    expect(exe).toMatch(/executor$/);
    const [valid, low, high, order, stack, single, exeFd] = await both([
      [
        ...setup,
        ...mmMap({}),
        setMmMap,
        "prctl 35 15 0 0 0",
        `prctl 35 15 ${hex(SCRATCH + 0x3000n)} 0 0`,
        `prctl 35 14 ${hex(SCRATCH)} 103 0`,
      ],
      [...setup, ...mmMap({ 0: 0xfffn }), setMmMap],
      [...setup, ...mmMap({ 10: 1n << 47n }), setMmMap],
      [...setup, ...mmMap({ 4: brk[1] + 0x1000n }), setMmMap],
      // start_stack moved into the shared target: the [stack] name follows it.
      [...setup, ...mmMap({ 6: SHARED_TARGET + 0x10n }), setMmMap],
      [
        ...setup,
        "prctl 35 1 0x400000 0 0",
        `prctl 35 7 ${hex(brk[1])} 0 0`,
        "prctl 35 1 0x400000 1 0",
        "prctl 0x53564d41 0 0x200000000 4096 0",
        "prctl 41 1 0 0 0",
        "prctl 42 0 0 0 0",
        "fork",
        "@1 prctl 42 0 0 0 0",
        "prctl 41 0 0 0 0",
        "prctl 42 0 0 0 0",
      ],
      // exe_fd: the executor (executable, but the old exe is still mapped), a 0644 file, a pipe, a closed fd.
      [
        ...setup,
        `open ${exe} 0 -1`, // fd 3; size -1: never truncated
        ...mmMap({}, 3n << 32n),
        setMmMap,
        "open $DIR/f0 0 4096", // fd 4
        ...mmMap({}, 4n << 32n),
        setMmMap,
        ...mmMap({}, 0n),
        setMmMap,
        ...mmMap({}, 50n << 32n),
        setMmMap,
      ],
    ]);
    for (const r of [valid, low, high, order, stack, single, exeFd]) expect(r?.divergence).toBeNull();
    expect(exeFd?.results.filter((x) => x.startsWith("-E"))).toEqual(["-EBUSY", "-EACCES", "-EACCES", "-EBADF"]);
    expect(valid?.results.slice(-4)).toEqual(["0x0", "-EFAULT", "0x0", "-EINVAL"]);
    expect(low?.results.at(-1)).toBe("-EINVAL");
    expect(high?.results.at(-1)).toBe("-EINVAL");
    expect(order?.results.at(-1)).toBe("-EINVAL"); // start_brk above brk
    expect(stack?.results.at(-1)).toBe("0x0");
    expect(stack?.kernel.finalMaps?.find((l) => l.endsWith("[stack]"))).toMatch(/^310000000-310008000 /);
    // CAP_SYS_RESOURCE is missing here: single-field PR_SET_MM is EPERM; arg4 ≠ 0 is EINVAL first.
    expect(single?.results.slice(2)).toEqual(["-EPERM", "-EPERM", "-EINVAL", "-EINVAL", "0x0", "0x1", "0x1", "0x1", "0x0", "0x0"]);
  }, 60_000);

  it("remote access: process_vm_writev refuses a sealed read-only page, /proc/PID/mem writes it", async () => {
    const T = SHARED_TARGET;
    const L = SCRATCH + 0x200n;
    const R = SCRATCH + 0x300n;
    const [r] = await both([
      [
        ...setup,
        `mprotect ${hex(T)} 0x1000 1`,
        `mseal ${hex(T)} 0x1000 0`,
        "fork",
        "pidfd_open %1 0",
        // The peer writes process 0's sealed page: /proc/PID/mem (FOLL_FORCE) and process_vm_writev.
        `@1 memwrite %0 ${hex(T)} 16 90`,
        `@1 ${u64le(T + 0x1000n, L)}`,
        `@1 ${u64le(0x2000n, L + 8n)}`,
        `@1 ${u64le(T, R)}`,
        `@1 ${u64le(0x2000n, R + 8n)}`,
        "@1 process_vm_writev %0 0x300000200 1 0x300000300 1 0",
        `@1 ${u64le(T + 0x1000n, R)}`,
        "@1 process_vm_writev %0 0x300000200 1 0x300000300 1 0", // two writable pages of process 0
        `read ${hex(T)} 16`,
        `memread %0 ${hex(T)} 16`,
        // process_madvise through the pidfd: COLD is allowed remotely, DONTNEED is not.
        `${u64le(T + 0x1000n, L)}`,
        `${u64le(0x1000n, L + 8n)}`,
        "process_madvise 3 0x300000200 1 20 0",
        "process_madvise 3 0x300000200 1 4 0",
        "process_madvise 77 0x300000200 1 20 0",
      ],
    ]);
    expect(r?.divergence).toBeNull();
    const res = r?.results ?? [];
    expect(res.slice(2, 6)).toEqual(["0x0", "0x0", "0x1", "0x3"]); // mprotect, mseal, fork, pidfd
    expect(res[6]).toBe("0x10"); // the sealed read-only page is written through /proc/PID/mem
    expect(res[11]).toBe("-EFAULT"); // process_vm_writev needs VM_WRITE: nothing moved
    expect(res[13]).toBe("0x2000");
    expect(res[14]).toBe("0x0 4f364d45"); // FNV-1a of 16 bytes of 90: what /proc/PID/mem wrote
    expect(res[15]).toBe("0x10 4f364d45");
    expect(res.slice(18)).toEqual(["0x1000", "-EINVAL", "-EBADF"]);
    expect(r?.kernel.finalMaps?.find((l) => l.startsWith("310000000-"))).toMatch(/^310000000-310001000 r--p /);
  }, 60_000);
});

describe("model against the live kernel: iovec edge cases", () => {
  it("process_madvise looks at an empty iovec only first; process_vm_readv checks local iovecs with access_ok", async () => {
    const L = SCRATCH + 0x200n;
    const vec = (entries: Array<[bigint, bigint]>) =>
      entries.flatMap(([b, l], i) => [u64le(b, L + BigInt(i) * 16n), u64le(l, L + BigInt(i) * 16n + 8n)]);
    const setup = [`mmap ${hex(SCRATCH)} 0x4000 3 0x32 -1 0`, "fork", "pidfd_open %1 0"];
    const madv = "process_madvise 3 0x300000200 3 21 0";
    const [r] = await both([
      [
        ...setup,
        ...vec([
          [0n, 0n],
          [SHARED_TARGET + 0x800n, 0n],
          [0n, 0x1007n],
        ]),
        madv, // the unaligned empty iovec is stepped over: madvise(0, 0x1007) → ENOMEM
        ...vec([
          [SHARED_TARGET + 0x800n, 0n],
          [0n, 0n],
          [0n, 0x1007n],
        ]),
        madv, // an unaligned empty first iovec: EINVAL
        ...vec([
          [0xffffffffff600000n, 0n],
          [0n, 0x10n],
          [0n, 0n],
        ]),
        `process_vm_readv %1 ${hex(L)} 2 ${hex(L)} 1 0`, // a local base above TASK_SIZE, even empty: EFAULT
        ...vec([
          [0n, 0x10n],
          [0n, 1n << 63n],
          [0n, 0n],
        ]),
        `process_vm_readv %1 ${hex(L)} 2 ${hex(L)} 1 0`, // a negative length: EINVAL
      ],
    ]);
    expect(r?.divergence).toBeNull();
    expect(r?.results.filter((x) => x.startsWith("-E"))).toEqual(["-ENOMEM", "-EINVAL", "-EFAULT", "-EINVAL"]);
  }, 60_000);
});

describe("model against the live kernel: what fork copies", () => {
  it("the pkey state (without pkeys hardware the first pkey_alloc loses a key, the child's is ENOSPC)", async () => {
    const [r] = await both([["pkey_alloc 0 0", "fork", "@1 pkey_alloc 0 0", "@1 pkey_alloc 0 1", "pkey_alloc 0 0"]]);
    expect(r?.divergence).toBeNull();
  }, 60_000);
});

describe("generator: --procs programs", () => {
  it("fork once, early, before any @1 op; every line parses", () => {
    for (let i = 0; i < 150; i++) {
      const p = generateProgram({ seed: programSeed(5, i), ops: 40, procs: true, whole: i % 3 === 0, targets });
      const forks = p.ops.map((o, k) => (o === "fork" ? k : -1)).filter((k) => k >= 0);
      expect(forks).toHaveLength(1);
      const firstPeer = p.ops.findIndex((o) => o.startsWith("@1 "));
      if (firstPeer >= 0) expect(firstPeer).toBeGreaterThan(forks[0] as number);
      for (const op of p.ops) expect(parseOp(op.replace("$DIR", "/tmp/d")).kind, op).not.toBe("bad");
    }
  });

  it("is deterministic in its seed", () => {
    const a = generateProgram({ seed: 9, ops: 40, procs: true, targets });
    expect(generateProgram({ seed: 9, ops: 40, procs: true, targets })).toEqual(a);
    expect(a.ops.some((o) => /process_vm_|memwrite|memread|prctl|process_madvise/.test(o))).toBe(true);
  });

  it("shrinking keeps a forked program well formed (every candidate parses; @1 ops without the fork are -EBADOP on both sides)", async () => {
    const p = generateProgram({ seed: 3, ops: 30, procs: true, targets });
    const seen: string[][] = [];
    const out = await shrinkOps(p.ops, async (cands) => {
      seen.push(...cands);
      return cands.map((c) => c.includes("fork") && c.some((o) => o.startsWith("@1 ")));
    });
    expect(out).toHaveLength(2);
    expect(out[0]).toBe("fork");
    for (const c of seen) for (const op of c) expect(parseOp(op.replace("$DIR", "/tmp/d")).kind).not.toBe("bad");
  });
});

describe("compareRuns: the peer", () => {
  const ret = (value: bigint) => ({ kind: "ret" as const, value });
  const program = { name: "p", ops: ["fork"] };
  const peer = { finalMaps: RECORDED_INIT_MAPS, finalSmaps: [], status: "exit 0" };
  const kernel = {
    ...({ info: targets, initMaps: RECORDED_INIT_MAPS, initSmaps: [], finalSmaps: [], died: null } as unknown as ExecResult),
    results: [ret(1n)],
    finalMaps: RECORDED_INIT_MAPS,
    peer,
  };
  const model = (p: ModelRun["peer"]): ModelRun => ({
    results: [ret(1n)],
    finalMaps: RECORDED_INIT_MAPS,
    finalSmaps: [],
    errors: [],
    unsupported: null,
    peer: p,
  });

  it("compares the peer's maps and notices a missing or dead peer", () => {
    expect(compareRuns(program, kernel, model({ finalMaps: RECORDED_INIT_MAPS, finalSmaps: [] }))).toBeNull();
    expect(compareRuns(program, kernel, model({ finalMaps: RECORDED_INIT_MAPS.slice(1), finalSmaps: [] }))).toMatchObject({
      kind: "peer-maps",
      index: 0,
    });
    expect(compareRuns(program, kernel, model(null))).toMatchObject({ kind: "peer-maps" });
    const dead = { ...kernel, peer: { ...peer, finalMaps: null, finalSmaps: null, status: "killed SIGSEGV" } };
    expect(compareRuns(program, dead, model({ finalMaps: [], finalSmaps: [] }))).toMatchObject({ kind: "died" });
  });
});

describe("conform --procs: the model against the live kernel", () => {
  it("seed 1: 60 two-process programs agree", async () => {
    const report = await runConform({ programs: 60, seed: 1, ops: 40, procs: true });
    expect(report.programs).toBe(60);
    expect(report.syscalls).toBeGreaterThan(60 * 15);
    if (report.divergences > 0) console.log(`conform --procs: first divergence, shrunk:\n${report.first[0]?.test}`);
    expect(report.divergences).toBe(0);
  }, 120_000);
});

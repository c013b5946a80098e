// aspace conform: the generator (deterministic, never endangers the executor), the shrinker,
// the comparison helpers, and a bounded differential run of the model against the live
// kernel, which must find no divergence.
import { describe, expect, it } from "vitest";
import { compareRuns, formatResult, normalizeMapsLine, runConform } from "../src/oracle/conform.js";
import type { ExecResult } from "../src/oracle/executor.js";
import {
  ARENA,
  endangersExecutor,
  type GenTargets,
  generateProgram,
  materialize,
  programSeed,
  Rng,
  targetsFromExec,
} from "../src/oracle/generator.js";
import { type ModelRun, parseOp } from "../src/oracle/model-runner.js";
import { chunkRemovals, shrinkOps } from "../src/oracle/shrink.js";
import { RECORDED_INIT_MAPS } from "./fixtures/executor-layout.js";

const INIT_MAPS = RECORDED_INIT_MAPS;
const targets: GenTargets = targetsFromExec(
  {
    info: { startBrk: 0x674000n, brk: 0x696000n, startStack: 0x7fffffffee20n, rlimitStack: 0x800000n, mmapMinAddr: 4096 },
    initMaps: INIT_MAPS,
  } as ExecResult,
  { memoryFailure: false },
);

describe("generator", () => {
  it("is deterministic in its seed and starts with the arena's guard VMAs", () => {
    const a = generateProgram({ seed: 42, ops: 40, targets });
    expect(generateProgram({ seed: 42, ops: 40, targets })).toEqual(a);
    expect(generateProgram({ seed: 43, ops: 40, targets }).ops).not.toEqual(a.ops);
    expect(a.ops).toHaveLength(42);
    expect(a.ops[0]).toBe(`mmap 0x${(ARENA - 0x1000n).toString(16)} 0x1000 0 0x4032 -1 0`);
    expect(a.ops[1]).toMatch(/^mmap 0x2[0-9a-f]{8} 0x1000 0 0x4032 -1 0$/);
  });

  it("writes only lines the executor parses", () => {
    for (let i = 0; i < 200; i++) {
      const p = generateProgram({ seed: programSeed(7, i), ops: 40, whole: i % 2 === 0, targets });
      for (const op of materialize(p.ops, "/tmp/d")) expect(parseOp(op).kind, op).not.toBe("bad");
    }
  });

  it("never emits an op that could kill the executor", () => {
    for (let i = 0; i < 300; i++) {
      const p = generateProgram({ seed: programSeed(11, i), ops: 40, whole: true, targets });
      for (const line of p.ops) {
        const [name, ...args] = line.split(" ");
        const op = { name: name as string, args: args.map((a) => (/^-?(0x[0-9a-f]+|\d+)$/.test(a) ? BigInt.asUintN(64, BigInt(a)) : a)) };
        expect(endangersExecutor(op, targets), line).toBe(false);
      }
    }
  });

  it("recognises what would kill the executor", () => {
    const ops: Array<[string, bigint[]]> = [
      ["munmap", [0x401000n, 0x1000n]],
      ["mprotect", [0x7ffffffde000n, 0x1000n, 0n]],
      ["mmap", [0x3ff000n, 0x2000n, 3n, 0x32n, -1n, 0n]],
      ["mremap", [0x674000n, 0x1000n, 0x2000n, 1n, 0n]],
      ["mremap", [ARENA, 0x1000n, 0x1000n, 3n, 0x674000n]],
      ["madvise", [0x4ae000n, 0x1000n, 4n]],
      ["write", [0x7ffffffde000n, BigInt.asUintN(64, -1n), 1n]],
      ["brk", [0x675000n]], // below the initial break: the executor's TLS
      ["close", [100n]],
    ];
    for (const [name, args] of ops) expect(endangersExecutor({ name, args }, targets), `${name} ${args}`).toBe(true);
    const safe: Array<[string, bigint[]]> = [
      ["munmap", [0x7ffff7ffd000n, 0x2000n]], // [vdso]: the executor never calls it
      ["munmap", [0x401000n, BigInt.asUintN(64, -1n)]], // wraps: EINVAL up front
      ["mmap", [0x3ff000n, 0x2000n, 3n, 0x100032n, -1n, 0n]], // FIXED_NOREPLACE: EEXIST
      ["madvise", [0x4ae000n, 0x1000n, 3n]],
      ["brk", [0x670000n]], // below start_brk: refused
      ["brk", [0x700000n]],
    ];
    for (const [name, args] of safe) expect(endangersExecutor({ name, args }, targets), `${name} ${args}`).toBe(false);
  });

  it("derives distinct program seeds and a stable PRNG", () => {
    const seeds = new Set(Array.from({ length: 1000 }, (_, i) => programSeed(1, i)));
    expect(seeds.size).toBe(1000);
    const r = new Rng(1);
    const xs = Array.from({ length: 5 }, () => r.int(0, 1000));
    expect(xs).toEqual(
      Array.from(
        { length: 5 },
        (
          (s) => () =>
            s.int(0, 1000)
        )(new Rng(1)),
      ),
    );
  });
});

describe("shrinker", () => {
  it("drops chunks", () => {
    expect(chunkRemovals(["a", "b", "c", "d", "e"], 2)).toEqual([
      ["c", "d", "e"],
      ["a", "b", "e"],
      ["a", "b", "c", "d"],
    ]);
  });

  it("finds a 1-minimal program", async () => {
    const ops = Array.from({ length: 40 }, (_, i) => `op${i}`);
    // Fails when op3 comes before op30 and op17 is present.
    const fails = (p: string[]) => p.includes("op17") && p.includes("op3") && p.indexOf("op3") < p.indexOf("op30");
    const shrunk = await shrinkOps(ops, async (cands) => cands.map(fails));
    expect(shrunk).toEqual(["op3", "op17", "op30"]);
  });

  it("keeps the best program when the budget runs out", async () => {
    const ops = Array.from({ length: 16 }, (_, i) => `op${i}`);
    const shrunk = await shrinkOps(ops, async (cands) => cands.map((c) => c.includes("op5")), { maxCandidates: 2 });
    expect(shrunk.length).toBeLessThan(16);
    expect(shrunk).toContain("op5");
  });
});

describe("comparison helpers", () => {
  it("formats results as the executor prints them", () => {
    expect(formatResult({ kind: "ret", value: 0x200000000n })).toBe("0x200000000");
    expect(formatResult({ kind: "errno", name: "EINVAL" })).toBe("-EINVAL");
    expect(formatResult({ kind: "fault", signal: "BUS", offset: 0x1000n })).toBe("BUS 0x1000");
    expect(formatResult({ kind: "hash", value: 0n, hash: 0x9a1d1f })).toBe("0x0 009a1d1f");
  });

  it("hides shmem and hugetlbfs inode numbers, whatever their width", () => {
    const k = normalizeMapsLine("7ffff7ff6000-7ffff7ff7000 rw-s 00000000 00:01 1025                       /dev/zero (deleted)");
    const m = normalizeMapsLine("7ffff7ff6000-7ffff7ff7000 rw-s 00000000 00:01 1                          /dev/zero (deleted)");
    expect(k).toBe(m);
    expect(k).toBe("7ffff7ff6000-7ffff7ff7000 rw-s 00000000 00:01 ? /dev/zero (deleted)");
    expect(normalizeMapsLine("40000000-40200000 rw-p 00000000 00:11 314277                             /anon_hugepage (deleted)")).toBe(
      "40000000-40200000 rw-p 00000000 00:11 ? /anon_hugepage (deleted)",
    );
    expect(normalizeMapsLine(INIT_MAPS[0] as string)).toBe(INIT_MAPS[0]);
  });
});

describe("compareRuns", () => {
  const ret = (value: bigint) => ({ kind: "ret" as const, value });
  const program = { name: "p", ops: ["brk 0", "mmap 0 0x1000 3 0x22 -1 0", "brk 0"] };
  const kernel = {
    ...({ info: targets, initMaps: INIT_MAPS, initSmaps: [], finalSmaps: [], died: null } as unknown as ExecResult),
    results: [ret(0x696000n), ret(0x7ffff7ff6000n), ret(0x696000n)],
    finalMaps: INIT_MAPS,
  };
  const model = (m: Partial<ModelRun>): ModelRun => ({
    results: kernel.results,
    finalMaps: INIT_MAPS,
    finalSmaps: [],
    errors: [],
    unsupported: null,
    ...m,
  });

  it("names the first differing op with both results", () => {
    const d = compareRuns(program, kernel, model({ results: [ret(0x696000n), { kind: "errno", name: "ENOMEM" }, ret(0n)] }));
    expect(d).toMatchObject({ kind: "result", index: 1, opName: "mmap" });
    expect(d?.text).toBe("op 1 (mmap 0 0x1000 3 0x22 -1 0): kernel 0x7ffff7ff6000, model -ENOMEM");
  });

  it("names the first differing maps line", () => {
    const d = compareRuns(program, kernel, model({ finalMaps: INIT_MAPS.slice(1) }));
    expect(d).toMatchObject({ kind: "maps", index: 0 });
  });

  it("compares nothing after an op the model declares unsupported", () => {
    const stopped = model({ results: kernel.results.slice(0, 1), finalMaps: [], unsupported: { index: 1, reason: "r" } });
    expect(compareRuns(program, kernel, stopped)).toBeNull();
    const wrongBefore = model({ results: [ret(1n)], unsupported: { index: 1, reason: "r" } });
    expect(compareRuns(program, kernel, wrongBefore)).toMatchObject({ kind: "result", index: 0 });
  });

  it("reports a model that did not answer, and a kernel child that died", () => {
    expect(compareRuns(program, kernel, { failure: "model hung" })).toMatchObject({ kind: "failed", text: "model hung" });
    const died = { ...kernel, results: kernel.results.slice(0, 1), finalMaps: null, died: "SIGSEGV at op 1 (mmap 0 0x1000 3 0x22 -1 0)" };
    expect(compareRuns(program, died, model({}))).toMatchObject({
      kind: "died",
      text: "kernel died: SIGSEGV at op 1 (mmap 0 0x1000 3 0x22 -1 0)",
    });
  });
});

// The differential run: a few hundred programs over both modes. Any divergence fails the test
// and prints the first shrunk program as a ready-to-paste test.
describe("conform: the model against the live kernel", () => {
  // Long programs (120 ops) reach states short ones rarely do: three model bugs were found
  // only by 2000-program sweeps of that length (tests/conform-found.test.ts).
  const runs: Array<{ seed: number; programs: number; whole: boolean; ops: number }> = [
    { seed: 1, programs: 100, whole: false, ops: 40 },
    { seed: 2, programs: 100, whole: false, ops: 40 },
    { seed: 3, programs: 100, whole: false, ops: 40 },
    { seed: 4, programs: 50, whole: true, ops: 40 },
    { seed: 5, programs: 150, whole: true, ops: 120 },
    { seed: 6, programs: 150, whole: false, ops: 120 },
  ];
  for (const { seed, programs, whole, ops } of runs) {
    it(`seed ${seed}: ${programs} ${whole ? "whole-layout" : "arena"} programs of ${ops} ops agree`, async () => {
      const report = await runConform({ programs, seed, ops, whole });
      expect(report.programs).toBe(programs);
      expect(report.syscalls).toBeGreaterThan(programs * (ops / 2));
      if (report.unsupported > 0)
        console.log(`conform seed ${seed}: ${report.unsupported} programs reached an op the model does not support`);
      if (report.divergences > 0) {
        const f = report.first[0];
        console.log(
          `conform seed ${seed}: ${report.divergences}/${programs} programs diverge; first, shrunk (${f?.divergence}):\n${f?.test}`,
        );
      }
      expect(report.divergences).toBe(0);
    }, 600_000);
  }
});

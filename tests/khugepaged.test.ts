// khugepaged collapses blocks of THP-enabled VMAs on its own schedule (it is woken as soon as
// an mm first gets a MADV_HUGEPAGE VMA, then every scan_sleep_millisecs), so the kernel's
// final Rss of such a VMA depends on a race the model cannot see. conform found it as a
// divergence it could not shrink (--whole --ops 300, seed 17: kernel 2052 kB, model 12 kB in
// a 4 MiB MADV_HUGEPAGE region; rerun, the same program gave 12 kB or 2052 kB). The
// executor now reports AnonHugePages, and conform accepts exactly a collapse (and counts it).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareRuns, khugepagedCollapseExplains, khugepagedCollapses } from "../src/oracle/conform.js";
import { type ExecResult, type Program, parseSmapsLine, runPrograms, type SmapsLine } from "../src/oracle/executor.js";
import { materialize } from "../src/oracle/generator.js";
import { collectFileFacts, type ModelRun, readHostEnv, runOnModel } from "../src/oracle/model-runner.js";

// Observed on this machine (a C program doing what seed 17's program did to that region:
// a 4 MiB private anonymous map at 0x7ffff7fff000, MADV_HUGEPAGE, three pages written, one
// below the 2 MiB block and two in it): /proc/PID/smaps right after the writes showed
// Rss 2052 kB, Anonymous 2052 kB, AnonHugePages 2048 kB. The executor's digest of that VMA:
const collapsedOnKernel = parseSmapsLine("7ffff7fff000 7ffff83ff000 2052 2052 2048 rd wr mr mw me ac hg") as SmapsLine;
// What the model has there: the three written pages, two of them in the one 2 MiB block that
// lies wholly inside the VMA.
const model: SmapsLine = {
  start: 0x7ffff7fff000n,
  end: 0x7ffff83ff000n,
  rssKb: 12,
  anonKb: 12,
  flags: ["rd", "wr", "mr", "mw", "me", "ac", "hg"],
  hugeBlockPages: [2],
};

/** Run `ops` on the live kernel and on the model. */
async function onBoth(ops: string[]): Promise<{ program: Program; kernel: ExecResult; model: ModelRun }> {
  const dir = mkdtempSync(join(tmpdir(), "aspace-khp-"));
  try {
    const program = { name: "khugepaged", ops: materialize(ops, dir) };
    const [kernel] = await runPrograms([program]);
    if (kernel === undefined) throw new Error("no executor result");
    const model = runOnModel(program, kernel, collectFileFacts(program.ops, { createdUnder: dir }), readHostEnv());
    return { program, kernel, model };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the executor's smaps digest", () => {
  it("carries AnonHugePages; a digest without it (older executors) still parses", () => {
    expect(collapsedOnKernel).toMatchObject({ rssKb: 2052, anonKb: 2052, anonHugeKb: 2048, flags: model.flags });
    expect(parseSmapsLine("200000000 200002000 8 8 rd wr mr mw me ac")).toMatchObject({ rssKb: 8, anonKb: 8, anonHugeKb: 0 });
    expect(parseSmapsLine("200000000 200002000 8 8")).toMatchObject({ anonHugeKb: 0, flags: [] });
  });

  it("the live kernel's AnonHugePages of a huge page written in a MADV_HUGEPAGE block is 2048 kB", async () => {
    const { kernel, model } = await onBoth([
      "mmap 0x200170000 0x400000 3 50 -1 0",
      "madvise 0x200170000 0x400000 14",
      "touch 0x200230000 1",
    ]);
    expect(kernel.finalSmaps?.find((l) => l.start === 0x200170000n)).toMatchObject({ rssKb: 2048, anonKb: 2048, anonHugeKb: 2048 });
    expect(model.finalSmaps.find((l) => l.start === 0x200170000n)?.hugeBlockPages).toEqual([512]);
  });
});

describe("conform accepts exactly a khugepaged collapse", () => {
  it("the observed collapse explains the difference", () => {
    expect(khugepagedCollapseExplains(collapsedOnKernel, model)).toBe(true);
  });

  it("anything else is still a divergence", () => {
    // One page more than the collapse adds.
    expect(khugepagedCollapseExplains({ ...collapsedOnKernel, rssKb: 2056, anonKb: 2056 }, model)).toBe(false);
    // The kernel shows no huge page.
    expect(khugepagedCollapseExplains({ ...collapsedOnKernel, anonHugeKb: 0 }, model)).toBe(false);
    // The added pages are not anonymous.
    expect(khugepagedCollapseExplains({ ...collapsedOnKernel, anonKb: 12 }, model)).toBe(false);
    // The model's VMA is not THP-enabled (no blocks to collapse).
    expect(khugepagedCollapseExplains(collapsedOnKernel, { ...model, hugeBlockPages: undefined })).toBe(false);
    // A block with no resident page is never collapsed (hpage_collapse_scan_pmd needs one).
    expect(khugepagedCollapseExplains(collapsedOnKernel, { ...model, rssKb: 4, anonKb: 4, hugeBlockPages: [0] })).toBe(false);
    // Fewer pages on the kernel than in the model.
    expect(khugepagedCollapseExplains({ ...collapsedOnKernel, rssKb: 8, anonKb: 8 }, model)).toBe(false);
  });

  it("with two partly resident blocks, either one or both may have been collapsed", () => {
    const two: SmapsLine = { ...model, end: 0x7ffff85ff000n, rssKb: 16, anonKb: 16, hugeBlockPages: [2, 1] };
    const kernel = (rss: number, huge: number): SmapsLine => ({ ...two, rssKb: rss, anonKb: rss, anonHugeKb: huge });
    expect(khugepagedCollapseExplains(kernel(16 + 510 * 4, 2048), two)).toBe(true);
    expect(khugepagedCollapseExplains(kernel(16 + 511 * 4, 2048), two)).toBe(true);
    expect(khugepagedCollapseExplains(kernel(16 + 1021 * 4, 4096), two)).toBe(true);
    expect(khugepagedCollapseExplains(kernel(16 + 1021 * 4, 2048), two)).toBe(false);
  });

  it("counts the collapse it accepted", () => {
    const ks = [collapsedOnKernel];
    const kernelRun = { finalSmaps: ks } as Parameters<typeof khugepagedCollapses>[0];
    const modelRun = { finalSmaps: [model] } as Parameters<typeof khugepagedCollapses>[1];
    expect(khugepagedCollapses(kernelRun, modelRun)).toBe(1);
    expect(khugepagedCollapses({ finalSmaps: [{ ...model, anonHugeKb: 0 }] } as typeof kernelRun, modelRun)).toBe(0);
  });

  it("a program like seed 17's agrees with the live kernel whether or not khugepaged ran in time", async () => {
    const { program, kernel, model } = await onBoth([
      "mmap 0x2001ff000 0x400000 3 50 -1 0",
      "madvise 0x2001ff000 0x400000 14",
      "touch 0x2001ff000 0x3000",
    ]);
    expect(compareRuns(program, kernel, model)).toBeNull();
  });
});

// Divergences that long conform sweeps found (seeds and programs below), each shrunk and run
// again here on the live kernel (the expected values) and on the model. They were model bugs:
// - fault-around on 6.18.44 maps nothing when the first cached page of its window is the
//   file's last page and the 2 MiB block has no page table yet, so a read past EOF there
//   maps no page at all; which blocks have page tables is therefore modeled (allocated by
//   any PTE, the zero page and guard markers included; freed by munmap's free_pgtables and
//   by MADV_DONTNEED of a whole block);
// - MADV_COLLAPSE of shared memory needs a VMA that is 2 MiB-aligned to its file offset and
//   holds a whole aligned 2 MiB block (EINVAL otherwise, ahead of the hole's ENOMEM);
// - copy_to_user()/copy_from_user() fault like user code, so they grow a VM_GROWSDOWN stack;
// - the THP size test wraps around for VMAs ending below 2 MiB (MADV_COLLAPSE succeeds);
// - PR_GET_AUXV in an adopted layout wrote zeros; the executor now reports its auxv, and
//   where an adopted layout has none its bytes are marked unknown (reading them is unsupported);
// - process_vm_readv/writev copy from and to the pages pinned before the copy, byte by byte
//   forward: a copy within one process over the same physical page repeats its own bytes,
//   and a source page pinned as the zero page stays zeroes even if the copy faults it in;
// - exec mappings read ahead from the fault even under MADV_RANDOM;
// - /proc/PID/mem faults are never retried, so a read there maps the page alone (no
//   fault-around of the pages its read-around brought in);
// - MADV_HUGEPAGE read-ahead brings a file in as large folios, which 6.18 maps whole on a
//   fault (finish_fault) and in fault-around, beyond the 16-page window;
// - a write gets a huge page only where the PMD is empty: a 4 KiB zero page read earlier
//   leaves a page table, the huge zero page (a read in a THP-enabled VMA) does not;
// - a same-size MREMAP_FIXED move resumes past the VMA as it was found, so it stops at the
//   range's end even when the moved piece merged into a VMA reaching back into the range;
// - a pidfd is an anon inode, and anon_inodefs is noexec: PROT_EXEC mappings of it are EPERM;
// - MADV_PAGEOUT leaves a page-cache page that another process maps too (folio_mapcount()
//   counts the PTEs of every process, not of one mm);
// - the huge zero page's PMD is tracked (probed directly, after the gap was noticed while
//   fixing the THP faults above): a write replaces it by a huge page whatever the VMA's THP
//   flags, a VMA boundary or a partial zap inside the block splits it into a page table,
//   mremap to an aligned place and fork carry it, and the read gives the VMA an anon_vma;
// - splitting a huge page (MADV_COLD/MADV_FREE over part of it, MADV_PAGEOUT over any of it)
//   unmaps its zero-filled pages to the zero page, unless another process maps it;
// - MADV_REMOVE's hole is unmapped in every process that maps the file, not only the caller;
// - mlock is a count on the page (folio->mlock_count): a VMA that lost VM_LOCKED without
//   munlocking its pages (mremap DONTUNMAP's source), mlocked and munlocked again, leaves them mlocked.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareRuns, normalizeMaps } from "../src/oracle/conform.js";
import { type ExecResult, type Program, runPrograms } from "../src/oracle/executor.js";
import { materialize } from "../src/oracle/generator.js";
import { collectFileFacts, readHostEnv, runOnModel } from "../src/oracle/model-runner.js";

/** Run `ops` on the live kernel (the expected values) and on the model, then `check` both. */
async function onBoth(
  ops: string[],
  check: (program: Program, kernel: ExecResult, model: ReturnType<typeof runOnModel>) => void,
  whatTheModelIsTold: (kernel: ExecResult) => ExecResult = (k) => k,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "aspace-found-"));
  try {
    const program = { name: "found", ops: materialize(ops, dir) };
    const [kernel] = await runPrograms([program]);
    if (kernel === undefined) throw new Error("no executor result");
    const facts = collectFileFacts(program.ops, { createdUnder: dir });
    check(program, kernel, runOnModel(program, whatTheModelIsTold(kernel), facts, readHostEnv()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Both sides agree on every op the model answers; the model stops as unsupported at `at`. */
const agreesUntilUnsupported = (ops: string[], at: number, whatTheModelIsTold?: (kernel: ExecResult) => ExecResult) =>
  onBoth(
    ops,
    (program, kernel, model) => {
      expect(model.unsupported?.index).toBe(at);
      expect(model.results).toEqual(kernel.results.slice(0, at));
      expect(compareRuns(program, kernel, model)).toBeNull();
    },
    whatTheModelIsTold,
  );

/** Both sides give the same results, maps and smaps. */
const agrees = (ops: string[]) =>
  onBoth(ops, (program, kernel, model) => {
    expect(kernel.died).toBeNull();
    expect(model.results).toEqual(kernel.results);
    expect(normalizeMaps(model.finalMaps)).toEqual(normalizeMaps(kernel.finalMaps ?? []));
    expect(compareRuns(program, kernel, model)).toBeNull();
  });

// A file of `size` bytes, its first page read through one mapping (so the page cache holds
// the file), then a read at `fault` through a second mapping at 0x2000c0000 from `offset`.
const readThroughSecondMapping = (size: string, offset: string, fault: string) => [
  `open $DIR/f1 2 ${size}`,
  "mmap 0x300000000 0x20000 1 2 3 0",
  "rtouch 0x300000000 0x1000",
  `mmap 0x2000c0000 0x40000 1 2 3 ${offset}`,
  `rtouch ${fault} 0x1000`,
];

describe("fault-around at the end of a file (found by conform --whole --ops 120, seed 9001)", () => {
  it("the shrunk program: WILLNEED, then a touch past EOF maps nothing (program seed 2997643521)", async () => {
    await agrees([
      "open $DIR/f1 2 0x10000",
      "mmap 0x2000c7000 0xc7000 1 146 3 0x6000",
      "madvise 0x2000cc000 0xa0000 3",
      "touch 0x2000d6000 0x1000",
    ]);
  });
  it("a one-page file read one page past its end maps nothing", async () => {
    await agrees(readThroughSecondMapping("0x1000", "0", "0x2000c1000"));
  });
  it("a two-page file read past its end maps both pages", async () => {
    await agrees(readThroughSecondMapping("0x2000", "0", "0x2000c2000"));
  });
  it("a window clamped to the VMA's start at the last page maps nothing", async () => {
    await agrees(readThroughSecondMapping("0x10000", "0xf000", "0x2000c1000"));
  });
  it("a window starting at a partial last page maps nothing; one starting before it maps it", async () => {
    await agrees(readThroughSecondMapping("0x10800", "0", "0x2000d1000"));
    await agrees([
      "open $DIR/f1 2 0x10800",
      "mmap 0x2000c7000 0xc7000 1 146 3 0x6000",
      "madvise 0x2000cc000 0xa0000 3",
      "rtouch 0x2000d2000 0x1000",
    ]);
  });
  it("only the last page cached, the window starting before it: still nothing", async () => {
    await agrees([
      "open $DIR/f1 2 0x10000",
      "mmap 0x300000000 0x20000 1 2 3 0",
      "madvise 0x30000f000 0x1000 3",
      "mmap 0x2000c0000 0x40000 1 2 3 0xe000",
      "rtouch 0x2000c2000 0x1000",
    ]);
  });
});

describe("MADV_COLLAPSE of shared memory (found by conform --whole --ops 120, seed 31415926)", () => {
  it("the shrunk program: an unaligned shared VMA smaller than 2 MiB is EINVAL, not the hole's ENOMEM", async () => {
    await agrees(["mmap 0x200190000 0x12f000 5 0x100031 -1 0", "madvise 0x200174000 0x400000 25"]);
  });
  it("aligned but smaller than 2 MiB: EINVAL; aligned and 2 MiB: 0", async () => {
    await agrees(["mmap 0x200200000 0x1ff000 3 0x31 -1 0", "madvise 0x200200000 0x1000 25"]);
    await agrees(["mmap 0x200200000 0x200000 3 0x31 -1 0", "madvise 0x200200000 0x1000 25"]);
  });
  it("large enough but not 2 MiB-aligned to its offset: EINVAL even on an aligned block", async () => {
    await agrees(["mmap 0x200190000 0x400000 3 0x31 -1 0", "madvise 0x200400000 0x1000 25"]);
  });
});

describe("the kernel's own copies grow a VM_GROWSDOWN stack (found by conform --procs --ops 120, seed 123457)", () => {
  const stack = (prot: number) => `mmap 0x20009f000 0xd6000 ${prot} 0x132 -1 0`;
  it("the shrunk program: PR_GET_AUXV into a page below the stack grows it and succeeds (program seed 3965674514)", async () => {
    await agrees([stack(3), "prctl 0x41555856 0x200008000 0x1000 0 0"]);
  });
  it("a read-only stack grows, then the copy fails with EFAULT", async () => {
    await agrees([stack(1), "prctl 0x41555856 0x200008000 0x1000 0 0"]);
  });
  it("no growth into the guard gap of an accessible VMA below, and none past RLIMIT_STACK", async () => {
    await agrees(["mmap 0x200000000 0x1000 3 0x32 -1 0", stack(3), "prctl 0x41555856 0x200008000 0x1000 0 0"]);
    await agrees([stack(3), "prctl 0x41555856 0x1f0000000 0x1000 0 0"]);
  });
});

describe("fault-around and page tables (found by conform --whole --ops 200, seed 271828)", () => {
  // A one-page file, its page in the cache; a read one page past its end through a private
  // mapping at 0x200400000, after `before` (ops in the same 2 MiB block).
  const pastEofAfter = (...before: string[]) => [
    "open $DIR/f1 2 0x1000",
    "mmap 0x300000000 0x20000 1 2 3 0",
    "rtouch 0x300000000 0x1000",
    ...before,
    "mmap 0x200400000 0x4000 1 0x12 3 0",
    "rtouch 0x200401000 0x1000",
  ];
  const anon = (addr: string, len: string) => `mmap ${addr} ${len} 3 0x32 -1 0`;
  it("the shrunk programs: a block that already has a page table gets the page mapped (seeds 3482574087, 4144371947)", async () => {
    await agrees([
      "open $DIR/f0 2 0x1000",
      "mmap 0x200067000 0x6000 6 0x100012 3 0",
      "mmap 0 0x6000 3 0x8001 3 0",
      "mmap 0x200140000 0x16d000 7 0x4032 -1 0",
      "write 0x2001b0000 0x1000 207",
      "touch 0x20006b504 0x26000",
    ]);
    await agrees([
      "open $DIR/f0 2 0x1388",
      "open $DIR/f1 2 0x2000",
      "open $DIR/f2 2 0x10000",
      "open $DIR/f3 0 0x1388",
      "mmap 0x20007f000 0x5000 4 0xc022 -1 0",
      "mmap 0x6d9000 0x6000 3 0x8012 6 0",
      "mmap 0x200004000 0x5000 4 2 6 0x1000",
      "touch 0x200008000 0x6000",
    ]);
  });
  it("the executor's own pages near [vdso] give that block a page table (conform --whole --ops 200, seed 2024, program 389314643)", async () => {
    await agrees([
      "open $DIR/f0 2 0x10000",
      "open $DIR/f1 2 0x1000",
      "mmap 0x7ffff7ffb000 0x4000 6 2 4 0",
      "mmap 0 0x230000 2 0x8002 4 0",
      "touch 0x7ffff7ff4000 0x166000",
    ]);
  });
  it("a zero-page read elsewhere in the block gives it a page table", async () => {
    await agrees(pastEofAfter(anon("0x2005f0000", "0x1000"), "rtouch 0x2005f0000 0x1000"));
  });
  it("munmap frees the table of a block it leaves empty, not of one a VMA still reaches", async () => {
    await agrees(pastEofAfter(anon("0x200400000", "0x1000"), "touch 0x200400000 0x1000", "munmap 0x200400000 0x1000"));
    await agrees(
      pastEofAfter(anon("0x200400000", "0x1000"), anon("0x2005f0000", "0x1000"), "touch 0x200400000 0x1000", "munmap 0x200400000 0x1000"),
    );
  });
  it("MAP_FIXED over the only VMA of a block frees its table too", async () => {
    await agrees(pastEofAfter(anon("0x200400000", "0x1000"), "touch 0x200400000 0x1000"));
  });
  it("MADV_DONTNEED of a whole block frees its table; of part of it, or past a guard marker, not", async () => {
    const touched = [anon("0x200400000", "0x200000"), "touch 0x200400000 0x1000"];
    await agrees(pastEofAfter(...touched, "madvise 0x200400000 0x200000 4"));
    await agrees(pastEofAfter(...touched, "madvise 0x200400000 0x1ff000 4"));
    await agrees(pastEofAfter(...touched, "madvise 0x2005ff000 0x1000 102", "madvise 0x200400000 0x200000 4"));
    await agrees(pastEofAfter(...touched, "madvise 0x200400000 0x200000 8"));
  });
});

describe("found by conform --ops 200 (seeds 4242 and 99999)", () => {
  it("MADV_COLLAPSE: a VMA ending below 2 MiB passes the size test by unsigned wrap-around (program seed 3272487394)", async () => {
    await agrees(["mmap 0 0x7000 6 0x102031 -1 0", "madvise 0 0x1fff 25"]);
    await agrees(["mmap 0 0x7000 3 0x32 -1 0", "touch 0 0x1000", "madvise 0 0x2000 25"]);
  });
  it("PR_GET_AUXV gives the executor's own auxv, which it now reports (program seed 2370006320)", async () => {
    await agrees(["fork", "mmap 0 0x5000 11 0x100032 4 0", "prctl 0x41555856 0 0x1000 0 0", "process_vm_writev %1 0 3 0x300000300 2 0"]);
    await agrees(["mmap 0x200000000 0x5000 3 0x32 -1 0", "prctl 0x41555856 0x200000000 0x1000 0 0", "read 0x200000000 0x1c0"]);
  });
  it("without the executor's auxv, the bytes PR_GET_AUXV leaves are unknown: reading them is unsupported", async () => {
    const ops = ["mmap 0x200000000 0x5000 3 0x32 -1 0", "prctl 0x41555856 0x200000000 0x1000 0 0", "read 0x200000000 0x10"];
    await agreesUntilUnsupported(ops, 2, (k) => ({ ...k, info: { ...k.info, auxv: undefined } }));
    await agrees(["mmap 0x200000000 0x5000 3 0x32 -1 0", "prctl 0x41555856 0x200000000 0x1000 0 0", "read 0x200001000 0x10"]);
  });
});

describe("process_vm_readv/writev within one process (found by conform --procs --ops 200, seed 4242)", () => {
  const setup = [
    "mmap 0x300000000 0x4000 3 50 -1 0",
    "mmap 0x310000000 0x8000 3 50 -1 0",
    "poke 0x310000000 0x1122334455667788",
    "poke 0x310000008 0x99aabbccddeeff00",
    "poke 0x310000010 0x0102030405060708",
    "poke 0x310000018 0x1112131415161718",
  ];
  // One local and one remote iovec of 0x40 bytes: local at `local`, remote at `remote`.
  const iovecs = (local: string, remote: string) => [
    `poke 0x300000200 ${local}`,
    "poke 0x300000208 0x40",
    `poke 0x300000300 ${remote}`,
    "poke 0x300000308 0x40",
  ];
  it("the shrunk program: the zero page pinned as a source, and a page copied onto itself (program seed 2130797596)", async () => {
    await agrees([
      "mmap 0x300000000 0x4000 3 50 -1 0",
      "mmap 0x310000000 0x8000 3 50 -1 0",
      "fork",
      "@1 memwrite %0 0x310000000 0x4000 62",
      "@1 memwrite %0 0x310004000 1 177",
      "poke 0x300000200 0x310004008",
      "poke 0x300000208 0x5000",
      "poke 0x300000300 0x310003de1",
      "poke 0x300000308 0x2000",
      "process_vm_readv %0 0x300000200 2 0x300000300 2 0",
      "memread %0 0x310004eb3 16",
    ]);
  });
  it("an overlapping forward copy repeats its first bytes (writev 8 bytes up; readv 8 bytes down)", async () => {
    await agrees([
      ...setup,
      ...iovecs("0x310000000", "0x310000008"),
      "process_vm_writev %0 0x300000200 1 0x300000300 1 0",
      "memread %0 0x310000000 0x60",
    ]);
    await agrees([
      ...setup,
      ...iovecs("0x310000008", "0x310000000"),
      "process_vm_readv %0 0x300000200 1 0x300000300 1 0",
      "memread %0 0x310000000 0x60",
    ]);
  });
  it("after fork the destination is copied on write, so the pinned source keeps the old bytes", async () => {
    await agrees([
      ...setup,
      "fork",
      ...iovecs("0x310000000", "0x310000008"),
      "process_vm_readv %0 0x300000200 1 0x300000300 1 0",
      "memread %0 0x310000000 0x60",
    ]);
  });
});

describe("read-around and retries (found by conform --ops 200, seeds 31337 and 77)", () => {
  it("an exec mapping reads ahead from the fault under MADV_RANDOM too (program seed 3860782595)", async () => {
    await agrees([
      "close 1",
      "open $DIR/f2 2 0x2000",
      "mmap 0x20009f000 0x3fff 5 0x120002 1 0",
      "madvise 0x200087000 0x161000 1",
      "touch 0x20009f983 0x1000",
    ]);
    await agrees(["open $DIR/f2 2 0x2000", "mmap 0x20009f000 0x3fff 1 2 3 0", "madvise 0x20009f000 0x4000 1", "rtouch 0x20009f983 1"]);
  });
  it("a /proc/PID/mem read maps the page alone, a user read the read-around too (program seed 767263531)", async () => {
    await agrees(["fork", "close 1", "open $DIR/f0 2 0x3000", "mmap 0x20000a000 0x7000 3 18 1 0", "@1 memread %0 0x20000b681 1"]);
    await agrees(["open $DIR/f0 2 0x3000", "mmap 0x20000a000 0x7000 3 18 3 0", "memread %0 0x20000b681 1"]);
    await agrees(["open $DIR/f0 2 0x3000", "mmap 0x20000a000 0x7000 3 18 3 0", "rtouch 0x20000b681 1"]);
  });
});

describe("large folios of MADV_HUGEPAGE read-ahead (found by conform --ops 200, seed 5150)", () => {
  // A file of `size` bytes mapped at 0x200000000 (`flags`: 17 shared, 18 private), MADV_HUGEPAGE, then `op`.
  const hugepage = (size: string, flags: number, op: string) => [
    `open $DIR/f0 2 ${size}`,
    `mmap 0x200000000 0x80000 3 ${flags} 3 0`,
    "madvise 0x200000000 0x80000 14",
    op,
  ];
  it("the shrunk program: a shared write fault maps the whole 2-page folio (program seed 3636957358)", async () => {
    await agrees([
      "open $DIR/f0 2 0x2000",
      "mmap 0x2000ba000 0x400000 7 50 -1 0",
      "mmap 0x2000ed000 0x7000 6 17 3 0",
      "madvise 0x20002c000 0x200000 14",
      "write 0x2000eb000 0x3000 100",
    ]);
  });
  it("folios are naturally aligned and cut to the file: 8 pages whole; of 5 pages, [0, 4) and [4]", async () => {
    await agrees(hugepage("0x8000", 17, "write 0x200003000 16 7"));
    await agrees(hugepage("0x5000", 17, "write 0x200001000 16 7"));
    await agrees(hugepage("0x5000", 17, "write 0x200004000 16 7"));
  });
  it("fault-around maps a 32-page folio whole, beyond its 16-page window; a copy-on-write touch too", async () => {
    await agrees(hugepage("0x28000", 18, "rtouch 0x200000000 1"));
    await agrees(hugepage("0x28000", 18, "touch 0x200005000 1"));
    await agrees(hugepage("0x28000", 18, "rtouch 0x200021000 1"));
  });
});

describe("huge pages and the zero page (found by conform --ops 300, seed 2718)", () => {
  const thpArea = ["mmap 0x200170000 0x400000 3 50 -1 0"];
  it("the shrunk program: a 4 KiB zero page read before MADV_HUGEPAGE leaves a page table, so a write gets 4 KiB pages (program seed 3660449499)", async () => {
    await agrees([...thpArea, "rtouch 0x200230000 0x1000", "madvise 0x2001e0000 0x8000000000000000 14", "write 0x20024df64 0x1001 226"]);
  });
  it("a read after MADV_HUGEPAGE maps the huge zero page (no page table): the write still gets a huge page", async () => {
    await agrees([...thpArea, "madvise 0x200170000 0x400000 14", "write 0x20024df64 0x10 226"]);
    await agrees([...thpArea, "madvise 0x200170000 0x400000 14", "rtouch 0x200230000 1", "write 0x20024df64 0x10 226"]);
  });
  it("MADV_DONTNEED of the whole block frees its table: a huge page again; a guard marker keeps 4 KiB pages", async () => {
    await agrees([
      ...thpArea,
      "rtouch 0x200230000 1",
      "madvise 0x200200000 0x200000 4",
      "madvise 0x200170000 0x400000 14",
      "write 0x20024df64 0x10 226",
    ]);
    await agrees([...thpArea, "madvise 0x200170000 0x400000 14", "madvise 0x200250000 0x1000 102", "write 0x20024df64 0x10 226"]);
  });
});

describe("mremap moving a range VMA by VMA (found by conform --whole --ops 300, seed 2718)", () => {
  it("the iteration stops past the range even when the moved piece merged back into it (program seed 517346924)", async () => {
    await agrees(["mmap 0x20005a000 0x2ad000 4 0x2032 -1 0", "mremap 0x2000e6000 0x103000 0x103000 7 0x200232000"]);
    await agrees(["mmap 0x20005a000 0x2ad000 3 0x32 -1 0", "mremap 0x2000e6000 0x103000 0x103000 3 0x200232000"]);
  });
});

describe("mapping a pidfd (found by conform --procs --ops 300, seeds 2600 and 90210)", () => {
  const pidfdAt0 = ["fork", "close 0", "pidfd_open %1 0"];
  it("anon_inodefs is noexec: an executable mapping is EPERM, any other ENODEV (program seed 1458366570)", async () => {
    await agrees([...pidfdAt0, "mmap 0x2001e7000 0x8000 5 18 0 0"]);
    await agrees([...pidfdAt0, "mmap 0x2001e7000 0x8000 4 17 0 0"]);
    await agrees([...pidfdAt0, "mmap 0x2001e7000 0x8000 1 18 0 0"]);
  });
});

describe("MADV_PAGEOUT and pages other processes map (found by conform --procs --ops 300, seed 606060)", () => {
  it("a page-cache page the parent maps too is not reclaimed from the child (program seed 4287957502)", async () => {
    await agrees([
      "pidfd_open %0 0",
      "pidfd_open %0 0",
      "fork",
      "open $DIR/f0 2 0x2000",
      "mmap 0x200039000 0x1000 2 0x8013 5 0",
      "@1 open $DIR/f0 2 -1",
      "@1 mmap 0x2002a2000 0x8000 1 0x8012 5 0",
      "@1 madvise 0x200142000 0x19c000 21",
    ]);
  });
});

describe("the huge zero page's PMD (the model's last known approximation of THP state; probed on the live kernel)", () => {
  // A 6 MiB THP-enabled area; a read in its 2 MiB block [0x200200000, 0x200400000) maps the
  // huge zero page (no page table); `write` then shows whether the PMD still maps it (a
  // huge page: Rss 2048 kB) or was split into a page table (a 4 KiB page).
  const area = ["mmap 0x200000000 0x600000 3 50 -1 0", "madvise 0x200000000 0x600000 14", "rtouch 0x200230000 1"];
  const write = "touch 0x200240000 1";
  const noHuge = "madvise 0x200000000 0x600000 15";
  it("a write replaces it by a huge page even after MADV_NOHUGEPAGE (do_huge_zero_wp_pmd); a read then does not fault", async () => {
    await agrees([...area, noHuge, write]);
    await agrees([...area, noHuge, "rtouch 0x200250000 1", "madvise 0x200000000 0x600000 14", write]);
    await agrees([...area, "madvise 0x200240000 0x1000 23"]);
  });
  it("a VMA boundary inside the block splits it into a page table, even when the VMAs merge again", async () => {
    await agrees([...area, "mprotect 0x200300000 0x1000 1", "mprotect 0x200300000 0x1000 3", write]);
    await agrees([...area, "madvise 0x200000000 0x300000 15", write]);
    await agrees([...area, "madvise 0x200300000 0x1000 102", "madvise 0x200300000 0x1000 103", write]);
    await agrees([...area, "munmap 0x200300000 0x1000", write]);
    await agrees([...area, "mlock 0x200240000 0x1000"]);
  });
  it("a boundary at the block's edge, or a change of the whole VMA, keeps it", async () => {
    await agrees([...area, "madvise 0x200000000 0x400000 15", write]);
    await agrees([...area, "mprotect 0x200000000 0x600000 1", "mprotect 0x200000000 0x600000 3", write]);
    await agrees([...area, "munmap 0x200500000 0x1000", write]);
  });
  it("MADV_DONTNEED of part of the block splits it; of the whole block clears it; MADV_FREE/COLD/PAGEOUT leave it", async () => {
    await agrees([...area, "madvise 0x200300000 0x1000 4", write]);
    await agrees([...area, "madvise 0x200200000 0x200000 4", write]);
    await agrees([...area, "madvise 0x200300000 0x1000 8", write]);
    await agrees([...area, "madvise 0x200300000 0x1000 20", write]);
    await agrees([...area, "madvise 0x200300000 0x1000 21", write]);
  });
  it("mremap moves it with the block to a 2 MiB-aligned place, and splits it for any other", async () => {
    await agrees([...area, noHuge, "mremap 0x200000000 0x600000 0x600000 3 0x201000000", "touch 0x201240000 1"]);
    await agrees([...area, noHuge, "mremap 0x200000000 0x600000 0x600000 3 0x201001000", "touch 0x201241000 1"]);
    await agrees([...area, noHuge, "mremap 0x200200000 0x200000 0x200000 3 0x201000000", "touch 0x201040000 1"]);
  });
  it("the read gives the VMA its anon_vma (vmf_anon_prepare), so a neighbour with another one does not merge", async () => {
    await agrees([
      "mmap 0x200000000 0x400000 3 50 -1 0",
      "madvise 0x200000000 0x400000 14",
      "rtouch 0x200000000 1",
      "mmap 0x200400000 0x1000 3 50 -1 0",
      "touch 0x200400000 1",
      "madvise 0x200400000 0x1000 14",
    ]);
  });
  it("fork gives the child the huge zero page too", async () => {
    await agrees([...area, "fork", noHuge, `@1 ${noHuge}`, "@1 touch 0x200240000 1", "touch 0x200250000 1"]);
  });
});

describe("splitting a huge page frees its zero-filled pages (conform --ops 300, seed 8888001; then probed)", () => {
  // A huge page faulted in at [0x200200000, 0x200400000) by `touch` (which writes back the
  // byte it read, so every page stays zero-filled) or by `write` (which leaves bytes).
  const thp = ["mmap 0x200000000 0x600000 3 50 -1 0", "madvise 0x200000000 0x600000 14", "touch 0x200240000 1"];
  const written = ["mmap 0x200000000 0x600000 3 50 -1 0", "madvise 0x200000000 0x600000 14", "write 0x200240000 0x10 7"];
  it("the shrunk program: MAP_POPULATE, MADV_COLLAPSE, then MADV_COLD over part of a huge page (program seed 2961010393)", async () => {
    await agrees(["mmap 0x2001b6000 0x400000 2 0x8032 -1 0", "madvise 0x2000bc000 0x7ffffffff000 25", "madvise 0x2001c5000 0x1e1000 20"]);
  });
  it("MADV_COLD and MADV_FREE over part of it split it; over all of it they do not", async () => {
    await agrees([...thp, "madvise 0x200300000 0x1000 20"]);
    await agrees([...thp, "madvise 0x200300000 0x1000 8"]);
    await agrees([...thp, "madvise 0x200200000 0x200000 20"]);
    await agrees([...thp, "madvise 0x200000000 0x600000 8"]);
    await agrees([...written, "madvise 0x200300000 0x1000 20"]);
    await agrees([...written, "write 0x200340000 0x10 7", "madvise 0x200300000 0x1000 8"]);
  });
  it("MADV_PAGEOUT splits every huge page it reaches (no swap takes it whole)", async () => {
    await agrees([...thp, "madvise 0x200200000 0x200000 21"]);
    await agrees([...thp, "madvise 0x200300000 0x1000 21"]);
    await agrees([...written, "madvise 0x200000000 0x600000 8", "madvise 0x200000000 0x600000 21"]);
  });
  it("a huge page mapped in part (zapped, cut by a VMA boundary or moved) is split even when the range covers what is mapped", async () => {
    await agrees([...thp, "madvise 0x200300000 0x1000 4", "madvise 0x200200000 0x200000 20"]);
    await agrees([...thp, "mprotect 0x200300000 0x1000 1", "madvise 0x200200000 0x100000 20"]);
    await agrees([...thp, "mremap 0x200200000 0x200000 0x200000 3 0x201001000", "madvise 0x201001000 0x100000 20"]);
  });
  it("a huge page another process maps is left whole; MADV_COLLAPSE of populated memory makes one", async () => {
    await agrees([...thp, "fork", "madvise 0x200300000 0x1000 20"]);
    await agrees(["mmap 0x200000000 0x600000 3 0x8032 -1 0", "madvise 0x200000000 0x600000 25", "madvise 0x200300000 0x1000 20"]);
    await agrees(["mmap 0x200000000 0x600000 3 0x8032 -1 0", "madvise 0x200300000 0x1000 20"]);
  });
});

describe("MADV_REMOVE unmaps the hole from every process (conform --procs --ops 300, seed 52)", () => {
  const shared = ["mmap 0x300000000 0x4000 3 50 -1 0", "mmap 0x310000000 0x8000 3 50 -1 0", "mmap 0x200025000 0x12f000 3 49 -1 0", "fork"];
  it("the shrunk program: a page written into shared memory by process_vm_readv, removed by the peer (program seed 603490982)", async () => {
    await agrees([
      ...shared,
      "poke 0x300000210 0x200136000",
      "poke 0x300000218 0x100",
      "poke 0x300000310 0x310000000",
      "poke 0x300000318 0x1007",
      "process_vm_readv %1 0x300000200 2 0x300000300 2 0",
      "@1 madvise 0x200080000 0xda000 9",
    ]);
  });
  it("shared anonymous memory and a shared file mapping, either process punching", async () => {
    await agrees([...shared, "touch 0x200136000 1", "@1 madvise 0x200136000 0x1000 9"]);
    await agrees([...shared, "@1 touch 0x200136000 1", "madvise 0x200136000 0x1000 9"]);
    await agrees([
      "open $DIR/f1 2 0x4000",
      "mmap 0x200000000 0x4000 3 0x11 3 0",
      "fork",
      "touch 0x200001000 1",
      "@1 madvise 0x200000000 0x4000 9",
    ]);
  });
});

describe("mlock is counted on the page, not the VMA (conform --whole --ops 300, seed 246810)", () => {
  // A 2 MiB shared mapping, mlocked (every page resident and mlocked), then two pages moved
  // away by mremap(MREMAP_DONTUNMAP): the source VMA loses VM_LOCKED but its pages stay mlocked.
  const locked = ["mmap 0x2001e4000 0x200000 3 0x31 -1 0", "mlock 0x2001e4000 0x200000", "mremap 0x20034c000 0x1fff 0x1fff 5 0x2002c0000"];
  const pageout = "madvise 0x2001e4000 0x200000 21";
  it("the shrunk program: mlockall again and munlockall leave the pages mlocked, so MADV_PAGEOUT keeps them (program seed 1709232722)", async () => {
    await agrees([
      "mmap 0x20015a000 0x19b000 3 50 -1 0",
      "mmap 0x2001e4000 0x200000 0 0x4031 -1 0",
      "mprotect 0x2001b3000 0x38b000 11",
      "mlockall 3",
      "mremap 0x20034c000 0x1fff 0x1fff 5 0x2002c0000",
      "mlockall 1",
      "munlockall",
      "madvise 0x200327000 0x6000 21",
    ]);
  });
  it("mlocking a VMA counts its pages up once, munlocking (or unmapping them) counts down", async () => {
    await agrees([...locked, "mlock 0x2001e4000 0x200000", "munlock 0x2001e4000 0x200000", pageout]);
    await agrees([...locked, "munlock 0x2001e4000 0x200000", pageout]);
    await agrees([...locked, "mlock 0x20034c000 0x2000", "munlock 0x2001e4000 0x200000", pageout]);
    await agrees(["mmap 0x2001e4000 0x200000 3 0x31 -1 0", "mlock 0x2001e4000 0x200000", "munlock 0x2001e4000 0x200000", pageout]);
    // A page mapped by a fault in a VM_LOCKED VMA is counted once, whether the fault mapped it or
    // its fault-around did (conform --ops 300, seeds 31 and 9090, found while this was written).
    await agrees([
      "open $DIR/f0 0x402 0x3000",
      "open $DIR/f1 2 0x3000",
      "mmap 0x20004b000 0x4000 5 2 4 0",
      "mlockall 3",
      "munlockall",
      "madvise 0x200016000 0x400000 21",
    ]);
    await agrees([
      "open $DIR/f2 2 0x3000",
      "mmap 0x200293000 0x200000 9 2 3 0",
      "mlockall 3",
      "munlockall",
      "madvise 0x20004d000 0x800000000000 21",
    ]);
    await agrees([
      "open $DIR/f2 2 0x3000",
      "mlockall 2",
      "mmap 0x2000e3000 0x2000 5 18 3 0",
      "munlockall",
      "madvise 0x2000cf000 0x3e000 21",
    ]);
    await agrees([
      "mlockall 3",
      "mmap 0x20002c000 0x400000 1 0x4031 -1 0",
      "mremap 0x2000ee000 0x200000 0x207000 1 0x2000fc000",
      "mmap 0x2000f1000 0x400000 6 56 -1 0",
      "munlockall",
      "madvise 0x20009b000 0x800000000000 21",
    ]);
    // A VMA that is VM_LOCKED already is not walked again (mlock2 ONFAULT only changes the flag).
    await agrees([
      "mmap 0x2001e4000 0x200000 3 0x31 -1 0",
      "mlock 0x2001e4000 0x200000",
      "mlock2 0x2001e4000 0x200000 1",
      "munlock 0x2001e4000 0x200000",
      pageout,
    ]);
  });
});

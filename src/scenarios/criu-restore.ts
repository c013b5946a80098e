// CRIU 4.2 restore of the `loop` program, as observed on the reference machine: the memory
// and prctl calls of the restored task from ftrace
// (../shared/traces/criu/criu42-restore-restoredtask-mem-prctl-process.txt and
// criu42-restore-restorer-phase-all-syscalls.txt; walkthrough in
// ../shared/reference/criu-restore.md §1a–§1c, algorithm §3d–§3e from criu/cr-restore.c,
// criu/pie/restorer.c and criu/pie/parasite-vdso.c).
//
// The restorer runs inside criu's own address space (a clone of criu), so the process here
// is an execve'd program standing in for criu: what matters is that its [vdso]/[vvar] come
// from execve under the policy, exactly as criu's do. Addresses criu chooses at run time
// (the blob, the premap probe, the task args) come from the model's answers, as they came
// from the kernel's; the dumpee's addresses are the image's (mm-13837.img), verbatim.

import { uprobeXolPage } from "../kernel/arch/uprobes.js";
import type { FileFacts } from "../kernel/fs/vfs.js";
import type { Kernel } from "../kernel/kernel.js";
import { parseMaps } from "../kernel/procfs/parse.js";
import { startProcess } from "./process.js";
import { retOf, runProgram, ScenarioProgram } from "./program.js";
import type { CallRecord, Scenario, ScenarioContext } from "./types.js";

const TASK_SIZE = 0x7ffffffff000;
const PROT_R = 1;
const PROT_RW = 3;
const PROT_RWX = 7;
const PROT_RX = 5;
const PROT_WRITE = 2;
const MAP_PRIVATE = 0x02;
const MAP_PRIVATE_ANON = 0x22;
const MAP_PRIVATE_FIXED = 0x12;
const MAP_PRIVATE_FIXED_ANON = 0x32;
const MAP_PRIVATE_FIXED_ANON_GROWSDOWN = 0x132;
const MREMAP_MAYMOVE_FIXED = 3;
const ARCH_MAP_VDSO_64 = 0x2003;
const PR_SET_THP_DISABLE = 41;
const MADV_DONTDUMP = 16;

/** The bootstrap region: restorer blob at its hint, runtime vdso+vvar in its last 0x8000 bytes. */
const BOOTSTRAP = 0x10000;
const BOOTSTRAP_END = 0x38000;
const VDSO_RT_PARKED_AT = 0x30000; // [vvar] 4 pages, [vvar_vclock] 0x34000, [vdso] 0x36000

/** The dumped program's files, as the restorer opened them (fd 3, 4, 5 in the trace). */
const IMAGE_FILES = {
  loop: "/tmp/ct/loop",
  libc: "/usr/lib/x86_64-linux-gnu/libc.so.6",
  ld: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
} as const;

/** What the model needs to know of those files (dev/inode from loop-maps-before-dump.txt). */
export const CRIU_FILES: Record<string, FileFacts> = {
  [IMAGE_FILES.loop]: { dev: "fe:00", ino: 2154588, size: 16272, mode: 0o100755 },
  [IMAGE_FILES.libc]: { dev: "fe:00", ino: 339380, size: 1926232, mode: 0o100755 },
  [IMAGE_FILES.ld]: { dev: "fe:00", ino: 338944, size: 215000, mode: 0o100755 },
};

type FileKey = keyof typeof IMAGE_FILES;

/**
 * Step 11 (restore_mapping): one MAP_FIXED mmap per VMA of mm-13837.img, in address order,
 * with PROT_WRITE added where pages will be read in, as in the trace.
 */
export const RESTORE_MMAPS: ReadonlyArray<{ addr: number; len: number; prot: number; flags: number; file: FileKey | null; off: number }> = [
  { addr: 0x55e0dc2c2000, len: 0x1000, prot: 1, flags: MAP_PRIVATE_FIXED, file: "loop", off: 0 },
  { addr: 0x55e0dc2c3000, len: 0x1000, prot: 7, flags: MAP_PRIVATE_FIXED, file: "loop", off: 0x1000 },
  { addr: 0x55e0dc2c4000, len: 0x1000, prot: 1, flags: MAP_PRIVATE_FIXED, file: "loop", off: 0x2000 },
  { addr: 0x55e0dc2c5000, len: 0x1000, prot: 3, flags: MAP_PRIVATE_FIXED, file: "loop", off: 0x2000 },
  { addr: 0x55e0dc2c6000, len: 0x1000, prot: 3, flags: MAP_PRIVATE_FIXED, file: "loop", off: 0x3000 },
  { addr: 0x55e1101b0000, len: 0x21000, prot: 3, flags: MAP_PRIVATE_FIXED_ANON, file: null, off: 0 },
  { addr: 0x7fe980826000, len: 0x3000, prot: 3, flags: MAP_PRIVATE_FIXED_ANON, file: null, off: 0 },
  { addr: 0x7fe980829000, len: 0x26000, prot: 1, flags: MAP_PRIVATE_FIXED, file: "libc", off: 0 },
  { addr: 0x7fe98084f000, len: 0x156000, prot: 5, flags: MAP_PRIVATE_FIXED, file: "libc", off: 0x26000 },
  { addr: 0x7fe9809a5000, len: 0x53000, prot: 1, flags: MAP_PRIVATE_FIXED, file: "libc", off: 0x17c000 },
  { addr: 0x7fe9809f8000, len: 0x4000, prot: 3, flags: MAP_PRIVATE_FIXED, file: "libc", off: 0x1cf000 },
  { addr: 0x7fe9809fc000, len: 0x2000, prot: 3, flags: MAP_PRIVATE_FIXED, file: "libc", off: 0x1d3000 },
  { addr: 0x7fe9809fe000, len: 0xd000, prot: 3, flags: MAP_PRIVATE_FIXED_ANON, file: null, off: 0 },
  { addr: 0x7fe980a10000, len: 0x2000, prot: 3, flags: MAP_PRIVATE_FIXED_ANON, file: null, off: 0 },
  { addr: 0x7fe980a12000, len: 0x5000, prot: 3, flags: MAP_PRIVATE_FIXED_ANON, file: null, off: 0 },
  { addr: 0x7fe980a17000, len: 0x6000, prot: 1, flags: MAP_PRIVATE_FIXED_ANON, file: null, off: 0 },
  { addr: 0x7fe980a1d000, len: 0x2000, prot: 7, flags: MAP_PRIVATE_FIXED_ANON, file: null, off: 0 },
  { addr: 0x7fe980a1f000, len: 0x1000, prot: 1, flags: MAP_PRIVATE_FIXED, file: "ld", off: 0 },
  { addr: 0x7fe980a20000, len: 0x26000, prot: 5, flags: MAP_PRIVATE_FIXED, file: "ld", off: 0x1000 },
  { addr: 0x7fe980a46000, len: 0xa000, prot: 1, flags: MAP_PRIVATE_FIXED, file: "ld", off: 0x27000 },
  { addr: 0x7fe980a50000, len: 0x2000, prot: 3, flags: MAP_PRIVATE_FIXED, file: "ld", off: 0x31000 },
  { addr: 0x7fe980a52000, len: 0x2000, prot: 3, flags: MAP_PRIVATE_FIXED, file: "ld", off: 0x33000 },
  { addr: 0x7ffe123d7000, len: 0x21000, prot: 3, flags: MAP_PRIVATE_FIXED_ANON_GROWSDOWN, file: null, off: 0 },
];

/** Step 14: drop the temporary PROT_WRITE (the trace's mprotects, in order). */
export const RESTORE_MPROTECTS: ReadonlyArray<readonly [number, number, number]> = [
  [0x55e0dc2c3000, 0x1000, 5],
  [0x55e0dc2c5000, 0x1000, 1],
  [0x7fe9809f8000, 0x4000, 1],
  [0x7fe980a10000, 0x2000, 1],
  [0x7fe980a1d000, 0x2000, 5],
  [0x7fe980a50000, 0x2000, 1],
];

/** The dumpee's [vvar] (6 pages, with [vvar_vclock]) and [vdso] (2 pages). */
const OLD_VVAR = 0x7fe980a17000;
const OLD_VCLOCK = 0x7fe980a1b000;
const OLD_VDSO = 0x7fe980a1d000;

const RESTORER_FAILS =
  "criu/pie/restorer.c __export_restore_task: pr_err, goto core_restore_end: the task aborts the restore (futex abort, exit_group); `criu restore` reports failure and the process is not restored";

export type CriuVariant = "remap" | "proxy" | "park" | "uprobe";

const PR_SET_MM = 35;
const PR_SET_MM_MAP = 14;
const PRCTL_MM_MAP_SIZE = 104;
/** Where the restorer's task args hold struct prctl_mm_map (the trace's arg3) and the auxv. */
const MM_MAP_AT = 0x24fc0;
const AUXV_AT = 0x25100;

/** mm-13837.img (criu42-mm-img-decoded.json): start_code … env_end, in struct order. */
export const IMAGE_MM = [
  0x55e0dc2c3000n, // start_code
  0x55e0dc2c32e5n, // end_code
  0x55e0dc2c5dd0n, // start_data
  0x55e0dc2c6048n, // end_data
  0x55e1101b0000n, // start_brk
  0x55e1101d1000n, // brk
  0x7ffe123f5dd0n, // start_stack
  0x7ffe123f7a23n, // arg_start
  0x7ffe123f7a2an, // arg_end
  0x7ffe123f7a2an, // env_start
  0x7ffe123f7ff1n, // env_end
] as const;

/** mm_saved_auxv of the image, as (type, value) pairs; AT_NULL ends it. */
export const IMAGE_AUXV: readonly bigint[] = [
  33n,
  140640862195712n,
  51n,
  3376n,
  16n,
  395049983n,
  6n,
  4096n,
  17n,
  100n,
  3n,
  94424254914624n,
  4n,
  56n,
  5n,
  13n,
  7n,
  140640862203904n,
  8n,
  0n,
  9n,
  94424254918832n,
  11n,
  0n,
  12n,
  0n,
  13n,
  0n,
  14n,
  0n,
  23n,
  0n,
  25n,
  140729204564121n,
  26n,
  2n,
  31n,
  140729204572145n,
  15n,
  140729204564137n,
  27n,
  28n,
  28n,
  32n,
  0n,
  0n,
];

function auxvBytes(): Uint8Array {
  const b = new Uint8Array(IMAGE_AUXV.length * 8);
  const dv = new DataView(b.buffer);
  IMAGE_AUXV.forEach((w, i) => {
    dv.setBigUint64(i * 8, w, true);
  });
  return b;
}

/** struct prctl_mm_map (include/uapi/linux/prctl.h): 11 u64, auxv pointer, auxv_size, exe_fd. */
function prctlMmMap(auxv: number, exeFd: number): Uint8Array {
  const b = new Uint8Array(PRCTL_MM_MAP_SIZE);
  const dv = new DataView(b.buffer);
  IMAGE_MM.forEach((w, i) => {
    dv.setBigUint64(i * 8, w, true);
  });
  dv.setBigUint64(88, BigInt(auxv), true);
  dv.setUint32(96, IMAGE_AUXV.length * 8, true);
  dv.setUint32(100, exeFd, true);
  return b;
}

/** Where criu's own system mappings are, read from /proc/self/maps as criu does (vdso.c). */
function ownSystemMappings(kernel: Kernel, pid: number): Record<string, { start: number; len: number }> {
  const out: Record<string, { start: number; len: number }> = {};
  for (const e of parseMaps(kernel.maps(pid))) {
    if (e.name === "[vdso]" || e.name === "[vvar]" || e.name === "[vvar_vclock]") {
      out[e.name] = { start: Number(e.start), len: Number(e.end - e.start) };
    }
  }
  return out;
}

function restore(kernel: Kernel, ctx: ScenarioContext, variant: CriuVariant): CallRecord[] {
  // criu as an adapted tool would run it: asks for the proposed opt-out before execve (a
  // kernel without the proposal ignores it) and holds root's capabilities.
  const started = startProcess(kernel, "/usr/bin/true", ["criu"], { policy: ctx.policy, optOutRequested: true });
  const prog = new ScenarioProgram(kernel, started.pid);
  return runProgram(prog, (p) => {
    const pid = p.pid;
    // Phase A, still criu: the restorer blob, the premap probe, the build-id checks.
    const blob = retOf(p.call("mmap", [0, 0xd000, PROT_RWX, MAP_PRIVATE_ANON, -1, 0], { step: "A2 restorer blob copy" }));
    const premap = retOf(p.call("mmap", [0, 0x270000, 0, MAP_PRIVATE_ANON, -1, 0], { step: "A3 premap probe" }));
    p.call("munmap", [premap, 0x270000], { step: "A3 premap probe released (premap area shrunk to 0)" });
    const taskArgs = retOf(p.call("mmap", [0, 0x1000, PROT_RW, MAP_PRIVATE_ANON, -1, 0], { step: "A task args" }));
    const fds: Partial<Record<FileKey, number>> = {};
    for (const [key, path] of Object.entries(IMAGE_FILES) as Array<[FileKey, string]>) {
      const r = kernel.open(pid, path, 0);
      if ("errno" in r) throw new Error(`criu scenario: open(${path}) failed in the model: ${r.name}`);
      fds[key] = Number(r.ret);
    }
    for (const [key, len] of [
      ["loop", 0x3f90],
      ["libc", 0x100000],
      ["ld", 0x347d8],
    ] as const) {
      const a = retOf(p.call("mmap", [0, len, PROT_R, MAP_PRIVATE, fds[key] as number, 0], { step: `A4 build-id check of ${key}` }));
      p.call("munmap", [a, len], { step: `A4 build-id check of ${key} done` });
    }
    const threadArgs = retOf(p.call("mmap", [0, 0x2000, PROT_RW, MAP_PRIVATE_ANON, -1, 0], { step: "A thread args" }));
    const sigframe = retOf(p.call("mmap", [0, 0x2000, PROT_RW, MAP_PRIVATE_ANON, -1, 0], { step: "A thread sigframe" }));
    p.call("mremap", [blob, 0xd000, 0xd000, MREMAP_MAYMOVE_FIXED, BOOTSTRAP], {
      step: "A5 move the blob to the bootstrap hint",
      expect: BigInt(BOOTSTRAP),
    });
    p.call("mmap", [0x1d000, 0xd000, PROT_RW, MAP_PRIVATE_FIXED_ANON, -1, 0], { step: "A6 restorer stack/bss", expect: 0x1d000n });
    p.call("mremap", [taskArgs, 0x1000, 0x1000, MREMAP_MAYMOVE_FIXED, 0x2a000], {
      step: "A6 task args into the bootstrap",
      expect: 0x2a000n,
    });
    p.call("mremap", [threadArgs, 0x2000, 0x2000, MREMAP_MAYMOVE_FIXED, 0x2b000], {
      step: "A6 thread args into the bootstrap",
      expect: 0x2b000n,
    });
    p.call("mremap", [sigframe, 0x2000, 0x2000, MREMAP_MAYMOVE_FIXED, 0x2d000], {
      step: "A6 sigframe into the bootstrap",
      expect: 0x2d000n,
    });

    if (variant === "park") {
      // §1c: without ARCH_MAP_VDSO, criu parks its own vdso/vvar in the bootstrap tail.
      const own = ownSystemMappings(kernel, pid);
      for (const [name, to] of [
        ["[vdso]", 0x36000],
        ["[vvar_vclock]", 0x34000],
        ["[vvar]", 0x30000],
      ] as const) {
        const m = own[name];
        if (m === undefined) continue;
        p.call("mremap", [m.start, m.len, m.len, MREMAP_MAYMOVE_FIXED, to], {
          step: `A park criu's own ${name} at 0x${to.toString(16)}`,
          expect: BigInt(to),
          reaction: `${RESTORER_FAILS} (park path: vdso_do_park fails)`,
        });
      }
    }

    if (variant === "uprobe") {
      // A uprobe fires in this task before the restorer runs (e.g. a system-wide bpftrace
      // probe on libc's malloc, which criu calls while preparing the restore): the kernel
      // creates the [uprobes] XOL page (kernel/events/uprobes.c xol_add_vma; a model
      // operation, no syscall makes it). unmap_old_vmas then covers it too.
      const xol = uprobeXolPage(kernel.process(pid).mm, true);
      if (xol < 0) throw new Error(`criu scenario: the uprobes XOL page could not be created (errno ${-xol})`);
    }
    // Phase B, the restorer: unmap_old_vmas() keeps only the bootstrap (premap is empty).
    p.call("munmap", [0, BOOTSTRAP], { step: "B8 unmap_old_vmas 1/3: below the bootstrap", reaction: RESTORER_FAILS });
    p.call("munmap", [BOOTSTRAP_END, Number(premap) - BOOTSTRAP_END], {
      step: "B8 unmap_old_vmas 2/3: bootstrap end to premap",
      reaction: RESTORER_FAILS,
    });
    p.call("munmap", [premap, TASK_SIZE - Number(premap)], {
      step: "B8 unmap_old_vmas 3/3: premap to TASK_SIZE",
      reaction: RESTORER_FAILS,
    });
    if (variant !== "park") {
      p.call("arch_prctl", [ARCH_MAP_VDSO_64, VDSO_RT_PARKED_AT], {
        step: "B9 ARCH_MAP_VDSO_64 at the bootstrap tail (returns the vdso image size)",
        expect: 0x2000n,
        kind: "vdso",
        reaction: RESTORER_FAILS,
      });
    }
    p.call("prctl", [PR_SET_THP_DISABLE, 0, 0, 0, 0], { step: "B10 PR_SET_THP_DISABLE", reaction: RESTORER_FAILS });
    for (const m of RESTORE_MMAPS) {
      const fd = m.file === null ? -1 : (fds[m.file] as number);
      p.call("mmap", [m.addr, m.len, m.prot, m.flags, fd, m.off], {
        step: `B11 restore_mapping ${m.file ?? "anon"} 0x${m.addr.toString(16)}`,
        expect: BigInt(m.addr),
        reaction: RESTORER_FAILS,
      });
      if (m.file !== null && m === RESTORE_MMAPS.filter((x) => x.file === m.file).at(-1)) {
        p.call("close", [fd], { step: `B11 close ${m.file}` });
      }
    }
    // B12 preadv of pages-1.img fills the pages in place: contents, not layout.
    if (variant === "proxy") {
      // §1b: keep the dumped copy as a proxy; stamp a mark into the runtime vdso.
      p.call("mprotect", [0x36000, 0x2000, PROT_WRITE], {
        step: "B13 proxy: runtime vdso writable to stamp the mark",
        reaction: RESTORER_FAILS,
      });
      p.call("mprotect", [0x36000, 0x2000, PROT_RX], { step: "B13 proxy: runtime vdso back to r-x", reaction: RESTORER_FAILS });
    } else {
      // §1a remap_rt_vdso (and the park path): drop the dumped copies, move the kernel's.
      const src = { vdso: 0x36000, vclock: 0x34000, vvar: 0x30000 };
      p.call("munmap", [OLD_VDSO, 0x2000], { step: "B13 drop the dumped vdso copy", reaction: RESTORER_FAILS });
      p.call("munmap", [OLD_VVAR, 0x6000], { step: "B13 drop the vvar placeholder", reaction: RESTORER_FAILS });
      p.call("mremap", [src.vdso, 0x2000, 0x2000, MREMAP_MAYMOVE_FIXED, OLD_VDSO], {
        step: "B13 move the runtime [vdso] onto the dumpee's",
        expect: BigInt(OLD_VDSO),
        reaction: RESTORER_FAILS,
      });
      p.call("mremap", [src.vclock, 0x2000, 0x2000, MREMAP_MAYMOVE_FIXED, OLD_VCLOCK], {
        step: "B13 move the runtime [vvar_vclock]",
        expect: BigInt(OLD_VCLOCK),
        reaction: RESTORER_FAILS,
      });
      p.call("mremap", [src.vvar, 0x4000, 0x4000, MREMAP_MAYMOVE_FIXED, OLD_VVAR], {
        step: "B13 move the runtime [vvar]",
        expect: BigInt(OLD_VVAR),
        reaction: RESTORER_FAILS,
      });
    }
    for (const [a, l, prot] of RESTORE_MPROTECTS) {
      p.call("mprotect", [a, l, prot], { step: `B14 drop the temporary PROT_WRITE at 0x${a.toString(16)}`, reaction: RESTORER_FAILS });
    }
    p.call("madvise", [OLD_VVAR, 0x6000, MADV_DONTDUMP], { step: "B15 madvise bits of the vvar VMA (DONTDUMP)", reaction: RESTORER_FAILS });
    // B16 PR_SET_NAME is not an address-space call. B17: PR_SET_MM_MAP with the image's mm
    // fields, its saved auxv and the dumped exe as exe_fd, from the restorer's task args.
    const exe = kernel.open(pid, IMAGE_FILES.loop, 0);
    if ("errno" in exe) throw new Error(`criu scenario: open(${IMAGE_FILES.loop}) failed in the model: ${exe.name}`);
    const exeFd = Number(exe.ret);
    if (!kernel.writeMemory(pid, MM_MAP_AT, prctlMmMap(AUXV_AT, exeFd)) || !kernel.writeMemory(pid, AUXV_AT, auxvBytes())) {
      throw new Error("criu scenario: the restorer's task args are not writable in the model");
    }
    p.call("prctl", [PR_SET_MM, PR_SET_MM_MAP, MM_MAP_AT, PRCTL_MM_MAP_SIZE, 0], {
      step: "B17 PR_SET_MM_MAP: the image's mm fields, saved auxv and exe_fd",
      reaction: RESTORER_FAILS,
    });
    p.call("close", [exeFd], { step: "B17 close the exe fd" });
    p.call("munmap", [0x2a000, 0x5000], { step: "B20 free the task args", reaction: RESTORER_FAILS });
    // After rt_sigreturn criu (ptrace) injects the final munmap: all of the bootstrap, or
    // all but the parked runtime vdso when the proxy keeps it.
    const rest = variant === "proxy" ? VDSO_RT_PARKED_AT - BOOTSTRAP : BOOTSTRAP_END - BOOTSTRAP;
    p.call("munmap", [BOOTSTRAP, rest], {
      step: "B21 compel_unmap of the bootstrap",
      reaction: "criu reports the restore failed (compel_unmap)",
    });
  });
}

function criuScenario(variant: CriuVariant, what: string, source: string): Scenario {
  return {
    name: variant === "remap" ? "criu-restore" : `criu-restore-${variant}`,
    what,
    source,
    files: CRIU_FILES,
    run: (kernel, ctx) => restore(kernel, ctx, variant),
  };
}

export const CRIU_RESTORE = criuScenario(
  "remap",
  "CRIU 4.2 restores `loop`: unmaps everything but its bootstrap (its own vdso included), maps a fresh vdso with ARCH_MAP_VDSO, recreates the image's VMAs, moves the runtime vdso/vvar onto the dumpee's addresses",
  "../shared/traces/criu/criu42-restore-restoredtask-mem-prctl-process.txt (ftrace of the restored task); criu/pie/restorer.c unmap_old_vmas, criu/pie/parasite-vdso.c remap_rt_vdso; reference criu-restore.md §1a",
);

export const CRIU_RESTORE_PROXY = criuScenario(
  "proxy",
  "The same restore when the runtime vdso does not match the dumped one (CRIU_FAULT=127): the dumped copy stays as a proxy, the runtime vdso is made writable to stamp a mark",
  "criu-restore.md §1b (traces criu42-restore-fi127-vdso-proxy*); criu/pie/parasite-vdso.c add_vdso_proxy",
);

export const CRIU_RESTORE_UPROBE = criuScenario(
  "uprobe",
  "The same restore (remap path) when a uprobe has fired in the restoring task first (e.g. system-wide bpftrace on libc): its [uprobes] XOL page lies in the range unmap_old_vmas removes",
  "criu-restore.md §1a; kernel/events/uprobes.c xol_add_vma (first uprobe hit), reference linux-6.18-mm.md §3 (uprobes sealed by sysmap; the opt-out covers vdso/vvar/sigpage, not uprobes)",
);

export const CRIU_RESTORE_PARK = criuScenario(
  "park",
  "The same restore without ARCH_MAP_VDSO (CRIU_FAULT=133, the path of architectures that lack it): criu parks its own vdso/vvar in the bootstrap tail with mremap before unmapping",
  "criu-restore.md §1c (traces criu42-restore-fi133-vdso-park*); criu/pie/restorer.c vdso_do_park",
);

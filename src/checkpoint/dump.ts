// Dump a modeled process to CRIU images, as criu dump would write them for the same
// address space: VMAs classified as criu/proc_parse.c does (special names, file vs
// anonymous, VmFlags → madvise bits), [vvar]+[vvar_vclock] recorded as one VVAR VMA (CRIU PR
// #2539), [vsyscall] recorded but never restored, pages as criu's parasite sees them
// (present private pages: anonymous and copy-on-write; vdso pages whole; vvar never),
// adjacent runs coalesced into one pagemap entry, files in files.img.
//
// aspace extension: VM_SEALED is recorded in VmaEntry.aspace_sealed (field 1000, ignored by
// CRIU), so that a seal-preserving restore can re-seal.
//
// What the model cannot dump: registers and FPU state (it runs no code: core.thread_info is
// absent, so real CRIU could decode these images but not resume them), shared memory
// contents (shmem), and the [vdso]'s bytes unless the caller supplies the kernel's vdso
// image (the model does not know them).

import { create } from "@bufbuild/protobuf";
import type { OpenFile } from "../kernel/fs/file.js";
import type { Kernel } from "../kernel/kernel.js";
import type { Vma } from "../kernel/mm/vma.js";
import {
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGEPAGE,
  VM_MERGEABLE,
  VM_NOHUGEPAGE,
  VM_RAND_READ,
  VM_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_WIPEONFORK,
  VM_WRITE,
} from "../kernel/uapi/vmflags.js";
import { Unsupported } from "../kernel/unsupported.js";
import { CoreEntrySchema, TaskCoreEntrySchema, TaskKobjIdsEntrySchema } from "./gen/criu/core_pb.js";
import { FileEntrySchema, FownEntrySchema, RegFileEntrySchema } from "./gen/criu/files_pb.js";
import { InventoryEntrySchema } from "./gen/criu/inventory_pb.js";
import { MmEntrySchema } from "./gen/criu/mm_pb.js";
import { type PagemapEntry, PagemapEntrySchema } from "./gen/criu/pagemap_pb.js";
import { PstreeEntrySchema } from "./gen/criu/pstree_pb.js";
import { type VmaEntry, VmaEntrySchema } from "./gen/criu/vma_pb.js";
import { encodeEntry } from "./images/codec.js";
import { type FileContent, type WriteTimes, writeDirFilesAtomic } from "./images/dir.js";
import { writeFraming } from "./images/framing.js";
import type { CheckpointImages, TaskImages } from "./images/image-set.js";
import { encodeImages, PE_LAZY, PE_PRESENT } from "./images/image-set.js";
import { type PageRunRefs, packPages, pagePieces, readPrivatePages } from "./restore/contents.js";
import {
  MAP_ANONYMOUS,
  MAP_GROWSDOWN,
  MAP_PRIVATE,
  MAP_SHARED,
  PAGE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  VMA_ANON_PRIVATE,
  VMA_ANON_SHARED,
  VMA_AREA_HEAP,
  VMA_AREA_REGULAR,
  VMA_AREA_VDSO,
  VMA_AREA_VSYSCALL,
  VMA_AREA_VVAR,
  VMA_FILE_PRIVATE,
  VMA_FILE_SHARED,
} from "./status.js";

export interface DumpOptions {
  /** The kernel's vdso image (its bytes are not known to the model); needed when the process has a [vdso]. */
  vdsoImage?: Uint8Array;
  /** pages-N.img id (default 1). */
  pagesId?: number;
  /**
   * Pages whose bytes the model does not know: private copies of file pages (the page
   * execve's padzero() touched) and anonymous pages with some unknown bytes (the stack page
   * holding AT_RANDOM). "approximate" dumps the file's bytes for the former and the model's
   * known bytes (zeros for the unknown ones) for the latter, and lists each page in
   * `warnings`; by default they are Unsupported.
   */
  unknownPages?: "error" | "approximate";
  /** Filled with one line per approximation made. */
  warnings?: string[];
}

/** madvise bits CRIU derives from VmFlags (proc_parse.c __parse_vmflags). */
const MADV_FROM_FLAGS: Array<[number, number]> = [
  [VM_SEQ_READ, 2], // sr → MADV_SEQUENTIAL
  [VM_RAND_READ, 1], // rr → MADV_RANDOM
  [VM_DONTCOPY, 10], // dc → MADV_DONTFORK
  [VM_DONTDUMP, 16], // dd → MADV_DONTDUMP
  [VM_MERGEABLE, 12], // mg → MADV_MERGEABLE
  [VM_HUGEPAGE, 14], // hg → MADV_HUGEPAGE
  [VM_NOHUGEPAGE, 15], // nh → MADV_NOHUGEPAGE
  [VM_WIPEONFORK, 18], // wf → MADV_WIPEONFORK
];

function protOf(v: Vma): number {
  return (
    ((v.flags & VM_READ) !== 0 ? PROT_READ : 0) |
    ((v.flags & VM_WRITE) !== 0 ? PROT_WRITE : 0) |
    ((v.flags & VM_EXEC) !== 0 ? PROT_EXEC : 0)
  );
}

function madvOf(v: Vma): bigint {
  let m = 0n;
  for (const [flag, bit] of MADV_FROM_FLAGS) if ((v.flags & flag) !== 0) m |= 1n << BigInt(bit);
  return m;
}

/** Dump one modeled process (its threads share its mm); see dumpTree for its descendants too. */
export function dumpProcess(kernel: Kernel, pid: number, opts: DumpOptions = {}): CheckpointImages {
  return dumpTree(kernel, pid, { ...opts, children: false });
}

/**
 * Dump a process and (with `children`, the default) every live descendant thread-group
 * leader, each with its own mm, pagemap and pages-N.img; threads are listed in pstree and
 * get a core image. Copy-on-write sharing between a parent and its children is not kept
 * (each task's private pages are dumped whole, as CRIU without its premap sharing would).
 */
export function dumpTree(kernel: Kernel, root: number, opts: DumpOptions & { children?: boolean } = {}): CheckpointImages {
  return dumpTreeWith(kernel, root, opts, packPages);
}

/**
 * Dump a process (tree, with `children`) straight into an image directory, written as
 * writeDirFilesAtomic does (temporary directory, fsync, inventory last, rename). The pages
 * images are written from the model's frames themselves (writev of their bytes, nothing
 * concatenated): the frames are only read, and no model code runs between reading them and
 * writing them, so the bytes on disk are the dump-time bytes. Returns the bytes of page
 * contents written.
 */
export function dumpToDir(
  kernel: Kernel,
  root: number,
  dir: string,
  opts: DumpOptions & { children?: boolean; overwrite?: boolean; times?: WriteTimes } = {},
): number {
  const pieces = new Map<number, Uint8Array[]>();
  let pageBytes = 0;
  // Each task's pages file is a placeholder while the other images are encoded.
  const img = dumpTreeWith(kernel, root, { children: false, ...opts }, (runs, pagesId) => {
    const list = pagePieces(runs);
    for (const p of list) pageBytes += p.byteLength;
    pieces.set(pagesId, list);
    return EMPTY;
  });
  const files: Map<string, FileContent> = encodeImages(img);
  for (const [id, list] of pieces) files.set(`pages-${id}.img`, list);
  writeDirFilesAtomic(dir, files, { overwrite: opts.overwrite, times: opts.times });
  return pageBytes;
}

const EMPTY = new Uint8Array(0);

/** dumpTree, with how each task's page runs become its pages image left to `pagesOf`. */
function dumpTreeWith(
  kernel: Kernel,
  root: number,
  opts: DumpOptions & { children?: boolean },
  pagesOf: (runs: PageRunRefs[], pagesId: number) => Uint8Array,
): CheckpointImages {
  const files: OpenFile[] = [];
  const fileId = (f: OpenFile): number => {
    let i = files.findIndex((x) => x.inode === f.inode);
    if (i < 0) i = files.push(f) - 1;
    return i + 1;
  };
  const leaders = [kernel.process(root)];
  if (opts.children !== false) {
    for (let i = 0; i < leaders.length; i++) {
      const parent = leaders[i] as { tgid: number };
      for (const p of kernel.tasks.live()) if (p.isLeader && p.ppid === parent.tgid && p.pid !== root) leaders.push(p);
    }
  }
  const tasks: TaskImages[] = [];
  const pstree = [];
  for (let i = 0; i < leaders.length; i++) {
    const p = leaders[i] as (typeof leaders)[number];
    const threads = [
      p.pid,
      ...kernel.tasks
        .threadsOf(p)
        .map((t) => t.pid)
        .filter((t) => t !== p.pid),
    ];
    tasks.push(dumpTask(kernel, p.pid, { ...opts, pagesId: (opts.pagesId ?? 1) + i }, fileId, pagesOf));
    pstree.push(create(PstreeEntrySchema, { pid: p.pid, ppid: i === 0 ? 0 : p.ppid, pgid: root, sid: root, threads }));
  }
  const fileEntries = files.map((f, i) =>
    create(FileEntrySchema, {
      type: 1,
      id: i + 1,
      reg: create(RegFileEntrySchema, {
        id: i + 1,
        flags: 0,
        pos: 0n,
        fown: create(FownEntrySchema, { uid: 0, euid: 0, signum: 0, pidType: 0, pid: 0 }),
        name: f.inode.path,
        size: BigInt(f.inode.size),
        mode: f.inode.mode,
      }),
    }),
  );
  const extra = new Map<string, Uint8Array>();
  for (const e of pstree) {
    for (const tid of e.threads) {
      if (tid === e.pid) continue;
      const core = create(CoreEntrySchema, { mtype: 1 });
      extra.set(`core-${tid}.img`, writeFraming("core", [encodeEntry(CoreEntrySchema, core)]));
    }
  }
  const ids = tasks[0]?.ids ?? create(TaskKobjIdsEntrySchema, { vmId: 1, filesId: 1, fsId: 1, sighandId: 1 });
  return {
    inventory: create(InventoryEntrySchema, { imgVersion: 2, fdinfoPerId: true, rootIds: ids, nsPerId: true, lsmtype: 0 }),
    pstree,
    tasks,
    files: fileEntries,
    fdinfo: new Map(),
    timens: null,
    seccomp: null,
    other: extra,
  };
}

/** mm->saved_auxv for the mm image; a process whose auxv the model does not know cannot be dumped faithfully. */
function knownSavedAuxv(mm: { savedAuxv: bigint[] | null }): bigint[] {
  if (mm.savedAuxv === null) throw new Unsupported("dump of a process whose saved auxv the model does not know (adopted layout)");
  return mm.savedAuxv.slice();
}

/** One thread group's images: core, ids, mm with its VMAs, pagemap and pages. */
function dumpTask(
  kernel: Kernel,
  pid: number,
  opts: DumpOptions,
  fileId: (f: OpenFile) => number,
  pagesOf: (runs: PageRunRefs[], pagesId: number) => Uint8Array,
): TaskImages {
  const proc = kernel.process(pid);
  const mm = proc.mm;
  const pagesId = opts.pagesId ?? 1;
  const exeId = mm.exeFile !== null ? fileId(mm.exeFile) : 0;
  const vmas: VmaEntry[] = [];
  const pagemap: PagemapEntry[] = [];
  const chunks: PageRunRefs[] = [];
  const addRun = (start: number, pages: number, flags: number, list: Array<Uint8Array | null>) => {
    const last = pagemap[pagemap.length - 1];
    if (last !== undefined && last.flags === flags && Number(last.vaddr) / PAGE + Number(last.nrPages) === start)
      last.nrPages = (last.nrPages ?? 0n) + BigInt(pages);
    else pagemap.push(create(PagemapEntrySchema, { vaddr: BigInt(start * PAGE), compatNrPages: 0, flags, nrPages: BigInt(pages) }));
    chunks.push({ start, pages, list });
  };
  const list = mm.tree.toArray();
  for (let i = 0; i < list.length; i++) {
    const v = list[i] as Vma;
    const name = v.special?.name ?? null;
    if (name === "[uprobes]") throw new Unsupported("a [uprobes] VMA: criu refuses to dump it without --allow-uprobes");
    const base = {
      start: BigInt(v.start * PAGE),
      end: BigInt(v.end * PAGE),
      pgoff: 0n,
      shmid: 0n,
      prot: protOf(v),
      flags: MAP_PRIVATE | MAP_ANONYMOUS,
      status: VMA_AREA_REGULAR | VMA_ANON_PRIVATE,
      fd: -1n,
    };
    const e = create(VmaEntrySchema, base);
    const madv = madvOf(v);
    if (name === "[vvar]" || name === "[vvar_vclock]") {
      // One VVAR VMA for the pair; no pages (VM_IO).
      const prev = vmas[vmas.length - 1];
      if (name === "[vvar_vclock]" && prev !== undefined && (prev.status & VMA_AREA_VVAR) !== 0 && prev.end === e.start) {
        prev.end = e.end;
        continue;
      }
      e.status |= VMA_AREA_VVAR;
      e.madv = madv;
    } else if (name === "[vdso]") {
      e.status = VMA_AREA_REGULAR | VMA_AREA_VDSO | VMA_ANON_PRIVATE;
      if (opts.vdsoImage === undefined)
        throw new Unsupported("the [vdso]'s bytes are not known to the model: pass the kernel's vdso image (vdsoImage)");
      if (opts.vdsoImage.length !== v.pages * PAGE)
        throw new Unsupported(`the supplied vdso image is ${opts.vdsoImage.length} bytes, the [vdso] VMA ${v.pages * PAGE}`);
      addRun(
        v.start,
        v.pages,
        PE_PRESENT,
        Array.from({ length: v.pages }, (_, i) => (opts.vdsoImage as Uint8Array).subarray(i * PAGE, (i + 1) * PAGE)),
      );
    } else if (v.file !== null && !v.file.inode.zeroDevice) {
      const shared = (v.flags & VM_SHARED) !== 0;
      e.flags = shared ? MAP_SHARED : MAP_PRIVATE;
      e.status = VMA_AREA_REGULAR | (shared ? VMA_FILE_SHARED : VMA_FILE_PRIVATE);
      e.pgoff = BigInt(v.pgoff * PAGE);
      e.shmid = BigInt(fileId(v.file));
      e.fdflags = v.file.writable ? (v.file.readable ? 2 : 1) : 0;
      if (madv !== 0n) e.madv = madv;
      const file = v.file;
      const fromFile =
        opts.unknownPages === "approximate" && file.inode.read !== null
          ? (page: number): Uint8Array => {
              const off = (v.pgoff + page - v.start) * PAGE;
              const out = new Uint8Array(PAGE);
              out.set((file.inode.read as (o: number, l: number) => Uint8Array)(off, PAGE).subarray(0, PAGE));
              opts.warnings?.push(
                `page 0x${(page * PAGE).toString(16)}: private copy of ${file.inode.path}@0x${off.toString(16)} with bytes unknown to the model, dumped as the file's bytes`,
              );
              return out;
            }
          : null;
      if (!shared) for (const r of readPrivatePages(mm, v.start, v.end, fromFile)) addRun(r.start, r.pages, PE_PRESENT, r.list);
    } else {
      const shared = (v.flags & VM_SHARED) !== 0;
      if (shared) {
        e.flags = MAP_SHARED | MAP_ANONYMOUS;
        e.status = VMA_AREA_REGULAR | VMA_ANON_SHARED;
        throw new Unsupported("shared anonymous memory (shmem contents are dumped through memfd/shmem images, not modeled)");
      }
      if ((v.flags & VM_GROWSDOWN) !== 0) e.flags |= MAP_GROWSDOWN;
      // show_map_vma()'s [heap]: the VMA overlaps [start_brk, brk].
      if (mm.brk !== 0 && v.start * PAGE <= mm.brk && v.end * PAGE >= mm.startBrk) e.status |= VMA_AREA_HEAP;
      if (madv !== 0n) e.madv = madv;
      const modelBytes =
        opts.unknownPages === "approximate"
          ? (page: number): Uint8Array => {
              opts.warnings?.push(
                `page 0x${(page * PAGE).toString(16)}: anonymous page with bytes unknown to the model (e.g. AT_RANDOM), dumped with zeros for them`,
              );
              return (mm.pt.get(page)?.frame.data ?? new Uint8Array(PAGE)).slice();
            }
          : null;
      for (const r of readPrivatePages(mm, v.start, v.end, modelBytes)) addRun(r.start, r.pages, PE_LAZY | PE_PRESENT, r.list);
    }
    if (v.sealed) e.aspaceSealed = true;
    vmas.push(e);
  }
  // [vsyscall] is a gate area, not a VMA; CRIU records it (never restored).
  if (mm.arch === "x86_64")
    vmas.push(
      create(VmaEntrySchema, {
        start: 0xffffffffff600000n,
        end: 0xffffffffff601000n,
        pgoff: 0n,
        shmid: 0n,
        prot: PROT_EXEC,
        flags: MAP_PRIVATE | MAP_ANONYMOUS,
        status: VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE,
        fd: -1n,
      }),
    );
  const pages = pagesOf(chunks, pagesId);
  const ids = create(TaskKobjIdsEntrySchema, { vmId: 1, filesId: 1, fsId: 1, sighandId: 1, pidNsId: 1 });
  const mmEntry = create(MmEntrySchema, {
    mmStartCode: BigInt(mm.startCode),
    mmEndCode: BigInt(mm.endCode),
    mmStartData: BigInt(mm.startData),
    mmEndData: BigInt(mm.endData),
    mmStartStack: BigInt(mm.startStack),
    mmStartBrk: BigInt(mm.startBrk),
    mmBrk: BigInt(mm.brk),
    mmArgStart: BigInt(mm.argStart),
    mmArgEnd: BigInt(mm.argEnd),
    mmEnvStart: BigInt(mm.envStart),
    mmEnvEnd: BigInt(mm.envEnd),
    exeFileId: exeId,
    mmSavedAuxv: knownSavedAuxv(mm),
    vmas,
    dumpable: 1,
    thpDisabled: false,
  });
  const comm = (mm.exeFile?.inode.path.split("/").pop() ?? "").slice(0, 15);
  const core = create(CoreEntrySchema, {
    mtype: 1,
    tc: create(TaskCoreEntrySchema, { taskState: 1, exitCode: 0, personality: mm.personality, flags: 0, blkSigset: 0n, comm }),
    ids,
  });
  return { pid, core, ids, mm: mmEntry, pagesId, pagemap, pages, fs: null };
}

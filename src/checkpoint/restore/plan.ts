// What the restorer needs from the images of one task, in page numbers and plain numbers
// (bigint only at the image boundary): the VMAs with CRIU's restore-time status, which of
// them receive page contents (the others are VMA_NO_PROT_WRITE, as premap_priv_vmas()
// decides), the pagemap runs with their offsets in pages-N.img, and the mm fields.

import type { FileEntry } from "../gen/criu/files_pb.js";
import { ImageError } from "../images/errors.js";
import { entryPages, inPagesFile, type TaskImages } from "../images/image-set.js";
import {
  MAP_ANONYMOUS,
  PAGE,
  VMA_AREA_GUARD,
  VMA_AREA_REGULAR,
  VMA_AREA_VDSO,
  VMA_AREA_VVAR,
  VMA_FILE_PRIVATE,
  VMA_FILE_SHARED,
  VMA_NO_PROT_WRITE,
  VMA_UNSUPP,
} from "../status.js";

export interface PlanVma {
  /** Index in MmEntry.vmas. */
  index: number;
  start: number; // page
  end: number; // page
  prot: number;
  flags: number; // MAP_*
  status: number; // CRIU status, VMA_NO_PROT_WRITE added when no pages
  /** File offset in bytes (VmaEntry.pgoff). */
  pgoffBytes: number;
  /** The recorded path of the mapped file, or null for anonymous memory. */
  path: string | null;
  fileId: number;
  madv: bigint;
  sealed: boolean;
}

export interface PageRun {
  start: number; // page
  pages: number;
  /** Offset of the first page in pages-N.img, bytes. */
  offset: number;
}

export interface RestorePlan {
  pid: number;
  comm: string;
  vmas: PlanVma[];
  runs: PageRun[];
  pages: Uint8Array;
  exePath: string | null;
  mm: {
    startCode: number;
    endCode: number;
    startData: number;
    endData: number;
    startBrk: number;
    brk: number;
    startStack: number;
    argStart: number;
    argEnd: number;
    envStart: number;
    envEnd: number;
  };
  auxv: bigint[];
  thpDisabled: boolean;
  dumpable: number;
}

function num(v: bigint, file: string, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ImageError("inconsistent", file, 0, `${what} 0x${v.toString(16)} is beyond the model's range`);
  return Number(v);
}

/** A page-aligned address as a page number (exact: page numbers stay below 2^53). */
function pageOf(v: bigint, file: string, what: string): number {
  if (v % BigInt(PAGE) !== 0n) throw new ImageError("inconsistent", file, 0, `${what} 0x${v.toString(16)} is not page aligned`);
  return Number(v / BigInt(PAGE));
}

/** Whether a VMA is mapped by the restorer (restore_mapping: REGULAR areas, not guards). */
export function isRestoredVma(v: PlanVma): boolean {
  return (v.status & VMA_AREA_REGULAR) !== 0 && (v.status & VMA_AREA_GUARD) === 0;
}

export function isVdso(v: PlanVma): boolean {
  return (v.status & VMA_AREA_VDSO) !== 0;
}

export function isVvar(v: PlanVma): boolean {
  return (v.status & VMA_AREA_VVAR) !== 0;
}

export function isAnonMapping(v: PlanVma): boolean {
  return (v.flags & MAP_ANONYMOUS) !== 0 || (v.status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) === 0;
}

/** Build the restore plan of one task from its images. */
export function planTask(t: TaskImages, files: FileEntry[]): RestorePlan {
  const mmName = `mm-${t.pid}.img`;
  if (t.mm === null) throw new ImageError("missing", mmName, 0, "the task has no mm image");
  const mm = t.mm;
  const byId = new Map(files.map((f) => [f.id, f]));
  const pathOf = (id: number): string => {
    const f = byId.get(id);
    if (f?.reg === undefined) throw new ImageError("inconsistent", "files.img", 0, `no regular file with id ${id} (named by ${mmName})`);
    return f.reg.name;
  };
  const runs: PageRun[] = [];
  let off = 0;
  for (const e of t.pagemap) {
    const n = entryPages(e);
    if (inPagesFile(e)) {
      runs.push({ start: pageOf(e.vaddr, `pagemap-${t.pid}.img`, "vaddr"), pages: n, offset: off });
      off += n * PAGE;
    }
  }
  const vmas: PlanVma[] = mm.vmas.map((v, index) => {
    const start = pageOf(v.start, mmName, "vma start");
    const end = pageOf(v.end, mmName, "vma end");
    if (end <= start) throw new ImageError("inconsistent", mmName, 0, `VMA ${index} is empty or inverted`);
    if ((v.status & VMA_UNSUPP) !== 0) throw new ImageError("inconsistent", mmName, 0, `VMA ${index} is marked VMA_UNSUPP`);
    const file = (v.status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) !== 0;
    return {
      index,
      start,
      end,
      prot: v.prot,
      flags: v.flags,
      status: v.status,
      pgoffBytes: num(v.pgoff, mmName, "pgoff"),
      path: file ? pathOf(Number(v.shmid)) : null,
      fileId: Number(v.shmid),
      madv: v.madv ?? 0n,
      sealed: v.aspaceSealed === true,
    };
  });
  for (const v of vmas) if (!runs.some((r) => r.start < v.end && r.start + r.pages > v.start)) v.status |= VMA_NO_PROT_WRITE;
  const exe = mm.exeFileId !== 0 ? pathOf(mm.exeFileId) : null;
  const n = (x: bigint, w: string) => num(x, mmName, w);
  return {
    pid: t.pid,
    comm: t.core.tc?.comm ?? "",
    vmas,
    runs,
    pages: t.pages ?? new Uint8Array(0),
    exePath: exe,
    mm: {
      startCode: n(mm.mmStartCode, "mm_start_code"),
      endCode: n(mm.mmEndCode, "mm_end_code"),
      startData: n(mm.mmStartData, "mm_start_data"),
      endData: n(mm.mmEndData, "mm_end_data"),
      startBrk: n(mm.mmStartBrk, "mm_start_brk"),
      brk: n(mm.mmBrk, "mm_brk"),
      startStack: n(mm.mmStartStack, "mm_start_stack"),
      argStart: n(mm.mmArgStart, "mm_arg_start"),
      argEnd: n(mm.mmArgEnd, "mm_arg_end"),
      envStart: n(mm.mmEnvStart, "mm_env_start"),
      envEnd: n(mm.mmEnvEnd, "mm_env_end"),
    },
    auxv: mm.mmSavedAuxv,
    thpDisabled: mm.thpDisabled === true,
    dumpable: mm.dumpable ?? 1,
  };
}

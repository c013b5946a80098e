// The decoded content of one image directory (the images that carry an address space and
// what it needs), independent of where the bytes come from. Decoding and encoding are
// pure; reading and writing directories is in dir.ts.

import { create, type DescMessage } from "@bufbuild/protobuf";
import type { CoreEntry, TaskKobjIdsEntry } from "../gen/criu/core_pb.js";
import type { FdinfoEntry, FileEntry, FsEntry } from "../gen/criu/files_pb.js";
import type { InventoryEntry } from "../gen/criu/inventory_pb.js";
import type { MmEntry } from "../gen/criu/mm_pb.js";
import { type PagemapEntry, PagemapHeadSchema } from "../gen/criu/pagemap_pb.js";
import type { PstreeEntry } from "../gen/criu/pstree_pb.js";
import type { SeccompEntry, TimensEntry } from "../gen/criu/timens_pb.js";
import { decodeEntry, encodeEntry, schemaOf } from "./codec.js";
import { ImageError } from "./errors.js";
import { readFraming, writeFraming } from "./framing.js";
import { type ImageKind, kindOfFile } from "./magic.js";

export const PAGE_SIZE = 4096;
export const PE_PARENT = 1;
export const PE_LAZY = 2;
export const PE_PRESENT = 4;

export interface TaskImages {
  pid: number;
  core: CoreEntry;
  ids: TaskKobjIdsEntry | null;
  mm: MmEntry | null;
  pagesId: number;
  pagemap: PagemapEntry[];
  /** The raw pages-N.img bytes named by the pagemap head. */
  pages: Uint8Array | null;
  fs: FsEntry | null;
}

export interface CheckpointImages {
  inventory: InventoryEntry;
  pstree: PstreeEntry[];
  tasks: TaskImages[];
  files: FileEntry[];
  /** fdinfo-N.img by files id N. */
  fdinfo: Map<number, FdinfoEntry[]>;
  timens: TimensEntry | null;
  seccomp: SeccompEntry | null;
  /** Files this reader does not interpret, kept verbatim. */
  other: Map<string, Uint8Array>;
}

/** The pages of a pagemap entry (4.x nr_pages, else the legacy count). */
export function entryPages(e: PagemapEntry): number {
  return e.nrPages !== undefined && e.nrPages !== 0n ? Number(e.nrPages) : e.compatNrPages;
}

/** Whether an entry's pages are in this image's pages file (present, not in a parent). */
export function inPagesFile(e: PagemapEntry): boolean {
  const flags = e.flags ?? PE_PRESENT;
  return (flags & PE_PRESENT) !== 0 && (flags & PE_PARENT) === 0 && e.inParent !== true;
}

function decodeAll(file: string, kind: ImageKind, buf: Uint8Array): Array<Record<string, unknown>> {
  const raw = readFraming(file, kind, buf);
  return raw.entries.map((e, i) => decodeEntry(schemaOf(kind, i), e, file) as Record<string, unknown>);
}

/** One entry exactly (mm, core, inventory, ids, fs, timens, seccomp have one each). */
function single<T>(file: string, kind: ImageKind, buf: Uint8Array): T {
  const all = decodeAll(file, kind, buf);
  if (all.length !== 1) throw new ImageError("inconsistent", file, 0, `expected one ${kind} entry, found ${all.length}`);
  return all[0] as T;
}

/** Decode an image directory given as a map of file name → bytes. */
export function decodeImages(files: Map<string, Uint8Array>): CheckpointImages {
  const get = (name: string): Uint8Array | null => files.get(name) ?? null;
  const need = (name: string): Uint8Array => {
    const b = get(name);
    if (b === null) throw new ImageError("missing", name, 0, "the image directory has no such file");
    return b;
  };
  const inventoryBytes = get("inventory.img");
  if (inventoryBytes === null) throw new ImageError("incomplete", "inventory.img", 0, "no inventory: not a finished dump");
  const inventory = single<InventoryEntry>("inventory.img", "inventory", inventoryBytes);
  const pstree = decodeAll("pstree.img", "pstree", need("pstree.img")) as unknown as PstreeEntry[];
  const used = new Set(["inventory.img", "pstree.img"]);
  const tasks: TaskImages[] = [];
  for (const p of pstree) {
    for (const tid of p.threads.length > 0 ? p.threads : [p.pid]) {
      const coreName = `core-${tid}.img`;
      const core = single<CoreEntry>(coreName, "core", need(coreName));
      // Thread cores only carry registers: checked, then kept verbatim in `other`.
      if (tid !== p.pid) continue;
      used.add(coreName);
      const pid = p.pid;
      const opt = <T>(name: string, kind: ImageKind): T | null => {
        const b = get(name);
        if (b === null) return null;
        used.add(name);
        return single<T>(name, kind, b);
      };
      const ids = opt<TaskKobjIdsEntry>(`ids-${pid}.img`, "ids");
      const mm = opt<MmEntry>(`mm-${pid}.img`, "mm");
      const fs = opt<FsEntry>(`fs-${pid}.img`, "fs");
      let pagesId = 0;
      let pagemap: PagemapEntry[] = [];
      let pages: Uint8Array | null = null;
      const pmName = `pagemap-${pid}.img`;
      const pmBytes = get(pmName);
      if (pmBytes !== null) {
        used.add(pmName);
        const raw = readFraming(pmName, "pagemap", pmBytes);
        if (raw.entries.length === 0) throw new ImageError("truncated", pmName, pmBytes.length, "no pagemap head");
        const head = decodeEntry(schemaOf("pagemap", 0), raw.entries[0] as never, pmName) as unknown as { pagesId: number };
        pagesId = head.pagesId;
        pagemap = raw.entries.slice(1).map((e) => decodeEntry(schemaOf("pagemap", 1), e, pmName) as unknown as PagemapEntry);
        const pagesName = `pages-${pagesId}.img`;
        pages = need(pagesName);
        used.add(pagesName);
        checkPagemap(
          pmName,
          raw.entries.slice(1).map((e) => e.offset),
          pagemap,
          pagesName,
          pages.length,
        );
      }
      tasks.push({ pid, core, ids, mm, pagesId, pagemap, pages, fs });
    }
  }
  let fileEntries: FileEntry[] = [];
  const filesBytes = get("files.img");
  if (filesBytes !== null) {
    used.add("files.img");
    fileEntries = decodeAll("files.img", "files", filesBytes) as unknown as FileEntry[];
  }
  const fdinfo = new Map<number, FdinfoEntry[]>();
  for (const [name, bytes] of files) {
    const m = /^fdinfo-(\d+)\.img$/.exec(name);
    if (m === null) continue;
    used.add(name);
    fdinfo.set(Number(m[1]), decodeAll(name, "fdinfo", bytes) as unknown as FdinfoEntry[]);
  }
  const optTop = <T>(name: string, kind: ImageKind): T | null => {
    const b = get(name);
    if (b === null) return null;
    used.add(name);
    return single<T>(name, kind, b);
  };
  const timens = optTop<TimensEntry>("timens-0.img", "timens");
  const seccomp = optTop<SeccompEntry>("seccomp.img", "seccomp");
  const other = new Map<string, Uint8Array>();
  for (const [name, bytes] of files) if (!used.has(name)) other.set(name, bytes);
  return { inventory, pstree, tasks, files: fileEntries, fdinfo, timens, seccomp, other };
}

/** Pagemap entries must be sorted, non-overlapping, and the pages file must hold exactly their pages. */
function checkPagemap(file: string, offsets: number[], pagemap: PagemapEntry[], pagesName: string, pagesBytes: number): void {
  let expectPages = 0;
  let prevEnd = 0n;
  for (let i = 0; i < pagemap.length; i++) {
    const e = pagemap[i] as PagemapEntry;
    const n = entryPages(e);
    const off = offsets[i] as number;
    if (e.vaddr % BigInt(PAGE_SIZE) !== 0n)
      throw new ImageError("inconsistent", file, off, `vaddr 0x${e.vaddr.toString(16)} is not page aligned`);
    if (e.vaddr < prevEnd)
      throw new ImageError("inconsistent", file, off, `entry at 0x${e.vaddr.toString(16)} overlaps or is out of order`);
    const end = e.vaddr + BigInt(n) * BigInt(PAGE_SIZE);
    if (end > 1n << 64n) throw new ImageError("inconsistent", file, off, "entry runs past the 64-bit address space");
    prevEnd = end;
    if (inPagesFile(e)) expectPages += n;
    if (expectPages * PAGE_SIZE > pagesBytes)
      throw new ImageError(
        "inconsistent",
        file,
        off,
        `entries need ${expectPages} pages but ${pagesName} holds ${Math.floor(pagesBytes / PAGE_SIZE)}`,
      );
  }
  if (expectPages * PAGE_SIZE !== pagesBytes)
    throw new ImageError(
      "inconsistent",
      pagesName,
      expectPages * PAGE_SIZE,
      `holds ${pagesBytes} bytes; the pagemap describes ${expectPages} pages`,
    );
}

function frame(kind: ImageKind, schemaIndexFrom: number, msgs: unknown[]): Uint8Array {
  return writeFraming(
    kind,
    msgs.map((m, i) => encodeEntry(schemaOf(kind, i + schemaIndexFrom) as DescMessage, m as never)),
  );
}

/** Encode an image set into file name → bytes. Inventory is last in the map (written last). */
export function encodeImages(img: CheckpointImages): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  out.set("pstree.img", frame("pstree", 0, img.pstree));
  for (const t of img.tasks) {
    out.set(`core-${t.pid}.img`, frame("core", 0, [t.core]));
    if (t.ids !== null) out.set(`ids-${t.pid}.img`, frame("ids", 0, [t.ids]));
    if (t.fs !== null) out.set(`fs-${t.pid}.img`, frame("fs", 0, [t.fs]));
    if (t.mm !== null) out.set(`mm-${t.pid}.img`, frame("mm", 0, [t.mm]));
    if (t.pages !== null) {
      out.set(`pagemap-${t.pid}.img`, frame("pagemap", 0, [create(PagemapHeadSchema, { pagesId: t.pagesId }), ...t.pagemap]));
      out.set(`pages-${t.pagesId}.img`, t.pages);
    }
  }
  if (img.files.length > 0) out.set("files.img", frame("files", 0, img.files));
  for (const [id, entries] of img.fdinfo) out.set(`fdinfo-${id}.img`, frame("fdinfo", 0, entries));
  if (img.timens !== null) out.set("timens-0.img", frame("timens", 0, [img.timens]));
  if (img.seccomp !== null) out.set("seccomp.img", frame("seccomp", 0, [img.seccomp]));
  for (const [name, bytes] of img.other) out.set(name, bytes);
  out.set("inventory.img", frame("inventory", 0, [img.inventory]));
  return out;
}

/** The kind of an image file by name, for tools (inspect) that walk a directory. */
export { kindOfFile };

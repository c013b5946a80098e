// Adopting a real address space: the oracle starts the model from the executor's real
// initial layout (its /proc/self/maps and smaps). This is a model operation with a name,
// like execve: no syscall sequence could build the executable's mappings or the vdso.
//
// Hidden state is reconstructed as follows (documented approximations):
// - a VMA with Anonymous > 0 kB has an anon_vma (its pages were written); it shares the
//   anon_vma of the VMA just below when find_mergeable_anon_vma() would have reused it
//   (adjacent, same file, flags equal but for R/W/X, continuous pgoff), as the heap that
//   brk() puts right after the bss does;
// - VMAs of one file path share one open file description (one open by the loader);
// - anonymous VMAs get pgoff = start page (true for everything but a moved stack);
// - which pages are resident is unknown: none are recorded, so Rss of adopted VMAs is
//   not comparable until the program replaces them; a VMA with some Rss gives every
//   2 MiB block under it a page table (see pages.ts).

import { makeInode, type OpenFile, openFile } from "../fs/file.js";
import type { KernelConfig } from "../mm/config.js";
import type { Creds } from "../mm/creds.js";
import { Mm } from "../mm/mm.js";
import type { Rlimits } from "../mm/rlimits.js";
import { AnonVma, type SpecialMapping, Vma } from "../mm/vma.js";
import { VM_ACCESS_FLAGS, VMFLAG_MNEMONICS } from "../uapi/vmflags.js";

export interface LayoutVma {
  start: number; // page
  end: number; // page
  flags: string[]; // smaps VmFlags mnemonics
  pgoff: number; // pages (file offset for files)
  path: string; // maps name ("" for none)
  dev: string;
  ino: number;
  anonKb: number;
  /** Resident kB (smaps Rss), when known: a VMA with pages mapped has page tables under it. */
  rssKb?: number;
}

export interface Layout {
  vmas: LayoutVma[];
  startBrk: number; // bytes
  brk: number; // bytes
  startStack: number; // bytes
  rlimitStack: number; // bytes, Infinity for unlimited
  /** /proc/PID/exe: mm->exe_file is the open file of the VMAs mapping this path (PR_SET_MM's EBUSY rule). */
  exePath?: string;
  /** mm->saved_auxv words; null: the real process's are not known (PR_GET_AUXV gives unknown bytes); absent: none. */
  savedAuxv?: bigint[] | null;
}

const SPECIAL_NAMES = new Set(["[vdso]", "[vvar]", "[vvar_vclock]", "[uprobes]", "[sigpage]", "[vectors]"]);

/**
 * Which pages of the x86_64 data mappings fault with SIGBUS when read, as observed on the
 * reference machine (vdso data pages not populated there): [vvar] pages 1 and 3,
 * [vvar_vclock] page 1. Every [vdso] page reads.
 */
const BUS_PAGES: Record<string, number[]> = { "[vvar]": [1, 3], "[vvar_vclock]": [1] };

export function specialMapping(name: string): SpecialMapping {
  return { name, mayNotSplit: true, fixedSize: null, busPages: BUS_PAGES[name] ?? [] };
}

/** Flag words from smaps mnemonics. */
export function flagsFromMnemonics(names: string[]): { flags: number; flagsHi: number } {
  let flags = 0;
  let flagsHi = 0;
  for (const n of names) {
    const e = VMFLAG_MNEMONICS.find(([, m]) => m === n);
    if (e === undefined) continue;
    const bit = e[0];
    if (bit < 32) flags |= 1 << bit;
    else flagsHi |= 1 << (bit - 32);
  }
  return { flags, flagsHi };
}

/**
 * mmap_base for a no-ASLR 64-bit task (arch/x86/mm/mmap.c mmap_base()):
 * DEFAULT_MAP_WINDOW − clamp(stack rlimit + guard gap, 128 MiB, 5/6 TASK_SIZE).
 */
export function mmapBaseFor(cfg: KernelConfig, rlimitStack: number): number {
  const pad = cfg.stackGuardGap * 4096;
  let gap = Number.isFinite(rlimitStack) ? rlimitStack + pad : Number.POSITIVE_INFINITY;
  const gapMin = 128 * 1024 * 1024;
  const gapMax = Math.floor(((cfg.taskSize * 4096) / 6) * 5);
  if (gap < gapMin) gap = gapMin;
  if (gap > gapMax) gap = gapMax;
  const base = cfg.defaultMapWindow * 4096 - gap;
  return Math.ceil(base / 4096);
}

/** TASK_UNMAPPED_BASE for the legacy (bottom-up) layout. */
export function legacyBaseFor(cfg: KernelConfig): number {
  return Math.ceil(cfg.defaultMapWindow / 3);
}

export function mmFromLayout(cfg: KernelConfig, creds: Creds, rlimits: Rlimits, layout: Layout): Mm {
  const mm = new Mm(cfg, creds, rlimits, mmapBaseFor(cfg, layout.rlimitStack), legacyBaseFor(cfg));
  mm.startBrk = layout.startBrk;
  mm.brk = layout.brk;
  mm.startStack = layout.startStack;
  if (layout.savedAuxv !== undefined) mm.savedAuxv = layout.savedAuxv;
  const files = new Map<string, OpenFile>();
  for (const l of layout.vmas) {
    const { flags, flagsHi } = flagsFromMnemonics(l.flags);
    let file: OpenFile | null = null;
    let special: SpecialMapping | null = null;
    if (SPECIAL_NAMES.has(l.path)) special = specialMapping(l.path);
    else if (l.path.startsWith("/") && l.ino !== 0) {
      file = files.get(l.path) ?? null;
      if (file === null) {
        const deleted = l.path.endsWith(" (deleted)");
        const path = deleted ? l.path.slice(0, -" (deleted)".length) : l.path;
        file = openFile(
          makeInode(path, { dev: l.dev, ino: l.ino, size: Number.MAX_SAFE_INTEGER, deleted, shmem: l.dev === "00:01" }),
          true,
          true,
        );
        files.set(l.path, file);
      }
    }
    // Special mappings start at offset 0 of their pages; anonymous memory at its address.
    const pgoff = file !== null ? l.pgoff : special !== null ? 0 : l.start;
    let anon: AnonVma | null = null;
    if (l.anonKb > 0) {
      const below = mm.tree.findPrev(l.start);
      const reusable =
        below !== null &&
        below.anon !== null &&
        below.end === l.start &&
        below.file === file &&
        ((below.flags ^ flags) & ~VM_ACCESS_FLAGS) === 0 &&
        below.flagsHi === flagsHi &&
        below.pgoff + below.pages === pgoff;
      anon = reusable ? below.anon : new AnonVma();
    }
    mm.tree.insert(new Vma(l.start, l.end, flags, flagsHi, pgoff, file, anon, false, special));
    // Which pages are mapped is not known, only that some are: every 2 MiB block under the
    // VMA is taken to have a page table (exact for VMAs within one block, as [vdso] is).
    if ((l.rssKb ?? 0) > 0) for (let p = l.start; p < l.end; p = (Math.floor(p / 512) + 1) * 512) mm.pt.noteTable(p);
  }
  if (layout.exePath !== undefined) mm.exeFile = files.get(layout.exePath) ?? null;
  return mm;
}

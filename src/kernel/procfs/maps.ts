// /proc/PID/maps and /proc/PID/smaps text: fs/proc/task_mmu.c show_map_vma(),
// show_vma_header_prefix(), get_vma_name(), show_smap(), show_smap_vma_flags().
//
// smaps fields the model tracks: Size, KernelPageSize, MMUPageSize, Rss, Pss, Pss_Dirty,
// Private_Clean, Private_Dirty, Referenced, Anonymous, Locked, THPeligible, VmFlags.
// The rest (Shared_*, KSM, LazyFree, *PmdMapped, *_Hugetlb, Swap, SwapPss) are printed as
// the kernel prints them for memory that is neither shared with another process, merged
// by KSM, lazily freed, huge nor swapped: 0 kB. ProtectionKey: is printed only with pkeys.

import { thpSuitable } from "../mm/madvise.js";
import type { Mm } from "../mm/mm.js";
import type { Vma } from "../mm/vma.js";
import { VMFLAG_MNEMONICS, VM_EXEC, VM_LOCKED, VM_MAYSHARE, VM_READ, VM_WRITE } from "../uapi/vmflags.js";

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const hex2 = (s: string) => s;

/** The fixed `[vsyscall]` line printed after every VMA (the gate VMA, not in the tree). */
export const VSYSCALL_LINE = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

/** get_vma_name(). */
export function vmaName(mm: Mm, v: Vma): string {
  if (v.file !== null) {
    const inode = v.file.inode;
    if (inode.shmem && inode.path === "/dev/zero") return "/dev/zero (deleted)";
    return inode.deleted ? `${inode.path} (deleted)` : inode.path;
  }
  if (v.special !== null) return v.special.name;
  const start = v.start * 4096;
  const end = v.end * 4096;
  if (start < mm.brk && end > mm.startBrk) return "[heap]";
  if (start <= mm.startStack && end >= mm.startStack) return "[stack]";
  return "";
}

/** One /proc/PID/maps line. */
export function mapsLine(mm: Mm, v: Vma): string {
  const perms =
    (v.flags & VM_READ ? "r" : "-") + (v.flags & VM_WRITE ? "w" : "-") + (v.flags & VM_EXEC ? "x" : "-") + (v.flags & VM_MAYSHARE ? "s" : "p");
  const offset = v.file !== null ? v.pgoff * 4096 : 0;
  const dev = v.file !== null ? hex2(v.file.inode.dev) : "00:00";
  const ino = v.file !== null ? v.file.inode.ino : 0;
  let line = `${hex8(v.start * 4096)}-${hex8(v.end * 4096)} ${perms} ${hex8(offset)} ${dev} ${ino} `;
  const name = vmaName(mm, v);
  if (name !== "") line = `${line.padEnd(72, " ")} ${name}`;
  return line;
}

/** The whole /proc/PID/maps text (with `[vsyscall]` unless the config has none). */
export function procMaps(mm: Mm, opts: { vsyscall?: boolean } = {}): string {
  const out: string[] = [];
  mm.tree.forEach((v) => out.push(mapsLine(mm, v)));
  if (opts.vsyscall ?? true) out.push(VSYSCALL_LINE);
  return out.length ? `${out.join("\n")}\n` : "";
}

/** VmFlags mnemonics of a VMA, in kernel bit order. */
export function vmFlagNames(v: Vma): string[] {
  const out: string[] = [];
  for (const [bit, name] of VMFLAG_MNEMONICS) {
    const set = bit < 32 ? (v.flags & (1 << bit)) !== 0 : (v.flagsHi & (1 << (bit - 32))) !== 0;
    if (set) out.push(name);
  }
  return out;
}

export interface SmapsCounters {
  sizeKb: number;
  rssKb: number;
  pssKb: number;
  anonKb: number;
  privateCleanKb: number;
  privateDirtyKb: number;
  lockedKb: number;
  thpEligible: boolean;
}

export function smapsCounters(mm: Mm, v: Vma): SmapsCounters {
  const { rss, anon } = mm.pt.count(v.start, v.end);
  const locked = (v.flags & VM_LOCKED) !== 0;
  return {
    sizeKb: v.pages * 4,
    rssKb: rss * 4,
    pssKb: rss * 4,
    anonKb: anon * 4,
    privateCleanKb: (rss - anon) * 4,
    privateDirtyKb: anon * 4,
    lockedKb: locked ? rss * 4 : 0,
    thpEligible: thpSuitable(mm, v, false),
  };
}

const field = (label: string, kb: number) => `${label.padEnd(16, " ")}${String(kb).padStart(8, " ")} kB`;

/** /proc/PID/smaps text. */
export function procSmaps(mm: Mm): string {
  const out: string[] = [];
  mm.tree.forEach((v) => {
    const c = smapsCounters(mm, v);
    out.push(
      mapsLine(mm, v),
      field("Size:", c.sizeKb),
      field("KernelPageSize:", 4),
      field("MMUPageSize:", 4),
      field("Rss:", c.rssKb),
      field("Pss:", c.pssKb),
      field("Pss_Dirty:", c.privateDirtyKb),
      field("Shared_Clean:", 0),
      field("Shared_Dirty:", 0),
      field("Private_Clean:", c.privateCleanKb),
      field("Private_Dirty:", c.privateDirtyKb),
      field("Referenced:", c.rssKb),
      field("Anonymous:", c.anonKb),
      field("KSM:", 0),
      field("LazyFree:", 0),
      field("AnonHugePages:", 0),
      field("ShmemPmdMapped:", 0),
      field("FilePmdMapped:", 0),
      field("Shared_Hugetlb:", 0),
      `Private_Hugetlb: ${String(0).padStart(7, " ")} kB`,
      field("Swap:", 0),
      field("SwapPss:", 0),
      field("Locked:", c.lockedKb),
      `THPeligible:    ${String(c.thpEligible ? 1 : 0).padStart(8, " ")}`,
      `VmFlags: ${vmFlagNames(v).map((n) => `${n} `).join("")}`,
    );
  });
  return out.length ? `${out.join("\n")}\n` : "";
}

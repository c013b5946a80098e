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
import { VM_EXEC, VM_LOCKED, VM_MAYSHARE, VM_READ, VM_WRITE, VMFLAG_MNEMONICS } from "../uapi/vmflags.js";

const hex8 = (n: number) => n.toString(16).padStart(8, "0");

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

export interface MapsFields {
  start: number; // bytes
  end: number; // bytes
  perms: string;
  offset: number; // bytes
  dev: string; // "fe:00"
  ino: number;
  name: string;
}

/**
 * show_vma_header_prefix() + show_map_vma(): addresses and offset in hex with at least 8
 * digits, one space after the inode, and a name padded to start at column 73.
 */
export function formatMapsLine(f: MapsFields): string {
  const line = `${hex8(f.start)}-${hex8(f.end)} ${f.perms} ${hex8(f.offset)} ${f.dev} ${f.ino} `;
  return f.name === "" ? line : `${line.padEnd(72, " ")} ${f.name}`;
}

/** One /proc/PID/maps line. */
export function mapsLine(mm: Mm, v: Vma): string {
  const perms =
    (v.flags & VM_READ ? "r" : "-") +
    (v.flags & VM_WRITE ? "w" : "-") +
    (v.flags & VM_EXEC ? "x" : "-") +
    (v.flags & VM_MAYSHARE ? "s" : "p");
  return formatMapsLine({
    start: v.start * 4096,
    end: v.end * 4096,
    perms,
    offset: v.file !== null ? v.pgoff * 4096 : 0,
    dev: v.file !== null ? v.file.inode.dev : "00:00",
    ino: v.file !== null ? v.file.inode.ino : 0,
    name: vmaName(mm, v),
  });
}

/**
 * The gate VMA of 32-bit arm (CONFIG_KUSER_HELPERS): `[vectors]` at 0xffff0000, printed
 * after every VMA like x86_64's `[vsyscall]` (modeled, not verified).
 */
export const ARM_VECTORS_LINE = formatMapsLine({
  start: 0xffff0000,
  end: 0xffff1000,
  perms: "r-xp",
  offset: 0,
  dev: "00:00",
  ino: 0,
  name: "[vectors]",
});

/**
 * The whole /proc/PID/maps text, with the architecture's gate VMA last (x86_64
 * `[vsyscall]` for 64-bit tasks, arm `[vectors]`, none on arm64/riscv64) unless
 * `vsyscall: false`.
 */
export function procMaps(mm: Mm, opts: { vsyscall?: boolean } = {}): string {
  const out: string[] = [];
  mm.tree.forEach((v) => {
    out.push(mapsLine(mm, v));
  });
  if (opts.vsyscall ?? true) {
    // get_gate_vma(): MM_CONTEXT_HAS_VSYSCALL is set for 64-bit mms only; an ia32 task's
    // TASK_SIZE (4 GiB − 8 KiB) tells the model it has none.
    if (mm.arch === "x86_64" && mm.cfg.taskSize > 2 ** 20) out.push(VSYSCALL_LINE);
    else if (mm.arch === "arm") out.push(ARM_VECTORS_LINE);
  }
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

/** One smaps counter line: label padded to 16 columns, value right-aligned in 8. */
export const smapsField = (label: string, kb: number) => `${label.padEnd(16, " ")}${String(kb).padStart(8, " ")} kB`;

/** /proc/PID/smaps text. */
export function procSmaps(mm: Mm): string {
  const out: string[] = [];
  mm.tree.forEach((v) => {
    const c = smapsCounters(mm, v);
    out.push(
      mapsLine(mm, v),
      smapsField("Size:", c.sizeKb),
      smapsField("KernelPageSize:", 4),
      smapsField("MMUPageSize:", 4),
      smapsField("Rss:", c.rssKb),
      smapsField("Pss:", c.pssKb),
      smapsField("Pss_Dirty:", c.privateDirtyKb),
      smapsField("Shared_Clean:", 0),
      smapsField("Shared_Dirty:", 0),
      smapsField("Private_Clean:", c.privateCleanKb),
      smapsField("Private_Dirty:", c.privateDirtyKb),
      smapsField("Referenced:", c.rssKb),
      smapsField("Anonymous:", c.anonKb),
      smapsField("KSM:", 0),
      smapsField("LazyFree:", 0),
      smapsField("AnonHugePages:", 0),
      smapsField("ShmemPmdMapped:", 0),
      smapsField("FilePmdMapped:", 0),
      smapsField("Shared_Hugetlb:", 0),
      `Private_Hugetlb: ${String(0).padStart(7, " ")} kB`,
      smapsField("Swap:", 0),
      smapsField("SwapPss:", 0),
      smapsField("Locked:", c.lockedKb),
      `THPeligible:    ${String(c.thpEligible ? 1 : 0).padStart(8, " ")}`,
      `VmFlags: ${vmFlagNames(v)
        .map((n) => `${n} `)
        .join("")}`,
    );
  });
  return out.length ? `${out.join("\n")}\n` : "";
}

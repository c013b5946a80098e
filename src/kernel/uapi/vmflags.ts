// vm_flags bits of include/linux/mm.h (6.18). vm_flags is 64 bits wide; the model keeps
// it in two 32-bit halves (`flags` = bits 0..31, `flagsHi` = bits 32..63) so that all
// flag arithmetic stays in fast int32 operations.

// Low word (bits 0..31).
export const VM_READ = 1 << 0;
export const VM_WRITE = 1 << 1;
export const VM_EXEC = 1 << 2;
export const VM_SHARED = 1 << 3;
export const VM_MAYREAD = 1 << 4;
export const VM_MAYWRITE = 1 << 5;
export const VM_MAYEXEC = 1 << 6;
export const VM_MAYSHARE = 1 << 7;
export const VM_GROWSDOWN = 1 << 8;
export const VM_UFFD_MISSING = 1 << 9;
export const VM_PFNMAP = 1 << 10;
/** VM_MAYBE_GUARD, `gu`: present in 6.18.44 (backported), sticky, ignored for merging. */
export const VM_MAYBE_GUARD = 1 << 11;
export const VM_UFFD_WP = 1 << 12;
export const VM_LOCKED = 1 << 13;
export const VM_IO = 1 << 14;
export const VM_SEQ_READ = 1 << 15;
export const VM_RAND_READ = 1 << 16;
export const VM_DONTCOPY = 1 << 17;
export const VM_DONTEXPAND = 1 << 18;
export const VM_LOCKONFAULT = 1 << 19;
export const VM_ACCOUNT = 1 << 20;
export const VM_NORESERVE = 1 << 21;
export const VM_HUGETLB = 1 << 22;
export const VM_SYNC = 1 << 23;
export const VM_ARCH_1 = 1 << 24;
export const VM_WIPEONFORK = 1 << 25;
export const VM_DONTDUMP = 1 << 26;
export const VM_SOFTDIRTY = 1 << 27;
export const VM_MIXEDMAP = 1 << 28;
export const VM_HUGEPAGE = 1 << 29;
export const VM_NOHUGEPAGE = 1 << 30;
export const VM_MERGEABLE = 1 << 31; // negative as int32; always compare with `!== 0`

// High word (bits 32..63), as bit positions minus 32.
export const VMH_PKEY_SHIFT = 0; // bits 32..35
export const VMH_PKEY_MASK = 0xf;
export const VMH_SHADOW_STACK = 1 << 5; // bit 37
export const VMH_DROPPABLE = 1 << 8; // bit 40
export const VMH_UFFD_MINOR = 1 << 9; // bit 41
export const VMH_SEALED = 1 << 10; // bit 42

export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
/** Flags with no meaning for merging (VM_SOFTDIRTY; VM_MAYBE_GUARD on 6.18.44). */
export const VM_IGNORE_MERGE = VM_SOFTDIRTY | VM_MAYBE_GUARD;

/** smaps VmFlags mnemonics in kernel bit order (fs/proc/task_mmu.c show_smap_vma_flags). */
export const VMFLAG_MNEMONICS: ReadonlyArray<readonly [bit: number, name: string]> = [
  [0, "rd"],
  [1, "wr"],
  [2, "ex"],
  [3, "sh"],
  [4, "mr"],
  [5, "mw"],
  [6, "me"],
  [7, "ms"],
  [8, "gd"],
  [9, "um"],
  [10, "pf"],
  [11, "gu"],
  [12, "uw"],
  [13, "lo"],
  [14, "io"],
  [15, "sr"],
  [16, "rr"],
  [17, "dc"],
  [18, "de"],
  [19, "lf"],
  [20, "ac"],
  [21, "nr"],
  [22, "ht"],
  [23, "sf"],
  [24, "ar"],
  [25, "wf"],
  [26, "dd"],
  [27, "sd"],
  [28, "mm"],
  [29, "hg"],
  [30, "nh"],
  [31, "mg"],
  [37, "ss"],
  [40, "dp"],
  [41, "ui"],
  [42, "sl"],
];

export function hasLow(flags: number, bit: number): boolean {
  return (flags & bit) !== 0;
}

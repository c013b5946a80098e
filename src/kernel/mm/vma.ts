// The VMA record (struct vm_area_struct), with every piece of hidden state that decides
// whether two neighbours merge. Records are immutable: an operation that changes a VMA
// builds a new record, so a store shared after fork never sees the other side's edits.
//
// Invariants (checked by VmaTree in debug builds):
// - start < end, both page numbers (JS numbers, exact below 2^53);
// - `flags`/`flagsHi` are the low/high 32 bits of vm_flags;
// - `pgoff` is in pages: file offset for file VMAs, `start` at creation for private anon;
// - `anon` is null until the first write fault (or populate/mlock of writable memory);
//   pieces split from one VMA share the same AnonVma object;
// - `anonInherited` is true when the anon_vma chain is not singular (inherited by fork).

import type { OpenFile } from "../fs/file.js";
import { VM_SPECIAL, VMH_SEALED } from "../uapi/vmflags.js";

/** An anon_vma: identity is all that matters to merges. */
export class AnonVma {
  private static counter = 0;
  readonly id = ++AnonVma.counter;
}

/** A kernel-installed special mapping (`[vdso]`, `[vvar]`, ...): vm_ops with a name. */
export interface SpecialMapping {
  readonly name: string;
  /** special_mapping_split: splitting it is refused with EINVAL. */
  readonly mayNotSplit: boolean;
  /** vm_ops->mremap refuses a move that changes the size (vdso_mremap). */
  readonly fixedSize: number | null;
  /** Page offsets whose fault handler answers SIGBUS (unpopulated vvar data pages). */
  readonly busPages: readonly number[];
}

export class Vma {
  constructor(
    readonly start: number,
    readonly end: number,
    readonly flags: number,
    readonly flagsHi: number,
    readonly pgoff: number,
    readonly file: OpenFile | null,
    readonly anon: AnonVma | null,
    readonly anonInherited: boolean,
    readonly special: SpecialMapping | null,
  ) {}

  get pages(): number {
    return this.end - this.start;
  }

  /** vma_is_anonymous(): no vm_ops (no file or a private /dev/zero, not a special mapping). */
  get isAnonymous(): boolean {
    return this.special === null && (this.file === null || this.file.inode.zeroDevice);
  }

  get sealed(): boolean {
    return (this.flagsHi & VMH_SEALED) !== 0;
  }

  get isSpecial(): boolean {
    return (this.flags & VM_SPECIAL) !== 0;
  }

  with(changes: Partial<Pick<Vma, "start" | "end" | "flags" | "flagsHi" | "pgoff" | "file" | "anon" | "anonInherited">>): Vma {
    return new Vma(
      changes.start ?? this.start,
      changes.end ?? this.end,
      changes.flags ?? this.flags,
      changes.flagsHi ?? this.flagsHi,
      changes.pgoff ?? this.pgoff,
      changes.file === undefined ? this.file : changes.file,
      changes.anon === undefined ? this.anon : changes.anon,
      changes.anonInherited ?? this.anonInherited,
      this.special,
    );
  }

  /** The piece [start, end) of this VMA, with pgoff advanced as __split_vma does. */
  slice(start: number, end: number): Vma {
    return new Vma(
      start,
      end,
      this.flags,
      this.flagsHi,
      this.pgoff + (start - this.start),
      this.file,
      this.anon,
      this.anonInherited,
      this.special,
    );
  }
}

export function sameFlags(a: Vma, flags: number, flagsHi: number): boolean {
  return a.flags === flags && a.flagsHi === flagsHi;
}

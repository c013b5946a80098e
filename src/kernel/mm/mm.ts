// struct mm_struct: one address space. Holds the VMA store, the page tables and the
// fields that syscalls and /proc read (brk, start_stack, mmap_base, def_flags, ...).
// Byte-valued fields (brk, start_brk, ...) are kept exactly as the kernel keeps them
// (brk may be unaligned); layout fields used in searches are page numbers.

import type { OpenFile } from "../fs/file.js";
import { NONE } from "../policy/none.js";
import type { Arch, SealPolicy } from "../policy/policy.js";
import { VM_EXEC, VM_GROWSDOWN, VM_LOCKED, VM_SHARED, VM_WRITE } from "../uapi/vmflags.js";
import type { KernelConfig } from "./config.js";
import type { Creds } from "./creds.js";
import { PageTable } from "./pages.js";
import type { Rlimits } from "./rlimits.js";
import type { Vma } from "./vma.js";
import { VmaTree } from "./vma-tree.js";

export class Mm {
  tree = new VmaTree();
  pt = new PageTable();

  /** mm->mmap_base (top-down search limit), pages. */
  mmapBase: number;
  /** mm->mmap_legacy_base (bottom-up start), pages. */
  mmapLegacyBase: number;
  /** MMF_TOPDOWN. */
  topdown = true;

  // Bytes, as in mm_struct (and /proc/PID/stat).
  startCode = 0;
  endCode = 0;
  startData = 0;
  endData = 0;
  startBrk = 0;
  brk = 0;
  startStack = 0;
  argStart = 0;
  argEnd = 0;
  envStart = 0;
  envEnd = 0;

  /**
   * mm->saved_auxv: (type, value) words as execve or PR_SET_MM_AUXV left them (AT_NULL-terminated);
   * null when the model does not know them (a layout adopted from a real process).
   */
  savedAuxv: bigint[] | null = [];
  /** mm->exe_file (/proc/PID/exe): set by execve, replaced by PR_SET_MM_EXE_FILE / exe_fd. */
  exeFile: OpenFile | null = null;
  /**
   * MMF_DISABLE_THP_* set by PR_SET_THP_DISABLE: 0 none, 1 completely, 2 except where
   * advised (PR_THP_DISABLE_EXCEPT_ADVISED). Inherited across fork (MMF_INIT_MASK).
   */
  thpDisable: 0 | 1 | 2 = 0;

  /** mm->def_flags (low word): VM_LOCKED/VM_LOCKONFAULT from mlockall(MCL_FUTURE), VM_NOHUGEPAGE. */
  defFlags = 0;
  /** Allocated protection keys (bit n = pkey n); pkey 0 is always allocated. */
  pkeysAllocated = 1;
  /** Without pkeys hardware: the one key a first pkey_alloc() takes and never returns. */
  pkeyLost = false;
  /** current->personality. */
  personality = 0;
  /** The architecture this address space belongs to (x86_64 unless an exec said otherwise). */
  arch: Arch = "x86_64";
  /** The kernel's sealing policy: decides which system mappings are created sealed. */
  sealPolicy: SealPolicy = NONE;
  /**
   * Every live address space of the modeled system, this one included: what
   * unmap_mapping_range() walks (a file's i_mmap reaches its mappings in every process).
   * The task layer sets it before each syscall, as it sets creds and rlimits.
   */
  liveMms: () => readonly Mm[] = () => [this];

  constructor(
    readonly cfg: KernelConfig,
    public creds: Creds,
    public rlimits: Rlimits,
    mmapBase: number,
    mmapLegacyBase: number,
  ) {
    this.mmapBase = mmapBase;
    this.mmapLegacyBase = mmapLegacyBase;
  }

  get mapCount(): number {
    return this.tree.size;
  }

  /** Copy for fork: O(1) for the VMA store; page tables are copied by the caller. */
  cloneShell(): Mm {
    const c = new Mm(this.cfg, this.creds, this.rlimits, this.mmapBase, this.mmapLegacyBase);
    c.tree = this.tree.clone();
    c.topdown = this.topdown;
    c.startCode = this.startCode;
    c.endCode = this.endCode;
    c.startData = this.startData;
    c.endData = this.endData;
    c.startBrk = this.startBrk;
    c.brk = this.brk;
    c.startStack = this.startStack;
    c.argStart = this.argStart;
    c.argEnd = this.argEnd;
    c.envStart = this.envStart;
    c.envEnd = this.envEnd;
    // arch_dup_pkeys(): the child inherits the allocation map, the key lost without pkeys hardware included.
    c.pkeysAllocated = this.pkeysAllocated;
    c.pkeyLost = this.pkeyLost;
    c.personality = this.personality;
    c.arch = this.arch;
    c.sealPolicy = this.sealPolicy;
    c.savedAuxv = this.savedAuxv === null ? null : this.savedAuxv.slice();
    c.exeFile = this.exeFile;
    c.thpDisable = this.thpDisable;
    return c;
  }

  /** mm->total_vm, pages (computed: only rlimit checks need it). */
  totalVm(): number {
    let n = 0;
    this.tree.forEach((v) => {
      n += v.pages;
    });
    return n;
  }

  /** mm->data_vm: private writable non-stack mappings (is_data_mapping). */
  dataVm(): number {
    let n = 0;
    this.tree.forEach((v) => {
      if (isDataMapping(v.flags)) n += v.pages;
    });
    return n;
  }

  /** mm->locked_vm, pages. */
  lockedVm(): number {
    let n = 0;
    this.tree.forEach((v) => {
      if ((v.flags & VM_LOCKED) !== 0) n += v.pages;
    });
    return n;
  }

  vmas(): Vma[] {
    return this.tree.toArray();
  }
}

/** is_data_mapping(): private, writable, not a stack. */
export function isDataMapping(flags: number): boolean {
  return (flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) === VM_WRITE;
}

/** is_exec_mapping(). */
export function isExecMapping(flags: number): boolean {
  return (flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN | VM_EXEC)) === VM_EXEC;
}

// Per-architecture facts the execve path needs: which ELF files the loader takes, where the
// stack and PIE programs go, what the auxv holds besides the generic entries, and which
// system mappings arch_setup_additional_pages() installs. One file per architecture; only
// x86_64 is verified on a live kernel, the others are read from the 6.18 source and every
// output about them must say "modeled, not verified" (see `verified`).

import type { Mm } from "../mm/mm.js";
import type { Vma } from "../mm/vma.js";
import type { Arch, SealPolicy, SystemMappingKind } from "../policy/policy.js";
import { VMH_SEALED } from "../uapi/vmflags.js";

/** One system mapping an architecture installs: its kind (for sealing), name and size. */
export interface SystemMappingSpec {
  readonly kind: SystemMappingKind;
  /** The name /proc/PID/maps prints. */
  readonly name: string;
  readonly pages: number;
  /** vm_flags given to _install_special_mapping() (VM_DONTEXPAND is added there). */
  readonly flags: number;
}

/** What the policy needs to decide about sealing, and the task asking. */
export interface SetupContext {
  readonly policy: SealPolicy;
  readonly optOutRequested: boolean;
  /** The task is a 32-bit (compat) task of a 64-bit kernel (arm64 AArch32 only). */
  readonly compat?: boolean;
}

export interface ArchSpec {
  readonly arch: Arch;
  /** Checked against the live kernel (x86_64 only); else outputs say "modeled, not verified". */
  readonly verified: boolean;
  /** A 32-bit (compat) task of a 64-bit kernel. */
  readonly compat?: boolean;
  /** elf_read_implies_exec(): an image without PT_GNU_STACK gets READ_IMPLIES_EXEC (ia32). */
  readonly readImpliesExecByDefault?: boolean;
  /** Class of the ELF files this arch's native loader takes (its Elf*_Ehdr layout). */
  readonly elfClass: 32 | 64;
  /** elf_check_arch(): the e_machine the native loader accepts. */
  readonly machine: number;
  /** TASK_SIZE, pages. */
  readonly taskSize: number;
  /** DEFAULT_MAP_WINDOW (the top of the default mmap area), pages. */
  readonly defaultMapWindow: number;
  /** STACK_TOP with ASLR off, bytes. */
  readonly stackTop: number;
  /** STACK_TOP_MAX: where bprm_mm_init() puts the first stack page, bytes. */
  readonly stackTopMax: number;
  /** ELF_ET_DYN_BASE, bytes. */
  readonly elfEtDynBase: number;
  /** ELF_PLATFORM string copied to the stack (AT_PLATFORM), or null. */
  readonly platform: string | null;
  /** Size of a stack word (elf_addr_t), bytes. */
  readonly wordSize: 4 | 8;
  /**
   * ARCH_DLINFO: auxv entries that come before AT_HWCAP (x86_64: AT_SYSINFO_EHDR when a
   * vdso is mapped, AT_MINSIGSTKSZ). `vdso` is the vdso text address (bytes) or null.
   */
  archDlinfo(vdso: number | null): Array<[number, bigint]>;
  /** ELF_HWCAP, and ELF_HWCAP2 when the arch defines it (CPU-dependent: this machine's values). */
  readonly hwcap: bigint;
  readonly hwcap2: bigint | null;
  /**
   * arch_setup_additional_pages(): install the system mappings. Returns the vdso text
   * address in bytes (for AT_SYSINFO_EHDR), null when there is none, or a negative errno.
   */
  setupAdditionalPages(mm: Mm, ctx: SetupContext): number | null;
}

/** The note every output about an unverified architecture carries. */
export const MODELED_NOT_VERIFIED = "modeled, not verified";

/** VM_SEALED_SYSMAP: VM_SEALED when the policy seals this kind of mapping at creation. */
export function sealedSysmap(mm: Mm, kind: SystemMappingKind, ctx: SetupContext): number {
  return ctx.policy.sealsAtCreate(kind, { arch: mm.arch, optOutRequested: ctx.optOutRequested }) ? VMH_SEALED : 0;
}

/** Find the VMAs of a given special-mapping name (as vma_is_special_mapping() would). */
export function findSpecial(mm: Mm, names: readonly string[]): Vma | null {
  let found: Vma | null = null;
  mm.tree.forEach((v) => {
    if (found === null && v.special !== null && names.includes(v.special.name)) found = v;
  });
  return found;
}

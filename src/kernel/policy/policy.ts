// A sealing policy: which kernel-installed ("system") mappings are created sealed, and who,
// if anyone, may still change a sealed mapping. Policies are configuration: one named,
// documented object per file in this folder (see ./index.ts for the registry).

import type { Creds } from "../mm/creds.js";
import type { Vma } from "../mm/vma.js";

/** The system mappings a kernel installs (at execve, ARCH_MAP_VDSO, first uprobe hit). */
export type SystemMappingKind = "vdso" | "vvar" | "vvar_vclock" | "sigpage" | "vectors" | "uprobes" | "vsyscall";

/** The architectures the model knows the layout of; only x86_64 is verified on a live kernel. */
export type Arch = "x86_64" | "arm64" | "arm" | "riscv64";

/** What a policy may look at when a system mapping is created. */
export interface SealCreateContext {
  readonly arch: Arch;
  /** The task asked before execve to keep its system mappings unsealed (the proposed prctl). */
  readonly optOutRequested: boolean;
}

/** What a change to a sealed VMA would do (the seal checks in mm/*.ts name it). */
export type SealedOp = "unmap" | "mremap" | "mprotect" | "madvise";

export interface SealPolicy {
  /** The name users pass (`--policy NAME`). */
  readonly name: string;
  /** One line: what the policy does. */
  readonly summary: string;
  /** Where it comes from: merged (with the release) or proposed (with the review thread). */
  readonly source: string;
  /** Whether a system mapping of this kind is created sealed in this context. */
  sealsAtCreate(kind: SystemMappingKind, ctx: SealCreateContext): boolean;
  /**
   * Whether a task with these credentials may change this sealed VMA anyway (a proposed
   * exemption). Merged kernels have no exemption: return false.
   */
  exemptFromSeal(vma: Vma, creds: Creds, op?: SealedOp): boolean;
  /**
   * The policy offers the (modeled) opt-out prctl PR_MODELED_SYSMAP_SEAL_OPTOUT; without it
   * that prctl is an unknown option (EINVAL), as on every real kernel.
   */
  readonly offersOptOut?: boolean;
}

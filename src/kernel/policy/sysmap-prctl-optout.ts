// `sysmap+prctl-optout` (proposed in review, never merged): as `sysmap`, but a task may ask,
// before execve, that its next image keep [vdso], [vvar], [vvar_vclock] and [sigpage]
// unsealed. [uprobes] (created later, not part of the image) stays sealed, [vsyscall] is not
// a VMA, and [vectors] (the compat kuser helpers page) was not in the proposal's list: sealed.
//
// The prctl is MODELED: no kernel has it. Its option number PR_MODELED_SYSMAP_SEAL_OPTOUT is
// chosen far away from every real PR_* value (real ones are < 100 or four-letter magics such
// as PR_SET_VMA 0x53564d41), so a trace from a real program can never hit it by accident.
// prctl(PR_MODELED_SYSMAP_SEAL_OPTOUT, 1|0, 0, 0, 0) sets or clears the request; it survives
// fork and execve (it is about the next image). Under any other policy the option is
// unknown: EINVAL, as a real kernel answers.

import type { SealPolicy, SystemMappingKind } from "./policy.js";
import { sysmapSeals } from "./sysmap.js";

/** MODELED constant, not in any kernel: the opt-out prctl option number. */
export const PR_MODELED_SYSMAP_SEAL_OPTOUT = 0x6d6f6430; // "mod0"

/** The mappings of the exec image that the opt-out leaves unsealed. */
const OPT_OUT_KINDS: ReadonlySet<SystemMappingKind> = new Set(["vdso", "vvar", "vvar_vclock", "sigpage"]);

export const SYSMAP_PRCTL_OPTOUT: SealPolicy = {
  name: "sysmap+prctl-optout",
  summary: "as sysmap, but a prctl made before execve leaves vdso/vvar/vvar_vclock/sigpage unsealed (uprobes stays sealed)",
  source: "proposed in the review of the system-mapping sealing series (modeled prctl number, not in any kernel)",
  sealsAtCreate: (kind, ctx) => sysmapSeals(kind, ctx.arch) && !(ctx.optOutRequested && OPT_OUT_KINDS.has(kind)),
  exemptFromSeal: () => false,
  offersOptOut: true,
};

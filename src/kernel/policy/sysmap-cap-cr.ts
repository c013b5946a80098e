// `sysmap+cap-cr` (proposed in review): as `sysmap`, but a task holding CAP_CHECKPOINT_RESTORE
// in the initial user namespace may unmap or move (munmap, MAP_FIXED over, mremap) a sealed
// *system* mapping, as CRIU must to restore a vdso at its old address. It may not mprotect or
// madvise it, and user seals (mseal() on ordinary memory) bind it as everyone else.
//
// Decision: the capability must be held in the *initial* namespace (capable(), not
// ns_capable()). Anyone can create a user namespace and hold every capability inside it; an
// exemption honoured there would let any process unseal its own vdso, which is the very
// thing the seal is for.
//
// Approximation: a VMA does not record who sealed it, so a special mapping ([vdso], [vvar],
// [vvar_vclock], [sigpage], [vectors], [uprobes]) that a program sealed itself with mseal()
// is treated as a system seal too.

import { CAP_CHECKPOINT_RESTORE, capable } from "../mm/creds.js";
import type { SealPolicy } from "./policy.js";
import { sysmapSeals } from "./sysmap.js";

export const SYSMAP_CAP_CR: SealPolicy = {
  name: "sysmap+cap-cr",
  summary: "as sysmap, but CAP_CHECKPOINT_RESTORE (initial namespace) may unmap or move sealed system mappings",
  source: "proposed in the review of the system-mapping sealing series (CRIU's need)",
  sealsAtCreate: (kind, ctx) => sysmapSeals(kind, ctx.arch),
  exemptFromSeal: (vma, creds, op) => vma.special !== null && (op === "unmap" || op === "mremap") && capable(creds, CAP_CHECKPOINT_RESTORE),
};

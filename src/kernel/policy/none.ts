// `none`: nothing is sealed by the kernel. This machine (6.18, CONFIG_MSEAL_SYSTEM_MAPPINGS
// unset) and every kernel before 6.15. Only user mseal() calls seal anything.

import type { SealPolicy } from "./policy.js";

export const NONE: SealPolicy = {
  name: "none",
  summary: "no system mapping is sealed; only mseal() seals (CONFIG_MSEAL_SYSTEM_MAPPINGS=n, the reference machine)",
  source: "merged: every kernel; the default before and after 6.15",
  sealsAtCreate: () => false,
  exemptFromSeal: () => false,
};

// The registry of sealing policies. Adding a policy: one new file in this folder exporting a
// SealPolicy, and its name in POLICIES below.

import { NONE } from "./none.js";
import type { SealPolicy } from "./policy.js";
import { SYSMAP } from "./sysmap.js";
import { SYSMAP_BOOTPARAM, sysmapBootparam } from "./sysmap-bootparam.js";
import { SYSMAP_CAP_CR } from "./sysmap-cap-cr.js";
import { SYSMAP_PRCTL_OPTOUT } from "./sysmap-prctl-optout.js";

export const POLICIES: readonly SealPolicy[] = [NONE, SYSMAP, SYSMAP_PRCTL_OPTOUT, SYSMAP_CAP_CR, SYSMAP_BOOTPARAM];

export class UnknownPolicyError extends Error {
  constructor(readonly policyName: string) {
    super(
      `unknown sealing policy '${policyName}' (known: ${POLICIES.map((p) => p.name).join(", ")}; sysmap+bootparam also takes =yes or =no)`,
    );
    this.name = "UnknownPolicyError";
  }
}

/** A policy by name; `sysmap+bootparam=VALUE` gives the boot-parameter policy for that value. */
export function policyByName(name: string): SealPolicy {
  const p = POLICIES.find((q) => q.name === name);
  if (p !== undefined) return p;
  const boot = /^sysmap\+bootparam=(.*)$/.exec(name);
  if (boot !== null) return sysmapBootparam(boot[1]);
  throw new UnknownPolicyError(name);
}

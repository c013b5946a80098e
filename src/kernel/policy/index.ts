// The registry of sealing policies. Adding a policy: one new file in this folder exporting a
// SealPolicy, and its name in POLICIES below.

import { NONE } from "./none.js";
import type { SealPolicy } from "./policy.js";

export const POLICIES: readonly SealPolicy[] = [NONE];

export class UnknownPolicyError extends Error {
  constructor(readonly policyName: string) {
    super(`unknown sealing policy '${policyName}' (known: ${POLICIES.map((p) => p.name).join(", ")})`);
    this.name = "UnknownPolicyError";
  }
}

export function policyByName(name: string): SealPolicy {
  const p = POLICIES.find((q) => q.name === name);
  if (p === undefined) throw new UnknownPolicyError(name);
  return p;
}

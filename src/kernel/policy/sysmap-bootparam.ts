// `sysmap+bootparam`: v4 of the system-mapping sealing series (rejected in review) had a boot
// parameter, exec.seal_system_mappings=, overriding the build default
// CONFIG_SEAL_SYSTEM_MAPPINGS: "yes" seals, "no" does not; absent or any other value keeps
// the build default (the patch logged "invalid option" and ignored it). It was rejected for
// being a runtime switch for a hardening feature; the merged version has none.
// `policyByName("sysmap+bootparam")` is the build default `y` with no parameter given;
// `policyByName("sysmap+bootparam=no")` passes the parameter.

import type { SealPolicy } from "./policy.js";
import { sysmapSeals } from "./sysmap.js";

/** The policy for a kernel built with `buildDefault` and booted with `exec.seal_system_mappings=value`. */
export function sysmapBootparam(value: string | undefined, buildDefault = true): SealPolicy {
  const seal = value === "yes" ? true : value === "no" ? false : buildDefault;
  return {
    name: value === undefined ? "sysmap+bootparam" : `sysmap+bootparam=${value}`,
    summary: `as sysmap when exec.seal_system_mappings= says yes (or is absent with the build default y); here: ${seal ? "sealed" : "not sealed"}`,
    source: "proposed: v4 of the system-mapping sealing series (boot parameter; rejected in review)",
    sealsAtCreate: (kind, ctx) => seal && sysmapSeals(kind, ctx.arch),
    exemptFromSeal: () => false,
  };
}

export const SYSMAP_BOOTPARAM: SealPolicy = sysmapBootparam(undefined);

// The scenarios from the review debate, in the order the study reports them.

import { CRIU_RESTORE, CRIU_RESTORE_PARK, CRIU_RESTORE_PROXY, CRIU_RESTORE_UPROBE } from "./criu-restore.js";
import { GVISOR_STUB } from "./gvisor-stub.js";
import { GVISOR_VM_EXEC } from "./gvisor-vm-exec.js";
import { LDSO_RELRO_SEAL } from "./ldso-relro-seal.js";
import { ORDINARY } from "./ordinary.js";
import { RR_VDSO_REMAP } from "./rr-vdso-remap.js";
import type { Scenario } from "./types.js";

export const SCENARIOS: readonly Scenario[] = [
  CRIU_RESTORE,
  CRIU_RESTORE_PROXY,
  CRIU_RESTORE_PARK,
  CRIU_RESTORE_UPROBE,
  GVISOR_STUB,
  GVISOR_VM_EXEC,
  RR_VDSO_REMAP,
  LDSO_RELRO_SEAL,
  ORDINARY,
];

export class UnknownScenarioError extends Error {
  constructor(readonly scenarioName: string) {
    super(`unknown scenario '${scenarioName}' (known: ${SCENARIOS.map((s) => s.name).join(", ")})`);
    this.name = "UnknownScenarioError";
  }
}

export function scenarioByName(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new UnknownScenarioError(name);
  return s;
}

export type { CallRecord, MappingKind, Scenario, ScenarioContext } from "./types.js";

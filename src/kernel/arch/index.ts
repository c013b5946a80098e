// The architectures the model knows, by name.

import type { Arch } from "../policy/policy.js";
import type { ArchSpec } from "./arch.js";
import { ARM } from "./arm.js";
import { ARM64 } from "./arm64.js";
import { RISCV64 } from "./riscv64.js";
import { X86_64 } from "./x86_64.js";

export const ARCHES: Readonly<Record<Arch, ArchSpec>> = { x86_64: X86_64, arm64: ARM64, arm: ARM, riscv64: RISCV64 };

export class UnknownArchError extends Error {
  constructor(readonly archName: string) {
    super(`unknown architecture '${archName}' (known: ${Object.keys(ARCHES).join(", ")})`);
    this.name = "UnknownArchError";
  }
}

export function archSpec(arch: string): ArchSpec {
  const a = (ARCHES as Record<string, ArchSpec>)[arch];
  if (a === undefined) throw new UnknownArchError(arch);
  return a;
}

// The architectures the model knows, by name.

import type { Arch } from "../policy/policy.js";
import type { ArchSpec } from "./arch.js";
import { ARM } from "./arm.js";
import { ARM64, ARM64_COMPAT } from "./arm64.js";
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

/**
 * The loader that takes a file: the arch's native one, or on arm64 the compat loader for an
 * ELFCLASS32 EM_ARM file (compat_binfmt_elf; an AArch32 task).
 */
export function loaderSpecFor(arch: ArchSpec, head: Uint8Array): ArchSpec {
  const isElf32Arm = head.length >= 20 && head[0] === 0x7f && head[4] === 1 && (head[18] | (head[19] << 8)) === 40;
  return arch.arch === "arm64" && isElf32Arm ? ARM64_COMPAT : arch;
}

// The architectures the model knows, by name.

import type { Arch } from "../policy/policy.js";
import type { ArchSpec } from "./arch.js";
import { ARM } from "./arm.js";
import { ARM64, ARM64_COMPAT } from "./arm64.js";
import { RISCV64 } from "./riscv64.js";
import { X86_64, X86_IA32 } from "./x86_64.js";

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
 * The loader that takes a file: the arch's native one, or the compat loader
 * (compat_binfmt_elf) for an ELFCLASS32 file of the 32-bit architecture: EM_ARM on arm64
 * (an AArch32 task), EM_386 on x86_64 (an ia32 task).
 */
export function loaderSpecFor(arch: ArchSpec, head: Uint8Array): ArchSpec {
  // Neither loader looks at the class byte: e_machine (same offset in both) decides.
  const elf = head.length >= 20 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
  const machine = elf ? head[18] | (head[19] << 8) : -1;
  if (arch.arch === "arm64" && machine === 40) return ARM64_COMPAT;
  if (arch.arch === "x86_64" && (machine === 3 || machine === 6)) return X86_IA32;
  return arch;
}

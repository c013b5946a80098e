// A dynamic linker that seals what it has finished with: after relocation it makes libc's
// RELRO read-only (as every glibc does today) and then seals libc's text and RELRO with
// mseal(), the direction of glibc's memory-sealing series ("elf: Add support to memory
// sealing", which seals an object's PT_LOAD segments after RELRO protection is applied).
// The loading calls are those of ../shared/traces/perl_e1.strace lines 17-27 and 42 (libc.so.6
// of Debian 12, libc6 2.36-9+deb12u14), at the addresses this process's model gives.
// The program keeps working under every policy: only its own later mprotect of the sealed
// RELRO (what a PLT-hooking library does to patch the GOT) fails, with EPERM (reference
// linux-6.18-mm.md §2.2), whatever the kernel's policy.

import type { Kernel } from "../kernel/kernel.js";
import { startProcess } from "./process.js";
import { retOf, runProgram, ScenarioProgram } from "./program.js";
import type { CallRecord, Scenario, ScenarioContext } from "./types.js";

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const PROT_R = 1;
const PROT_RW = 3;
const PROT_RX = 5;
const MAP_PRIVATE_DENYWRITE = 0x802;
const MAP_PRIVATE_FIXED_DENYWRITE = 0x812;
const MAP_PRIVATE_FIXED_ANON = 0x32;

/** libc.so.6's segments as ld.so maps them (offsets from the load address; perl_e1.strace). */
const TEXT = { off: 0x26000, len: 1400832 };
const RODATA = { off: 0x17c000, len: 339968 };
const DATA = { off: 0x1cf000, len: 24576 };
const BSS = { off: 0x1d5000, len: 53072 };
const RELRO = { off: 0x1cf000, len: 16384 };

const LOADER_FAILS = "ld.so prints 'error while loading shared libraries' and the program exits with status 127";

function run(kernel: Kernel, ctx: ScenarioContext): CallRecord[] {
  const started = startProcess(kernel, "/usr/bin/true", ["true"], { policy: ctx.policy });
  const prog = new ScenarioProgram(kernel, started.pid);
  return runProgram(prog, (p) => {
    const fdr = kernel.open(p.pid, LIBC, 0);
    if ("errno" in fdr) throw new Error(`ldso scenario: open(${LIBC}) failed in the model: ${fdr.name}`);
    const fd = Number(fdr.ret);
    const base = Number(
      retOf(p.call("mmap", [0, 1974096, PROT_R, MAP_PRIVATE_DENYWRITE, fd, 0], { step: "map libc.so.6 whole", reaction: LOADER_FAILS })),
    );
    for (const [seg, prot, what] of [
      [TEXT, PROT_RX, "text"],
      [RODATA, PROT_R, "rodata"],
      [DATA, PROT_RW, "data"],
    ] as const) {
      p.call("mmap", [base + seg.off, seg.len, prot, MAP_PRIVATE_FIXED_DENYWRITE, fd, seg.off], {
        step: `map libc ${what}`,
        expect: BigInt(base + seg.off),
        reaction: LOADER_FAILS,
      });
    }
    p.call("mmap", [base + BSS.off, BSS.len, PROT_RW, MAP_PRIVATE_FIXED_ANON, -1, 0], {
      step: "libc bss",
      expect: BigInt(base + BSS.off),
      reaction: LOADER_FAILS,
    });
    p.call("close", [fd], { step: "close libc" });
    p.call("mprotect", [base + RELRO.off, RELRO.len, PROT_R], { step: "_dl_protect_relro: libc RELRO read-only", reaction: LOADER_FAILS });
    p.call("mseal", [base + TEXT.off, TEXT.len, 0], { step: "glibc direction: seal libc text", reaction: LOADER_FAILS });
    p.call("mseal", [base + RELRO.off, RELRO.len, 0], { step: "glibc direction: seal libc RELRO", reaction: LOADER_FAILS });
    // The program runs; later a library of its own tries to patch the GOT.
    p.call("mprotect", [base + RELRO.off, RELRO.len, PROT_RW], {
      step: "the program's own later mprotect of libc's RELRO (GOT patching): EPERM by the loader's seal, under every policy (§2.2)",
      expect: "EPERM",
      reaction: "the hooking library fails; the program itself keeps running",
    });
    p.call("munmap", [base + TEXT.off, 0x1000], {
      step: "the program's own later munmap of a page of libc text: EPERM under every policy (§2.2)",
      expect: "EPERM",
    });
  });
}

export const LDSO_RELRO_SEAL: Scenario = {
  name: "ldso-relro-seal",
  what: "ld.so loads libc, makes its RELRO read-only, then seals libc's text and RELRO (glibc's direction); the program's own later mprotect/munmap of them fails under every policy",
  source:
    "../shared/traces/perl_e1.strace lines 17-27, 42 (libc loading, RELRO mprotect); glibc memory-sealing series (elf: _dl_mseal_map after _dl_protect_relro); reference §2.2",
  run,
};

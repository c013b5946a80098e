// Builds the native executor with the system C compiler at `npm install` time.
// It is the oracle: it runs syscall programs on the live kernel.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "build");
mkdirSync(out, { recursive: true });
const cc = process.env.CC || "cc";
// -static: the child's initial layout is small and fixed (no ld.so, no shared libraries);
// -fno-stack-protector: no canary reads of TLS in code that runs while the program is
// rearranging the address space under it.
const args = ["-O2", "-static", "-fno-stack-protector", "-Wall", "-Wextra", "-o", join(out, "executor"), join(here, "executor.c")];
try {
  execFileSync(cc, args, { stdio: "inherit" });
} catch (e) {
  console.error(`aspace: building the native executor failed (${cc} ${args.join(" ")}).`);
  console.error("The model works without it, but `aspace conform` and the oracle tests need it.");
  process.exitCode = 0;
}

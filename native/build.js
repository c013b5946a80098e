// Builds the native oracle programs with the system C compiler at `npm install` time:
// every native/*.c becomes native/build/<name> (executor.c → the executor; other files are
// probes that run one kind of operation on the live kernel, e.g. exec, prctl, remote access).
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "build");
mkdirSync(out, { recursive: true });
const cc = process.env.CC || "cc";
const sources = readdirSync(here)
  .filter((f) => f.endsWith(".c"))
  .sort();
for (const src of sources) {
  const name = src.slice(0, -2);
  // -static: the child's initial layout is small and fixed (no ld.so, no shared libraries);
  // -fno-stack-protector: no canary reads of TLS in code that runs while the program is
  // rearranging the address space under it.
  const args = ["-O2", "-static", "-fno-stack-protector", "-Wall", "-Wextra", "-o", join(out, name), join(here, src)];
  try {
    execFileSync(cc, args, { stdio: "inherit" });
  } catch {
    console.error(`aspace: building native/${src} failed (${cc} ${args.join(" ")}).`);
    console.error("The model works without it, but the live-kernel checks that use it do not.");
    process.exitCode = 0;
  }
}

// Built-in modeled processes to checkpoint (`aspace checkpoint --scenario NAME`):
// - loop: the program of ../shared/traces/criu/loop.c, exec'd from the real binary beside it
//   (the model runs the kernel's execve; ld.so's own mappings of libc are user-space work
//   the model does not run, so libc is absent), then what loop.c does: 3 anonymous rw pages
//   with the first written ('A'), 2 pages written ('B') and made read-only, and the heap
//   glibc's first malloc makes (brk + 0x21000, two pages written);
// - sealed: loop plus the sealed_loop mappings of criu42-sealed-process-restore-drops-seals.txt:
//   5 anonymous rw pages, the first made read-only, the first three mseal'd, so the sealed
//   rw pair sits between a sealed r-- page and an unsealed rw pair.
// The [vdso]'s bytes, which the model does not know, are those of the reference kernel: the
// 2 vdso pages of the real CRIU dump in images-loop (same kernel build as the model's).

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Kernel } from "../kernel/kernel.js";
import type { SealPolicy } from "../kernel/policy/policy.js";
import { hostFileResolver } from "./host.js";
import { readImageDir } from "./images/dir.js";
import { PAGE, VMA_AREA_VDSO } from "./status.js";

export const CRIU_TRACES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../shared/traces/criu");

export const SCENARIOS = ["loop", "sealed"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export class ScenarioError extends Error {}

/** The reference kernel's vdso image: the [vdso] pages of the real dump in images-loop. */
export function referenceVdsoImage(dir = join(CRIU_TRACES, "images-loop")): Uint8Array {
  const img = readImageDir(dir);
  const t = img.tasks[0];
  const vdso = t?.mm?.vmas.find((v) => (v.status & VMA_AREA_VDSO) !== 0);
  if (t === undefined || vdso === undefined || t.pages === null) throw new ScenarioError(`${dir}: no [vdso] in the image`);
  let off = 0;
  for (const e of t.pagemap) {
    const n = Number(e.nrPages ?? 0n);
    if (e.vaddr === vdso.start) return t.pages.slice(off, off + Number(vdso.end - vdso.start));
    off += n * PAGE;
  }
  throw new ScenarioError(`${dir}: the [vdso] pages were not dumped`);
}

function must(kernel: Kernel, pid: number, name: string, args: Array<number | bigint>): bigint {
  const r = kernel.syscall(pid, name, args);
  if ("errno" in r) throw new ScenarioError(`${name}(${args.map((a) => `0x${a.toString(16)}`).join(", ")}) failed with ${r.name}`);
  return r.ret;
}

function fill(kernel: Kernel, pid: number, addr: number, len: number, ch: string): void {
  if (!kernel.writeMemory(pid, addr, new Uint8Array(len).fill(ch.charCodeAt(0))))
    throw new ScenarioError(`cannot write at 0x${addr.toString(16)}`);
}

/** Build a scenario's process in a fresh kernel. */
export function buildScenario(name: string, policy: string | SealPolicy = "none"): { kernel: Kernel; pid: number } {
  if (!(SCENARIOS as readonly string[]).includes(name))
    throw new ScenarioError(`unknown scenario '${name}' (known: ${SCENARIOS.join(", ")})`);
  const kernel = new Kernel({ policy, resolver: hostFileResolver() });
  const exe = join(CRIU_TRACES, "loop");
  const p = kernel.spawnExec(exe, [exe], ["HOME=/root"]);
  if (!("pid" in p)) throw new ScenarioError(`execve(${exe}) failed: ${p.name} (${p.reason})`);
  const pid = p.pid;
  // loop.c
  const a = Number(must(kernel, pid, "mmap", [0, 3 * PAGE, 3, 0x22, -1n & 0xffffffffffffffffn, 0]));
  fill(kernel, pid, a, PAGE, "A");
  const b = Number(must(kernel, pid, "mmap", [0, 2 * PAGE, 3, 0x22, -1n & 0xffffffffffffffffn, 0]));
  fill(kernel, pid, b, 2 * PAGE, "B");
  must(kernel, pid, "mprotect", [b, 2 * PAGE, 1]);
  const brk0 = Number(must(kernel, pid, "brk", [0]));
  must(kernel, pid, "brk", [brk0 + 0x21000]);
  fill(kernel, pid, brk0, 2 * PAGE, "h");
  if (name === "sealed") {
    const x = Number(must(kernel, pid, "mmap", [0, 5 * PAGE, 3, 0x22, -1n & 0xffffffffffffffffn, 0]));
    fill(kernel, pid, x, PAGE, "R");
    fill(kernel, pid, x + PAGE, 4 * PAGE, "S");
    must(kernel, pid, "mprotect", [x, PAGE, 1]);
    must(kernel, pid, "mseal", [x, 3 * PAGE, 0]);
  }
  return { kernel, pid };
}

// Where a scenario's processes come from: execve through the model (`Kernel.spawnExec`, the
// tasks/exec work) when the model has it; until then, the process image the reference
// describes for a PIE with an interpreter after execve with ASLR off (§5.3 of
// ../shared/reference/linux-6.18-mm.md), with the system mappings sealed as the policy says
// (§3: "created already sealed", the same VM_SEALED bit mseal() sets). The fallback is
// labelled in every record that uses it.

import type { Resolver } from "../kernel/fs/vfs.js";
import { Kernel, type KernelOptions } from "../kernel/kernel.js";
import type { Creds } from "../kernel/mm/creds.js";
import type { SealPolicy, SystemMappingKind } from "../kernel/policy/policy.js";
import type { Layout, LayoutVma } from "../kernel/task/layout.js";

/** A kernel under `policy` (x86_64, the reference machine's defaults otherwise). */
export function makeKernel(policy: SealPolicy, resolver: Resolver, creds?: Creds): Kernel {
  const opts = { resolver, policy, arch: "x86_64", ...(creds ? { creds } : {}) } as KernelOptions;
  const k = new Kernel(opts);
  return k;
}

export interface StartOptions {
  /** The kernel's policy (the fallback seals by it; execve reads it from the kernel). */
  policy: SealPolicy;
  creds?: Creds;
  /** The task asked for the proposed opt-out prctl before execve. */
  optOutRequested?: boolean;
}

export interface Started {
  pid: number;
  /** How the process image was made: "execve" (the model's) or the reference fallback. */
  via: "execve" | "reference-layout";
}

type SpawnExec = (
  path: string,
  argv: string[],
  envp: string[],
  opts?: { creds?: Creds; optOutRequested?: boolean },
) => { pid: number } | { errno: number; name: string; reason: string };

/** The environment the shared traces were recorded with (../shared/traces/README.md). */
export const TRACE_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "TERM=dumb"];

export class StartError extends Error {}

/** Whether the model can execve (else scenarios start from the reference layout). */
export function hasExecve(kernel: Kernel): boolean {
  return typeof (kernel as unknown as { spawnExec?: SpawnExec }).spawnExec === "function";
}

export const REFERENCE_LAYOUT_NOTE =
  "process images come from the reference's post-execve layout (linux-6.18-mm.md §5.3, system mappings sealed per the policy), not from the model's execve";

/** Start `path` in a new process as execve would. */
export function startProcess(kernel: Kernel, path: string, argv: string[], opts: StartOptions): Started {
  const spawnExec = (kernel as unknown as { spawnExec?: SpawnExec }).spawnExec;
  if (typeof spawnExec === "function") {
    const r = spawnExec.call(kernel, path, argv, TRACE_ENV, { creds: opts.creds, optOutRequested: opts.optOutRequested === true });
    if ("errno" in r) throw new StartError(`execve(${path}) failed in the model: ${r.name} (${r.reason})`);
    return { pid: r.pid, via: "execve" };
  }
  return startFromReference(kernel, opts);
}

const vma = (start: number, end: number, flags: string[], path = "", pgoff = 0): LayoutVma => ({
  start,
  end,
  flags,
  pgoff,
  path,
  dev: path.startsWith("/") ? "fe:00" : "00:00",
  ino: path.startsWith("/") ? 1 : 0,
  anonKb: 0,
});

/** §5.3: ld.so ends at mmap_base, [vvar] [vvar_vclock] [vdso] right below it, the stack on top. */
function referenceLayout(): Layout {
  const LD = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
  return {
    vmas: [
      vma(0x555555554, 0x555555556, ["rd", "mr", "mw", "me"], "/usr/bin/true"),
      vma(0x555555556, 0x55555555a, ["rd", "ex", "mr", "mw", "me"], "/usr/bin/true", 2),
      vma(0x55555555a, 0x55555555c, ["rd", "mr", "mw", "me"], "/usr/bin/true", 6),
      vma(0x55555555c, 0x55555555e, ["rd", "wr", "mr", "mw", "me", "ac"], "/usr/bin/true", 7),
      vma(0x7ffff7fc2, 0x7ffff7fc6, ["rd", "mr", "pf", "io", "de", "dd"], "[vvar]"),
      vma(0x7ffff7fc6, 0x7ffff7fc8, ["rd", "mr", "pf", "io", "de", "dd"], "[vvar_vclock]"),
      vma(0x7ffff7fc8, 0x7ffff7fca, ["rd", "ex", "mr", "mw", "me", "de"], "[vdso]"),
      vma(0x7ffff7fca, 0x7ffff7fcb, ["rd", "mr", "mw", "me"], LD),
      vma(0x7ffff7fcb, 0x7ffff7ff1, ["rd", "ex", "mr", "mw", "me"], LD, 1),
      vma(0x7ffff7ff1, 0x7ffff7ffb, ["rd", "mr", "mw", "me"], LD, 0x27),
      vma(0x7ffff7ffb, 0x7ffff7fff, ["rd", "wr", "mr", "mw", "me", "ac"], LD, 0x31),
      vma(0x7ffffffde, 0x7ffffffff, ["rd", "wr", "mr", "mw", "me", "gd", "ac"], "[stack]"),
    ],
    startBrk: 0x55555555e000,
    brk: 0x55555555e000,
    startStack: 0x7fffffffe000,
    rlimitStack: 8 * 1024 * 1024,
  };
}

const SYSTEM_KIND: Record<string, SystemMappingKind> = { "[vdso]": "vdso", "[vvar]": "vvar", "[vvar_vclock]": "vvar_vclock" };

function startFromReference(kernel: Kernel, opts: StartOptions): Started {
  const layout = referenceLayout();
  const p = kernel.spawnFromLayout(layout);
  const policy = opts.policy;
  p.mm.sealPolicy = policy;
  if (opts.creds) {
    // The task's credentials (the model copies them into its mm at each syscall).
    (p as { creds?: Creds }).creds = opts.creds;
    p.mm.creds = opts.creds;
  }
  for (const v of layout.vmas) {
    const kind = SYSTEM_KIND[v.path];
    if (kind === undefined) continue;
    if (!policy.sealsAtCreate(kind, { arch: "x86_64", optOutRequested: opts.optOutRequested === true })) continue;
    const r = kernel.syscall(p.pid, "mseal", [v.start * 4096, (v.end - v.start) * 4096, 0]);
    if ("errno" in r) throw new StartError(`sealing ${v.path} of the reference layout failed: ${r.name}`);
  }
  return { pid: p.pid, via: "reference-layout" };
}

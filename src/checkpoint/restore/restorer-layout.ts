// The restorer task's address space when it enters the restorer blob (phase B of
// ../../../../shared/reference/criu-restore.md §1a). The exec'd `criu` binary is not
// available to the model, so the restorer starts from a documented layout (spawnFromLayout),
// built only from what the real restore showed (criu42-restore-v4.log and the ftrace of the
// restorer phase):
// - the bootstrap region 0x10000-0x38000 ("Found bootstrap VMA hint at: 0x10000 (needs
//   ~160K)"): restorer blob 0x10000-0x1d000 (mmap'd RWX, then mremap'd there), stack/bss/
//   sigframe 0x1d000-0x2a000, task args 0x2a000-0x2b000, thread args 0x2b000-0x2f000 (the
//   two logged mremaps); its last 0x8000 bytes (0x30000-0x38000) are left free for the
//   runtime vDSO (vdso_rt_size = vdso 0x2000 + vvar 0x6000);
// - criu's own [vvar] 7ff637167000-7ff63716b000, [vvar_vclock] 7ff63716b000-7ff63716d000
//   and [vdso] 7ff63716d000-7ff63716f000 (log line 37: "rt [vdso] 7ff63716d000-7ff63716f000
//   [vvar] 7ff637167000-7ff63716d000"), sealed when the policy seals system mappings at
//   execve (criu itself was exec'd under that policy);
// - the (empty) premap area at 0x7ff636c70000 ("Shrunk premap area to 0x7ff636c70000(0)").
// criu's own binary, libraries, heap and stack are not known and not modeled: the big
// munmaps of unmap_old_vmas remove them whatever they are, and nothing else touches them.

import type { SealPolicy, SystemMappingKind } from "../../kernel/policy/policy.js";
import type { Layout, LayoutVma } from "../../kernel/task/layout.js";
import { PAGE } from "../status.js";

export interface RestorerFacts {
  bootstrapStart: number; // bytes
  bootstrapLen: number; // bytes
  /** The tail of the bootstrap kept free for the runtime vdso+vvar (vdso_rt_size). */
  vdsoRtSize: number;
  /** Task args + thread args: [taskArgs, taskArgs + argsLen) is unmapped by the restorer itself. */
  taskArgs: number;
  argsLen: number;
  premapAddr: number;
  premapLen: number;
  /** criu's own runtime system mappings: [vvar, vvar_vclock, vdso], bytes. */
  runtime: Array<{ kind: SystemMappingKind; name: string; start: number; end: number }>;
  /** Where the restorer keeps PR_SET_NAME's string, the prctl_mm_map struct and the auxv it points to. */
  nameAddr: number;
  mmMapAddr: number;
  auxvAddr: number;
}

export const CRIU42_RESTORER: RestorerFacts = {
  bootstrapStart: 0x10000,
  bootstrapLen: 0x28000,
  vdsoRtSize: 0x8000,
  taskArgs: 0x2a000,
  argsLen: 0x5000,
  premapAddr: 0x7ff636c70000,
  premapLen: 0,
  runtime: [
    { kind: "vvar", name: "[vvar]", start: 0x7ff637167000, end: 0x7ff63716b000 },
    { kind: "vvar_vclock", name: "[vvar_vclock]", start: 0x7ff63716b000, end: 0x7ff63716d000 },
    { kind: "vdso", name: "[vdso]", start: 0x7ff63716d000, end: 0x7ff63716f000 },
  ],
  // From the observed trace: prctl(PR_SET_NAME, 0x2a3d4), prctl(PR_SET_MM, PR_SET_MM_MAP, 0x24fc0, 0x68).
  nameAddr: 0x2a3d4,
  mmMapAddr: 0x24fc0,
  // Not visible in the trace (a pointer inside the struct): chosen in the task args page.
  auxvAddr: 0x2a040,
};

const ANON_RW = ["rd", "wr", "mr", "mw", "me", "ac"];
const FLAGS_BY_NAME: Record<string, string[]> = {
  "[vvar]": ["rd", "mr", "pf", "io", "de", "dd"],
  "[vvar_vclock]": ["rd", "mr", "pf", "io", "de", "dd"],
  "[vdso]": ["rd", "ex", "mr", "mw", "me", "de"],
};

function anon(start: number, end: number, flags: string[]): LayoutVma {
  return {
    start: start / PAGE,
    end: end / PAGE,
    flags,
    pgoff: start / PAGE,
    path: "",
    dev: "00:00",
    ino: 0,
    anonKb: ((end - start) / 1024) | 0,
  };
}

/** The restorer's layout at phase B entry, with criu's system mappings sealed as `policy` would have sealed them at criu's execve. */
export function restorerLayout(facts: RestorerFacts, policy: SealPolicy, optOutRequested: boolean): Layout {
  const b = facts.bootstrapStart;
  const vmas: LayoutVma[] = [
    anon(b, b + 0xd000, ["rd", "wr", "ex", "mr", "mw", "me", "ac"]),
    anon(b + 0xd000, facts.taskArgs, ANON_RW),
    anon(facts.taskArgs, facts.taskArgs + 0x1000, ANON_RW),
    anon(facts.taskArgs + 0x1000, facts.taskArgs + 0x3000, ANON_RW),
    anon(facts.taskArgs + 0x3000, facts.taskArgs + facts.argsLen, ANON_RW),
  ];
  for (const r of facts.runtime) {
    const sealed = policy.sealsAtCreate(r.kind, { arch: "x86_64", optOutRequested });
    const flags = [...(FLAGS_BY_NAME[r.name] ?? []), ...(sealed ? ["sl"] : [])];
    vmas.push({ start: r.start / PAGE, end: r.end / PAGE, flags, pgoff: 0, path: r.name, dev: "00:00", ino: 0, anonKb: 0 });
  }
  return { vmas, startBrk: 0, brk: 0, startStack: 0, rlimitStack: 8 * 1024 * 1024 };
}

/**
 * restorer_get_vma_hint(): the lowest address at or above mmap_min_addr where `len` bytes are
 * free both in criu's own layout (`own`, the bootstrap excluded) and in the dumpee's (`target`).
 * Ranges are [start, end) in bytes, any order.
 */
export function bootstrapHint(
  own: Array<[number, number]>,
  target: Array<[number, number]>,
  len: number,
  minAddr: number,
  taskSize: number,
): number | null {
  const all = [...own, ...target].sort((a, b) => a[0] - b[0]);
  let addr = minAddr;
  for (const [s, e] of all) {
    if (e <= addr) continue;
    if (s >= addr + len) break;
    addr = Math.max(addr, e);
  }
  return addr + len <= taskSize ? addr : null;
}

/** The same facts with the bootstrap (and everything the restorer keeps in it) moved to `start`. */
export function movedBootstrap(f: RestorerFacts, start: number): RestorerFacts {
  const d = start - f.bootstrapStart;
  return {
    ...f,
    bootstrapStart: start,
    taskArgs: f.taskArgs + d,
    nameAddr: f.nameAddr + d,
    mmMapAddr: f.mmMapAddr + d,
    auxvAddr: f.auxvAddr + d,
  };
}

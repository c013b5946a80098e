// rr replaying a recording: the replayed tracee must see [vvar], [vvar_vclock] and [vdso]
// at the addresses they had when it was recorded, so rr moves them there as one group,
// through a temporary area so that no move lands on a range another still occupies.
// Source: rr's move_vdso_and_vvar_mappings (used at replay exec and in Task::dup_from), [vvar_vclock] handled like [vvar] since rr commit
// d6c7343d (criu-restore.md §5b). rr injects these mremaps into the tracee, so they run
// with the tracee's credentials (an ordinary user's).
//
// Why mremap and not munmap + ARCH_MAP_VDSO: the vdso's special-mapping mremap hook keeps
// mm->context.vdso right (signal return goes through it), vvar pages cannot be recreated
// at a chosen address, and ARCH_MAP_VDSO only takes a hint and fails with EEXIST while any
// vdso/vvar mapping exists (criu-restore.md §1a step 9).

import type { Kernel } from "../kernel/kernel.js";
import { NOBODY } from "../kernel/mm/creds.js";
import { parseMaps } from "../kernel/procfs/parse.js";
import { startProcess } from "./process.js";
import { retOf, runProgram, ScenarioProgram } from "./program.js";
import type { CallRecord, Scenario, ScenarioContext } from "./types.js";

const MAP_PRIVATE_ANON = 0x22;
const MREMAP_MAYMOVE_FIXED = 3;

/** Where the recording had them: the `loop` process of ../shared/traces/criu (ASLR on). */
export const RECORDED_GROUP = { "[vvar]": 0x7fe980a17000, "[vvar_vclock]": 0x7fe980a1b000, "[vdso]": 0x7fe980a1d000 } as const;

const RR_FAILS =
  "rr cannot make the tracee match the recording: replay stops with a fatal 'mremap failed' assertion (rr treats every failed injected syscall as fatal)";

function run(kernel: Kernel, ctx: ScenarioContext): CallRecord[] {
  const started = startProcess(kernel, "/usr/bin/true", ["true"], { policy: ctx.policy, creds: NOBODY, optOutRequested: true });
  const prog = new ScenarioProgram(kernel, started.pid);
  return runProgram(prog, (p) => {
    const group = parseMaps(kernel.maps(p.pid)).filter((e) => e.name in RECORDED_GROUP);
    const lo = Math.min(...group.map((e) => Number(e.start)));
    const hi = Math.max(...group.map((e) => Number(e.end)));
    const tmp = retOf(p.call("mmap", [0, hi - lo, 0, MAP_PRIVATE_ANON, -1, 0], { step: "temporary area for the vdso/vvar group" }));
    for (const e of group) {
      const len = Number(e.end - e.start);
      const to = Number(tmp) + (Number(e.start) - lo);
      p.call("mremap", [e.start, len, len, MREMAP_MAYMOVE_FIXED, to], {
        step: `move ${e.name} into the temporary area`,
        expect: BigInt(to),
        reaction: RR_FAILS,
      });
    }
    for (const e of group) {
      const len = Number(e.end - e.start);
      const from = Number(tmp) + (Number(e.start) - lo);
      const to = RECORDED_GROUP[e.name as keyof typeof RECORDED_GROUP];
      p.call("mremap", [from, len, len, MREMAP_MAYMOVE_FIXED, to], {
        step: `move ${e.name} to its recorded address`,
        expect: BigInt(to),
        reaction: RR_FAILS,
      });
    }
  });
}

export const RR_VDSO_REMAP: Scenario = {
  name: "rr-vdso-remap",
  what: "rr replay moves the tracee's [vvar]/[vvar_vclock]/[vdso] as a group to their recorded addresses with mremap (through a temporary area)",
  source:
    "rr move_vdso_and_vvar_mappings (replay exec, Task::dup_from); Kconfig MSEAL_SYSTEM_MAPPINGS lists rr as broken; criu-restore.md §5b",
  run,
};

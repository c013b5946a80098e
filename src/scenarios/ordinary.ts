// An ordinary program: /usr/bin/true after execve, its heap set up by malloc's first brk
// calls, then exit. Nothing it does touches a system mapping, so no sealing policy should
// change any of its results. Source: ../shared/traces/ (every memory call of the five
// recorded programs succeeds; brk(NULL) then brk(+0x21000) is malloc's first growth, e.g.
// ls_la_root.strace).

import type { Kernel } from "../kernel/kernel.js";
import { startProcess } from "./process.js";
import { retOf, runProgram, ScenarioProgram } from "./program.js";
import type { CallRecord, Scenario, ScenarioContext } from "./types.js";

function run(kernel: Kernel, ctx: ScenarioContext): CallRecord[] {
  const started = startProcess(kernel, "/usr/bin/true", ["true"], { policy: ctx.policy });
  const prog = new ScenarioProgram(kernel, started.pid);
  return runProgram(prog, (p) => {
    const brk0 = retOf(p.call("brk", [0], { step: "malloc: brk(NULL)" }));
    p.call("brk", [brk0 + 0x21000n], { step: "malloc: grow the heap by 132 KiB", expect: brk0 + 0x21000n });
    p.call("mmap", [0, 0x21000, 3, 0x22, -1, 0], { step: "an anonymous mapping" });
  });
}

export const ORDINARY: Scenario = {
  name: "ordinary-true",
  what: "/usr/bin/true: execve, malloc's first brk growth, an anonymous mmap, exit",
  source: "../shared/traces/ls_la_root.strace (the brk pattern of every recorded program); execve by the model",
  run,
};

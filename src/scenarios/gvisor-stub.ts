// gVisor's stub process: runsc maps a small stub code region, forks the stub from it, and
// the stub unmaps everything else, system mappings included, so that the Sentry owns the
// whole address space; guest memory is then mapped in from the Sentry's memory file.
// Source: gVisor pkg/sentry/platform/ptrace (stub_unsafe.go stubInit: the stub region is
// mmapped at a hint near stubInitAddress 0x7fffffff0000 and made r-x; subprocess_linux.go
// createStub/forkStub: the child unmaps [0, stubStart) and [stubEnd, maximumUserAddress));
// systrap does the same), and the kernel's Kconfig text for MSEAL_SYSTEM_MAPPINGS, which
// lists gVisor among the programs that break (reference linux-6.18-mm.md §3,
// criu-restore.md §5a). The stub runs as root of the sandbox's own user namespace: it holds
// no capability in the initial namespace.

import type { Kernel } from "../kernel/kernel.js";
import { CAP_FULL_SET, type Creds, INIT_USER_NS } from "../kernel/mm/creds.js";
import { startProcess } from "./process.js";
import { retOf, runProgram, ScenarioProgram } from "./program.js";
import type { CallRecord, Scenario, ScenarioContext } from "./types.js";

const STUB_INIT_ADDRESS = 0x7fffffff0000;
const MAXIMUM_USER_ADDRESS = 0x7ffffffff000;
const STUB_SIZE = 0x1000;
const PROT_RW = 3;
const PROT_RX = 5;
const MAP_PRIVATE_ANON = 0x22;
const MAP_SHARED_FIXED_ANON = 0x31;

/** Root in a child user namespace: every capability there, none in the initial namespace. */
export const SANDBOX_ROOT: Creds = {
  uid: 0,
  caps: CAP_FULL_SET,
  initUserNs: false,
  userNs: { id: 0x5a4d, parent: INIT_USER_NS, level: 1, ownerUid: 0 },
};

const STUB_FAILS =
  "the stub child exits instead of reporting ready; the Sentry cannot create the address space and the sandboxed program never starts";

type Fork = (pid: number) => number | { errno: number };

function run(kernel: Kernel, ctx: ScenarioContext): CallRecord[] {
  const started = startProcess(kernel, "/usr/bin/true", ["runsc-sandbox"], {
    policy: ctx.policy,
    creds: SANDBOX_ROOT,
    optOutRequested: true,
  });
  const prog = new ScenarioProgram(kernel, started.pid);
  return runProgram(prog, (p) => {
    const stub = retOf(
      p.call("mmap", [STUB_INIT_ADDRESS, STUB_SIZE, PROT_RW, MAP_PRIVATE_ANON, -1, 0], { step: "stubInit: the stub region" }),
    );
    p.call("mprotect", [stub, STUB_SIZE, PROT_RX], { step: "stubInit: the stub code is r-x" });
    const fork = (kernel as unknown as { fork?: Fork }).fork;
    if (typeof fork === "function") {
      const child = fork.call(kernel, p.pid);
      if (typeof child === "number") p.pid = child;
    }
    const stubEnd = Number(stub) + STUB_SIZE;
    p.call("munmap", [0, Number(stub)], { step: "stub child: unmap [0, stubStart)", reaction: STUB_FAILS });
    p.call("munmap", [stubEnd, MAXIMUM_USER_ADDRESS - stubEnd], {
      step: "stub child: unmap [stubEnd, maximumUserAddress) (the host [vvar]/[vdso] among them)",
      reaction: STUB_FAILS,
    });
    // The Sentry maps the guest's memory into the stub (from its memory file; shared
    // anonymous memory stands in for it here) and runs guest code there.
    p.call("mmap", [0x400000, 0x10000, PROT_RX, MAP_SHARED_FIXED_ANON, -1, 0], { step: "Sentry: guest text", expect: 0x400000n });
    p.call("mmap", [0x7fffc0000000, 0x100000, PROT_RW, MAP_SHARED_FIXED_ANON, -1, 0], {
      step: "Sentry: guest stack",
      expect: 0x7fffc0000000n,
    });
  });
}

export const GVISOR_STUB: Scenario = {
  name: "gvisor-stub",
  what: "gVisor's stub process: maps its stub code, then unmaps every other mapping (the host's system mappings included) so that the Sentry can map guest memory anywhere",
  source:
    "gVisor pkg/sentry/platform/ptrace stub_unsafe.go stubInit and subprocess_linux.go createStub (systrap likewise); Kconfig MSEAL_SYSTEM_MAPPINGS lists gVisor as broken; criu-restore.md §5a",
  run,
};

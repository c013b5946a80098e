// The gVisor stub done the proposed way: process_vm_exec() on an empty address-space handle
// (mmfd), after the process_vm_exec RFC (Andrei Vagin, 2021), as modeled by helper "remote"
// in src/kernel/task/mmfd.ts (PROPOSED, MODELED; NOT IN ANY KERNEL). The Sentry creates an
// empty mm, maps guest memory into it, writes guest code, makes it executable and runs it;
// the program is remote's gvisorStubProgram(). An empty mm has no system mappings, so
// there is nothing a sealing policy could forbid: the comparison with `gvisor-stub` (the
// fork-a-stub way) is the point.

import type { Kernel } from "../kernel/kernel.js";
import { gvisorStubProgram, mmHandle, type VmExecOp } from "../kernel/task/mmfd.js";
import { SANDBOX_ROOT } from "./gvisor-stub.js";
import { argRanges, formatCall, kindsIn, primaryKind, resultRange } from "./kinds.js";
import { startProcess } from "./process.js";
import type { CallRecord, CallResult, PageRange, Scenario, ScenarioContext } from "./types.js";

const SENTRY_FAILS = "the Sentry cannot run the guest in this address space: the sandboxed program fails to start";

function run(kernel: Kernel, ctx: ScenarioContext): CallRecord[] {
  const started = startProcess(kernel, "/usr/bin/true", ["runsc-sandbox"], {
    policy: ctx.policy,
    creds: SANDBOX_ROOT,
    optOutRequested: true,
  });
  const pid = started.pid;
  const calls: CallRecord[] = [];
  const fdr = kernel.mmfdCreate(pid, { empty: true });
  if ("errno" in fdr) throw new Error(`mmfd_create(empty) failed in the model: ${fdr.name}`);
  const fd = Number(fdr.ret);
  const handle = mmHandle(kernel.process(pid), fd);
  if (handle === null) throw new Error("mmfd_create gave no handle");
  for (const op of gvisorStubProgram(handle.mm) as VmExecOp[]) {
    const isCall = op.op === "syscall";
    const name = isCall ? op.name : `access:${op.op}`;
    const words = isCall ? op.args.map((x) => BigInt.asUintN(64, BigInt(x))) : [];
    const before: PageRange[] = isCall ? argRanges(op.name, words) : [[Math.floor(op.addr / 4096), Math.ceil((op.addr + op.len) / 4096)]];
    const k = kindsIn(handle.mm, before);
    const r = kernel.processVmExec(pid, fd, [op]);
    let result: CallResult;
    if ("errno" in r) result = r;
    else if (r.stop === null) result = { ret: r.results[0] ?? 0n };
    else if (r.stop.errno !== undefined) result = r.stop.errno;
    else result = { errno: 0, name: `SIG${r.stop.fault?.signal ?? "SEGV"}` };
    const touched = [...before];
    if (isCall && "ret" in result) {
      const after = resultRange(op.name, words, result.ret);
      if (after !== null) touched.push(after);
    }
    const accepted = "ret" in result;
    const rec: CallRecord = {
      seq: calls.length,
      pid,
      name,
      call: isCall ? formatCall(op.name, op.args) : `${op.op}(0x${op.addr.toString(16)}, ${op.len})`,
      result,
      kind: primaryKind(k),
      kinds: k.kinds,
      touched,
      step: `process_vm_exec: ${op.why ?? name}`,
      accepted,
    };
    if (!accepted) rec.reaction = SENTRY_FAILS;
    calls.push(rec);
    if (!accepted) break;
  }
  return calls;
}

export const GVISOR_VM_EXEC: Scenario = {
  name: "gvisor-process-vm-exec",
  what: "the gVisor stub the proposed way: the Sentry runs guest code in an empty address-space handle with process_vm_exec (modeled proposal), so no system mapping has to go",
  source: "process_vm_exec RFC (Andrei Vagin, 2021); src/kernel/task/mmfd.ts gvisorStubProgram (PROPOSED, MODELED; not in any kernel)",
  run,
};

// Public library surface: `import { Kernel } from "aspace"`.

export { dumpProcess, readImageDir, restore, writeImageDir } from "./checkpoint/index.js";
export { Kernel, type KernelOptions, type SpawnOptions, type SysResult } from "./kernel/kernel.js";
export { type KernelConfig, makeConfig } from "./kernel/mm/config.js";
export {
  CAP_CHECKPOINT_RESTORE,
  CAP_IPC_LOCK,
  CAP_SYS_ADMIN,
  CAP_SYS_PTRACE,
  CAP_SYS_RAWIO,
  CAP_SYS_RESOURCE,
  type Creds,
  FULL_ROOT,
  NOBODY,
  REFERENCE_ROOT,
  withCap,
} from "./kernel/mm/creds.js";
export type { Rlimits } from "./kernel/mm/rlimits.js";
export { POLICIES, policyByName, UnknownPolicyError } from "./kernel/policy/index.js";
export type { Arch, SealPolicy, SystemMappingKind } from "./kernel/policy/policy.js";
export { procMaps, procSmaps } from "./kernel/procfs/maps.js";
export { CLONE_FILES, CLONE_NEWUSER, CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK, CLONE_VM } from "./kernel/task/clone.js";
export { Process } from "./kernel/task/process.js";
export { hostResolver } from "./oracle/host-files.js";
export { SCENARIOS, scenarioByName } from "./scenarios/index.js";
export { runStudy } from "./scenarios/study.js";
// Engines (layer 2): strace replay, CRIU images and restore, the sealing-policy study.
export { type ReplayReport, replayLog } from "./trace/replay/index.js";
export { parseStrace, StraceParser } from "./trace/strace/index.js";

// The strace replayer (layer 2): `replayLog(path, { policy, resolver, bundle, onCall })`.
export { BundleError, type BundleFile, bundleFacts, bundleResolver, type FileSource, type RecordBundle, readBundle } from "./bundle.js";
export {
  metaEnvironment,
  NotAStraceLogError,
  type ReplayLogOptions,
  type ReplayModel,
  type ReplayModelOptions,
  replayLog,
  replayLogModel,
} from "./replay-log.js";
export { isMemoryCall, MEMORY_SYSCALLS, Replayer, type ReplayOptions, vmaKindAt } from "./replayer.js";
export type { CallRecord, Divergence, NameStats, ReplayReport, VmaKind } from "./types.js";

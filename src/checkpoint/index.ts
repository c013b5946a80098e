// Checkpoint/restore: CRIU images in and out, dump of modeled processes, restore as CRIU's
// restorer does under a sealing policy (see docs/checkpoint.md).
export { type DumpOptions, dumpProcess } from "./dump.js";
export { hostFileResolver, hostPath, type PathMap, parsePathMap } from "./host.js";
export * from "./images/index.js";
export { type ImportOptions, importImages } from "./import.js";
export {
  type RestoreOptions,
  type RestoreResult,
  type RestoreStep,
  restore,
  STRATEGIES,
  type Strategy,
  unmapOldRanges,
} from "./restore/restore.js";
export { CRIU42_RESTORER, type RestorerFacts, restorerLayout } from "./restore/restorer-layout.js";
export { explain, type StrategyOutcome, searchStrategies } from "./restore/search.js";
export { blobsMatch, REFERENCE_RUNTIME_VDSO, type VdsoIdentity, vdsoSymbols } from "./restore/vdso.js";
export { buildScenario, referenceVdsoImage, SCENARIOS } from "./scenarios.js";

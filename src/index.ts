// Public library surface: `import { Kernel } from "aspace"`.
export { Kernel, type KernelOptions, type SysResult } from "./kernel/kernel.js";
export { type KernelConfig, makeConfig } from "./kernel/mm/config.js";
export { procMaps, procSmaps } from "./kernel/procfs/maps.js";

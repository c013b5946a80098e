// Public library surface: `import { Kernel } from "aspace"`.
export { Kernel, type KernelOptions, type SysResult } from "./kernel/kernel.js";
export { makeConfig, type KernelConfig } from "./kernel/mm/config.js";
export { procMaps, procSmaps } from "./kernel/procfs/maps.js";

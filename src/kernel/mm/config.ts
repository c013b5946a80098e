// Kernel configuration the model answers for. Defaults are the reference machine:
// Linux 6.18.44 x86_64, 4-level paging, CONFIG_CHECKPOINT_RESTORE=y,
// CONFIG_ANON_VMA_NAME unset, CONFIG_MEM_SOFT_DIRTY unset, THP "madvise", no pkeys CPU.

export type KernelVersion = "6.10" | "6.18";

export interface KernelConfig {
  readonly version: KernelVersion;
  /** TASK_SIZE in pages: (1<<47) - 4096 for 4-level paging. */
  readonly taskSize: number;
  /** DEFAULT_MAP_WINDOW in pages. */
  readonly defaultMapWindow: number;
  /** vm.max_map_count. */
  readonly maxMapCount: number;
  /** Effective mmap_min_addr (max of the sysctl and CONFIG_LSM_MMAP_MIN_ADDR), bytes. */
  readonly mmapMinAddr: number;
  /** dac_mmap_min_addr (the sysctl): MAP_FIXED below it needs CAP_SYS_RAWIO, bytes. */
  readonly dacMmapMinAddr: number;
  /** stack_guard_gap in pages. */
  readonly stackGuardGap: number;
  /** vm.overcommit_memory. */
  readonly overcommitMemory: 0 | 1 | 2;
  /** The CPU/kernel has protection keys (`pku`/`ospke`). */
  readonly pkeys: boolean;
  /** CONFIG_TRANSPARENT_HUGEPAGE (anonymous 2 MiB-multiple mappings are aligned). */
  readonly thp: boolean;
  /** CONFIG_MEMORY_FAILURE (MADV_HWPOISON / SOFT_OFFLINE). */
  readonly memoryFailure: boolean;
  /** CONFIG_KSM (MADV_MERGEABLE / UNMERGEABLE). */
  readonly ksm: boolean;
  /** Free huge pages in the default pool (MAP_HUGETLB succeeds only with some). */
  readonly hugePagesFree: number;
  /** The block device's read-ahead in pages (read_ahead_kb / 4): mmap read-around size. */
  readonly readaheadPages: number;
  /** vm fault_around_bytes / 4096. */
  readonly faultAroundPages: number;
  /** s_maxbytes of the filesystem regular files live on (ext4, 4 KiB blocks: 2^32-1 blocks). */
  readonly fsMaxBytes: number;
}

export const PAGES_47 = 2 ** 35; // (1 << 47) >> 12

export const DEFAULT_CONFIG: KernelConfig = {
  version: "6.18",
  taskSize: PAGES_47 - 1,
  defaultMapWindow: PAGES_47 - 1,
  maxMapCount: 65530,
  mmapMinAddr: 65536,
  dacMmapMinAddr: 4096,
  stackGuardGap: 256,
  overcommitMemory: 0,
  pkeys: false,
  thp: true,
  memoryFailure: false,
  ksm: true,
  hugePagesFree: 0,
  readaheadPages: 2048,
  faultAroundPages: 16,
  fsMaxBytes: (2 ** 32 - 1) * 4096,
};

export function makeConfig(overrides: Partial<KernelConfig> = {}): KernelConfig {
  return { ...DEFAULT_CONFIG, ...overrides };
}

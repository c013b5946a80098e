// CRIU's VmaEntry.status bits (criu/include/image.h, as listed in
// ../../../shared/reference/criu-restore.md §2) and the other CRIU constants the dump and
// the restorer share.

export const VMA_AREA_REGULAR = 1 << 0;
export const VMA_AREA_STACK = 1 << 1;
export const VMA_AREA_VSYSCALL = 1 << 2;
export const VMA_AREA_VDSO = 1 << 3;
export const VMA_AREA_HEAP = 1 << 5;
export const VMA_FILE_PRIVATE = 1 << 6;
export const VMA_FILE_SHARED = 1 << 7;
export const VMA_ANON_SHARED = 1 << 8;
export const VMA_ANON_PRIVATE = 1 << 9;
export const VMA_AREA_SYSVIPC = 1 << 10;
export const VMA_AREA_VVAR = 1 << 12;
export const VMA_AREA_AIORING = 1 << 13;
export const VMA_AREA_MEMFD = 1 << 14;
export const VMA_AREA_GUARD = 1 << 16;
export const VMA_AREA_UPROBES = 1 << 17;
export const VMA_NO_PROT_WRITE = 1 << 29;
export const VMA_UNSUPP = 2 ** 31;

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x1;
export const MAP_PRIVATE = 0x2;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_GROWSDOWN = 0x100;

export const MADV_DONTDUMP = 16;
export const MADV_GUARD_INSTALL = 102;

export const ARCH_SET_GS = 0x1001;
export const ARCH_SET_FS = 0x1002;
export const ARCH_MAP_VDSO_64 = 0x2003;

export const PR_SET_NAME = 15;
export const PR_SET_MM = 35;
export const PR_SET_MM_MAP = 14;
export const PR_SET_THP_DISABLE = 41;
/** sizeof(struct prctl_mm_map). */
export const PRCTL_MM_MAP_SIZE = 104;

export const PAGE = 4096;
/** x86_64 TASK_SIZE (4-level paging): 0x7ffffffff000. */
export const TASK_SIZE = 0x7ffffffff000;

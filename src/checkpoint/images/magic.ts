// Image magics (CRIU criu/include/magic.h values, as found in real CRIU 4.2 images and in
// ../../../../shared/reference/criu-restore.md §2). Every image but inventory and the raw
// pages files starts with IMG_COMMON_MAGIC and then its own magic.

export const IMG_COMMON_MAGIC = 0x54564319;
export const IMG_SERVICE_MAGIC = 0x55105940;

export const MAGICS = {
  inventory: 0x58313116,
  pstree: 0x50273030,
  core: 0x55053847,
  mm: 0x57492820,
  pagemap: 0x56084025,
  ids: 0x54432030,
  files: 0x56303138,
  fdinfo: 0x56213732,
  fs: 0x51403912,
  timens: 0x43114433,
  seccomp: 0x64413049,
} as const;

export type ImageKind = keyof typeof MAGICS;

/** The image kind a file name stands for (`mm-13837.img` → mm), or null (pages, unknown). */
export function kindOfFile(name: string): ImageKind | null {
  const m = /^([a-z]+)(?:-\d+)?\.img$/.exec(name);
  if (m === null) return null;
  const k = m[1] as string;
  return Object.hasOwn(MAGICS, k) ? (k as ImageKind) : null;
}

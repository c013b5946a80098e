// Resource limits that address-space calls consult, in bytes; Infinity = RLIM_INFINITY.

export interface Rlimits {
  stack: number;
  data: number;
  as: number;
  memlock: number;
}

export const DEFAULT_RLIMITS: Rlimits = {
  stack: 8 * 1024 * 1024,
  data: Number.POSITIVE_INFINITY,
  as: Number.POSITIVE_INFINITY,
  memlock: 8 * 1024 * 1024,
};

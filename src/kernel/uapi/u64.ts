// Syscall arguments are unsigned 64-bit words. The model keeps a word as a JS number when
// it is exactly representable (below 2^53) and as a bigint otherwise, so the hot path
// never touches bigint while invalid arguments (-1, 2^64 - 4096, ...) keep exact kernel
// arithmetic (wrap-around included).

export type U64 = number | bigint;

const TWO64 = 1n << 64n;
const SAFE = 2 ** 53;
/** Stand-in for any word ≥ 2^53 in comparisons with user addresses (all below 2^47). */
export const HUGE = 2 ** 60;

/** Normalize any integer (negative means two's complement) to a U64. */
export function u64(x: number | bigint): U64 {
  if (typeof x === "number") {
    if (x >= 0 && x < SAFE && Number.isInteger(x)) return x;
    x = BigInt(x);
  }
  let b = x % TWO64;
  if (b < 0n) b += TWO64;
  return b < BigInt(SAFE) ? Number(b) : b;
}

export function toBigInt(x: U64): bigint {
  return typeof x === "bigint" ? x : BigInt(x);
}

/** A number for comparisons: exact below 2^53, HUGE above. */
export function clamp(x: U64): number {
  return typeof x === "number" ? x : HUGE;
}

/** a + b, or null when it wraps past 2^64. */
export function add(a: U64, b: U64): U64 | null {
  if (typeof a === "number" && typeof b === "number") {
    const s = a + b;
    if (s < SAFE) return s;
  }
  const s = toBigInt(a) + toBigInt(b);
  if (s >= TWO64) return null;
  return u64(s);
}

/** (a + b) mod 2^64. */
export function addWrapping(a: U64, b: U64): U64 {
  const s = add(a, b);
  return s !== null ? s : u64(toBigInt(a) + toBigInt(b) - TWO64);
}

/** PAGE_ALIGN(x); 0 when it wraps (as the kernel's macro gives). */
export function pageAlign(x: U64): U64 {
  if (typeof x === "number") {
    const r = inPage(x);
    return r === 0 ? x : x - r + 4096;
  }
  const a = (x + 4095n) & ~4095n;
  return a >= TWO64 ? 0 : u64(a);
}

export function offsetInPage(x: U64): number {
  return typeof x === "number" ? inPage(x) : Number(x & 4095n);
}

/**
 * x mod 4096 for a whole number below 2^53: ToUint32 (x >>> 0) is exact modulo 2^32, and 4096
 * divides 2^32. `x % 4096` gives the same but V8 computes it with a slow floating-point fmod
 * once x leaves the small-integer range, as every user address does.
 */
function inPage(x: number): number {
  return (x >>> 0) & 4095;
}

/** Page number of a page-aligned word below 2^53 (callers check alignment and range). */
export function pageOf(x: U64): number {
  return typeof x === "number" ? Math.floor(x / 4096) : Number(x >> 12n);
}

/** The C cast `(int)x`. */
export function toInt32(x: U64): number {
  // ToInt32 is already "modulo 2^32, then signed" for a whole number (and fast, unlike %).
  if (typeof x === "number") return x | 0;
  return Number(BigInt.asIntN(32, x));
}

/** The C cast `(unsigned int)x`. */
export function toUint32(x: U64): number {
  return toInt32(x) >>> 0;
}

/** Subtract b from a, both ≤ 2^64: exact when both are numbers, HUGE-based otherwise. */
export function sub(a: U64, b: U64): U64 {
  if (typeof a === "number" && typeof b === "number") return a - b >= 0 ? a - b : u64(BigInt(a) - BigInt(b));
  return u64(toBigInt(a) - toBigInt(b));
}

/** a > b as unsigned words. */
export function gt(a: U64, b: U64): boolean {
  if (typeof a === "number" && typeof b === "number") return a > b;
  return toBigInt(a) > toBigInt(b);
}

export function formatU64(x: U64): string {
  return `0x${x.toString(16)}`;
}

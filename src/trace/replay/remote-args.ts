// Decoding the printed arguments of the calls that pass vectors and structs through memory:
// process_vm_readv/writev and process_madvise (iovec arrays, printed element by element by
// strace's tprint_iov_upto()), and PR_SET_MM_MAP's struct prctl_mm_map when a log prints
// it as `{start_code=0x..., ..., exe_fd=N}` (strace 6.1 does not: it prints the address).

import type { PrctlMmMap } from "../../kernel/task/prctl.js";
import { parseInteger, splitArgs, unescapeCString } from "../strace/args.js";
import type { StraceArg } from "../strace/types.js";

/** One printed iovec: `{iov_base=0x7f...|NULL|"data"..., iov_len=N}`. */
export interface PrintedIovec {
  /** The address, when strace printed one (remote vectors; local ones of a failed call). */
  base: bigint | null;
  /** The bytes, when strace printed the buffer's contents; `complete` unless it cut them. */
  data: { bytes: Uint8Array; complete: boolean } | null;
  len: bigint;
}

/** Why a printed vector cannot be used, or the vector. */
export type PrintedVector = { iov: PrintedIovec[] } | { error: string };

/** The bytes of a printed C string (strace escapes every byte outside printable ASCII). */
function bytesOf(text: string): Uint8Array {
  const b = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) b[i] = text.charCodeAt(i) & 0xff;
  return b;
}

function iovecOf(text: string): PrintedIovec | null {
  if (!text.startsWith("{") || !text.endsWith("}")) return null;
  const fields = splitArgs(text.slice(1, -1));
  if (fields === null) return null;
  let base: bigint | null = null;
  let data: PrintedIovec["data"] = null;
  let len: bigint | null = null;
  for (const f of fields) {
    if (f.startsWith("iov_len=")) len = parseInteger(f.slice(8));
    else if (f.startsWith("iov_base=")) {
      const v = f.slice(9);
      const s = /^"((?:[^"\\]|\\.)*)"(\.\.\.)?$/.exec(v);
      if (s !== null) data = { bytes: bytesOf(unescapeCString(s[1])), complete: s[2] === undefined };
      else if (v === "NULL") base = 0n;
      else {
        base = parseInteger(v);
        if (base === null) return null;
      }
    }
  }
  return len === null ? null : { base, data, len };
}

/**
 * The vector of an iovec argument printed with `count` elements. An address instead of
 * an array means strace could not read it; `...` means it printed only part of it.
 */
export function printedVector(a: StraceArg | undefined, count: number, what: string): PrintedVector {
  if (count === 0) return { iov: [] };
  if (a === undefined || a.kind !== "array")
    return { error: `${what}: the iovec array is printed as an address (strace could not read it)` };
  const inner = a.raw.slice(1, -1).trim();
  const parts = inner === "" ? [] : splitArgs(inner);
  if (parts === null) return { error: `${what}: the iovec array is not readable` };
  const iov: PrintedIovec[] = [];
  for (const p of parts) {
    if (p === "...") return { error: `${what}: strace printed only ${iov.length} of ${count} iovecs` };
    const v = iovecOf(p);
    if (v === null) return { error: `${what}: iovec ${p.slice(0, 40)} is not readable` };
    iov.push(v);
  }
  if (iov.length !== count) return { error: `${what}: ${iov.length} iovecs printed for a count of ${count}` };
  return { iov };
}

/** The bytes a writev-like call wrote from the printed local vector, or null when strace cut any. */
export function printedBytes(iov: PrintedIovec[]): Uint8Array | null {
  let total = 0;
  for (const v of iov) {
    if (v.data === null || !v.data.complete || BigInt(v.data.bytes.length) !== v.len) return null;
    total += v.data.bytes.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const v of iov) {
    out.set((v.data as NonNullable<PrintedIovec["data"]>).bytes, at);
    at += (v.data as NonNullable<PrintedIovec["data"]>).bytes.length;
  }
  return out;
}

const MM_MAP_FIELDS: Record<string, keyof PrctlMmMap> = {
  start_code: "startCode",
  end_code: "endCode",
  start_data: "startData",
  end_data: "endData",
  start_brk: "startBrk",
  brk: "brk",
  start_stack: "startStack",
  arg_start: "argStart",
  arg_end: "argEnd",
  env_start: "envStart",
  env_end: "envEnd",
  auxv: "auxv",
  auxv_size: "auxvSize",
  exe_fd: "exeFd",
};

/**
 * struct prctl_mm_map printed as `{start_code=0x..., ..., auxv=0x..., auxv_size=N, exe_fd=N}`
 * (every field present, exe_fd -1 or a number, possibly with a `-y` decoration), or null
 * when the argument is not such a struct (an address: strace 6.1 prints only that).
 */
export function printedMmMap(a: StraceArg | undefined): PrctlMmMap | null {
  if (a === undefined || a.kind !== "struct") return null;
  const fields = splitArgs(a.raw.slice(1, -1));
  if (fields === null) return null;
  const m: Partial<Record<keyof PrctlMmMap, bigint | number>> = {};
  for (const f of fields) {
    const eq = f.indexOf("=");
    const key = MM_MAP_FIELDS[f.slice(0, eq)];
    if (eq < 0 || key === undefined) return null;
    const text = f.slice(eq + 1).replace(/<.*>$/, "");
    const v = text === "NULL" ? 0n : parseInteger(text);
    if (v === null) return null;
    if (key === "auxvSize") m[key] = Number(BigInt.asUintN(32, v));
    else if (key === "exeFd") m[key] = Number(BigInt.asUintN(32, v));
    else m[key] = BigInt.asUintN(64, v);
  }
  return Object.keys(MM_MAP_FIELDS).every((k) => m[MM_MAP_FIELDS[k] as keyof PrctlMmMap] !== undefined) ? (m as PrctlMmMap) : null;
}

// Which pages a memory call touches and which kinds of mapping live there. Shared by the
// scenarios (which see the model's mm directly) and the log replay (through impact.ts), so
// that both group their calls the same way.

import type { Mm } from "../kernel/mm/mm.js";
import type { Vma } from "../kernel/mm/vma.js";
import { KIND_ORDER, type MappingKind, type PageRange } from "./types.js";

const PAGE = 4096n;
/** One page past the highest user page any call can name (far above TASK_SIZE). */
const PAGE_LIMIT = 2 ** 52;

const MAP_FIXED = 0x10n;
const MAP_FIXED_NOREPLACE = 0x100000n;
const MREMAP_FIXED = 2n;

function pageFloor(x: bigint): number {
  const p = x / PAGE;
  return p >= BigInt(PAGE_LIMIT) ? PAGE_LIMIT : Number(p);
}

function pageCeil(x: bigint): number {
  const p = (x + PAGE - 1n) / PAGE;
  return p >= BigInt(PAGE_LIMIT) ? PAGE_LIMIT : Number(p);
}

/** [addr, addr+len) in pages; an empty length still names the page at addr. */
function span(addr: bigint, len: bigint): PageRange {
  const s = pageFloor(addr);
  const e = Math.max(pageCeil(addr + len), s + 1);
  return [s, e];
}

/** The ranges a call names in its arguments (what it may change before it returns). */
export function argRanges(name: string, args: readonly bigint[]): PageRange[] {
  const a = (i: number) => args[i] ?? 0n;
  switch (name) {
    case "munmap":
    case "mprotect":
    case "pkey_mprotect":
    case "madvise":
    case "mseal":
    case "mlock":
    case "mlock2":
    case "munlock":
    case "msync":
      return [span(a(0), a(1))];
    case "mmap":
      return (a(3) & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0n ? [span(a(0), a(1))] : [];
    case "mremap": {
      const r = [span(a(0), a(1) > 0n ? a(1) : a(2))];
      if ((a(3) & MREMAP_FIXED) !== 0n) r.push(span(a(4), a(2)));
      return r;
    }
    case "process_madvise":
      return [];
    default:
      return [];
  }
}

/** The range a successful call created or moved to, known only from its result. */
export function resultRange(name: string, args: readonly bigint[], ret: bigint): PageRange | null {
  if (name === "mmap") return span(ret, args[1] ?? 0n);
  if (name === "mremap") return span(ret, args[2] ?? 0n);
  if (name === "shmat") return [pageFloor(ret), pageFloor(ret) + 1];
  return null;
}

/** The kind of one VMA. */
export function vmaKind(v: Vma): MappingKind {
  switch (v.special?.name) {
    case "[vdso]":
      return "vdso";
    case "[vvar]":
    case "[vvar_vclock]":
      return "vvar";
    case "[sigpage]":
      return "sigpage";
    case "[vectors]":
      return "vectors";
    case "[uprobes]":
      return "uprobes";
  }
  return v.sealed ? "user-sealed" : "ordinary";
}

/** The kinds present in `ranges`, and those of them that are sealed, each in KIND_ORDER. */
export function kindsIn(mm: Mm, ranges: readonly PageRange[]): { kinds: MappingKind[]; sealed: MappingKind[] } {
  const kinds = new Set<MappingKind>();
  const sealed = new Set<MappingKind>();
  for (const [s, e] of ranges) {
    let v = mm.tree.findNext(s);
    while (v !== null && v.start < e) {
      const k = vmaKind(v);
      kinds.add(k);
      if (v.sealed) sealed.add(k);
      v = mm.tree.next(v);
    }
  }
  const order = (set: Set<MappingKind>) => KIND_ORDER.filter((k) => set.has(k));
  return { kinds: order(kinds), sealed: order(sealed) };
}

/**
 * The kind a call is reported under: the first sealed kind it touched (that is what a
 * policy changes), else the first kind it touched, else `ordinary`.
 */
export function primaryKind(k: { kinds: MappingKind[]; sealed: MappingKind[] }): MappingKind {
  return k.sealed[0] ?? k.kinds[0] ?? "ordinary";
}

/** Whether two sets of page ranges overlap. */
export function overlaps(a: readonly PageRange[], b: readonly PageRange[]): boolean {
  for (const [s1, e1] of a) for (const [s2, e2] of b) if (s1 < e2 && s2 < e1) return true;
  return false;
}

/** An argument as C would print it: small numbers in decimal, others in hex, -1 as -1. */
export function formatArg(x: number | bigint): string {
  const b = BigInt(x);
  if (b === -1n || b === (1n << 64n) - 1n) return "-1";
  if (b >= 0n && b < 10n) return b.toString();
  return b < 0n ? `-0x${(-b).toString(16)}` : `0x${b.toString(16)}`;
}

export function formatCall(name: string, args: ReadonlyArray<number | bigint>): string {
  return `${name}(${args.map(formatArg).join(", ")})`;
}

export function formatResult(r: import("./types.js").CallResult): string {
  if ("unsupported" in r) return `unsupported (${r.unsupported})`;
  if ("errno" in r) return `-1 ${r.name}`;
  return r.ret < 10n ? r.ret.toString() : `0x${r.ret.toString(16)}`;
}

// Which pages a memory call touches and which kinds of mapping live there. Shared by the
// scenarios (which see the model's mm directly) and the log replay (through impact.ts), so
// that both group their calls the same way.

import type { Mm } from "../kernel/mm/mm.js";
import type { Vma } from "../kernel/mm/vma.js";
import type { PageRange } from "../trace/call-ranges.js";
import { KIND_ORDER, type MappingKind } from "./types.js";

export { argRanges, resultRange } from "../trace/call-ranges.js";

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

// Property tests of the VMA store against a plain sorted array (the store's own contract,
// not kernel behaviour): lookups, gap queries, and copy-on-write clones staying apart.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Vma } from "../src/kernel/mm/vma.js";
import { VmaTree } from "../src/kernel/mm/vma-tree.js";

const mk = (s: number, e: number, tag = 0) => new Vma(s, e, tag, 0, s, null, null, false, null);

function refFind(list: Vma[], p: number) {
  return list.find((v) => v.start <= p && p < v.end) ?? null;
}
function refHighestGap(list: Vma[], len: number, low: number, high: number): number {
  const gaps: Array<[number, number]> = [];
  let prev = 0;
  for (const v of list) {
    gaps.push([prev, v.start]);
    prev = v.end;
  }
  gaps.push([prev, Number.MAX_SAFE_INTEGER]);
  for (let i = gaps.length - 1; i >= 0; i--) {
    const e = Math.min(gaps[i][1], high);
    const s = Math.max(gaps[i][0], low);
    if (e - s >= len) return e;
  }
  return -1;
}
function refLowestGap(list: Vma[], len: number, low: number, high: number): number {
  let prev = 0;
  const gaps: Array<[number, number]> = [];
  for (const v of list) {
    gaps.push([prev, v.start]);
    prev = v.end;
  }
  gaps.push([prev, Number.MAX_SAFE_INTEGER]);
  for (const [gs, ge] of gaps) {
    const e = Math.min(ge, high);
    const s = Math.max(gs, low);
    if (e - s >= len) return s;
  }
  return -1;
}

describe("VmaTree", () => {
  it("agrees with a sorted array under random inserts, removes, replaces and clones", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(5), fc.nat(4000), fc.integer({ min: 1, max: 8 })), { minLength: 300, maxLength: 900 }),
        fc.nat(10000),
        (ops, q) => {
          const t = new VmaTree();
          let ref: Vma[] = [];
          let snap: { tree: VmaTree; ref: Vma[] } | null = null;
          for (const [kind, at, len] of ops) {
            const s = at * 2 + 1_000_000_000_000 / 4096;
            const e = s + len;
            const hit = ref.find((v) => v.start < e && s < v.end);
            if (kind === 0 && !hit) {
              const v = mk(s, e);
              t.insert(v);
              ref = [...ref, v].sort((a, b) => a.start - b.start);
            } else if (kind === 1 && hit) {
              t.remove(hit);
              ref = ref.filter((v) => v !== hit);
            } else if (kind === 2 && hit && hit.pages > 1) {
              const lo = hit.slice(hit.start, hit.start + 1);
              const hi = hit.slice(hit.start + 1, hit.end);
              // Both ways of splitting: replace + insert, and the one-visit split().
              if (len % 2 === 0) {
                t.replace(hit, lo);
                t.insert(hi);
              } else t.split(hit, lo, hi);
              ref = ref.flatMap((v) => (v === hit ? [lo, hi] : [v]));
            } else if (kind === 3 && snap === null) {
              snap = { tree: t.clone(), ref: ref.slice() };
            } else if (kind === 4 && hit && !ref.some((v) => v.end === hit.start)) {
              // Grow a VMA down into free space (a merge into the next VMA does this).
              const grown = new Vma(hit.start - 1, hit.end, 0, 0, hit.start - 1, null, null, false, null);
              t.replace(hit, grown);
              ref = ref.map((v) => (v === hit ? grown : v));
            } else if (kind === 5 && hit) {
              // A merge: hit and the 1 or 2 VMAs right after it (touching) become one record.
              const i = ref.indexOf(hit);
              let n = 1;
              while (n < 1 + (len % 2) + 1 && i + n < ref.length && ref[i + n].start === ref[i + n - 1].end) n++;
              if (n > 1) {
                const merged = mk(hit.start, ref[i + n - 1].end);
                t.replaceRun(hit, n, merged);
                ref = [...ref.slice(0, i), merged, ...ref.slice(i + n)];
              }
            }
            // Lookups right after each write: the fingers' cached neighbours must stay true.
            for (const p of [s - 1, s, e, e + 1, e + 9]) {
              expect(t.findNext(p)).toBe(ref.find((v) => v.end > p) ?? null);
              expect(t.findPrev(p)).toBe([...ref].reverse().find((v) => v.start < p) ?? null);
            }
          }
          // Windows lying wholly inside one hole (a hole may span node boundaries).
          for (let i = 1; i < ref.length; i += 7) {
            const gs = ref[i - 1].end;
            const ge = ref[i].start;
            if (ge - gs < 2) continue;
            expect(t.lowestGap(1, gs + 1, ge)).toBe(gs + 1);
            expect(t.highestGap(1, gs, ge - 1)).toBe(ge - 1);
          }
          expect(t.toArray()).toEqual(ref);
          expect(t.size).toBe(ref.length);
          if (snap) expect(snap.tree.toArray()).toEqual(snap.ref);
          const base = 1_000_000_000_000 / 4096;
          for (let i = 0; i < 40; i++) {
            const p = base + ((q + i * 97) % 8100);
            expect(t.find(p)).toBe(refFind(ref, p));
            expect(t.findNext(p)).toBe(ref.find((v) => v.end > p) ?? null);
            expect(t.findPrev(p)).toBe([...ref].reverse().find((v) => v.start < p) ?? null);
            const len = 1 + (i % 5);
            const lo = base + ((i * 31) % 4000);
            const hi = lo + 500 + i * 7;
            expect(t.highestGap(len, lo, hi)).toBe(refHighestGap(ref, len, lo, hi));
            expect(t.lowestGap(len, lo, hi)).toBe(refLowestGap(ref, len, lo, hi));
          }
        },
      ),
      { numRuns: 60, endOnFailure: true },
    );
  }, 60_000);
});

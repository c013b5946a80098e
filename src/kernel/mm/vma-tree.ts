// The VMA store: a persistent B+tree of immutable Vma records ordered by start page,
// standing in for the kernel's maple tree (lib/maple_tree.c).
//
// - Lookups (find, find_vma, prev/next) are O(log n).
// - Every node carries `maxGap`, the largest hole between consecutive VMAs inside it, so
//   the highest (top-down) or lowest (bottom-up) free range of at least N pages within
//   [low, high) is found in O(log n), as mas_empty_area_rev()/mas_empty_area() do.
// - clone() is O(1): the two trees share every node and copy a node only when they first
//   write to it (each tree owns nodes stamped with its own owner id; a clone restamps both).
//
// Invariants: VMAs never overlap; leaves hold 1..MAX_ITEMS records (only an empty tree's
// root leaf holds none); internal nodes hold 1..MAX_ITEMS children; `first`, `last`,
// `maxGap` and `count` of every node describe exactly the records below it.

import type { Vma } from "./vma.js";

const MAX_ITEMS = 32;
const INF = Number.MAX_SAFE_INTEGER;

let ownerCounter = 0;

class Node {
  first = INF;
  last = -1;
  /** Largest inner gap; valid only when `dirty` is false (recomputed lazily by gap searches). */
  maxGap = 0;
  dirty = false;
  count = 0;
  constructor(
    public owner: number,
    public leaf: boolean,
    public items: Vma[] | Node[],
  ) {}
}

/** Recompute bounds and count of `n` from its items, and mark its gap stale. */
function summarize(n: Node): void {
  bounds(n);
  if (n.leaf) {
    n.count = n.items.length;
  } else {
    let count = 0;
    for (const k of n.items as Node[]) count += k.count;
    n.count = count;
  }
}

/**
 * maxGap of `n`, recomputed if stale. Stale nodes are always on paths a write touched,
 * so a search pays O(fanout · depth) per written path and O(1) elsewhere. A shared
 * (cloned) node is never stale: trees only write to nodes they own, and clone() settles
 * gaps before sharing.
 */
function ensureGap(n: Node): number {
  if (!n.dirty) return n.maxGap;
  const items = n.items;
  const len = items.length;
  let gap = 0;
  if (n.leaf) {
    const v = items as Vma[];
    for (let i = 1; i < len; i++) {
      const g = v[i].start - v[i - 1].end;
      if (g > gap) gap = g;
    }
  } else {
    const k = items as Node[];
    for (let i = 0; i < len; i++) {
      const kg = ensureGap(k[i]);
      if (kg > gap) gap = kg;
      if (i > 0) {
        const g = k[i].first - k[i - 1].last;
        if (g > gap) gap = g;
      }
    }
  }
  n.maxGap = gap;
  n.dirty = false;
  return gap;
}

/** Index of the child that holds (or would hold) a record starting at `page`. */
function childFor(kids: Node[], page: number): number {
  let lo = 0;
  let hi = kids.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (kids[mid].first <= page) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * A finger: the root-to-leaf path of a recent lookup. Syscalls look at neighbouring VMAs
 * again and again (find, prev, next, replace), so most lookups start from this leaf instead
 * of the root. The path is valid until the tree's shape changes (node split or removal,
 * clone); a leaf's contents changing keeps it valid (its bounds are kept exact).
 * It also remembers where the next leaf starts (and its first VMA), so that a page in the
 * hole after this leaf is answered here too; that part is trusted only while no write has
 * gone through another leaf since (`seen === tree.writes`).
 */
class Finger {
  path: Node[] = [];
  valid = false;
  nextFirst = INF;
  nextVma: Vma | null = null;
  seen = -1;

  leaf(): Node {
    return this.path[this.path.length - 1];
  }

  /** Record the first VMA after the leaf: the leftmost record of `sub` (null: none). */
  setNext(sub: Node | null, writes: number): void {
    if (sub === null) {
      this.nextFirst = INF;
      this.nextVma = null;
    } else {
      let n = sub;
      while (!n.leaf) n = (n.items as Node[])[0];
      this.nextVma = (n.items as Vma[])[0] ?? null;
      this.nextFirst = this.nextVma === null ? INF : this.nextVma.start;
    }
    this.seen = writes;
  }
}

export class VmaTree {
  private root: Node;
  private owner: number;
  /** The current finger and the one before (mremap works at a source and a destination). */
  private f1 = new Finger();
  private f2 = new Finger();
  /** Count of writes, to tell which finger's neighbour knowledge is still current. */
  private writes = 0;

  constructor() {
    this.owner = ++ownerCounter;
    this.root = new Node(this.owner, true, []);
  }

  get size(): number {
    return this.root.count;
  }

  /** O(1) copy for fork: both trees copy nodes on their next write. */
  clone(): VmaTree {
    ensureGap(this.root);
    const t = new VmaTree();
    t.root = this.root;
    this.owner = ++ownerCounter;
    this.invalidateFingers();
    return t;
  }

  /** Descend towards `page`: `key` picks the child (see the three lookups). */
  private descend(page: number, byLast: boolean, strict: boolean): Node {
    let n = this.root;
    this.swapFingers();
    const f = this.f1;
    const path = f.path;
    path.length = 0;
    path.push(n);
    let nextSub: Node | null = null;
    while (!n.leaf) {
      const k = n.items as Node[];
      let lo = 0;
      let hi = k.length - 1;
      if (byLast) {
        // first child whose last end lies above page
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (k[mid].last > page) hi = mid;
          else lo = mid + 1;
        }
      } else {
        // last child whose first start is ≤ page (< page when strict)
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          const f = k[mid].first;
          if (strict ? f < page : f <= page) lo = mid;
          else hi = mid - 1;
        }
      }
      if (lo + 1 < k.length) nextSub = k[lo + 1];
      n = k[lo];
      path.push(n);
    }
    f.valid = true;
    f.setNext(nextSub, this.writes);
    return n;
  }

  private swapFingers(): void {
    const f = this.f1;
    this.f1 = this.f2;
    this.f2 = f;
  }

  /**
   * Does finger `f` answer for `page`? Mode 0: the leaf holds (or would hold) a record
   * starting at page — find(), writes; mode 1: the last record starting below page is in
   * the leaf — findPrev(). Content bounds always count; the hole up to the next leaf
   * counts while the finger's neighbour knowledge is current.
   */
  private covers(f: Finger, page: number, mode: 0 | 1): boolean {
    if (!f.valid) return false;
    const n = f.leaf();
    const hi = f.seen === this.writes ? f.nextFirst : n.last;
    return mode === 0 ? n.first <= page && (page < n.last || page < hi) : n.first < page && (page <= n.last || page <= hi);
  }

  /** The current or previous finger's leaf that answers for `page` (it becomes current), else null. */
  private fingerFor(page: number, mode: 0 | 1): Node | null {
    if (this.covers(this.f1, page, mode)) return this.f1.leaf();
    if (this.covers(this.f2, page, mode)) {
      this.swapFingers();
      return this.f1.leaf();
    }
    return null;
  }

  /** findNext() answered from a finger: the VMA, null for "none", undefined for "ask the tree". */
  private fingerNext(page: number): Vma | null | undefined {
    for (let i = 0; i < 2; i++) {
      const f = i === 0 ? this.f1 : this.f2;
      if (!f.valid) continue;
      const n = f.leaf();
      if (n.first <= page && page < n.last) {
        if (i === 1) this.swapFingers();
        return leafNext(n, page);
      }
      if (f.seen === this.writes && n.last <= page && page < f.nextFirst) {
        if (i === 1) this.swapFingers();
        return f.nextVma;
      }
    }
    return undefined;
  }

  private invalidateFingers(): void {
    this.f1.valid = false;
    this.f2.valid = false;
  }

  /**
   * After a write through the current finger: what it knew of the next leaf stays true,
   * if it was current before the write (knowledge already stale must stay stale).
   */
  private wrote(): void {
    const current = this.f1.valid && this.f1.seen === this.writes;
    this.writes++;
    if (current) this.f1.seen = this.writes;
  }

  /** The VMA containing `page`, or null. */
  find(page: number): Vma | null {
    let n = this.fingerFor(page, 0);
    if (n === null) n = this.descend(page, false, false);
    const v = n.items as Vma[];
    let lo = 0;
    let hi = v.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (v[mid].start <= page) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best >= 0 && v[best].end > page) return v[best];
    return null;
  }

  /** find_vma(): the first VMA ending above `page`, or null. */
  findNext(page: number): Vma | null {
    if (this.root.last <= page) return null;
    // The common case first: the current finger's leaf holds the answer.
    const f = this.f1;
    if (f.valid) {
      const n = f.path[f.path.length - 1];
      if (n.first <= page && page < n.last) return leafNext(n, page);
    }
    const r = this.fingerNext(page);
    if (r !== undefined) return r;
    return leafNext(this.descend(page, true, false), page);
  }

  /** The last VMA starting below `page` (vma_prev of a position), or null. */
  findPrev(page: number): Vma | null {
    if (this.root.first >= page) return null;
    let n = this.fingerFor(page, 1);
    if (n === null) n = this.descend(page, false, true);
    const v = n.items as Vma[];
    let lo = 0;
    let hi = v.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (v[mid].start < page) lo = mid;
      else hi = mid - 1;
    }
    return v[lo];
  }

  /** The VMA after `vma` in address order. */
  next(vma: Vma): Vma | null {
    return this.findNext(vma.end);
  }

  /** The VMA before `vma` in address order. */
  prev(vma: Vma): Vma | null {
    return this.findPrev(vma.start);
  }

  /** Every VMA intersecting [lo, hi), in order. */
  range(lo: number, hi: number): Vma[] {
    const out: Vma[] = [];
    let v = this.findNext(lo);
    while (v !== null && v.start < hi) {
      out.push(v);
      v = this.findNext(v.end);
    }
    return out;
  }

  /** find_vma_intersection(). */
  intersects(lo: number, hi: number): boolean {
    const v = this.findNext(lo);
    return v !== null && v.start < hi;
  }

  forEach(cb: (v: Vma) => void): void {
    const walk = (n: Node): void => {
      if (n.leaf) for (const v of n.items as Vma[]) cb(v);
      else for (const k of n.items as Node[]) walk(k);
    };
    walk(this.root);
  }

  toArray(): Vma[] {
    const out: Vma[] = [];
    this.forEach((v) => {
      out.push(v);
    });
    return out;
  }

  get first(): Vma | null {
    return this.findNext(-1);
  }

  insert(vma: Vma): void {
    const path = this.writablePath(vma.start);
    const leaf = path[path.length - 1];
    const v = leaf.items as Vma[];
    let i = 0;
    let hi = v.length;
    while (i < hi) {
      const mid = (i + hi) >> 1;
      if (v[mid].start < vma.start) i = mid + 1;
      else hi = mid;
    }
    // In place, without splice's result array: this is the hottest write.
    for (let j = v.length; j > i; j--) v[j] = v[j - 1];
    v[i] = vma;
    for (let d = 0; d < path.length; d++) path[d].count++;
    this.fixUp(path);
    this.wrote();
  }

  remove(vma: Vma): void {
    const path = this.writablePath(vma.start);
    const leaf = path[path.length - 1];
    const v = leaf.items as Vma[];
    const i = indexOfStart(v, vma.start);
    if (i < 0) throw new Error(`VmaTree.remove: no VMA at page ${vma.start}`);
    for (let j = i; j < v.length - 1; j++) v[j] = v[j + 1];
    v.length--;
    for (let d = 0; d < path.length; d++) path[d].count--;
    this.fixUp(path);
    this.wrote();
  }

  /** Put `next` where `prev` is; `next` must not overlap any other VMA. */
  replace(prev: Vma, next: Vma): void {
    const path = this.writablePath(prev.start);
    const leaf = path[path.length - 1];
    const v = leaf.items as Vma[];
    const i = indexOfStart(v, prev.start);
    if (i < 0) throw new Error(`VmaTree.replace: no VMA at page ${prev.start}`);
    // Callers only replace a VMA by one that keeps its place in address order (it
    // covers free space or part of the old range), so the slot stays the same.
    v[i] = next;
    this.fixUp(path);
    this.wrote();
  }

  /**
   * Highest free range of at least `len` pages inside [low, high): returns the end of
   * that range clipped to `high` (as vma_iter_area_highest), or -1.
   */
  highestGap(len: number, low: number, high: number): number {
    const r = this.root;
    if (r.count === 0) return high - low >= len ? high : -1;
    let e = Math.min(INF, high);
    let s = Math.max(r.last, low);
    if (e - s >= len) return e;
    const inner = revSearch(r, len, low, high);
    if (inner >= 0) return inner;
    e = Math.min(r.first, high);
    s = Math.max(0, low);
    return e - s >= len ? e : -1;
  }

  /** Lowest free range of at least `len` pages inside [low, high): its start, or -1. */
  lowestGap(len: number, low: number, high: number): number {
    const r = this.root;
    if (r.count === 0) return high - low >= len ? low : -1;
    let e = Math.min(r.first, high);
    let s = Math.max(0, low);
    if (e - s >= len) return s;
    const inner = fwdSearch(r, len, low, high);
    if (inner >= 0) return inner;
    e = high;
    s = Math.max(r.last, low);
    return e - s >= len ? s : -1;
  }

  /** Root-to-leaf path towards `page`, every node owned (copied if shared). */
  private writablePath(page: number): Node[] {
    const leaf = this.fingerFor(page, 0);
    if (leaf !== null && this.f1.path[0] === this.root) {
      let owned = true;
      for (const n of this.f1.path) if (n.owner !== this.owner) owned = false;
      if (owned) return this.f1.path;
    }
    // Copying nodes leaves any other finger pointing at the shared originals: drop both.
    this.invalidateFingers();
    if (this.root.owner !== this.owner) this.root = this.copyNode(this.root);
    const f = this.f1;
    const path = f.path;
    path.length = 0;
    path.push(this.root);
    let n = this.root;
    let nextSub: Node | null = null;
    while (!n.leaf) {
      const kids = n.items as Node[];
      const i = childFor(kids, page);
      if (i + 1 < kids.length) nextSub = kids[i + 1];
      let k = kids[i];
      if (k.owner !== this.owner) {
        k = this.copyNode(k);
        kids[i] = k;
      }
      path.push(k);
      n = k;
    }
    f.valid = true;
    f.setNext(nextSub, this.writes);
    return path;
  }

  private copyNode(n: Node): Node {
    const c = new Node(this.owner, n.leaf, (n.items as unknown[]).slice() as Vma[] | Node[]);
    c.first = n.first;
    c.last = n.last;
    c.maxGap = n.maxGap;
    c.dirty = n.dirty;
    c.count = n.count;
    return c;
  }

  /** Restore node sizes and bounds from the leaf of `path` up to the root. */
  private fixUp(path: Node[]): void {
    for (let d = path.length - 1; d >= 0; d--) {
      const n = path[d];
      const parent = d > 0 ? path[d - 1] : null;
      if (n.items.length > MAX_ITEMS) {
        this.invalidateFingers();
        const half = n.items.length >> 1;
        const right = new Node(this.owner, n.leaf, n.items.splice(half) as Vma[] | Node[]);
        summarize(right);
        summarize(n);
        if (parent) {
          const kids = parent.items as Node[];
          kids.splice(kids.indexOf(n) + 1, 0, right);
        } else {
          this.root = new Node(this.owner, false, [n, right]);
          summarize(this.root);
          return;
        }
      } else if (n.items.length === 0 && parent) {
        this.invalidateFingers();
        const kids = parent.items as Node[];
        kids.splice(kids.indexOf(n), 1);
      } else {
        bounds(n);
      }
    }
    // Collapse a root left with one child.
    while (!this.root.leaf && this.root.items.length === 1) {
      this.invalidateFingers();
      const only = (this.root.items as Node[])[0];
      this.root = only.owner === this.owner ? only : this.copyNode(only);
    }
    if (!this.root.leaf && this.root.items.length === 0) {
      this.invalidateFingers();
      this.root = new Node(this.owner, true, []);
    }
  }
}

/** In a leaf whose last end lies above `page`: the first record ending above it. */
function leafNext(n: Node, page: number): Vma {
  const v = n.items as Vma[];
  let lo = 0;
  let hi = v.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v[mid].end > page) hi = mid;
    else lo = mid + 1;
  }
  return v[lo];
}

function indexOfStart(v: Vma[], start: number): number {
  let lo = 0;
  let hi = v.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = v[mid].start;
    if (s === start) return mid;
    if (s < start) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Refresh first/last of `n` (count is kept incrementally) and mark its gap stale. */
function bounds(n: Node): void {
  const items = n.items;
  const len = items.length;
  n.dirty = true;
  if (len === 0) {
    n.first = INF;
    n.last = -1;
  } else if (n.leaf) {
    n.first = (items as Vma[])[0].start;
    n.last = (items as Vma[])[len - 1].end;
  } else {
    n.first = (items as Node[])[0].first;
    n.last = (items as Node[])[len - 1].last;
  }
}

function revSearch(n: Node, len: number, low: number, high: number): number {
  if (ensureGap(n) < len) return -1;
  if (Math.min(n.last, high) - Math.max(n.first, low) < len) return -1;
  if (n.leaf) {
    const v = n.items as Vma[];
    for (let i = v.length - 1; i > 0; i--) {
      const ge = v[i].start;
      if (ge <= low) break;
      const e = Math.min(ge, high);
      const gs = v[i - 1].end;
      const s = Math.max(gs, low);
      if (e - s >= len) return e;
    }
    return -1;
  }
  const k = n.items as Node[];
  for (let i = k.length - 1; i >= 0; i--) {
    if (k[i].last <= low) break;
    const r = revSearch(k[i], len, low, high);
    if (r >= 0) return r;
    if (i > 0) {
      const ge = k[i].first;
      if (ge <= low) break;
      const e = Math.min(ge, high);
      const gs = k[i - 1].last;
      const s = Math.max(gs, low);
      if (e - s >= len) return e;
    }
  }
  return -1;
}

function fwdSearch(n: Node, len: number, low: number, high: number): number {
  if (ensureGap(n) < len) return -1;
  if (Math.min(n.last, high) - Math.max(n.first, low) < len) return -1;
  if (n.leaf) {
    const v = n.items as Vma[];
    for (let i = 1; i < v.length; i++) {
      const gs = v[i - 1].end;
      if (gs >= high) break;
      const s = Math.max(gs, low);
      const ge = v[i].start;
      const e = Math.min(ge, high);
      if (e - s >= len) return s;
    }
    return -1;
  }
  const k = n.items as Node[];
  for (let i = 0; i < k.length; i++) {
    // The hole before child i may reach into [low, high) even when child i starts past it.
    if (i > 0) {
      const gs = k[i - 1].last;
      if (gs >= high) break;
      const s = Math.max(gs, low);
      const e = Math.min(k[i].first, high);
      if (e - s >= len) return s;
    }
    if (k[i].first >= high) break;
    const r = fwdSearch(k[i], len, low, high);
    if (r >= 0) return r;
  }
  return -1;
}

// The VMA store: a persistent B+tree of immutable Vma records ordered by start page,
// standing in for the kernel's maple tree (lib/maple_tree.c).
//
// - Lookups (find, find_vma, prev/next) are O(log n).
// - Every node carries `maxGap`, the largest hole between consecutive VMAs inside it, so
//   the highest (top-down) or lowest (bottom-up) free range of at least N pages within
//   [low, high) is found in O(log n), as mas_empty_area_rev()/mas_empty_area() do.
// - clone() is O(1): the two trees share every node and copy a node only when they first
//   write to it (each tree owns nodes stamped with its own owner id; a clone restamps both).
// - Like the maple tree's pivots, every node keeps the bounds of its items in two flat
//   arrays of doubles (`lo`, `hi`): searches read those contiguous arrays instead of
//   chasing a pointer to each record or child (and to its boxed page number).
//
// Invariants: VMAs never overlap; leaves hold 1..MAX_ITEMS records (only an empty tree's
// root leaf holds none); internal nodes hold 1..MAX_ITEMS children; for every item i,
// `lo[i]`/`hi[i]` are its start/end (a record) or first/last (a child); `first`, `last`,
// `maxGap` and `count` of every node describe exactly the records below it.

import type { Vma } from "./vma.js";

const MAX_ITEMS = 32;
const INF = Number.MAX_SAFE_INTEGER;

let ownerCounter = 0;

/** An empty array whose elements are stored as unboxed doubles (PACKED_DOUBLE_ELEMENTS). */
function doubles(): number[] {
  const a = [0.5];
  a.pop();
  return a;
}

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
    /** Start page of each record, or first page of each child. */
    public lo: number[],
    /** End page of each record, or last page (exclusive) of each child. */
    public hi: number[],
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
  const lo = n.lo;
  const hi = n.hi;
  const len = lo.length;
  let gap = 0;
  for (let i = 1; i < len; i++) {
    const g = lo[i] - hi[i - 1];
    if (g > gap) gap = g;
  }
  if (!n.leaf) {
    const k = n.items as Node[];
    for (let i = 0; i < len; i++) {
      const kg = ensureGap(k[i]);
      if (kg > gap) gap = kg;
    }
  }
  n.maxGap = gap;
  n.dirty = false;
  return gap;
}

/** Index of the last item starting at or below `page` (0 if none): where `page` belongs. */
function slotFor(lo: number[], page: number): number {
  let l = 0;
  let h = lo.length - 1;
  while (l < h) {
    const mid = (l + h + 1) >> 1;
    if (lo[mid] <= page) l = mid;
    else h = mid - 1;
  }
  return l;
}

/** Index of the first item ending above `page` (the last one if none). */
function slotEndingAbove(hi: number[], page: number): number {
  let l = 0;
  let h = hi.length - 1;
  while (l < h) {
    const mid = (l + h) >> 1;
    if (hi[mid] > page) h = mid;
    else l = mid + 1;
  }
  return l;
}

/** Index of the last item starting below `page` (0 if none). */
function slotStartingBelow(lo: number[], page: number): number {
  let l = 0;
  let h = lo.length - 1;
  while (l < h) {
    const mid = (l + h + 1) >> 1;
    if (lo[mid] < page) l = mid;
    else h = mid - 1;
  }
  return l;
}

/**
 * A finger: the root-to-leaf path of a recent lookup, with the slot taken at each level.
 * Syscalls look at neighbouring VMAs again and again (find, prev, next, replace), so most
 * lookups start from this leaf instead of the root. The path is valid until the tree's
 * shape changes (node split or removal, clone); a leaf's contents changing keeps it valid
 * (its bounds are kept exact). It also remembers where the next leaf starts, so that a page
 * in the hole after this leaf is answered here too; that part is trusted only while no
 * write has gone through another leaf since (`seen === tree.writes`).
 */
class Finger {
  /**
   * path[0..depth): root to leaf. The arrays are reused, never truncated (`length = 0`
   * would drop their storage and make every descent allocate).
   */
  path: Node[] = [];
  /** slots[d]: index of path[d + 1] among path[d]'s children. */
  slots: number[] = [];
  depth = 0;
  /** path[depth - 1]. */
  leafNode: Node | null = null;
  valid = false;
  /** Every node of the path is owned by the tree (writes may go through it). */
  owned = false;
  nextFirst = INF;
  /** The subtree right after the leaf (null: none); its leftmost record is found on demand. */
  nextSub: Node | null = null;
  seen = -1;

  leaf(): Node {
    return this.leafNode as Node;
  }

  /** The first VMA after the leaf, or null. */
  nextVma(): Vma | null {
    let n = this.nextSub;
    if (n === null) return null;
    while (!n.leaf) n = (n.items as Node[])[0];
    return (n.items as Vma[])[0] ?? null;
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
    this.root = new Node(this.owner, true, [], doubles(), doubles());
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

  /** Descend towards `page`: mode 0 by start (≤ page), 1 by start (< page), 2 by end (> page). */
  private descend(page: number, mode: 0 | 1 | 2): Node {
    let n = this.root;
    this.swapFingers();
    const f = this.f1;
    const path = f.path;
    const slots = f.slots;
    path[0] = n;
    let d = 1;
    let nextSub: Node | null = null;
    let nextFirst = INF;
    while (!n.leaf) {
      const k = n.items as Node[];
      const i = mode === 2 ? slotEndingAbove(n.hi, page) : mode === 0 ? slotFor(n.lo, page) : slotStartingBelow(n.lo, page);
      if (i + 1 < k.length) {
        nextSub = k[i + 1];
        nextFirst = n.lo[i + 1];
      }
      slots[d - 1] = i;
      n = k[i];
      path[d++] = n;
    }
    f.depth = d;
    f.leafNode = n;
    f.valid = true;
    f.owned = false;
    f.nextSub = nextSub;
    f.nextFirst = nextFirst;
    f.seen = this.writes;
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
        return (n.items as Vma[])[slotEndingAbove(n.hi, page)];
      }
      if (f.seen === this.writes && n.last <= page && page < f.nextFirst) {
        if (i === 1) this.swapFingers();
        return f.nextVma();
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
    if (n === null) n = this.descend(page, 0);
    const lo = n.lo;
    if (lo.length === 0 || lo[0] > page) return null;
    const i = slotFor(lo, page);
    return n.hi[i] > page ? (n.items as Vma[])[i] : null;
  }

  /** find_vma(): the first VMA ending above `page`, or null. */
  findNext(page: number): Vma | null {
    if (this.root.last <= page) return null;
    // The common case first: the current finger's leaf holds the answer.
    const f = this.f1;
    if (f.valid) {
      const n = f.leafNode as Node;
      if (n.first <= page && page < n.last) return (n.items as Vma[])[slotEndingAbove(n.hi, page)];
    }
    const r = this.fingerNext(page);
    if (r !== undefined) return r;
    const n = this.descend(page, 2);
    return (n.items as Vma[])[slotEndingAbove(n.hi, page)];
  }

  /** The last VMA starting below `page` (vma_prev of a position), or null. */
  findPrev(page: number): Vma | null {
    if (this.root.first >= page) return null;
    let n = this.fingerFor(page, 1);
    if (n === null) n = this.descend(page, 1);
    return (n.items as Vma[])[slotStartingBelow(n.lo, page)];
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
    const leaf = this.writableLeaf(vma.start);
    const lo = leaf.lo;
    let i = 0;
    let h = lo.length;
    while (i < h) {
      const mid = (i + h) >> 1;
      if (lo[mid] < vma.start) i = mid + 1;
      else h = mid;
    }
    openSlot(leaf, i);
    putVma(leaf, i, vma);
    this.addCount(1);
    this.fixUp();
    this.wrote();
  }

  remove(vma: Vma): void {
    const leaf = this.writableLeaf(vma.start);
    const i = indexOfStart(leaf.lo, vma.start);
    if (i < 0) throw new Error(`VmaTree.remove: no VMA at page ${vma.start}`);
    closeSlots(leaf, i, 1);
    this.addCount(-1);
    this.fixUp();
    this.wrote();
  }

  /**
   * Put `below` and `above` where `vma` is (a split: below ends where above starts, and
   * together they cover `vma`): one leaf visit instead of a replace and an insert.
   */
  split(vma: Vma, below: Vma, above: Vma): void {
    const leaf = this.writableLeaf(vma.start);
    const i = indexOfStart(leaf.lo, vma.start);
    if (i < 0) throw new Error(`VmaTree.split: no VMA at page ${vma.start}`);
    openSlot(leaf, i + 1);
    putVma(leaf, i, below);
    putVma(leaf, i + 1, above);
    this.addCount(1);
    this.fixUp();
    this.wrote();
  }

  /**
   * Put `next` where the `count` consecutive records from `first` are (a merge swallowing
   * its neighbours): one leaf visit when they share a leaf, else removes and a replace.
   * `next` must cover exactly those records' place in address order.
   */
  replaceRun(first: Vma, count: number, next: Vma): void {
    const leaf = this.writableLeaf(first.start);
    const i = indexOfStart(leaf.lo, first.start);
    if (i < 0) throw new Error(`VmaTree.replaceRun: no VMA at page ${first.start}`);
    const v = leaf.items as Vma[];
    if (i + count > v.length) {
      const others: Vma[] = [];
      let cur: Vma | null = first;
      for (let k = 1; k < count; k++) {
        cur = this.next(cur as Vma);
        if (cur === null) throw new Error(`VmaTree.replaceRun: fewer than ${count} VMAs from page ${first.start}`);
        others.push(cur);
      }
      for (const o of others) this.remove(o);
      this.replace(first, next);
      return;
    }
    putVma(leaf, i, next);
    const gone = count - 1;
    closeSlots(leaf, i + 1, gone);
    this.addCount(-gone);
    this.fixUp();
    this.wrote();
  }

  /** Put `next` where `prev` is; `next` must not overlap any other VMA. */
  replace(prev: Vma, next: Vma): void {
    const leaf = this.writableLeaf(prev.start);
    const i = indexOfStart(leaf.lo, prev.start);
    if (i < 0) throw new Error(`VmaTree.replace: no VMA at page ${prev.start}`);
    // Callers only replace a VMA by one that keeps its place in address order (it
    // covers free space or part of the old range), so the slot stays the same.
    putVma(leaf, i, next);
    this.fixUp();
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

  /** Add `delta` to the record count of every node on the current finger's path. */
  private addCount(delta: number): void {
    const f = this.f1;
    for (let d = 0; d < f.depth; d++) f.path[d].count += delta;
  }

  /**
   * The leaf where a record starting at `page` is (or belongs), as the current finger,
   * with every node of its path owned by this tree (copied if shared).
   */
  private writableLeaf(page: number): Node {
    const leaf = this.fingerFor(page, 0);
    if (leaf !== null) {
      const f = this.f1;
      if (f.owned) return leaf;
      if (f.path[0] === this.root) {
        let owned = true;
        for (let d = 0; d < f.depth; d++) if (f.path[d].owner !== this.owner) owned = false;
        if (owned) {
          f.owned = true;
          return leaf;
        }
      }
    }
    // Copying nodes leaves any other finger pointing at the shared originals: drop both.
    this.invalidateFingers();
    if (this.root.owner !== this.owner) this.root = this.copyNode(this.root);
    const f = this.f1;
    const path = f.path;
    const slots = f.slots;
    path[0] = this.root;
    let d = 1;
    let n = this.root;
    let nextSub: Node | null = null;
    let nextFirst = INF;
    while (!n.leaf) {
      const kids = n.items as Node[];
      const i = slotFor(n.lo, page);
      if (i + 1 < kids.length) {
        nextSub = kids[i + 1];
        nextFirst = n.lo[i + 1];
      }
      let k = kids[i];
      if (k.owner !== this.owner) {
        k = this.copyNode(k);
        kids[i] = k;
      }
      slots[d - 1] = i;
      path[d++] = k;
      n = k;
    }
    f.depth = d;
    f.leafNode = n;
    f.valid = true;
    f.owned = true;
    f.nextSub = nextSub;
    f.nextFirst = nextFirst;
    f.seen = this.writes;
    return n;
  }

  private copyNode(n: Node): Node {
    const c = new Node(this.owner, n.leaf, (n.items as unknown[]).slice() as Vma[] | Node[], n.lo.slice(), n.hi.slice());
    c.first = n.first;
    c.last = n.last;
    c.maxGap = n.maxGap;
    c.dirty = n.dirty;
    c.count = n.count;
    return c;
  }

  /** Restore node sizes and bounds along the current finger's path, from its leaf up to the root. */
  private fixUp(): void {
    const path = this.f1.path;
    const slots = this.f1.slots;
    for (let d = this.f1.depth - 1; d >= 0; d--) {
      const n = path[d];
      const parent = d > 0 ? path[d - 1] : null;
      const at = d > 0 ? slots[d - 1] : 0;
      const len = n.items.length;
      if (len > MAX_ITEMS) {
        this.invalidateFingers();
        const right = splitOff(n, this.owner);
        if (parent) {
          insertChild(parent, at + 1, right);
          parent.lo[at] = n.first;
          parent.hi[at] = n.last;
        } else {
          this.root = new Node(this.owner, false, [n, right], doubles(), doubles());
          this.root.lo.push(n.first, right.first);
          this.root.hi.push(n.last, right.last);
          summarize(this.root);
          return;
        }
      } else if (len === 0 && parent) {
        this.invalidateFingers();
        removeChild(parent, at);
      } else {
        const wasStale = n.dirty;
        const first = n.first;
        const last = n.last;
        bounds(n);
        if (parent) {
          parent.lo[at] = n.first;
          parent.hi[at] = n.last;
        }
        // Same bounds: nothing above changes, and a stale node's ancestors are all stale
        // already (ensureGap settles a node only after all its children).
        if (wasStale && n.first === first && n.last === last) break;
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
      this.root = new Node(this.owner, true, [], doubles(), doubles());
    }
  }
}

/** Move the upper half of an overfull node `n` into a new sibling, which is returned. */
function splitOff(n: Node, owner: number): Node {
  const len = n.items.length;
  const half = len >> 1;
  const right = new Node(owner, n.leaf, (n.items as unknown[]).slice(half) as Vma[] | Node[], n.lo.slice(half), n.hi.slice(half));
  n.items.length = half;
  n.lo.length = half;
  n.hi.length = half;
  summarize(right);
  summarize(n);
  return right;
}

function insertChild(parent: Node, at: number, child: Node): void {
  openSlot(parent, at);
  (parent.items as Node[])[at] = child;
  parent.lo[at] = child.first;
  parent.hi[at] = child.last;
}

function removeChild(parent: Node, at: number): void {
  closeSlots(parent, at, 1);
}

/** Write `vma` into slot `i` of a leaf, with its bounds. */
function putVma(leaf: Node, i: number, vma: Vma): void {
  (leaf.items as Vma[])[i] = vma;
  leaf.lo[i] = vma.start;
  leaf.hi[i] = vma.end;
}

/**
 * Make room at slot `at` of a node (items, lo and hi move up by one together; the caller
 * fills the slot). In place, without splice's result array: inserts are the hottest writes.
 */
function openSlot(n: Node, at: number): void {
  const items = n.items as unknown[];
  const lo = n.lo;
  const hi = n.hi;
  for (let j = items.length; j > at; j--) {
    items[j] = items[j - 1];
    lo[j] = lo[j - 1];
    hi[j] = hi[j - 1];
  }
}

/** Drop `k` slots of a node starting at `at` (items, lo and hi move down together). */
function closeSlots(n: Node, at: number, k: number): void {
  const items = n.items as unknown[];
  const lo = n.lo;
  const hi = n.hi;
  const last = items.length - k;
  for (let j = at; j < last; j++) {
    items[j] = items[j + k];
    lo[j] = lo[j + k];
    hi[j] = hi[j + k];
  }
  // pop(), not `length =`: setting length goes through a slow runtime call.
  for (let j = 0; j < k; j++) {
    items.pop();
    lo.pop();
    hi.pop();
  }
}

function indexOfStart(lo: number[], start: number): number {
  let l = 0;
  let h = lo.length - 1;
  while (l <= h) {
    const mid = (l + h) >> 1;
    const s = lo[mid];
    if (s === start) return mid;
    if (s < start) l = mid + 1;
    else h = mid - 1;
  }
  return -1;
}

/** Refresh first/last of `n` (count is kept incrementally) and mark its gap stale. */
function bounds(n: Node): void {
  const len = n.lo.length;
  n.dirty = true;
  if (len === 0) {
    n.first = INF;
    n.last = -1;
  } else {
    n.first = n.lo[0];
    n.last = n.hi[len - 1];
  }
}

function revSearch(n: Node, len: number, low: number, high: number): number {
  if (ensureGap(n) < len) return -1;
  if (Math.min(n.last, high) - Math.max(n.first, low) < len) return -1;
  const lo = n.lo;
  const hi = n.hi;
  if (n.leaf) {
    for (let i = lo.length - 1; i > 0; i--) {
      const ge = lo[i];
      if (ge <= low) break;
      const e = Math.min(ge, high);
      const s = Math.max(hi[i - 1], low);
      if (e - s >= len) return e;
    }
    return -1;
  }
  const k = n.items as Node[];
  for (let i = k.length - 1; i >= 0; i--) {
    if (hi[i] <= low) break;
    const r = revSearch(k[i], len, low, high);
    if (r >= 0) return r;
    if (i > 0) {
      const ge = lo[i];
      if (ge <= low) break;
      const e = Math.min(ge, high);
      const s = Math.max(hi[i - 1], low);
      if (e - s >= len) return e;
    }
  }
  return -1;
}

function fwdSearch(n: Node, len: number, low: number, high: number): number {
  if (ensureGap(n) < len) return -1;
  if (Math.min(n.last, high) - Math.max(n.first, low) < len) return -1;
  const lo = n.lo;
  const hi = n.hi;
  if (n.leaf) {
    for (let i = 1; i < lo.length; i++) {
      const gs = hi[i - 1];
      if (gs >= high) break;
      const s = Math.max(gs, low);
      const e = Math.min(lo[i], high);
      if (e - s >= len) return s;
    }
    return -1;
  }
  const k = n.items as Node[];
  for (let i = 0; i < k.length; i++) {
    // The hole before child i may reach into [low, high) even when child i starts past it.
    if (i > 0) {
      const gs = hi[i - 1];
      if (gs >= high) break;
      const s = Math.max(gs, low);
      const e = Math.min(lo[i], high);
      if (e - s >= len) return s;
    }
    if (lo[i] >= high) break;
    const r = fwdSearch(k[i], len, low, high);
    if (r >= 0) return r;
  }
  return -1;
}

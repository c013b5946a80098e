// Which pages a memory call names: from its arguments (what it may change before it returns)
// and from its result (what it created or moved). One definition for the log replay, impact
// and the scenarios, so that they all attribute a call to the same mappings.

/** [start, end) in pages. */
export type PageRange = readonly [number, number];

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
export function span(addr: bigint, len: bigint): PageRange {
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

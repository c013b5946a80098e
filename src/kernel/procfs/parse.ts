// Pure parsers for /proc/PID/maps text (no I/O: the text comes from the executor or a fixture).
//
// A maps line is produced by show_vma_header_prefix() + show_map_vma() in fs/proc/task_mmu.c:
//   "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " then, only if the VMA has a name, padding to
//   column 73 and the name. So an unnamed VMA's line ends in "inode " (a trailing space), the
//   hex fields are at least (not exactly) 8/2 digits wide, and a name is everything after the
//   padding: it may contain spaces (paths) and ends in " (deleted)" for unlinked files.

export type MapsEntry = {
  start: bigint;
  end: bigint;
  /** "rwxp" style: r/-, w/-, x/-, then p (private) or s (shared). */
  perms: string;
  /** File offset in bytes (pgoff << PAGE_SHIFT). */
  offset: bigint;
  /** "MAJOR:MINOR" in hex, as printed (e.g. "fe:00"). */
  dev: string;
  inode: number;
  /** Path, "[heap]", "[stack]", "[vdso]", "[anon:NAME]", ... or "" for an unnamed VMA. */
  name: string;
};

export class MapsParseError extends Error {
  readonly lineNo: number | undefined;
  readonly line: string;
  constructor(reason: string, line: string, lineNo?: number) {
    super(`${lineNo === undefined ? "maps line" : `maps line ${lineNo}`}: ${reason}: ${JSON.stringify(line)}`);
    this.name = "MapsParseError";
    this.lineNo = lineNo;
    this.line = line;
  }
}

// start-end perms offset dev inode, then either nothing or one or more spaces and the name.
const MAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+)(?: +(.*))?$/;

export function parseMapsLine(line: string, lineNo?: number): MapsEntry {
  // Tolerate the line terminator if the caller kept it; keep any other trailing characters,
  // they belong to the name.
  const text = line.endsWith("\n") ? line.slice(0, -1) : line;
  const m = MAPS_LINE.exec(text);
  if (!m) throw new MapsParseError("not a /proc/PID/maps line", line, lineNo);
  const [, startHex, endHex, perms, offsetHex, dev, inodeDec, rawName] = m;
  const start = BigInt(`0x${startHex}`);
  const end = BigInt(`0x${endHex}`);
  if (end <= start) throw new MapsParseError("end is not above start", line, lineNo);
  const inode = Number(inodeDec);
  // Inode numbers are u64; a number is only exact up to 2^53 (overlayfs xino can exceed it).
  if (!Number.isSafeInteger(inode)) throw new MapsParseError("inode does not fit a safe integer", line, lineNo);
  return {
    start,
    end,
    perms: perms as string,
    offset: BigInt(`0x${offsetHex}`),
    dev: dev as string,
    inode,
    name: rawName ?? "",
  };
}

/** Parses a whole maps file; blank lines are rejected except the empty tail after the last "\n". */
export function parseMaps(text: string): MapsEntry[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines.map((l, i) => parseMapsLine(l, i + 1));
}

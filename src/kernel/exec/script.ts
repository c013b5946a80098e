// "#!" scripts: fs/binfmt_script.c load_script(). The first line of the first
// BINPRM_BUF_SIZE bytes names the interpreter and at most one argument; the kernel then
// drops argv[0], pushes the script's name, the argument and the interpreter's name, and
// restarts the search with the interpreter (exec_binprm(), at most 5 rewrites).

import { ENOEXEC } from "../uapi/errno.js";
import { BINPRM_BUF_SIZE } from "./elf.js";

export interface Shebang {
  /** The interpreter path. */
  readonly name: string;
  /** The optional single argument (everything after the first blank, trailing blanks trimmed). */
  readonly arg: string | null;
}

const spacetab = (c: number) => c === 0x20 || c === 0x09;

/** next_non_spacetab(): first index in [first, last] that is not a blank, or -1. */
function nextNonSpacetab(b: Uint8Array, first: number, last: number): number {
  for (let i = first; i <= last; i++) if (!spacetab(b[i])) return i;
  return -1;
}

/** next_terminator(): first index in [first, last] that is a blank or NUL, or -1. */
function nextTerminator(b: Uint8Array, first: number, last: number): number {
  for (let i = first; i <= last; i++) if (spacetab(b[i]) || b[i] === 0) return i;
  return -1;
}

/** The NUL-terminated string at `at`. */
function cstr(b: Uint8Array, at: number): string {
  let end = at;
  while (end < b.length && b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(at, end));
}

/**
 * load_script()'s parse of bprm->buf: null when the file does not start with "#!" (not a
 * script), ENOEXEC when the line names no interpreter or the name may be truncated.
 */
export function parseShebang(head: Uint8Array): Shebang | { errno: number; reason: string } | null {
  const b = new Uint8Array(BINPRM_BUF_SIZE);
  b.set(head.subarray(0, BINPRM_BUF_SIZE));
  if (b[0] !== 0x23 || b[1] !== 0x21) return null;
  const bufEnd = BINPRM_BUF_SIZE - 1;
  // strnchr(): the newline, if one comes before the first NUL.
  let iEnd = -1;
  for (let i = 0; i < BINPRM_BUF_SIZE && b[i] !== 0; i++) {
    if (b[i] === 0x0a) {
      iEnd = i;
      break;
    }
  }
  if (iEnd < 0) {
    const first = nextNonSpacetab(b, 2, bufEnd);
    if (first < 0) return { errno: ENOEXEC, reason: '"#!" line of blanks only' };
    if (nextTerminator(b, first, bufEnd) < 0) return { errno: ENOEXEC, reason: '"#!" interpreter path may be truncated' };
    iEnd = bufEnd;
  }
  while (spacetab(b[iEnd - 1])) iEnd--;
  const iName = nextNonSpacetab(b, 2, iEnd);
  if (iName < 0 || iName === iEnd) return { errno: ENOEXEC, reason: '"#!" line names no interpreter' };
  let iArg = -1;
  const iSep = nextTerminator(b, iName, iEnd);
  if (iSep >= 0 && b[iSep] !== 0) iArg = nextNonSpacetab(b, iSep, iEnd);
  b[iEnd] = 0;
  if (iArg >= 0) b[iSep] = 0;
  return { name: cstr(b, iName), arg: iArg >= 0 ? cstr(b, iArg) : null };
}

// Splitting strace's argument text into arguments and classifying each one, as strace's
// printers (print_flags, printstr, printfd, print_struct) write them.

import type { StraceArg } from "./types.js";

function isWordChar(c: number): boolean {
  // 0-9 A-Z a-z _
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/**
 * Index just past the string literal starting at `i` (a `"`), or -1 if it never closes.
 * Backslash escapes are skipped whole.
 */
export function skipString(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 92) j += 2;
    else if (c === 34) return j + 1;
    else j++;
  }
  return -1;
}

/**
 * Top-level comma-separated pieces of an argument list. Quotes, `()`, `[]`, `{}`, `/* *\/`
 * comments and `-y` decorations (`<` right after a word: `3</path,x>`) nest; a comma inside
 * them does not split. Returns null when the nesting does not balance.
 */
export function splitArgs(s: string): string[] | null {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 34) {
      const j = skipString(s, i);
      if (j < 0) return null;
      i = j;
      continue;
    }
    if (c === 47 && s.charCodeAt(i + 1) === 42) {
      const j = s.indexOf("*/", i + 2);
      if (j < 0) return null;
      i = j + 2;
      continue;
    }
    if (c === 40 || c === 91 || c === 123) depth++;
    else if (c === 41 || c === 93 || c === 125) {
      depth--;
      if (depth < 0) return null;
    } else if (c === 60 && s.charCodeAt(i + 1) === 60) {
      // A shift in a flag word (`MAP_HUGETLB|21<<MAP_HUGE_SHIFT`), not a decoration.
      i += 2;
      continue;
    } else if (c === 60 && i > 0 && isWordChar(s.charCodeAt(i - 1))) {
      // A -y/-yy decoration: runs to its matching '>' (sockets print "[a->b]" inside).
      const j = decorationEnd(s, i);
      if (j < 0) return null;
      i = j;
      continue;
    } else if (c === 44 && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
    i++;
  }
  if (depth !== 0) return null;
  const last = s.slice(start).trim();
  if (last.length > 0 || out.length > 0) out.push(last);
  return out;
}

/** Index just past the `>` closing the decoration whose `<` is at `i`, or -1. */
export function decorationEnd(s: string, i: number): number {
  let bracket = 0;
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 91) bracket++;
    else if (c === 93) bracket--;
    else if (c === 62 && bracket === 0 && s.charCodeAt(j - 1) !== 45) return j + 1; // not the '>' of "->"
  }
  return -1;
}

const NUMBER = /^(-?)(0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/;

/** A C integer literal as strace prints it (hex, octal with leading 0, decimal), or null. */
export function parseInteger(text: string): bigint | null {
  // Fast path: a short plain decimal (most arguments and results).
  const n = text.length;
  if (n > 0 && n < 16) {
    let i = 0;
    const c0 = text.charCodeAt(0);
    if (c0 >= 49 && c0 <= 57) {
      i = 1;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c < 48 || c > 57) break;
        i++;
      }
      if (i === n) return BigInt(Number(text));
    } else if (c0 === 48 && n === 1) return 0n;
    else if (c0 !== 45 && c0 !== 48) return null; // not '-', not '0': no number
  }
  const m = NUMBER.exec(text);
  if (m === null) return null;
  const body = m[2];
  let v: bigint;
  if (body.startsWith("0x") || body.startsWith("0X")) v = BigInt(body);
  else if (body.length > 1 && body[0] === "0") v = BigInt(`0o${body.slice(1)}`);
  else v = BigInt(body);
  return m[1] === "-" ? -v : v;
}

/** Split `3</path>` (or `3</memfd:x>(deleted)`) into the value text and the decoration's contents. */
function splitDecoration(full: string): { base: string; path?: string } {
  // strace -y prints "(deleted)" after the decoration of an unlinked file.
  const text = full.endsWith(">(deleted)") ? full.slice(0, -9) : full;
  if (!text.endsWith(">")) return { base: full };
  for (let i = 1; i < text.length; i++) {
    if (text.charCodeAt(i) === 60 && text.charCodeAt(i + 1) === 60) {
      i++;
      continue;
    }
    if (text.charCodeAt(i) === 60 && isWordChar(text.charCodeAt(i - 1))) {
      if (decorationEnd(text, i) === text.length) return { base: text.slice(0, i), path: text.slice(i + 1, -1) };
      return { base: full };
    }
  }
  return { base: full };
}

/** Drop a trailing `/* ... *\/` comment (`0x7ffd... /* 4 vars *\/`). */
function stripComment(text: string): string {
  if (!text.endsWith("*/")) return text;
  const i = text.lastIndexOf("/*");
  return i > 0 ? text.slice(0, i).trimEnd() : text;
}

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", v: "\v", f: "\f", "\\": "\\", '"': '"' };

/** The characters of a C string literal body as strace escapes it (\n, \t, \x41, \177). */
export function unescapeCString(body: string): string {
  if (!body.includes("\\")) return body;
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== "\\") {
      out += c;
      continue;
    }
    const d = body[i + 1];
    if (d === "x") {
      out += String.fromCharCode(Number.parseInt(body.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (d !== undefined && d >= "0" && d <= "7") {
      let j = i + 1;
      while (j < i + 4 && body[j] >= "0" && body[j] <= "7") j++;
      out += String.fromCharCode(Number.parseInt(body.slice(i + 1, j), 8));
      i = j - 1;
    } else {
      out += ESCAPES[d] ?? d ?? "";
      i++;
    }
  }
  return out;
}

const FLAG_WORD = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A field of a flag word printed as `N<<NAME_SHIFT` (MAP_HUGE, MFD_HUGE, SHM_HUGE sizes): kept as a name. */
const SHIFTED_WORD = /^\d+<<[A-Z][A-Z0-9_]*$/;

const NAMED = /^([a-z_][a-z0-9_]*)=/;

/** One argument's text → its classification (never fails: unknown shapes are "other"). */
export function classifyArg(raw: string): StraceArg {
  const c = raw.charCodeAt(0);
  const named = c >= 97 && c <= 122 ? NAMED.exec(raw) : null;
  if (named !== null) {
    const v = classifyValue(raw.slice(named[0].length));
    return { ...v, name: named[1] };
  }
  return classifyValue(raw);
}

function classifyValue(raw: string): StraceArg {
  const text = stripComment(raw);
  const c = text.charCodeAt(0);
  if (c === 34) {
    const end = skipString(text, 0);
    if (end > 0) {
      const rest = text.slice(end);
      if (rest === "" || rest === "...")
        return { kind: "str", raw, value: unescapeCString(text.slice(1, end - 1)), truncated: rest === "..." };
    }
    return { kind: "other", raw };
  }
  if (c === 123) return { kind: "struct", raw };
  if (c === 91) return { kind: "array", raw };
  if (text === "NULL") return { kind: "null", raw, value: 0n };
  const { base, path } = text.includes("<") ? splitDecoration(text) : { base: text, path: undefined };
  const n = parseInteger(base);
  if (n !== null) return path === undefined ? { kind: "int", raw, value: n } : { kind: "int", raw, value: n, path };
  if (base.includes("|") || FLAG_WORD.test(base)) {
    const names: string[] = [];
    let bits = 0n;
    for (const part of base.split("|")) {
      const v = parseInteger(part);
      if (v !== null) bits |= v;
      else if (FLAG_WORD.test(part) || SHIFTED_WORD.test(part)) names.push(part);
      else return { kind: "other", raw };
    }
    return path === undefined ? { kind: "flags", raw, names, bits } : { kind: "flags", raw, names, bits, path };
  }
  return { kind: "other", raw };
}

/** The classified arguments of an argument text; null when it does not split. */
export function parseArgs(text: string): StraceArg[] | null {
  const parts = splitArgs(text);
  if (parts === null) return null;
  return parts.map(classifyArg);
}

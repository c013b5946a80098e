// The text after ` = ` → a return value (strace syscall.c syscall_exiting_trace).

import { decorationEnd, parseInteger } from "./args.js";
import type { StraceRet } from "./types.js";

const ERROR = /^(-?\d+|\?) (E[A-Z0-9_]+) \((.*)\)$/;

/** Parse a return text; null when it is not one strace would print. */
export function parseRet(text: string): StraceRet | null {
  if (text === "?" || text.startsWith("? <")) return { kind: "unknown", text };
  const c = text.charCodeAt(0);
  const e = c === 45 || c === 63 ? ERROR.exec(text) : null;
  if (e !== null) return { kind: "error", value: e[1] === "?" ? null : BigInt(e[1]), errno: e[2], message: e[3] };
  // VALUE[<decoration>][ (comment)]
  let i = 0;
  while (i < text.length && text[i] !== " " && text[i] !== "<") i++;
  const value = parseInteger(text.slice(0, i));
  if (value === null) return null;
  let path: string | undefined;
  if (text[i] === "<") {
    const end = decorationEnd(text, i);
    if (end < 0) return null;
    path = text.slice(i + 1, end - 1);
    i = end;
  }
  const rest = text.slice(i).trim();
  const out: StraceRet = { kind: "value", value };
  if (path !== undefined) out.path = path;
  if (rest !== "") out.comment = rest.startsWith("(") && rest.endsWith(")") ? rest.slice(1, -1) : rest;
  return out;
}

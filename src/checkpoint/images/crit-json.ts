// `crit decode`-style JSON of an image: the shape CRIU's pycriu prints (magic name, entries,
// proto field names, hex for the fields CRIU marks hex, " | "-joined names for flag fields,
// enum names), so that our reader can be checked against real `crit decode` output.
// Flag and enum tables below are those CRIU's .proto options name (mmap.prot, mmap.flags,
// mmap.status, pmap.flags); names of bits never seen in a real decode are marked so.

import type { DescMessage } from "@bufbuild/protobuf";
import { isFieldSet, type MessageShape } from "@bufbuild/protobuf";
import type { ImageKind } from "./magic.js";

type FlagTable = ReadonlyArray<readonly [string, number]>;

const PROT: FlagTable = [
  ["PROT_READ", 0x1],
  ["PROT_WRITE", 0x2],
  ["PROT_EXEC", 0x4],
];
const MAP: FlagTable = [
  ["MAP_SHARED", 0x1],
  ["MAP_PRIVATE", 0x2],
  ["MAP_ANON", 0x20],
  ["MAP_NORESERVE", 0x4000],
  ["MAP_GROWSDOWN", 0x100],
  ["MAP_LOCKED", 0x2000],
];
// VMA_AREA_REGULAR, VMA_AREA_HEAP, VMA_ANON_PRIVATE, VMA_FILE_PRIVATE, VMA_AREA_VDSO,
// VMA_AREA_VVAR and VMA_AREA_VSYSCALL are seen in the real decode; the others follow the
// status-bit table of criu-restore.md §2.
export const VMA_STATUS: FlagTable = [
  ["VMA_AREA_REGULAR", 1 << 0],
  ["VMA_AREA_STACK", 1 << 1],
  ["VMA_AREA_VSYSCALL", 1 << 2],
  ["VMA_AREA_VDSO", 1 << 3],
  ["VMA_AREA_HEAP", 1 << 5],
  ["VMA_FILE_PRIVATE", 1 << 6],
  ["VMA_FILE_SHARED", 1 << 7],
  ["VMA_ANON_SHARED", 1 << 8],
  ["VMA_ANON_PRIVATE", 1 << 9],
  ["VMA_AREA_SYSVIPC", 1 << 10],
  ["VMA_AREA_SOCKET", 1 << 11],
  ["VMA_AREA_VVAR", 1 << 12],
  ["VMA_AREA_AIORING", 1 << 13],
  ["VMA_AREA_MEMFD", 1 << 14],
  ["VMA_AREA_SHSTK", 1 << 15],
  ["VMA_AREA_GUARD", 1 << 16],
  ["VMA_AREA_UPROBES", 1 << 17],
  ["VMA_EXT_PLUGIN", 1 << 27],
  ["VMA_CLOSE", 1 << 28],
  ["VMA_NO_PROT_WRITE", 1 << 29],
  ["VMA_PREMMAPED", 1 << 30],
  ["VMA_UNSUPP", 2 ** 31],
];
const PE: FlagTable = [
  ["PE_PARENT", 1],
  ["PE_LAZY", 2],
  ["PE_PRESENT", 4],
];

const MAGIC_NAMES: Record<ImageKind, string> = {
  inventory: "INVENTORY",
  pstree: "PSTREE",
  core: "CORE",
  mm: "MM",
  pagemap: "PAGEMAP",
  ids: "IDS",
  files: "FILES",
  fdinfo: "FDINFO",
  fs: "FS",
  timens: "TIMENS",
  seccomp: "SECCOMP",
};

/** How one field prints, by "Message.field". */
const HEX = new Set([
  "MmEntry.mm_start_code",
  "MmEntry.mm_end_code",
  "MmEntry.mm_start_data",
  "MmEntry.mm_end_data",
  "MmEntry.mm_start_stack",
  "MmEntry.mm_start_brk",
  "MmEntry.mm_brk",
  "MmEntry.mm_arg_start",
  "MmEntry.mm_arg_end",
  "MmEntry.mm_env_start",
  "MmEntry.mm_env_end",
  "VmaEntry.start",
  "VmaEntry.end",
  "VmaEntry.madv",
  "VmaEntry.fdflags",
  "PagemapEntry.vaddr",
  "TaskCoreEntry.blk_sigset",
]);
const FLAGS: Record<string, FlagTable> = {
  "VmaEntry.prot": PROT,
  "VmaEntry.flags": MAP,
  "VmaEntry.status": VMA_STATUS,
  "PagemapEntry.flags": PE,
};
const ENUMS: Record<string, Record<number, string>> = {
  "InventoryEntry.lsmtype": { 0: "NO_LSM", 1: "SELINUX", 2: "APPARMOR" },
  "CoreEntry.mtype": { 0: "UNKNOWN", 1: "X86_64", 2: "ARM", 3: "AARCH64", 4: "PPC64", 5: "S390" },
  "FileEntry.type": { 1: "REG", 2: "PIPE", 3: "FIFO", 4: "INETSK", 5: "UNIXSK", 11: "TTY" },
  "FdinfoEntry.type": { 1: "REG", 2: "PIPE", 3: "FIFO", 4: "INETSK", 5: "UNIXSK", 11: "TTY" },
};

/** crit's map_flags: known names in table order, then the rest in hex. */
export function flagNames(value: number, table: FlagTable): string {
  const names: string[] = [];
  let rest = value >>> 0;
  for (const [name, bit] of table) {
    if ((value & bit) >>> 0 !== 0) names.push(name);
    rest = (rest & ~bit) >>> 0;
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.join(" | ");
}

/** A JSON value that prints as a raw number (u64s beyond 2^53 stay exact). */
class RawNumber {
  constructor(readonly text: string) {}
}

type Json = null | boolean | string | RawNumber | Json[] | { [k: string]: Json };

function scalarJson(key: string, v: unknown): Json {
  if (HEX.has(key)) return `0x${BigInt(v as number | bigint).toString(16)}`;
  const flags = FLAGS[key];
  if (flags !== undefined) return flagNames(Number(v), flags);
  const en = ENUMS[key];
  if (en !== undefined) return en[Number(v)] ?? String(v);
  if (typeof v === "bigint" || typeof v === "number") return new RawNumber(v.toString());
  if (typeof v === "boolean" || typeof v === "string") return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  return String(v);
}

/** A message as crit prints it: set fields only, in field-number order. */
export function messageJson(schema: DescMessage, msg: Record<string, unknown>): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  const fields = [...schema.fields].sort((a, b) => a.number - b.number);
  for (const f of fields) {
    const key = `${schema.name}.${f.name}`;
    const v = msg[f.localName];
    if (f.fieldKind === "list") {
      const list = v as unknown[];
      if (list.length === 0) continue;
      out[f.name] = list.map((x) => (f.listKind === "message" ? messageJson(f.message, x as Record<string, unknown>) : scalarJson(key, x)));
    } else if (f.fieldKind === "message") {
      if (v === undefined) continue;
      out[f.name] = messageJson(f.message, v as Record<string, unknown>);
    } else {
      if (!isFieldSet(msg as MessageShape<DescMessage>, f)) continue;
      out[f.name] = scalarJson(key, v);
    }
  }
  return out;
}

/** Python's json.dumps(indent=4) layout, which `crit decode --pretty` prints. */
export function stringifyLikePython(v: Json, indent = 0): string {
  const pad = " ".repeat(indent + 4);
  if (v === null) return "null";
  if (v instanceof RawNumber) return v.text;
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map((x) => pad + stringifyLikePython(x, indent + 4)).join(",\n")}\n${" ".repeat(indent)}]`;
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return "{}";
  return `{\n${keys.map((k) => `${pad}${JSON.stringify(k)}: ${stringifyLikePython(v[k] as Json, indent + 4)}`).join(",\n")}\n${" ".repeat(indent)}}`;
}

/** `crit decode` of one image: {magic, entries}. */
export function critDecode(kind: ImageKind, entries: Array<{ schema: DescMessage; msg: Record<string, unknown> }>): string {
  const obj: Json = { magic: MAGIC_NAMES[kind], entries: entries.map((e) => messageJson(e.schema, e.msg)) };
  return stringifyLikePython(obj);
}

/** The same as a plain JS value (numbers as numbers when exact, else strings). */
export function critDecodeValue(kind: ImageKind, entries: Array<{ schema: DescMessage; msg: Record<string, unknown> }>): unknown {
  return JSON.parse(critDecode(kind, entries), (_k, v) => v);
}

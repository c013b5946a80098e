// Our own ELF parser over DataView, checking what fs/binfmt_elf.c checks and nothing more:
// load_elf_binary()'s header checks (magic, e_type, elf_check_arch() = e_machine only, the
// size of a program header, the program-header table size) and load_elf_phdrs().
//
// What the kernel does NOT check, and neither do we (verified on the live kernel): the class
// byte (EI_CLASS), the data byte (EI_DATA), EI_VERSION and e_version. A 64-bit loader reads
// the header as an Elf64 header in the CPU's byte order (little-endian on every modeled arch).
//
// Malformed input is a value, not an exception: `ElfError` names the errno the kernel gives
// and where in the file the problem is.

import { ENOEXEC } from "../uapi/errno.js";

export const ELFMAG = [0x7f, 0x45, 0x4c, 0x46] as const;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const PT_LOAD = 1;
export const PT_INTERP = 3;
export const PT_GNU_STACK = 0x6474e551;
export const PT_GNU_PROPERTY = 0x6474e553;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export const EM_386 = 3;
export const EM_ARM = 40;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const EM_RISCV = 243;

/** BINPRM_BUF_SIZE: the bytes prepare_binprm() reads before any handler looks at the file. */
export const BINPRM_BUF_SIZE = 256;
/** PATH_MAX: the longest PT_INTERP the loader accepts. */
export const PATH_MAX = 4096;

/** The ELF classes: header and program-header layout (Elf64_* or Elf32_*). */
export type ElfClass = 32 | 64;

export interface ElfHeader {
  readonly type: number;
  readonly machine: number;
  readonly entry: number;
  readonly phoff: number;
  readonly phentsize: number;
  readonly phnum: number;
}

/** One program header; byte values (offsets and addresses below 2^53 stay exact). */
export interface ProgramHeader {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly align: number;
}

/** Why a file cannot be loaded, with the errno the kernel returns for it. */
export interface ElfError {
  readonly errno: number;
  readonly reason: string;
}

export function isElfError(x: unknown): x is ElfError {
  return typeof x === "object" && x !== null && "errno" in x && "reason" in x;
}

/** Sizes of the header and of one program header for a class. */
export function phentSize(cls: ElfClass): number {
  return cls === 64 ? 56 : 32;
}

/** memcmp(e_ident, ELFMAG, SELFMAG). */
export function hasElfMagic(buf: Uint8Array): boolean {
  return buf.length >= 4 && ELFMAG.every((b, i) => buf[i] === b);
}

/** A u64 read as a JS number (exact below 2^53; larger values only ever fail range checks). */
function u64At(dv: DataView, off: number): number {
  return Number(dv.getBigUint64(off, true));
}

/**
 * The ELF header as a loader of class `cls` reads it from the first BINPRM_BUF_SIZE bytes
 * (zero-filled past the end of a short file, as bprm->buf is).
 */
export function parseElfHeader(buf: Uint8Array, cls: ElfClass): ElfHeader {
  const b = new Uint8Array(BINPRM_BUF_SIZE);
  b.set(buf.subarray(0, BINPRM_BUF_SIZE));
  const dv = new DataView(b.buffer);
  if (cls === 64) {
    return {
      type: dv.getUint16(16, true),
      machine: dv.getUint16(18, true),
      entry: u64At(dv, 24),
      phoff: u64At(dv, 32),
      phentsize: dv.getUint16(54, true),
      phnum: dv.getUint16(56, true),
    };
  }
  return {
    type: dv.getUint16(16, true),
    machine: dv.getUint16(18, true),
    entry: dv.getUint32(24, true),
    phoff: dv.getUint32(28, true),
    phentsize: dv.getUint16(42, true),
    phnum: dv.getUint16(44, true),
  };
}

/**
 * load_elf_binary()'s first checks, before any program header is read: the magic, the
 * type (ET_EXEC or ET_DYN) and elf_check_arch() (e_machine). All fail with ENOEXEC, which
 * makes search_binary_handler() try the next format; none matches, so execve gets ENOEXEC.
 */
export function checkElfHeader(buf: Uint8Array, hdr: ElfHeader, machine: number): ElfError | null {
  if (!hasElfMagic(buf)) return { errno: ENOEXEC, reason: "not an ELF file (bad magic)" };
  if (hdr.type !== ET_EXEC && hdr.type !== ET_DYN) {
    return { errno: ENOEXEC, reason: `e_type ${hdr.type} is neither ET_EXEC nor ET_DYN` };
  }
  if (hdr.machine !== machine) return { errno: ENOEXEC, reason: `e_machine ${hdr.machine} is not ${machine}` };
  return null;
}

/**
 * load_elf_phdrs(): e_phentsize must be the class's size, the table non-empty, at most
 * 64 KiB, and wholly readable. Any failure makes the
 * caller give up with its current error (ENOEXEC for the program, ELIBBAD for ld.so).
 * (No one-page limit: 6.18 accepts 74 program headers, verified live.)
 */
export function readProgramHeaders(
  read: (offset: number, length: number) => Uint8Array,
  hdr: ElfHeader,
  cls: ElfClass,
): ProgramHeader[] | string {
  const ent = phentSize(cls);
  if (hdr.phentsize !== ent) return `e_phentsize ${hdr.phentsize} is not ${ent}`;
  const size = ent * hdr.phnum;
  if (size === 0) return "e_phnum is 0";
  if (size > 65536) return `program header table of ${size} bytes is larger than 64 KiB`;
  const bytes = hdr.phoff > Number.MAX_SAFE_INTEGER ? new Uint8Array(0) : read(hdr.phoff, size);
  if (bytes.length !== size) return `program header table at offset ${hdr.phoff} is cut short by the end of the file (EIO)`;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ProgramHeader[] = [];
  for (let i = 0; i < hdr.phnum; i++) {
    const o = i * ent;
    out.push(
      cls === 64
        ? {
            type: dv.getUint32(o, true),
            flags: dv.getUint32(o + 4, true),
            offset: u64At(dv, o + 8),
            vaddr: u64At(dv, o + 16),
            filesz: u64At(dv, o + 32),
            memsz: u64At(dv, o + 40),
            align: u64At(dv, o + 48),
          }
        : {
            type: dv.getUint32(o, true),
            offset: dv.getUint32(o + 4, true),
            vaddr: dv.getUint32(o + 8, true),
            filesz: dv.getUint32(o + 16, true),
            memsz: dv.getUint32(o + 20, true),
            flags: dv.getUint32(o + 24, true),
            align: dv.getUint32(o + 28, true),
          },
    );
  }
  return out;
}

/** total_mapping_size(): from the page of the first PT_LOAD to the end of the last one. */
export function totalMappingSize(phdrs: readonly ProgramHeader[]): number {
  const loads = phdrs.filter((p) => p.type === PT_LOAD);
  if (loads.length === 0) return 0;
  const first = loads[0];
  const last = loads[loads.length - 1];
  return last.vaddr + last.memsz - pageStart(first.vaddr);
}

/** maximum_alignment(): the largest power-of-two p_align of the PT_LOADs, at least a page. */
export function maximumAlignment(phdrs: readonly ProgramHeader[]): number {
  let alignment = 0;
  for (const p of phdrs) {
    if (p.type !== PT_LOAD) continue;
    const a = p.align;
    if (a === 0 || !Number.isInteger(Math.log2(a))) continue;
    alignment = Math.max(alignment, a);
  }
  return pageAlign(alignment);
}

/** ELF_PAGESTART(). */
export function pageStart(x: number): number {
  return x - (x % 4096);
}

/** ELF_PAGEOFFSET(). */
export function pageOffset(x: number): number {
  return x % 4096;
}

/** ELF_PAGEALIGN(). */
export function pageAlign(x: number): number {
  return Math.ceil(x / 4096) * 4096;
}

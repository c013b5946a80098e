// prctl(2), the options that concern the address space (kernel/sys.c): PR_SET_MM and its
// sub-ops (prctl_set_mm, prctl_set_mm_map, validate_prctl_map_addr, prctl_set_auxv,
// prctl_set_mm_exe_file, kernel/fork.c replace_mm_exe_file), PR_SET_VMA, PR_SET/GET_THP_DISABLE,
// PR_GET_AUXV, and the modeled opt-out of `sysmap+prctl-optout`. Arguments are user words as
// the real syscall takes them: the struct prctl_mm_map and auxv are read from the caller's
// memory (EFAULT when they cannot be), results are written there.
//
// Verified on the live 6.18.44 kernel by native/probe-prctl.c (tests/prctl.test.ts). Other
// options are not modeled: they throw Unsupported rather than guess.

import type { OpenFile } from "../fs/file.js";
import { CAP_SYS_RESOURCE, capable, checkpointRestoreNsCapable, nsCapable, userNsOf } from "../mm/creds.js";
import type { Mm } from "../mm/mm.js";
import { PR_MODELED_SYSMAP_SEAL_OPTOUT } from "../policy/sysmap-prctl-optout.js";
import { EACCES, EBADF, EBUSY, EFAULT, EINVAL, EPERM } from "../uapi/errno.js";
import type { U64 } from "../uapi/u64.js";
import { Unsupported } from "../unsupported.js";
import type { Process } from "./process.js";
import { copyFromUser, copyToUser, copyUnknownToUser, u32At, u64At } from "./uaccess.js";

export const PR_SET_MM = 35;
export const PR_GET_THP_DISABLE = 42;
export const PR_SET_THP_DISABLE = 41;
export const PR_SET_VMA = 0x53564d41;
export const PR_GET_AUXV = 0x41555856;
/** PR_SET_THP_DISABLE's arg3 flag (6.18): disable THP except where MADV_HUGEPAGE asks. */
export const PR_THP_DISABLE_EXCEPT_ADVISED = 1 << 1;

export const PR_SET_MM_START_CODE = 1;
export const PR_SET_MM_END_CODE = 2;
export const PR_SET_MM_START_DATA = 3;
export const PR_SET_MM_END_DATA = 4;
export const PR_SET_MM_START_STACK = 5;
export const PR_SET_MM_START_BRK = 6;
export const PR_SET_MM_BRK = 7;
export const PR_SET_MM_ARG_START = 8;
export const PR_SET_MM_ARG_END = 9;
export const PR_SET_MM_ENV_START = 10;
export const PR_SET_MM_ENV_END = 11;
export const PR_SET_MM_AUXV = 12;
export const PR_SET_MM_EXE_FILE = 13;
export const PR_SET_MM_MAP = 14;
export const PR_SET_MM_MAP_SIZE = 15;

/** sizeof(struct prctl_mm_map). */
export const PRCTL_MM_MAP_SIZE = 104;
/**
 * sizeof(mm->saved_auxv) on 6.18 x86_64: AT_VECTOR_SIZE = 2 * (3 + 24 + 1) = 56 words.
 * Observed: PR_GET_AUXV returns 448 and PR_SET_MM_MAP accepts auxv_size 448, not 449
 * (the reference's 416 is an older kernel's size).
 */
export const SAVED_AUXV_BYTES = 448;

/** The eleven address fields of struct prctl_mm_map, in struct order (offset = 8 × index). */
const FIELDS = [
  "startCode",
  "endCode",
  "startData",
  "endData",
  "startBrk",
  "brk",
  "startStack",
  "argStart",
  "argEnd",
  "envStart",
  "envEnd",
] as const;
type Field = (typeof FIELDS)[number];

/** struct prctl_mm_map, addresses as bigint (u64 words). */
export type PrctlMmMap = Record<Field, bigint> & { auxv: bigint; auxvSize: number; exeFd: number };

const NO_EXE_FD = 0xffffffff;

/** The struct from the user's 104 bytes. */
function decodeMmMap(b: Uint8Array): PrctlMmMap {
  const m = { auxv: u64At(b, 88), auxvSize: u32At(b, 96), exeFd: u32At(b, 100) } as PrctlMmMap;
  FIELDS.forEach((f, i) => {
    m[f] = u64At(b, i * 8);
  });
  return m;
}

/** The struct filled from the mm's current values (prctl_set_mm's starting point). */
function mmMapOf(mm: Mm): PrctlMmMap {
  const m = { auxv: 0n, auxvSize: 0, exeFd: NO_EXE_FD } as PrctlMmMap;
  for (const f of FIELDS) m[f] = BigInt(mm[f]);
  return m;
}

/** check_data_rlimit(): (brk − start_brk) + (end_data − start_data) within RLIMIT_DATA. */
function dataRlimitExceeded(limit: number, m: PrctlMmMap): boolean {
  if (!Number.isFinite(limit)) return false;
  const mask = (1n << 64n) - 1n;
  const used = (((m.brk - m.startBrk) & mask) + ((m.endData - m.startData) & mask)) & mask;
  return used > BigInt(limit);
}

/** validate_prctl_map_addr(): every failure is EINVAL (the rlimit helper's ENOSPC too). */
export function validatePrctlMapAddr(mm: Mm, m: PrctlMmMap): number {
  const max = BigInt(mm.cfg.taskSize) * 4096n;
  const min = BigInt(mm.cfg.mmapMinAddr);
  for (const f of FIELDS) if (m[f] >= max || m[f] < min) return -EINVAL;
  const ordered =
    m.startCode < m.endCode && m.startData <= m.endData && m.startBrk <= m.brk && m.argStart <= m.argEnd && m.envStart <= m.envEnd;
  if (!ordered) return -EINVAL;
  if (dataRlimitExceeded(mm.rlimits.data, m)) return -EINVAL;
  return 0;
}

/** file_permission(file, MAY_EXEC) for a regular file (generic_permission). */
function mayExec(p: Process, f: OpenFile): boolean {
  const mode = f.inode.mode;
  // CAP_DAC_OVERRIDE (in the task's namespace; the model assumes the inode's owner is mapped
  // there) lets exec through if any execute bit is set.
  if (nsCapable(p.creds, CAP_DAC_OVERRIDE)) return (mode & 0o111) !== 0;
  if (f.inode.uid === p.creds.uid) return (mode & 0o100) !== 0;
  if (f.inode.gid === p.creds.uid) return (mode & 0o010) !== 0;
  return (mode & 0o001) !== 0;
}

const CAP_DAC_OVERRIDE = 1;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/** replace_mm_exe_file(): refused while any VMA still maps the old exe file. */
function replaceMmExeFile(mm: Mm, file: OpenFile): number {
  const old = mm.exeFile;
  if (old !== null) {
    let busy = false;
    mm.tree.forEach((v) => {
      if (v.file !== null && v.file.inode === old.inode) busy = true;
    });
    if (busy) return -EBUSY;
  }
  // exe_file_deny_write_access(): EACCES when the new file is open for writing somewhere —
  // open counts per inode are not kept by the model (documented approximation).
  mm.exeFile = file;
  return 0;
}

/** prctl_set_mm_exe_file(). */
function setMmExeFile(p: Process, fd: number): number {
  const f = p.files.get(fd);
  if (f === null) return -EBADF;
  const regular = f.inode.regular && (f.inode.mode & S_IFMT) === S_IFREG;
  if (!regular || f.inode.noexec) return -EACCES;
  if (!mayExec(p, f)) return -EACCES;
  return replaceMmExeFile(p.mm, f);
}

/** The auxv words of a user buffer of `len` bytes, padded to saved_auxv with the last two AT_NULL. */
function auxvWords(bytes: Uint8Array): bigint[] {
  const words: bigint[] = [];
  const padded = new Uint8Array(SAVED_AUXV_BYTES);
  padded.set(bytes);
  for (let i = 0; i < SAVED_AUXV_BYTES / 8; i++) words.push(u64At(padded, i * 8));
  words[words.length - 1] = 0n;
  words[words.length - 2] = 0n;
  return words;
}

function commitMmMap(mm: Mm, m: PrctlMmMap): void {
  for (const f of FIELDS) mm[f] = Number(m[f]);
}

/** A user pointer as a byte address, or null when no user page can be there. */
function userAddr(v: U64): number | null {
  return typeof v === "bigint" ? null : v;
}

/** prctl_set_mm_map() (PR_SET_MM_MAP and PR_SET_MM_MAP_SIZE). */
function prctlSetMmMap(p: Process, opt: number, addrArg: U64, size: U64): number {
  const mm = p.mm;
  const addr = userAddr(addrArg);
  if (opt === PR_SET_MM_MAP_SIZE) {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, PRCTL_MM_MAP_SIZE, true);
    return addr !== null && copyToUser(mm, addr, out) ? 0 : -EFAULT;
  }
  if (size !== PRCTL_MM_MAP_SIZE) return -EINVAL;
  const raw = addr === null ? null : copyFromUser(mm, addr, PRCTL_MM_MAP_SIZE);
  if (raw === null) return -EFAULT;
  return prctlSetMmMapValue(p, decodeMmMap(raw), (at, len) =>
    at > BigInt(Number.MAX_SAFE_INTEGER) ? null : copyFromUser(mm, Number(at), len),
  );
}

/** Reads `len` bytes of auxv at `addr` for PR_SET_MM_MAP: the bytes, or null (EFAULT). */
export type AuxvReader = (addr: bigint, len: number) => Uint8Array | null;

/**
 * prctl_set_mm_map() once the struct is in the kernel: for engines that have the struct as
 * a value (decoded from a log), and for the syscall after copy_from_user — one validation.
 * `readAuxv` is asked only when auxv_size passes its checks.
 */
export function prctlSetMmMapValue(p: Process, m: PrctlMmMap, readAuxv: AuxvReader): number {
  const mm = p.mm;
  const bad = validatePrctlMapAddr(mm, m);
  if (bad !== 0) return bad;
  let auxv: bigint[] | null = null;
  if (m.auxvSize !== 0) {
    if (m.auxv === 0n || m.auxvSize > SAVED_AUXV_BYTES) return -EINVAL;
    const bytes = readAuxv(m.auxv, m.auxvSize);
    if (bytes === null) return -EFAULT;
    auxv = auxvWords(bytes);
  }
  if (m.exeFd !== NO_EXE_FD) {
    if (!checkpointRestoreNsCapable(p.creds, userNsOf(p.creds))) return -EPERM;
    const r = setMmExeFile(p, m.exeFd);
    if (r !== 0) return r;
  }
  commitMmMap(mm, m);
  if (auxv !== null) mm.savedAuxv = auxv;
  return 0;
}

/**
 * prctl(PR_SET_MM, PR_SET_MM_MAP, struct, size, arg5) with the struct as a value: the
 * checks prctl_set_mm() and prctl_set_mm_map() make before copying it, then the same
 * validation as the syscall (prctlSetMmMapValue()).
 */
export function prctlSetMmMapFrom(p: Process, m: PrctlMmMap, size: U64, arg5: U64, readAuxv: AuxvReader): number {
  if (arg5 !== 0 || size !== PRCTL_MM_MAP_SIZE) return -EINVAL;
  return prctlSetMmMapValue(p, m, readAuxv);
}

/** prctl_set_auxv(). */
function prctlSetAuxv(mm: Mm, addrArg: U64, len: U64): number {
  if (typeof len === "bigint" || len > SAVED_AUXV_BYTES) return -EINVAL;
  const addr = userAddr(addrArg);
  const bytes = len === 0 ? new Uint8Array(0) : addr === null ? null : copyFromUser(mm, addr, len);
  if (bytes === null) return -EFAULT;
  // memcpy of only `len` bytes: the rest of saved_auxv keeps its old words.
  const words = auxvWords(bytes);
  if (mm.savedAuxv === null && len < SAVED_AUXV_BYTES) {
    throw new Unsupported("PR_SET_MM_AUXV of part of saved_auxv, whose other words the model does not know (adopted layout)");
  }
  const keep = mm.savedAuxv ?? [];
  for (let i = 0; i < words.length; i++) if (i * 8 >= len) words[i] = keep[i] ?? 0n;
  mm.savedAuxv = words;
  return 0;
}

/** The single-field op → the struct field it replaces. */
const SINGLE_FIELD: Readonly<Record<number, Field>> = {
  [PR_SET_MM_START_CODE]: "startCode",
  [PR_SET_MM_END_CODE]: "endCode",
  [PR_SET_MM_START_DATA]: "startData",
  [PR_SET_MM_END_DATA]: "endData",
  [PR_SET_MM_START_STACK]: "startStack",
  [PR_SET_MM_START_BRK]: "startBrk",
  [PR_SET_MM_BRK]: "brk",
  [PR_SET_MM_ARG_START]: "argStart",
  [PR_SET_MM_ARG_END]: "argEnd",
  [PR_SET_MM_ENV_START]: "envStart",
  [PR_SET_MM_ENV_END]: "envEnd",
};

/** Ops whose address must have a VMA at or above it (find_vma), else EFAULT. */
const NEEDS_VMA_ABOVE = new Set([PR_SET_MM_START_STACK, PR_SET_MM_ARG_START, PR_SET_MM_ARG_END, PR_SET_MM_ENV_START, PR_SET_MM_ENV_END]);

/** prctl_set_mm(). */
export function prctlSetMm(p: Process, opt: U64, addrArg: U64, arg4: U64, arg5: U64): number {
  const op = typeof opt === "bigint" ? -1 : opt;
  if (arg5 !== 0 || (arg4 !== 0 && op !== PR_SET_MM_AUXV && op !== PR_SET_MM_MAP && op !== PR_SET_MM_MAP_SIZE)) return -EINVAL;
  // CONFIG_CHECKPOINT_RESTORE=y: MAP and MAP_SIZE come before the CAP_SYS_RESOURCE check.
  if (op === PR_SET_MM_MAP || op === PR_SET_MM_MAP_SIZE) return prctlSetMmMap(p, op, addrArg, arg4);
  if (!capable(p.creds, CAP_SYS_RESOURCE)) return -EPERM;
  const mm = p.mm;
  if (op === PR_SET_MM_EXE_FILE) return setMmExeFile(p, Number(BigInt(addrArg) & 0xffffffffn));
  if (op === PR_SET_MM_AUXV) return prctlSetAuxv(mm, addrArg, arg4);
  const addr = BigInt(addrArg);
  if (addr >= BigInt(mm.cfg.taskSize) * 4096n || addr < BigInt(mm.cfg.mmapMinAddr)) return -EINVAL;
  const field = SINGLE_FIELD[op];
  if (field === undefined) return -EINVAL;
  const m = mmMapOf(mm);
  m[field] = addr;
  const bad = validatePrctlMapAddr(mm, m);
  if (bad !== 0) return bad;
  if (NEEDS_VMA_ABOVE.has(op) && mm.tree.findNext(Math.floor(Number(addr) / 4096)) === null) return -EFAULT;
  commitMmMap(mm, m);
  return 0;
}

/** PR_SET_THP_DISABLE (6.18): arg2 on/off, arg3 0 or PR_THP_DISABLE_EXCEPT_ADVISED (only with on). */
function setThpDisable(mm: Mm, on: U64, flags: U64, arg4: U64, arg5: U64): number {
  if (arg4 !== 0 || arg5 !== 0) return -EINVAL;
  if (flags !== 0 && flags !== PR_THP_DISABLE_EXCEPT_ADVISED) return -EINVAL;
  if (on === 0) {
    if (flags !== 0) return -EINVAL;
    mm.thpDisable = 0;
    return 0;
  }
  mm.thpDisable = flags === 0 ? 1 : 2;
  return 0;
}

/** PR_GET_THP_DISABLE: 1 (completely) or 1|PR_THP_DISABLE_EXCEPT_ADVISED, 0 when enabled. */
function getThpDisable(mm: Mm, a2: U64, a3: U64, a4: U64, a5: U64): number {
  if (a2 !== 0 || a3 !== 0 || a4 !== 0 || a5 !== 0) return -EINVAL;
  return mm.thpDisable === 0 ? 0 : mm.thpDisable === 1 ? 1 : 1 | PR_THP_DISABLE_EXCEPT_ADVISED;
}

/** prctl_get_auxv(): copies min(len, 448) bytes of saved_auxv, returns 448. */
function getAuxv(mm: Mm, addrArg: U64, len: U64, a4: U64, a5: U64): number {
  if (a4 !== 0 || a5 !== 0) return -EINVAL;
  const size = typeof len === "bigint" ? SAVED_AUXV_BYTES : Math.min(SAVED_AUXV_BYTES, len);
  if (size > 0) {
    const addr = userAddr(addrArg);
    if (addr === null) return -EFAULT;
    // An adopted layout's auxv is not known: the copy still happens (and can fault), but
    // the bytes it leaves are marked unknown, so reading them later is Unsupported.
    if (mm.savedAuxv === null) return copyUnknownToUser(mm, addr, size) ? SAVED_AUXV_BYTES : -EFAULT;
    const bytes = new Uint8Array(SAVED_AUXV_BYTES);
    const dv = new DataView(bytes.buffer);
    mm.savedAuxv.slice(0, SAVED_AUXV_BYTES / 8).forEach((w, i) => {
      dv.setBigUint64(i * 8, w, true);
    });
    if (!copyToUser(mm, addr, bytes.subarray(0, size))) return -EFAULT;
  }
  return SAVED_AUXV_BYTES;
}

/** The modeled opt-out prctl (sysmap+prctl-optout only; unknown option elsewhere). */
function modeledOptOut(p: Process, on: U64, a3: U64, a4: U64, a5: U64): number {
  if (p.mm.sealPolicy.offersOptOut !== true) return -EINVAL;
  if (a3 !== 0 || a4 !== 0 || a5 !== 0 || (on !== 0 && on !== 1)) return -EINVAL;
  p.optOutRequested = on === 1;
  return 0;
}

/** SYSCALL prctl: the address-space options; others are Unsupported. */
export function sysPrctl(p: Process, option: U64, a2: U64, a3: U64, a4: U64, a5: U64): number {
  const opt = typeof option === "bigint" ? Number(option & 0xffffffffn) : option >>> 0;
  switch (opt) {
    case PR_SET_MM:
      return prctlSetMm(p, a2, a3, a4, a5);
    case PR_SET_VMA:
      // CONFIG_ANON_VMA_NAME is off on the reference machine: every PR_SET_VMA is EINVAL.
      return -EINVAL;
    case PR_SET_THP_DISABLE:
      return setThpDisable(p.mm, a2, a3, a4, a5);
    case PR_GET_THP_DISABLE:
      return getThpDisable(p.mm, a2, a3, a4, a5);
    case PR_GET_AUXV:
      return getAuxv(p.mm, a2, a3, a4, a5);
    case PR_MODELED_SYSMAP_SEAL_OPTOUT:
      return modeledOptOut(p, a2, a3, a4, a5);
    default:
      throw new Unsupported(`prctl option ${opt} (0x${opt.toString(16)}) is not modeled`);
  }
}

/** Exposed for tests: the struct a user would pass, as bytes. */
export function encodeMmMap(m: PrctlMmMap): Uint8Array {
  const b = new Uint8Array(PRCTL_MM_MAP_SIZE);
  const dv = new DataView(b.buffer);
  FIELDS.forEach((f, i) => {
    dv.setBigUint64(i * 8, m[f], true);
  });
  dv.setBigUint64(88, m.auxv, true);
  dv.setUint32(96, m.auxvSize, true);
  dv.setUint32(100, m.exeFd, true);
  return b;
}

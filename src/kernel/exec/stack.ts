// The new program's stack: fs/exec.c bprm_mm_init() (first stack page at STACK_TOP_MAX),
// bprm_stack_limits(), copy_string_kernel()/copy_strings() (execfn, envp, argv, copied from
// the top down), setup_arg_pages() (the 128 KiB stack_expand), and fs/binfmt_elf.c
// create_elf_tables() (platform string, AT_RANDOM bytes, auxv, argv/envp pointers, argc).
// Addresses here are bytes (the stack is built byte by byte, as the kernel does).

import type { ArchSpec } from "../arch/arch.js";
import type { Mm } from "../mm/mm.js";
import { AnonFrame, Pte } from "../mm/pages.js";
import { AnonVma, Vma } from "../mm/vma.js";
import { E2BIG, ENOMEM } from "../uapi/errno.js";
import { VM_ACCOUNT, VM_EXEC, VM_GROWSDOWN, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_WRITE } from "../uapi/vmflags.js";

/** MAX_ARG_STRLEN: the longest single argument or environment string (32 pages). */
export const MAX_ARG_STRLEN = 32 * 4096;
/** ARG_MAX: argument space always allowed, whatever the stack rlimit (32 pages). */
const ARG_MAX = 32 * 4096;
/** _STK_LIM: 8 MiB. */
const STK_LIM = 8 * 1024 * 1024;
/** setup_arg_pages(): how far the stack VMA reaches below the strings at exec. */
export const STACK_EXPAND = 131072;
/** MAX_ARG_STRINGS. */
const MAX_ARG_STRINGS = 0x7fffffff;

export const READ_IMPLIES_EXEC = 0x0400000;

// Generic auxv types (include/uapi/linux/auxvec.h).
export const AT_PHDR = 3;
export const AT_PHENT = 4;
export const AT_PHNUM = 5;
export const AT_PAGESZ = 6;
export const AT_BASE = 7;
export const AT_FLAGS = 8;
export const AT_ENTRY = 9;
export const AT_UID = 11;
export const AT_EUID = 12;
export const AT_GID = 13;
export const AT_EGID = 14;
export const AT_PLATFORM = 15;
export const AT_HWCAP = 16;
export const AT_CLKTCK = 17;
export const AT_SECURE = 23;
export const AT_RANDOM = 25;
export const AT_HWCAP2 = 26;
export const AT_RSEQ_FEATURE_SIZE = 27;
export const AT_RSEQ_ALIGN = 28;
export const AT_EXECFN = 31;

/** PT_GNU_STACK's verdict (EXSTACK_*). */
export type ExecStack = "default" | "disable_x" | "enable_x";

const utf8 = new TextEncoder();

/** The string area being filled from the top down (struct linux_binprm's p, argmin, exec). */
export interface Bprm {
  /** bprm->p: lowest byte used so far. */
  p: number;
  argmin: number;
  /** bprm->exec: address of the execfn string (AT_EXECFN). */
  exec: number;
  argc: number;
  envc: number;
  /** The argument strings as they now are on the stack (a "#!" script rewrites them). */
  args: string[];
  envs: string[];
  /** Lowest byte the string area ever reached: the stack VMA was grown down to its page. */
  low: number;
  /** Top of the first stack VMA (STACK_TOP_MAX) and the caller's RLIMIT_STACK, bytes. */
  readonly vmEnd: number;
  readonly stackLimit: number;
  /** Bytes to store, as (address, bytes) runs. */
  readonly writes: Array<{ addr: number; bytes: Uint8Array }>;
}

/** A NUL-terminated copy of a string. */
function cString(s: string): Uint8Array {
  const b = utf8.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** bprm_mm_init() + bprm_stack_limits(): the empty string area and its lower limit. */
export function bprmInit(arch: ArchSpec, rlimitStack: number, argc: number, envc: number): Bprm | number {
  const p = arch.stackTopMax - arch.wordSize;
  let limit = Math.floor(STK_LIM / 4) * 3;
  limit = Math.min(limit, Number.isFinite(rlimitStack) ? Math.floor(rlimitStack / 4) : Number.MAX_SAFE_INTEGER);
  limit = Math.max(limit, ARG_MAX);
  if (argc > MAX_ARG_STRINGS || envc > MAX_ARG_STRINGS) return -E2BIG;
  const ptrSize = (Math.max(argc, 1) + envc) * arch.wordSize;
  if (limit <= ptrSize) return -E2BIG;
  limit -= ptrSize;
  return {
    p,
    argmin: p - limit,
    exec: 0,
    argc,
    envc,
    args: [],
    envs: [],
    low: p,
    vmEnd: arch.stackTopMax,
    stackLimit: rlimitStack,
    writes: [],
  };
}

/** copy_string_kernel() / one string of copy_strings(): below the previous one. */
function copyString(b: Bprm, s: string): number {
  const bytes = cString(s);
  if (bytes.length > MAX_ARG_STRLEN) return -E2BIG;
  b.p -= bytes.length;
  if (b.p < b.argmin) return -E2BIG;
  // get_arg_page() grows the new stack VMA down first (acct_stack_growth() against the
  // caller's RLIMIT_STACK); when it cannot, the string is E2BIG.
  if (!stackMayReach(b, b.p)) return -E2BIG;
  b.low = Math.min(b.low, b.p);
  b.writes.push({ addr: b.p, bytes });
  return 0;
}

/** acct_stack_growth(): may the stack VMA reach down to the page of `addr`? */
function stackMayReach(b: Bprm, addr: number): boolean {
  const page = addr - (addr % 4096);
  if (page >= b.low - (b.low % 4096)) return true;
  return b.vmEnd - page <= b.stackLimit;
}

/** copy_string_kernel() of one more argument in front of the others (binfmt_script). */
export function pushArg(b: Bprm, s: string): number {
  const r = copyString(b, s);
  if (r) return r;
  b.args.unshift(s);
  b.argc++;
  return 0;
}

/** remove_arg_zero(): argv[0] is dropped by moving p past its bytes (they stay below). */
export function removeArgZero(b: Bprm): void {
  if (b.argc === 0) return;
  b.p += cString(b.args[0]).length;
  b.args.shift();
  b.argc--;
}

/**
 * do_execveat_common(): the filename (for AT_EXECFN), then envp and argv, each copied last
 * string first; an empty argv gets one empty string.
 */
export function copyArgStrings(b: Bprm, filename: string, argv: readonly string[], envp: readonly string[]): number {
  let r = copyString(b, filename);
  if (r) return r;
  b.exec = b.p;
  for (let i = envp.length - 1; i >= 0; i--) {
    r = copyString(b, envp[i]);
    if (r) return r;
  }
  for (let i = argv.length - 1; i >= 0; i--) {
    r = copyString(b, argv[i]);
    if (r) return r;
  }
  b.args = [...argv];
  b.envs = [...envp];
  if (b.argc === 0) {
    r = copyString(b, "");
    if (r) return r;
    b.argc = 1;
    b.args = [""];
  }
  return 0;
}

/** VM_STACK_FLAGS with setup_arg_pages()'s PT_GNU_STACK adjustment. */
export function stackVmFlags(personality: number, exec: ExecStack, defFlags: number): number {
  let f = VM_GROWSDOWN | VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT;
  if (personality & READ_IMPLIES_EXEC) f |= VM_EXEC;
  if (exec === "enable_x") f |= VM_EXEC;
  else if (exec === "disable_x") f &= ~VM_EXEC;
  return f | defFlags;
}

/**
 * setup_arg_pages() with ASLR off (no stack shift on x86_64: STACK_TOP == STACK_TOP_MAX):
 * the stack VMA covers the string pages plus stack_expand, capped by the stack rlimit.
 * Sets mm->arg_start. Returns 0 or a negative errno.
 */
export function setupArgPages(mm: Mm, arch: ArchSpec, b: Bprm, flags: number): number {
  const stackTop = Math.ceil((arch.stackTop - (arch.stackTop % 16)) / 4096) * 4096;
  const shift = arch.stackTopMax - stackTop;
  const vmEnd = arch.stackTopMax;
  const vmStart = b.low - (b.low % 4096);
  if (stackTop < mm.cfg.mmapMinAddr || vmEnd - vmStart >= stackTop - mm.cfg.mmapMinAddr) return -ENOMEM;
  b.p -= shift;
  b.exec -= shift;
  for (const w of b.writes) w.addr -= shift;
  mm.argStart = b.p;
  const end = vmEnd - shift;
  const start = vmStart - shift;
  const rlim = Number.isFinite(mm.rlimits.stack) ? mm.rlimits.stack - (mm.rlimits.stack % 4096) : Number.MAX_SAFE_INTEGER;
  const expand = Math.min(rlim, end - start + STACK_EXPAND);
  const base = Math.min(start, end - expand);
  const page = base / 4096;
  mm.tree.insert(new Vma(page, end / 4096, flags, 0, page, null, new AnonVma(), false, null));
  return 0;
}

/** Everything create_elf_tables() needs that the loader decided. */
export interface ElfTables {
  /** AT_PHDR: where the program headers are in memory. */
  phdrAddr: number;
  phnum: number;
  /** AT_BASE: the interpreter's load address (0 without one). */
  interpLoadAddr: number;
  /** AT_ENTRY: the program's entry point (not the interpreter's). */
  entry: number;
  /** The vdso text address (AT_SYSINFO_EHDR), or null. */
  vdso: number | null;
  uid: number;
  gid: number;
  secure: boolean;
}

/** arch_align_stack() with ASLR off: 16-byte aligned. */
function alignStack(p: number): number {
  return p - (p % 16);
}

function word(arch: ArchSpec, v: bigint): Uint8Array {
  const out = new Uint8Array(arch.wordSize);
  const dv = new DataView(out.buffer);
  if (arch.wordSize === 8) dv.setBigUint64(0, BigInt.asUintN(64, v), true);
  else dv.setUint32(0, Number(BigInt.asUintN(32, v)), true);
  return out;
}

/**
 * create_elf_tables(): platform string, 16 random bytes, then (16-byte aligned) argc, the
 * argv and envp pointers and the auxv. Sets start_stack and arg_end/env_start/env_end, and
 * returns the auxv as saved in mm->saved_auxv (without AT_NULL). `randomAt` receives the
 * address of the AT_RANDOM bytes (their value is not modeled). Null: EFAULT (the tables do
 * not fit under the stack rlimit).
 */
export function createElfTables(mm: Mm, arch: ArchSpec, b: Bprm, t: ElfTables): { auxv: Array<[number, bigint]>; randomAt: number } | null {
  let p = alignStack(b.p);
  let uPlatform = 0;
  if (arch.platform !== null) {
    const s = cString(arch.platform);
    p -= s.length;
    uPlatform = p;
    b.writes.push({ addr: p, bytes: s });
  }
  p -= 16;
  const randomAt = p;
  const auxv: Array<[number, bigint]> = [
    ...arch.archDlinfo(t.vdso),
    [AT_HWCAP, arch.hwcap],
    [AT_PAGESZ, 4096n],
    [AT_CLKTCK, 100n],
    [AT_PHDR, BigInt(t.phdrAddr)],
    [AT_PHENT, arch.elfClass === 64 ? 56n : 32n],
    [AT_PHNUM, BigInt(t.phnum)],
    [AT_BASE, BigInt(t.interpLoadAddr)],
    [AT_FLAGS, 0n],
    [AT_ENTRY, BigInt(t.entry)],
    [AT_UID, BigInt(t.uid)],
    [AT_EUID, BigInt(t.uid)],
    [AT_GID, BigInt(t.gid)],
    [AT_EGID, BigInt(t.gid)],
    [AT_SECURE, t.secure ? 1n : 0n],
    [AT_RANDOM, BigInt(randomAt)],
  ];
  if (arch.hwcap2 !== null) auxv.push([AT_HWCAP2, arch.hwcap2]);
  auxv.push([AT_EXECFN, BigInt(b.exec)]);
  if (arch.platform !== null) auxv.push([AT_PLATFORM, BigInt(uPlatform)]);
  // CONFIG_RSEQ: offsetof(struct rseq, end) and its alignment.
  auxv.push([AT_RSEQ_FEATURE_SIZE, 28n], [AT_RSEQ_ALIGN, 32n]);

  const w = arch.wordSize;
  const eiWords = auxv.length * 2 + 2;
  const items = b.argc + 1 + (b.envc + 1) + 1;
  const sp = p - eiWords * w;
  const bottom = sp - items * w;
  b.p = bottom - (bottom % 16);
  mm.startStack = b.p;
  // find_extend_vma(): the tables may need the stack VMA to grow below what
  // setup_arg_pages() left; past the stack rlimit that is EFAULT (the task is killed).
  const stack = mm.tree.findNext(Math.floor(b.p / 4096));
  if (stack === null || stack.start * 4096 > b.p) {
    if (stack === null || stack.end * 4096 - (b.p - (b.p % 4096)) > mm.rlimits.stack) return null;
    const page = Math.floor(b.p / 4096);
    mm.tree.replace(stack, stack.with({ start: page, pgoff: stack.pgoff - (stack.start - page) }));
  }

  // argc, argv[], NULL, envp[], NULL, auxv, AT_NULL — from b.p upwards.
  let at = b.p;
  const put = (v: bigint) => {
    b.writes.push({ addr: at, bytes: word(arch, v) });
    at += w;
  };
  put(BigInt(b.argc));
  let s = mm.argStart;
  for (const a of b.args) {
    put(BigInt(s));
    s += cString(a).length;
  }
  put(0n);
  mm.argEnd = s;
  mm.envStart = s;
  for (const e of b.envs) {
    put(BigInt(s));
    s += cString(e).length;
  }
  put(0n);
  mm.envEnd = s;
  for (const [k, v] of auxv) {
    put(BigInt(k));
    put(v);
  }
  put(0n);
  put(0n);
  return { auxv, randomAt };
}

/**
 * The kernel's writes to the new stack: every byte of strings and tables goes into
 * private anonymous pages of the stack VMA. The AT_RANDOM bytes are not modeled: their
 * page is marked as holding bytes the model does not know.
 */
export function storeStackBytes(mm: Mm, b: Bprm, randomAt: number): void {
  const pageData = (page: number): Uint8Array => {
    let pte = mm.pt.get(page);
    if (pte === undefined) {
      pte = new Pte(new AnonFrame(new Uint8Array(4096)), true);
      mm.pt.set(page, pte);
    }
    const f = pte.frame as AnonFrame;
    if (f.data === null) f.data = new Uint8Array(4096);
    return f.data;
  };
  for (const { addr, bytes } of b.writes) {
    for (let i = 0; i < bytes.length; i++) {
      const a = addr + i;
      pageData(Math.floor(a / 4096))[a % 4096] = bytes[i];
    }
  }
  for (let a = randomAt; a < randomAt + 16; a += 16) {
    const page = Math.floor(a / 4096);
    pageData(page);
    (mm.pt.get(page)?.frame as AnonFrame).unknown = true;
    if (Math.floor((a + 15) / 4096) !== page) {
      pageData(page + 1);
      (mm.pt.get(page + 1)?.frame as AnonFrame).unknown = true;
    }
  }
}

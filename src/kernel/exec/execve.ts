// execve of a real ELF file: fs/exec.c do_execveat_common(), do_open_execat(),
// bprm_execve(), search_binary_handler() and fs/binfmt_elf.c load_elf_binary(), building a
// brand-new Mm exactly as the kernel does with ASLR off (personality ADDR_NO_RANDOMIZE).
//
// Errors before the point of no return (begin_new_exec) are execve's errno; errors after
// it kill the task (SIGSEGV from bprm_execve(), SIGKILL for a failed stack setup): the
// outcome then says `killed`.
//
// "#!" scripts are followed as binfmt_script does (script.ts); 32-bit files go to the compat
// loader (ia32 on x86_64, AArch32 on arm64: arch/index.ts loaderSpecFor). Not modeled
// (Unsupported with a reason): ASLR on, binfmt_misc, set-uid/set-gid executables (their
// personality loses ADDR_NO_RANDOMIZE).

import { type ArchSpec, MODELED_NOT_VERIFIED } from "../arch/arch.js";
import { archSpec, loaderSpecFor } from "../arch/index.js";
import type { OpenFile } from "../fs/file.js";
import { O_RDONLY, type Vfs } from "../fs/vfs.js";
import type { KernelConfig } from "../mm/config.js";
import { type Creds, capable } from "../mm/creds.js";
import { Mm } from "../mm/mm.js";
import { sysMunmap } from "../mm/munmap.js";
import type { Rlimits } from "../mm/rlimits.js";
import type { Arch, SealPolicy } from "../policy/policy.js";
import { legacyBaseFor, mmapBaseFor } from "../task/layout.js";
import { EACCES, EFAULT, EINVAL, EIO, ELIBBAD, ELOOP, ENOENT, ENOEXEC } from "../uapi/errno.js";
import { MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE } from "../uapi/mman.js";
import { Unsupported } from "../unsupported.js";
import {
  BINPRM_BUF_SIZE,
  checkElfHeader,
  type ElfHeader,
  ET_DYN,
  ET_EXEC,
  hasElfMagic,
  maximumAlignment,
  PATH_MAX,
  PF_X,
  type ProgramHeader,
  PT_GNU_STACK,
  PT_INTERP,
  PT_LOAD,
  pageAlign,
  pageStart,
  parseElfHeader,
  readProgramHeaders,
  totalMappingSize,
} from "./elf.js";
import { badAddr, elfLoad, loadElfInterp, makeProt } from "./load.js";
import { parseShebang } from "./script.js";
import {
  type Bprm,
  bprmInit,
  copyArgStrings,
  createElfTables,
  type ExecStack,
  pushArg,
  READ_IMPLIES_EXEC,
  removeArgZero,
  setupArgPages,
  stackVmFlags,
  storeStackBytes,
} from "./stack.js";

/** CAP_DAC_OVERRIDE: root may execute any file with at least one x bit. */
const CAP_DAC_OVERRIDE = 1;

/** personality(2) flags that matter here. */
export const ADDR_NO_RANDOMIZE = 0x0040000;
export const ADDR_COMPAT_LAYOUT = 0x0200000;

export interface ExecRequest {
  vfs: Vfs;
  cfg: KernelConfig;
  creds: Creds;
  rlimits: Rlimits;
  arch: Arch;
  policy: SealPolicy;
  optOutRequested: boolean;
  /** The filename as passed to execve (AT_EXECFN); relative paths are the resolver's business. */
  path: string;
  argv: string[];
  envp: string[];
  /** The caller's personality; must include ADDR_NO_RANDOMIZE (ASLR is not modeled). */
  personality: number;
  /** The real/effective gid (AT_GID/AT_EGID, group permission bits); 0 if not given. */
  gid?: number;
}

export type ExecOutcome =
  | {
      ok: true;
      mm: Mm;
      /** The executable's open file (the loader's open: all its VMAs share it). */
      exe: OpenFile;
      /** Where the task starts: the interpreter's entry point, or the program's. */
      entry: number;
      /** The auxv as the kernel saved it (mm->saved_auxv, without AT_NULL). */
      auxv: Array<[number, bigint]>;
      /** "modeled, not verified" for architectures other than x86_64. */
      note?: string;
    }
  | {
      ok: false;
      errno: number;
      reason: string;
      /** Set when the failure came after the point of no return: the task dies instead. */
      killed?: "SIGSEGV" | "SIGKILL";
    };

type Failure = Extract<ExecOutcome, { ok: false }>;

const fail = (errno: number, reason: string): Failure => ({ ok: false, errno, reason });
// bprm_execve(): any failure after begin_new_exec() ends in force_fatal_sig(SIGSEGV).
const killed = (errno: number, reason: string, signal: "SIGSEGV" | "SIGKILL" = "SIGSEGV"): Failure => ({
  ok: false,
  errno,
  reason: `${reason}; after the point of no return the task is killed by ${signal}`,
  killed: signal,
});

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/** The file's bytes through its inode's reader (the engine supplies them). */
function reader(file: OpenFile): (offset: number, length: number) => Uint8Array {
  const read = file.inode.read;
  if (read === null) throw new Unsupported(`execve needs the bytes of ${file.inode.path}, which the engine did not supply`);
  return read;
}

/** MAY_EXEC for a regular file (generic_permission()): root needs one x bit. */
function mayExec(creds: Creds, gid: number, mode: number, uid: number, fgid: number): boolean {
  if (capable(creds, CAP_DAC_OVERRIDE) || creds.uid === 0) return (mode & 0o111) !== 0;
  if (creds.uid === uid) return (mode & 0o100) !== 0;
  if (gid === fgid) return (mode & 0o010) !== 0;
  return (mode & 0o001) !== 0;
}

/**
 * do_open_execat(): the path must exist (ENOENT), be executable by the caller (EACCES: a
 * directory, no x bit), be a regular file and not on a noexec mount (EACCES).
 */
export function openExec(vfs: Vfs, path: string, creds: Creds, gid: number): OpenFile | Failure {
  const inode = vfs.lookup(path);
  if (inode === null) return fail(ENOENT, `${path}: no such file`);
  if ((inode.mode & S_IFMT) === S_IFDIR) return fail(EACCES, `${path}: is a directory (may_open: MAY_EXEC on a directory)`);
  if (!mayExec(creds, gid, inode.mode, inode.uid, inode.gid)) return fail(EACCES, `${path}: no execute permission`);
  if (!inode.regular) return fail(EACCES, `${path}: not a regular file`);
  if (inode.noexec) return fail(EACCES, `${path}: on a noexec mount`);
  const f = vfs.open(path, O_RDONLY);
  if (typeof f === "number") return fail(-f, `${path}: open failed`);
  return f;
}

/**
 * bprm_fill_uid(): a set-uid file, or a set-gid one with group execute, adds
 * PER_CLEAR_ON_SETID to bprm->per_clear, and begin_new_exec() clears those personality bits
 * — ADDR_NO_RANDOMIZE among them — whatever the ids (verified: set-uid-root programs run by
 * root under `setarch -R` get a randomized layout).
 */
function clearsPersonality(file: OpenFile): boolean {
  const m = file.inode.mode;
  return (m & 0o4000) !== 0 || (m & 0o2010) === 0o2010;
}

/** What load_elf_binary() learns before the point of no return. */
interface Prepared {
  hdr: ElfHeader;
  phdrs: ProgramHeader[];
  interp: { file: OpenFile; hdr: ElfHeader; phdrs: ProgramHeader[] } | null;
  execStack: ExecStack;
}

/** load_elf_binary() up to begin_new_exec(): every check that still returns an errno. */
function prepare(req: ExecRequest, arch: ArchSpec, file: OpenFile, gid: number): Prepared | Failure {
  const read = reader(file);
  const head = read(0, BINPRM_BUF_SIZE);
  const path = file.inode.path;
  const hdr = parseElfHeader(head, arch.elfClass);
  const bad = checkElfHeader(head, hdr, arch.machine);
  if (bad !== null) return fail(bad.errno, `${path}: ${bad.reason}`);
  const phdrs = readProgramHeaders(read, hdr, arch.elfClass);
  if (typeof phdrs === "string") return fail(ENOEXEC, `${path}: ${phdrs}`);

  let interp: Prepared["interp"] = null;
  let interpHead: Uint8Array | null = null;
  for (const ph of phdrs) {
    if (ph.type !== PT_INTERP) continue;
    if (ph.filesz > PATH_MAX || ph.filesz < 2) return fail(ENOEXEC, `${path}: PT_INTERP of ${ph.filesz} bytes`);
    const bytes = read(ph.offset, ph.filesz);
    if (bytes.length !== ph.filesz) return fail(EIO, `${path}: PT_INTERP cut short by the end of the file (EIO)`);
    if (bytes[ph.filesz - 1] !== 0) return fail(ENOEXEC, `${path}: PT_INTERP is not NUL-terminated`);
    const nul = bytes.indexOf(0);
    const name = new TextDecoder().decode(bytes.subarray(0, nul));
    const f = openExec(req.vfs, name, req.creds, gid);
    if (!("inode" in f)) return fail(f.errno, `interpreter ${f.reason}`);
    interpHead = reader(f)(0, 64);
    if (interpHead.length < (arch.elfClass === 64 ? 64 : 52)) {
      return fail(EIO, `interpreter ${name}: shorter than an ELF header (EIO)`);
    }
    interp = { file: f, hdr: parseElfHeader(interpHead, arch.elfClass), phdrs: [] };
    break;
  }
  let execStack: ExecStack = "default";
  const gs = phdrs.find((p) => p.type === PT_GNU_STACK);
  if (gs !== undefined) execStack = gs.flags & PF_X ? "enable_x" : "disable_x";

  if (interp !== null && interpHead !== null) {
    const name = interp.file.inode.path;
    if (!hasElfMagic(interpHead)) return fail(ELIBBAD, `interpreter ${name}: not an ELF file`);
    if (interp.hdr.machine !== arch.machine) return fail(ELIBBAD, `interpreter ${name}: e_machine ${interp.hdr.machine}`);
    const iph = readProgramHeaders(reader(interp.file), interp.hdr, arch.elfClass);
    if (typeof iph === "string") return fail(ELIBBAD, `interpreter ${name}: ${iph}`);
    interp.phdrs = iph;
  }
  return { hdr, phdrs, interp, execStack };
}

/**
 * exec_binprm() with load_script(): while the file is a "#!" script, drop argv[0], push the
 * script's name, the optional argument and the interpreter's name, and continue with the
 * interpreter (ELOOP after five rewrites). Returns the file the ELF loader gets.
 */
function followScripts(req: ExecRequest, bprm: Bprm, file: OpenFile, gid: number): OpenFile | Failure {
  let interp = req.path; // bprm->interp
  for (let depth = 0; ; depth++) {
    if (depth > 5) return fail(ELOOP, `${req.path}: more than five "#!" interpreters`);
    const sb = parseShebang(reader(file)(0, BINPRM_BUF_SIZE));
    if (sb === null) return file;
    if ("errno" in sb) return fail(sb.errno, `${file.inode.path}: ${sb.reason}`);
    removeArgZero(bprm);
    for (const s of sb.arg === null ? [interp, sb.name] : [interp, sb.arg, sb.name]) {
      const r = pushArg(bprm, s);
      if (r < 0) return fail(-r, "the script's interpreter arguments do not fit the stack limit (E2BIG)");
    }
    interp = sb.name;
    const next = openExec(req.vfs, sb.name, req.creds, gid);
    if (!("inode" in next)) return fail(next.errno, `"#!" interpreter ${next.reason}`);
    file = next;
  }
}

/**
 * SET_PERSONALITY(): a 64-bit image drops READ_IMPLIES_EXEC (set_personality_64bit()); then
 * elf_read_implies_exec() adds it for an ia32 image without PT_GNU_STACK.
 */
function personalityAfterExec(personality: number, arch: ArchSpec, execStack: ExecStack): number {
  let p = arch.compat ? personality : personality & ~READ_IMPLIES_EXEC;
  if (arch.readImpliesExecByDefault && execStack === "default") p |= READ_IMPLIES_EXEC;
  return p;
}

/** arch_pick_mmap_layout() with ASLR off. */
function newMm(req: ExecRequest, arch: ArchSpec): Mm {
  const cfg: KernelConfig =
    arch.taskSize === req.cfg.taskSize ? req.cfg : { ...req.cfg, taskSize: arch.taskSize, defaultMapWindow: arch.defaultMapWindow };
  const legacy = legacyBaseFor(cfg);
  const mm = new Mm(cfg, req.creds, { ...req.rlimits }, mmapBaseFor(cfg, req.rlimits.stack), legacy);
  if (req.personality & ADDR_COMPAT_LAYOUT) {
    mm.topdown = false;
    mm.mmapBase = legacy;
  }
  mm.arch = req.arch;
  mm.sealPolicy = req.policy;
  return mm;
}

/** The PT_LOAD loop of load_elf_binary() and the brk that follows. */
interface Loaded {
  loadBias: number;
  phdrAddr: number;
  entry: number;
}

/**
 * Where an ET_DYN image goes (ASLR off), before subtracting the first vaddr: a program (it
 * has PT_INTERP) at ELF_ET_DYN_BASE aligned down to its largest p_align; a loader run
 * directly wherever mmap puts it (0) — or, when it asks for more than page alignment,
 * where mmap put a trial mapping of the whole image (unmapped again), aligned down, with
 * MAP_FIXED_NOREPLACE. Returns the base or a failure.
 */
function etDynBase(mm: Mm, p: Prepared, arch: ArchSpec, file: OpenFile, first: ProgramHeader): { base: number; fixed: boolean } | Failure {
  const alignment = maximumAlignment(p.phdrs);
  if (p.interp !== null) {
    return { base: alignment ? arch.elfEtDynBase - (arch.elfEtDynBase % alignment) : arch.elfEtDynBase, fixed: true };
  }
  if (alignment <= 4096) return { base: 0, fixed: false };
  const total = totalMappingSize(p.phdrs);
  const trial = elfLoad(mm, file, 0, first, makeProt(first.flags), MAP_PRIVATE, total);
  if (badAddr(mm, trial)) return killed(trial < 0 ? -trial : EINVAL, "the trial mapping of an aligned static PIE failed");
  sysMunmap(mm, trial, pageAlign(total));
  return { base: trial - (trial % alignment), fixed: true };
}

function loadSegments(mm: Mm, p: Prepared, file: OpenFile, arch: ArchSpec): Loaded | Failure {
  const { hdr, phdrs } = p;
  const taskSize = mm.cfg.taskSize * 4096;
  let loadBias = 0;
  let first = true;
  let phdrAddr = 0;
  let elfBrk = 0;
  let startCode = Number.MAX_SAFE_INTEGER;
  let endCode = 0;
  let startData = 0;
  let endData = 0;
  for (const ph of phdrs) {
    if (ph.type !== PT_LOAD) continue;
    const prot = makeProt(ph.flags);
    let flags = MAP_PRIVATE;
    const vaddr = ph.vaddr;
    let totalSize = 0;
    if (!first) {
      flags |= MAP_FIXED;
    } else if (hdr.type === ET_EXEC) {
      flags |= MAP_FIXED_NOREPLACE;
    } else if (hdr.type === ET_DYN) {
      totalSize = totalMappingSize(phdrs);
      if (totalSize === 0) return killed(EINVAL, "no PT_LOAD segment");
      const where = etDynBase(mm, p, arch, file, ph);
      if ("errno" in where) return where;
      loadBias = pageStart(where.base - vaddr);
      if (where.fixed) flags |= MAP_FIXED_NOREPLACE;
    }
    const r = elfLoad(mm, file, loadBias + vaddr, ph, prot, flags, totalSize);
    if (badAddr(mm, r)) return killed(r < 0 ? -r : EINVAL, `mapping the segment at 0x${vaddr.toString(16)} failed`);
    if (first) {
      first = false;
      if (hdr.type === ET_DYN) loadBias += r - pageStart(loadBias + vaddr);
    }
    if (ph.offset <= hdr.phoff && hdr.phoff < ph.offset + ph.filesz) phdrAddr = hdr.phoff - ph.offset + ph.vaddr;
    let k = ph.vaddr;
    if (ph.flags & PF_X && k < startCode) startCode = k;
    if (startData < k) startData = k;
    if (badAddr(mm, k) || ph.filesz > ph.memsz || ph.memsz > taskSize || taskSize - ph.memsz < k) {
      return killed(EINVAL, `segment at 0x${vaddr.toString(16)} does not fit below TASK_SIZE`);
    }
    k = ph.vaddr + ph.filesz;
    if (ph.flags & PF_X && endCode < k) endCode = k;
    if (endData < k) endData = k;
    k = ph.vaddr + ph.memsz;
    if (k > elfBrk) elfBrk = k;
  }
  elfBrk += loadBias;
  // A static PIE (no interpreter) gets its brk moved to ELF_ET_DYN_BASE, ASLR or not.
  if (hdr.type === ET_DYN && p.interp === null) elfBrk = arch.elfEtDynBase;
  mm.startBrk = mm.brk = pageAlign(elfBrk);
  mm.startCode = startCode === Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : startCode + loadBias;
  mm.endCode = endCode + loadBias;
  mm.startData = startData + loadBias;
  mm.endData = endData + loadBias;
  return { loadBias, phdrAddr: phdrAddr + loadBias, entry: hdr.entry + loadBias };
}

/** execve(path, argv, envp) into a brand-new address space (see the file comment). */
export function execImage(req: ExecRequest): ExecOutcome {
  if ((req.personality & ADDR_NO_RANDOMIZE) === 0) {
    throw new Unsupported("execve with ASLR on (the model lays out images as under personality ADDR_NO_RANDOMIZE)");
  }
  const requested = archSpec(req.arch);
  const gid = req.gid ?? 0;
  const file = openExec(req.vfs, req.path, req.creds, gid);
  if (!("inode" in file)) return file;

  const bprm = bprmInit(requested, req.rlimits.stack, req.argv.length, req.envp.length);
  if (typeof bprm === "number") return fail(-bprm, "argument and environment pointers do not fit the stack limit (E2BIG)");
  const copied = copyArgStrings(bprm, req.path, req.argv, req.envp);
  if (copied < 0) return fail(-copied, "argument and environment strings do not fit the stack limit (E2BIG)");

  const loader = followScripts(req, bprm, file, gid);
  if (!("inode" in loader)) return loader;
  const arch = loaderSpecFor(requested, reader(loader)(0, BINPRM_BUF_SIZE));
  const prep = prepare(req, arch, loader, gid);
  if ("errno" in prep) return prep;
  // begin_new_exec() → bprm_creds_from_file() looks at the file the ELF loader got.
  if (clearsPersonality(loader)) {
    throw new Unsupported(`${loader.inode.path} is set-uid or set-gid: execve clears ADDR_NO_RANDOMIZE for it, and ASLR is not modeled`);
  }

  // begin_new_exec(): the point of no return. Then SET_PERSONALITY, setup_new_exec().
  const mm = newMm(req, arch);
  mm.personality = personalityAfterExec(req.personality, arch, prep.execStack);
  const stackFlags = stackVmFlags(mm.personality, prep.execStack, mm.defFlags);
  const s = setupArgPages(mm, arch, bprm, stackFlags);
  if (s < 0) return killed(-s, "setup_arg_pages failed");

  const loaded = loadSegments(mm, prep, loader, arch);
  if ("errno" in loaded) return loaded;

  let entry = loaded.entry;
  let interpLoadAddr = 0;
  if (prep.interp !== null) {
    const r = loadElfInterp(mm, prep.interp.file, prep.interp.hdr.type, prep.interp.phdrs, loaded.loadBias);
    if (badAddr(mm, r)) return killed(r < 0 ? -r : EINVAL, `loading the interpreter ${prep.interp.file.inode.path} failed`);
    interpLoadAddr = r;
    entry = r + prep.interp.hdr.entry;
    if (badAddr(mm, entry)) return killed(EINVAL, "the interpreter's entry point is outside the address space");
  } else if (badAddr(mm, entry)) {
    return killed(EINVAL, "the entry point is outside the address space");
  }

  const ctx = { policy: req.policy, optOutRequested: req.optOutRequested, compat: arch.compat === true };
  const vdso = arch.setupAdditionalPages(mm, ctx);
  if (vdso !== null && vdso < 0) return killed(-vdso, "arch_setup_additional_pages failed");

  const tables = createElfTables(mm, arch, bprm, {
    phdrAddr: loaded.phdrAddr,
    phnum: prep.hdr.phnum,
    interpLoadAddr,
    entry: loaded.entry,
    vdso,
    uid: req.creds.uid,
    gid,
    secure: false,
  });
  if (tables === null) return killed(EFAULT, "create_elf_tables: the stack cannot grow to hold the tables (stack rlimit)");
  const { auxv, randomAt } = tables;
  storeStackBytes(mm, bprm, randomAt);
  return { ok: true, mm, exe: loader, entry, auxv, ...(arch.verified ? {} : { note: MODELED_NOT_VERIFIED }) };
}

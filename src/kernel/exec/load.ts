// Mapping ELF segments: fs/binfmt_elf.c elf_map(), elf_load(), padzero(), load_elf_interp(),
// and mm/mmap.c vm_brk_flags() for the anonymous tail of a segment's bss. Every mapping goes
// through the model's own mmap/munmap (vm_mmap() is do_mmap() without the syscall's fd
// lookup), so placement and merging are exactly those of user mmap calls.

import { FdTable } from "../fs/fdtable.js";
import type { OpenFile } from "../fs/file.js";
import { userAccess } from "../mm/access.js";
import type { Mm } from "../mm/mm.js";
import { mayExpandVm, mlockFutureOk, sysMmap } from "../mm/mmap.js";
import { sysMunmap, unmapRange } from "../mm/munmap.js";
import { securityMmapAddr } from "../mm/unmapped-area.js";
import { Vma } from "../mm/vma.js";
import { mergeNewRange } from "../mm/vma-merge.js";
import { EFAULT, EINVAL, ENOMEM } from "../uapi/errno.js";
import { MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE } from "../uapi/mman.js";
import { VM_ACCOUNT, VM_EXEC, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_WRITE } from "../uapi/vmflags.js";
import {
  ET_DYN,
  ET_EXEC,
  PF_R,
  PF_W,
  PF_X,
  type ProgramHeader,
  PT_LOAD,
  pageAlign,
  pageOffset,
  pageStart,
  totalMappingSize,
} from "./elf.js";
import { READ_IMPLIES_EXEC } from "./stack.js";

/** BAD_ADDR(): a result at or above TASK_SIZE (errors, as unsigned, are huge). */
export function badAddr(mm: Mm, x: number): boolean {
  return x < 0 || x >= mm.cfg.taskSize * 4096;
}

/** make_prot(): PF_R/W/X to PROT_* (no arch adjustment on x86_64). */
export function makeProt(pflags: number): number {
  return (pflags & PF_R ? PROT_READ : 0) | (pflags & PF_W ? PROT_WRITE : 0) | (pflags & PF_X ? PROT_EXEC : 0);
}

/** vm_mmap() of an open file: the model's mmap through a private fd table. */
function vmMmap(mm: Mm, file: OpenFile, addr: number, len: number, prot: number, flags: number, off: number): number {
  const fds = new FdTable();
  const fd = fds.install(file);
  const offArg = off < 0 ? (1n << 64n) + BigInt(off) : off;
  return sysMmap(mm, fds, addr, len, prot, flags, fd, offArg);
}

/** elf_map(): map the file part of a segment (the whole image first when total_size is given). */
function elfMap(mm: Mm, file: OpenFile, addr: number, ph: ProgramHeader, prot: number, type: number, totalSize: number): number {
  let size = ph.filesz + pageOffset(ph.vaddr);
  const off = ph.offset - pageOffset(ph.vaddr);
  addr = pageStart(addr);
  size = pageAlign(size);
  if (size === 0) return addr;
  if (totalSize !== 0) {
    const total = pageAlign(totalSize);
    const mapAddr = vmMmap(mm, file, addr, total, prot, type, off);
    if (!badAddr(mm, mapAddr) && total > size) sysMunmap(mm, mapAddr + size, total - size);
    return mapAddr;
  }
  return vmMmap(mm, file, addr, size, prot, type, off);
}

/** padzero(): zero the rest of the page after the file data (a write: copy-on-write). */
function padzero(mm: Mm, address: number): number {
  const nbyte = pageOffset(address);
  if (nbyte === 0) return 0;
  const r = userAccess(mm, address, 4096 - nbyte, "write", 0);
  return r.ok ? 0 : -EFAULT;
}

/**
 * vm_brk_flags() → do_brk_flags(): anonymous memory over [addr, addr+len) bytes (page
 * aligned), replacing what is there and growing the VMA just below when it can.
 */
export function vmBrkFlags(mm: Mm, addr: number, len: number, extra: number): number {
  const start = addr / 4096;
  const pages = pageAlign(len) / 4096;
  if (pages === 0) return 0;
  if (extra & ~VM_EXEC) return -EINVAL;
  // check_brk_limits(): the fixed-address checks of get_unmapped_area(), then mlock.
  if (pages > mm.cfg.taskSize || start > mm.cfg.taskSize - pages) return -ENOMEM;
  const s = securityMmapAddr(mm, start);
  if (s < 0) return s;
  if (!mlockFutureOk(mm, mm.defFlags, pages)) return -ENOMEM;
  const u = unmapRange(mm, start, start + pages);
  if (u < 0) return u;
  let flags = extra | VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT | mm.defFlags;
  if (mm.personality & READ_IMPLIES_EXEC) flags |= VM_EXEC;
  if (!mayExpandVm(mm, flags, pages)) return -ENOMEM;
  if (mm.mapCount > mm.cfg.maxMapCount) return -ENOMEM;
  const prev = mm.tree.findPrev(start);
  if (prev !== null && prev.end === start) {
    const merged = mergeNewRange(
      mm,
      { start, end: start + pages, flags, flagsHi: 0, pgoff: start, file: null, anon: null, middle: null },
      true,
    );
    if (merged !== null) return 0;
  }
  mm.tree.insert(new Vma(start, start + pages, flags, 0, start, null, null, false, null));
  return 0;
}

/**
 * elf_load(): map a segment's file part, zero the tail of its last file page, and map
 * anonymous pages for the rest of p_memsz. Returns the mapping address or a negative errno.
 */
export function elfLoad(mm: Mm, file: OpenFile, addr: number, ph: ProgramHeader, prot: number, type: number, totalSize: number): number {
  let mapAddr: number;
  let zeroStart = 0;
  let zeroEnd = 0;
  if (ph.filesz !== 0) {
    mapAddr = elfMap(mm, file, addr, ph, prot, type, totalSize);
    if (badAddr(mm, mapAddr)) return mapAddr;
    if (ph.memsz > ph.filesz) {
      zeroStart = mapAddr + pageOffset(ph.vaddr) + ph.filesz;
      zeroEnd = mapAddr + pageOffset(ph.vaddr) + ph.memsz;
      // A read-only segment cannot be zeroed; the kernel ignores that failure.
      if (padzero(mm, zeroStart) !== 0 && prot & PROT_WRITE) return -EFAULT;
    }
  } else {
    mapAddr = zeroStart = pageStart(addr);
    zeroEnd = zeroStart + pageOffset(ph.vaddr) + ph.memsz;
  }
  if (ph.memsz > ph.filesz) {
    zeroStart = pageAlign(zeroStart);
    zeroEnd = pageAlign(zeroEnd);
    if (zeroEnd > zeroStart) {
      const e = vmBrkFlags(mm, zeroStart, zeroEnd - zeroStart, prot & PROT_EXEC ? VM_EXEC : 0);
      if (e < 0) mapAddr = e;
    }
  }
  return mapAddr;
}

/**
 * load_elf_interp(): map the interpreter's PT_LOADs. An ET_DYN interpreter's first segment
 * goes wherever mmap puts `total_size` bytes with no hint (top-down: ending at mmap_base);
 * the rest follow MAP_FIXED. Returns the load address (AT_BASE) or a negative errno.
 */
export function loadElfInterp(mm: Mm, file: OpenFile, type: number, phdrs: readonly ProgramHeader[], noBase: number): number {
  if (type !== ET_EXEC && type !== ET_DYN) return -EINVAL;
  let totalSize = totalMappingSize(phdrs);
  if (totalSize === 0) return -EINVAL;
  let loadAddr = 0;
  let loadAddrSet = false;
  const taskSize = mm.cfg.taskSize * 4096;
  for (const ph of phdrs) {
    if (ph.type !== PT_LOAD) continue;
    let elfType = MAP_PRIVATE;
    const prot = makeProt(ph.flags);
    const vaddr = ph.vaddr;
    if (type === ET_EXEC || loadAddrSet) elfType |= MAP_FIXED;
    else if (noBase !== 0 && type === ET_DYN) loadAddr = -vaddr;
    const mapAddr = elfLoad(mm, file, loadAddr + vaddr, ph, prot, elfType, totalSize);
    totalSize = 0;
    if (badAddr(mm, mapAddr)) return mapAddr < 0 ? mapAddr : -EINVAL;
    if (!loadAddrSet && type === ET_DYN) {
      loadAddr = mapAddr - pageStart(vaddr);
      loadAddrSet = true;
    }
    const k = loadAddr + ph.vaddr;
    if (badAddr(mm, k) || ph.filesz > ph.memsz || ph.memsz > taskSize || taskSize - ph.memsz < k) return -ENOMEM;
  }
  return loadAddr;
}

// vDSO identity for vdso_proxify(): the dynamic symbols CRIU compares (criu/pie/util-vdso.c
// vdso_fill_symtable: the offsets of __vdso_clock_gettime, __vdso_getcpu,
// __vdso_gettimeofday, __vdso_time, __kernel_sigreturn, __kernel_rt_sigreturn,
// __vdso_clock_gettime64) read from the ELF image, and blobs_matches().

export const VDSO_SYMBOLS = [
  "__vdso_clock_gettime",
  "__vdso_getcpu",
  "__vdso_gettimeofday",
  "__vdso_time",
  "__kernel_sigreturn",
  "__kernel_rt_sigreturn",
  "__vdso_clock_gettime64",
] as const;

export interface VdsoIdentity {
  /** vdso size, pages. */
  pages: number;
  /** vvar size (vvar + vvar_vclock), pages. */
  vvarPages: number;
  /** vdso placed after vvar (x86_64 since 6.13: vvar, vvar_vclock, vdso). */
  vdsoAfterVvar: boolean;
  /** Offset of each of VDSO_SYMBOLS (0 when absent). */
  symbols: Record<string, number>;
}

/**
 * The runtime vDSO of the reference kernel (6.18.44 on the research VM), as CRIU's restore
 * log printed it (criu42-restore-v4.log lines 30-37: "rt [vdso] ... [vvar] ..." with the
 * symbol offsets). The model does not know the vdso's bytes; this is what it knows of it.
 */
export const REFERENCE_RUNTIME_VDSO: VdsoIdentity = {
  pages: 2,
  vvarPages: 6,
  vdsoAfterVvar: true,
  symbols: {
    __vdso_clock_gettime: 0xaf0,
    __vdso_getcpu: 0xf00,
    __vdso_gettimeofday: 0x810,
    __vdso_time: 0xac0,
    __kernel_sigreturn: 0,
    __kernel_rt_sigreturn: 0,
    __vdso_clock_gettime64: 0,
  },
};

/** Symbol offsets of an ELF64 vDSO image (via PT_DYNAMIC's DT_SYMTAB/DT_STRTAB), or null if it is not one. */
export function vdsoSymbols(img: Uint8Array): Record<string, number> | null {
  if (img.length < 64 || img[0] !== 0x7f || img[1] !== 0x45 || img[2] !== 0x4c || img[3] !== 0x46 || img[4] !== 2) return null;
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const u64 = (o: number) => (o + 8 <= img.length ? Number(dv.getBigUint64(o, true)) : -1);
  const u32 = (o: number) => (o + 4 <= img.length ? dv.getUint32(o, true) : -1);
  const u16 = (o: number) => (o + 2 <= img.length ? dv.getUint16(o, true) : -1);
  const phoff = u64(0x20);
  const phentsize = u16(0x36);
  const phnum = u16(0x38);
  let loadVaddr = -1;
  let dyn = -1;
  let dynSize = 0;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    const type = u32(ph);
    if (type === 1 && loadVaddr < 0) loadVaddr = u64(ph + 0x10) - u64(ph + 0x8);
    if (type === 2) {
      dyn = u64(ph + 0x8);
      dynSize = u64(ph + 0x20);
    }
  }
  if (dyn < 0 || loadVaddr < 0) return null;
  let symtab = -1;
  let strtab = -1;
  let hash = -1;
  for (let o = dyn; o + 16 <= dyn + dynSize && o + 16 <= img.length; o += 16) {
    const tag = u64(o);
    const val = u64(o + 8) - loadVaddr;
    if (tag === 0) break;
    if (tag === 6) symtab = val;
    if (tag === 5) strtab = val;
    if (tag === 4) hash = val;
  }
  if (symtab < 0 || strtab < 0 || hash < 0) return null;
  const nsyms = u32(hash + 4); // DT_HASH nchain = number of symbols
  if (nsyms < 0 || nsyms > 4096) return null;
  const out: Record<string, number> = Object.fromEntries(VDSO_SYMBOLS.map((s) => [s, 0]));
  for (let i = 0; i < nsyms; i++) {
    const s = symtab + i * 24;
    const nameOff = u32(s);
    if (nameOff < 0) return null;
    let name = "";
    for (let p = strtab + nameOff; p < img.length && img[p] !== 0 && name.length < 64; p++) name += String.fromCharCode(img[p] as number);
    if ((VDSO_SYMBOLS as readonly string[]).includes(name)) out[name] = u64(s + 8) - loadVaddr;
  }
  return out;
}

/** blobs_matches(): same vdso size, every symbol offset, vvar size and order. */
export function blobsMatch(dumped: VdsoIdentity, runtime: VdsoIdentity): { match: boolean; why: string } {
  if (dumped.pages !== runtime.pages) return { match: false, why: `vdso size ${dumped.pages} vs runtime ${runtime.pages} pages` };
  for (const s of VDSO_SYMBOLS) {
    if (dumped.symbols[s] !== runtime.symbols[s])
      return { match: false, why: `${s} at 0x${dumped.symbols[s]?.toString(16)} vs runtime 0x${runtime.symbols[s]?.toString(16)}` };
  }
  if (dumped.vvarPages !== runtime.vvarPages)
    return { match: false, why: `vvar size ${dumped.vvarPages} vs runtime ${runtime.vvarPages} pages` };
  if (dumped.vdsoAfterVvar !== runtime.vdsoAfterVvar) return { match: false, why: "vdso/vvar order differs" };
  return { match: true, why: "runtime vdso/vvar matches dumpee" };
}

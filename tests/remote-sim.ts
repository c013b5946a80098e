// Test helper (not a test file): drives the model through its syscall surface the way
// native/probe-remote.c drives the live kernel, and records results in the probe's shape
// (src/oracle/remote-live.ts) so that the two can be compared case by case.

import { Kernel, type KernelOptions } from "../src/kernel/kernel.js";
import { errnoName } from "../src/kernel/uapi/errno.js";
import type { ProbeMaps, ProbeReport, ProbeResult } from "../src/oracle/remote-live.js";

export const PAGE = 4096;
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 1;
export const MAP_PRIVATE = 2;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;

export function asResult(r: number): ProbeResult {
  return r < 0 ? { ret: -1, errno: errnoName(-r) } : { ret: r, errno: null };
}

export class Sim {
  readonly k: Kernel;
  pid: number;
  readonly report: ProbeReport = { results: {}, values: {}, maps: {}, key: null, failedSections: [] };
  /** A private scratch area for strings and iovec arrays (user memory the calls read). */
  private scratch = 0;
  private scratchUsed = 0;

  constructor(opts: KernelOptions = {}, k?: Kernel) {
    this.k = k ?? new Kernel(opts);
    this.pid = this.k.spawnEmpty().pid;
  }

  /** A raw syscall in the current process: the kernel-style number (negative = −errno). */
  sys(name: string, ...args: Array<number | bigint>): number {
    const r = this.k.syscall(this.pid, name, args);
    return "ret" in r ? Number(r.ret) : -r.errno;
  }

  /** Record a result as the probe's rep() does. */
  rep(name: string, r: number): number {
    this.report.results[name] = asResult(r);
    return r;
  }

  /** Record as the probe's repok(): a success value that changes from run to run prints as 0. */
  repok(name: string, r: number): number {
    this.report.results[name] = asResult(Math.min(r, 0));
    return r;
  }

  val(name: string, v: number): void {
    this.report.values[name] = v;
  }

  map(len: number, prot: number, flags: number, fd = -1, addr = 0): number {
    return this.sys("mmap", addr, len, prot, flags | (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);
  }

  private scratchBytes(n: number): number {
    if (this.scratch === 0 || this.scratchUsed + n > 16 * PAGE) {
      this.scratch = this.map(16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
      this.scratchUsed = 0;
    }
    const at = this.scratch + this.scratchUsed;
    this.scratchUsed += Math.ceil(n / 16) * 16 + 16;
    return at;
  }

  /** A NUL-terminated string in user memory. */
  str(s: string): number {
    const at = this.scratchBytes(s.length + 1);
    const b = new Uint8Array(s.length + 1);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    this.write(at, b);
    return at;
  }

  /** An iovec array in user memory. */
  iov(v: Array<[number | bigint, number | bigint]>): number {
    const at = this.scratchBytes(v.length * 16);
    const b = new Uint8Array(v.length * 16);
    const dv = new DataView(b.buffer);
    v.forEach(([base, len], i) => {
      dv.setBigUint64(i * 16, BigInt(base), true);
      dv.setBigUint64(i * 16 + 8, BigInt.asUintN(64, BigInt(len)), true);
    });
    this.write(at, b);
    return at;
  }

  /** A buffer of `n` bytes in user memory (its own mapping). */
  buffer(n: number): number {
    return this.map(Math.ceil(n / PAGE) * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  }

  write(addr: number, bytes: Uint8Array): void {
    if (!this.k.writeMemory(this.pid, addr, bytes)) throw new Error(`test setup: cannot write at 0x${addr.toString(16)}`);
  }

  fill(addr: number, len: number, byte: number): void {
    this.write(addr, new Uint8Array(len).fill(byte));
  }

  /** A byte as the process reads it (the probe's `char` is signed). */
  byte(addr: number): number {
    const b = this.k.readMemory(this.pid, addr, 1);
    if (b === null) throw new Error(`test: cannot read at 0x${addr.toString(16)}`);
    return ((b[0] as number) << 24) >> 24;
  }

  /** The probe's maps(): the maps line of the VMA containing addr, without address and inode. */
  maps(name: string, addr: number, pid = this.pid): void {
    for (const line of this.k.maps(pid).split("\n")) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) (\S+) (\d+) *(.*)$/.exec(line);
      if (m === null) continue;
      const s = Number.parseInt(m[1] as string, 16);
      const e = Number.parseInt(m[2] as string, 16);
      if (addr < s || addr >= e) continue;
      const entry: ProbeMaps = {
        perms: m[3] as string,
        offset: Number.parseInt(m[4] as string, 16),
        dev: m[5] as string,
        name: m[7] as string,
      };
      this.report.maps[name] = entry;
      return;
    }
    this.report.maps[name] = null;
  }

  /** mincore() ≥ 0: is the page at addr mapped? */
  mapped(addr: number, pid = this.pid): number {
    return this.k.process(pid).mm.tree.find(Math.floor(addr / PAGE)) !== null ? 1 : 0;
  }
}

/**
 * The probe cases the model scenario covered, compared one by one: returns the mismatches
 * as readable strings (empty when the model agrees with the live kernel everywhere).
 */
export function compareReports(live: ProbeReport, model: ProbeReport, cases: string[]): string[] {
  const out: string[] = [];
  for (const c of cases) {
    const kinds: Array<[string, unknown, unknown]> = [
      ["R", live.results[c], model.results[c]],
      ["V", live.values[c], model.values[c]],
      ["M", live.maps[c], model.maps[c]],
    ];
    const present = kinds.filter(([, l]) => l !== undefined);
    if (present.length === 0) out.push(`${c}: not in the live report`);
    for (const [kind, l, m] of present) {
      if (JSON.stringify(l) !== JSON.stringify(m)) out.push(`${kind} ${c}: live ${JSON.stringify(l)}, model ${JSON.stringify(m)}`);
    }
  }
  return out;
}

/** Every case name of a report. */
export function caseNames(r: ProbeReport): string[] {
  return [...new Set([...Object.keys(r.results), ...Object.keys(r.values), ...Object.keys(r.maps)])].sort();
}

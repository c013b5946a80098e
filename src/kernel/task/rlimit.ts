// getrlimit/setrlimit/prlimit64 (kernel/sys.c do_prlimit) for the limits the address space
// consults: RLIMIT_STACK, RLIMIT_DATA, RLIMIT_AS, RLIMIT_MEMLOCK. `struct rlimit` {cur, max}
// is read from and written to the caller's memory.
//
// Approximations (docs/tasks.md): hard limits are not kept — they read back as RLIM_INFINITY
// and raising one needs no CAP_SYS_RESOURCE; setting another resource is accepted and has no
// effect here; reading another resource is Unsupported (the model does not know its value).

import { CAP_SYS_RESOURCE, capableIn, userNsOf } from "../mm/creds.js";
import type { Rlimits } from "../mm/rlimits.js";
import { EFAULT, EINVAL, EPERM, ESRCH } from "../uapi/errno.js";
import type { U64 } from "../uapi/u64.js";
import { Unsupported } from "../unsupported.js";
import type { Process } from "./process.js";
import { copyFromUser, copyToUser, u64At } from "./uaccess.js";

export const RLIMIT_DATA = 2;
export const RLIMIT_STACK = 3;
export const RLIMIT_MEMLOCK = 8;
export const RLIMIT_AS = 9;
const RLIM_NLIMITS = 16;
const RLIM_INFINITY = (1n << 64n) - 1n;

const MODELED: Readonly<Record<number, keyof Rlimits>> = {
  [RLIMIT_DATA]: "data",
  [RLIMIT_STACK]: "stack",
  [RLIMIT_MEMLOCK]: "memlock",
  [RLIMIT_AS]: "as",
};

function toWord(v: number): bigint {
  return Number.isFinite(v) ? BigInt(v) : RLIM_INFINITY;
}

function fromWord(w: bigint): number {
  return w === RLIM_INFINITY ? Number.POSITIVE_INFINITY : Number(w);
}

function userAddr(v: U64): number | null {
  return typeof v === "bigint" || v === 0 ? null : v;
}

/** Copy the old limit out (cur, max=RLIM_INFINITY). */
function putOld(p: Process, resource: number, at: number): number {
  const key = MODELED[resource];
  if (key === undefined) throw new Unsupported(`the value of rlimit ${resource} is not modeled`);
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, toWord(p.rlimits[key]), true);
  dv.setBigUint64(8, RLIM_INFINITY, true);
  return copyToUser(p.enter(), at, b) ? 0 : -EFAULT;
}

/** do_prlimit(): validate, then set the soft limit of a modeled resource. */
function setNew(p: Process, resource: number, at: number): number {
  const b = copyFromUser(p.enter(), at, 16);
  if (b === null) return -EFAULT;
  const cur = u64At(b, 0);
  const max = u64At(b, 8);
  if (cur > max) return -EINVAL;
  const key = MODELED[resource];
  if (key !== undefined) p.rlimits[key] = fromWord(cur);
  return 0;
}

/** getrlimit(resource, rlim). */
export function sysGetrlimit(p: Process, resource: U64, rlim: U64): number {
  if (typeof resource === "bigint" || resource >= RLIM_NLIMITS) return -EINVAL;
  const at = userAddr(rlim);
  return at === null ? -EFAULT : putOld(p, resource, at);
}

/** setrlimit(resource, rlim). */
export function sysSetrlimit(p: Process, resource: U64, rlim: U64): number {
  if (typeof resource === "bigint" || resource >= RLIM_NLIMITS) return -EINVAL;
  const at = userAddr(rlim);
  return at === null ? -EFAULT : setNew(p, resource, at);
}

/**
 * check_prlimit_permission(): the caller itself, a task whose uids equal the caller's, or
 * CAP_SYS_RESOURCE over the target's namespace. (Real, effective and saved uids are one uid
 * in the model.)
 */
function prlimitPermitted(p: Process, target: Process): boolean {
  if (target === p || target.tgid === p.tgid) return true;
  if (target.creds.uid === p.creds.uid && (target.creds.kuid ?? target.creds.uid) === (p.creds.kuid ?? p.creds.uid)) return true;
  return capableIn(p.creds, userNsOf(target.creds), CAP_SYS_RESOURCE);
}

/** prlimit64(pid, resource, new, old): pid 0 is the caller; old is read before new is set. */
export function sysPrlimit64(p: Process, pid: U64, resource: U64, newRlim: U64, oldRlim: U64): number {
  if (typeof resource === "bigint" || resource >= RLIM_NLIMITS) return -EINVAL;
  const target = pid === 0 ? p : typeof pid === "bigint" ? null : p.tasks.lookup(pid);
  if (target === null) return -ESRCH;
  if (!prlimitPermitted(p, target)) return -EPERM;
  let newAt: number | null = null;
  if (newRlim !== 0) {
    newAt = userAddr(newRlim);
    if (newAt === null) return -EFAULT;
  }
  let b: Uint8Array | null = null;
  if (newAt !== null) {
    b = copyFromUser(p.enter(), newAt, 16);
    if (b === null) return -EFAULT;
    if (u64At(b, 0) > u64At(b, 8)) return -EINVAL;
  }
  if (oldRlim !== 0) {
    const oldAt = userAddr(oldRlim);
    if (oldAt === null) return -EFAULT;
    const key = MODELED[resource];
    if (key === undefined) throw new Unsupported(`the value of rlimit ${resource} is not modeled`);
    const out = new Uint8Array(16);
    const dv = new DataView(out.buffer);
    dv.setBigUint64(0, toWord(target.rlimits[key]), true);
    dv.setBigUint64(8, RLIM_INFINITY, true);
    if (!copyToUser(p.enter(), oldAt, out)) return -EFAULT;
  }
  if (b !== null) {
    const key = MODELED[resource];
    if (key !== undefined) target.rlimits[key] = fromWord(u64At(b, 0));
  }
  return 0;
}

// Credentials as far as address-space calls look at them (include/uapi/linux/capability.h,
// include/linux/cred.h, kernel/user_namespace.c): effective capabilities, the uid, and the
// user namespace the task lives in.
//
// Invariants:
// - `caps` are the effective capabilities, held *in the task's own user namespace*;
// - `initUserNs` is true exactly when `userNs` is absent or INIT_USER_NS;
// - a namespace's `parent` chain ends at INIT_USER_NS; `level` is its depth (init = 0).

export const CAP_IPC_LOCK = 14;
export const CAP_SYS_RAWIO = 17;
export const CAP_SYS_PTRACE = 19;
export const CAP_SYS_ADMIN = 21;
export const CAP_SYS_NICE = 23;
export const CAP_SYS_RESOURCE = 24;
export const CAP_CHECKPOINT_RESTORE = 40;
/** CAP_LAST_CAP in 6.18. */
export const CAP_LAST_CAP = 40;
/** CAP_FULL_SET: what a task has in a user namespace it just created. */
export const CAP_FULL_SET = (1n << BigInt(CAP_LAST_CAP + 1)) - 1n;

/** struct user_namespace: identity, parent, and the (init-namespace) uid of its creator. */
export interface UserNs {
  readonly id: number;
  readonly parent: UserNs | null;
  readonly level: number;
  /** ns->owner: the creator's euid as the parent namespace sees it. */
  readonly ownerUid: number;
}

export const INIT_USER_NS: UserNs = { id: 0, parent: null, level: 0, ownerUid: 0 };

export interface Creds {
  /** euid as seen inside the task's own namespace (65534 when unmapped). */
  readonly uid: number;
  /** Effective capabilities in the task's own user namespace, as a bit set. */
  readonly caps: bigint;
  /** The task's user namespace is the initial one. */
  readonly initUserNs: boolean;
  /** The task's user namespace (absent: the initial one). */
  readonly userNs?: UserNs;
  /** euid as the initial namespace sees it (absent: same as uid). Decides ns ownership. */
  readonly kuid?: number;
}

/** The task's user namespace, INIT_USER_NS when not given. */
export function userNsOf(c: Creds): UserNs {
  return c.userNs ?? INIT_USER_NS;
}

function hasCap(c: Creds, cap: number): boolean {
  return ((c.caps >> BigInt(cap)) & 1n) === 1n;
}

/**
 * cap_capable(): whether `c` holds `cap` over objects owned by namespace `ns`. A task holds
 * its capabilities in its own namespace and in every descendant of it, and the creator of a
 * namespace holds every capability in it (if it lives in the parent).
 */
export function capableIn(c: Creds, ns: UserNs, cap: number): boolean {
  const own = userNsOf(c);
  let target: UserNs | null = ns;
  while (target !== null) {
    if (target.id === own.id) return hasCap(c, cap);
    if (target.level <= own.level) return false;
    if (target.parent?.id === own.id && target.ownerUid === (c.kuid ?? c.uid)) return true;
    target = target.parent;
  }
  return false;
}

/** capable(): the capability, held in the initial user namespace. */
export function capable(c: Creds, cap: number): boolean {
  return capableIn(c, INIT_USER_NS, cap);
}

/** ns_capable(current_user_ns(), cap): held in the task's own namespace. */
export function nsCapable(c: Creds, cap: number): boolean {
  return hasCap(c, cap);
}

/** checkpoint_restore_ns_capable(): CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE in `ns`. */
export function checkpointRestoreNsCapable(c: Creds, ns: UserNs): boolean {
  return capableIn(c, ns, CAP_SYS_ADMIN) || capableIn(c, ns, CAP_CHECKPOINT_RESTORE);
}

let nextUserNsId = 1;

/**
 * unshare(CLONE_NEWUSER) / clone(CLONE_NEWUSER) (create_user_ns, set_cred_user_ns): a child
 * namespace owned by the caller; the task gets the full capability set in it. `uid` is what
 * the task's euid looks like inside once uid_map is written (65534, the overflow uid, until
 * then; 0 for "root in a child namespace").
 */
export function enterNewUserNs(c: Creds, uid = 0): Creds {
  const parent = userNsOf(c);
  const kuid = c.kuid ?? c.uid;
  const ns: UserNs = { id: nextUserNsId++, parent, level: parent.level + 1, ownerUid: kuid };
  return { uid, caps: CAP_FULL_SET, initUserNs: false, userNs: ns, kuid };
}

/** Drop or grant one capability in the task's own namespace (capset of the effective set). */
export function withCap(c: Creds, cap: number, on: boolean): Creds {
  const bit = 1n << BigInt(cap);
  return { ...c, caps: on ? c.caps | bit : c.caps & ~bit };
}

/** Root as on the reference machine: every capability but CAP_SYS_RESOURCE (CapEff 1fffeffffff). */
export const REFERENCE_ROOT: Creds = { uid: 0, caps: 0x1fffeffffffn, initUserNs: true };

/** Root with every capability (a machine where root keeps CAP_SYS_RESOURCE). */
export const FULL_ROOT: Creds = { uid: 0, caps: CAP_FULL_SET, initUserNs: true };

export const NOBODY: Creds = { uid: 65534, caps: 0n, initUserNs: true };

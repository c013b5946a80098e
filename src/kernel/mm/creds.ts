// Credentials as far as address-space calls look at them (include/uapi/linux/capability.h).

export const CAP_IPC_LOCK = 14;
export const CAP_SYS_RAWIO = 17;
export const CAP_SYS_PTRACE = 19;
export const CAP_SYS_ADMIN = 21;
export const CAP_SYS_NICE = 23;
export const CAP_SYS_RESOURCE = 24;
export const CAP_CHECKPOINT_RESTORE = 40;

export interface Creds {
  readonly uid: number;
  /** Effective capabilities in the task's own user namespace, as a bit set. */
  readonly caps: bigint;
  /** The task's user namespace is the initial one. */
  readonly initUserNs: boolean;
}

/** capable(): the capability, held in the initial user namespace. */
export function capable(c: Creds, cap: number): boolean {
  return c.initUserNs && ((c.caps >> BigInt(cap)) & 1n) === 1n;
}

/** ns_capable(current_user_ns(), cap): held in the task's own namespace. */
export function nsCapable(c: Creds, cap: number): boolean {
  return ((c.caps >> BigInt(cap)) & 1n) === 1n;
}

/** Root as on the reference machine: every capability but CAP_SYS_RESOURCE (CapEff 1fffeffffff). */
export const REFERENCE_ROOT: Creds = { uid: 0, caps: 0x1fffeffffffn, initUserNs: true };

export const NOBODY: Creds = { uid: 65534, caps: 0n, initUserNs: true };

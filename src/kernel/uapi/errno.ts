// errno values of x86_64 Linux (include/uapi/asm-generic/errno-base.h, errno.h).
// Inside the model a failed call returns the negated value, as the kernel does.

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const ENOEXEC = 8;
export const EBADF = 9;
export const ECHILD = 10;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ETXTBSY = 26;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EROFS = 30;
export const ERANGE = 34;
export const ENOSYS = 38;
export const ELOOP = 40;
export const EOVERFLOW = 75;
export const ELIBBAD = 80;
export const EOPNOTSUPP = 95;

const NAMES: Record<number, string> = {
  [EPERM]: "EPERM",
  [ENOENT]: "ENOENT",
  [ESRCH]: "ESRCH",
  [EINTR]: "EINTR",
  [EIO]: "EIO",
  [ENXIO]: "ENXIO",
  [E2BIG]: "E2BIG",
  [ENOEXEC]: "ENOEXEC",
  [EBADF]: "EBADF",
  [ECHILD]: "ECHILD",
  [EAGAIN]: "EAGAIN",
  [ENOMEM]: "ENOMEM",
  [EACCES]: "EACCES",
  [EFAULT]: "EFAULT",
  [EBUSY]: "EBUSY",
  [EEXIST]: "EEXIST",
  [ENODEV]: "ENODEV",
  [ENOTDIR]: "ENOTDIR",
  [EISDIR]: "EISDIR",
  [EINVAL]: "EINVAL",
  [ENFILE]: "ENFILE",
  [EMFILE]: "EMFILE",
  [ETXTBSY]: "ETXTBSY",
  [ELOOP]: "ELOOP",
  [ELIBBAD]: "ELIBBAD",
  [EFBIG]: "EFBIG",
  [ENOSPC]: "ENOSPC",
  [ESPIPE]: "ESPIPE",
  [EROFS]: "EROFS",
  [ERANGE]: "ERANGE",
  [ENOSYS]: "ENOSYS",
  [EOVERFLOW]: "EOVERFLOW",
  [EOPNOTSUPP]: "EOPNOTSUPP",
};
const BY_NAME: Record<string, number> = Object.fromEntries(Object.entries(NAMES).map(([k, v]) => [v, Number(k)]));

export function errnoName(errno: number): string {
  return NAMES[errno] ?? `E${errno}`;
}

export function errnoByName(name: string): number | undefined {
  return BY_NAME[name];
}

import { getSystemErrorName } from 'node:util';
import type { NetioErrorCode } from './types.js';

const ENOENT = 2;
const EIO = 5;
const EACCES = 13;
const EPERM = 1;
const EBUSY = 16;
const EINVAL = 22;
const EADDRINUSE = 98;
// Linux: "file descriptor in bad state", what a TUN fd returns once its device was deleted.
const EBADFD = 77;

/** Every failure of @felt/netio: a stable `code`, plus the errno and system call when one failed. */
export class NetioError extends Error {
  readonly code: NetioErrorCode;
  readonly errno: number;
  readonly syscall: string;

  constructor(code: NetioErrorCode, message: string, errno = 0, syscall = '') {
    super(message);
    this.name = 'NetioError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

/** Maps a failed system call to a stable code. */
export function codeForErrno(errno: number, syscall: string): NetioErrorCode {
  if (errno === ENOENT && syscall === 'open') return 'NETIO_NO_TUN_DEVICE';
  if (errno === EPERM || errno === EACCES) return 'NETIO_PERMISSION_DENIED';
  // TUNSETIFF says EINVAL when the name belongs to a non-TUN device or a TUN with other flags.
  if (errno === EBUSY || (errno === EINVAL && syscall === 'ioctl(TUNSETIFF)')) return 'NETIO_DEVICE_BUSY';
  if (errno === EADDRINUSE) return 'NETIO_ADDRESS_IN_USE';
  if (errno === EBADFD || (errno === EIO && (syscall === 'read' || syscall === 'write')))
    return 'NETIO_DEVICE_GONE';
  return 'NETIO_SYSCALL';
}

const advice: Record<NetioErrorCode, string> = {
  NETIO_NO_TUN_DEVICE: 'load the tun module (modprobe tun) or create the node (mknod /dev/net/tun c 10 200)',
  NETIO_PERMISSION_DENIED: 'run as root or grant CAP_NET_ADMIN',
  NETIO_DEVICE_BUSY:
    'the interface name belongs to another device or is attached elsewhere: pick another name, stop the other owner, or use multiQueue on every queue',
  NETIO_ADDRESS_IN_USE:
    'choose another port, stop the other listener, or set reusePort on every socket sharing it',
  NETIO_BAD_ARGUMENT: 'fix the arguments; nothing was read or written',
  NETIO_CLOSED: 'open a new handle',
  NETIO_DEVICE_GONE: 'the TUN device was deleted: close this handle and open the device again',
  NETIO_SYSCALL: 'see errno and syscall',
  NETIO_NOT_BUILT: 'build the addon',
};

function errnoName(errno: number): string {
  if (errno === EBADFD) return 'EBADFD';
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/**
 * Builds the NetioError for a native failure. `code` is set for argument and closed-handle errors;
 * otherwise it is derived from errno + syscall. Native code calls this through init().
 */
export function createNetioError(
  code: NetioErrorCode | null,
  errno: number,
  syscall: string,
  detail: string,
): NetioError {
  const resolved = code ?? codeForErrno(errno, syscall);
  const cause =
    errno !== 0 ? `${syscall} failed with ${errnoName(errno)}${detail ? ` (${detail})` : ''}` : detail;
  return new NetioError(resolved, `${resolved}: ${cause}: ${advice[resolved]}`, errno, syscall);
}

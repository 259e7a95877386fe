import { describe, expect, it } from 'vitest';
import { codeForErrno, createNetioError, NetioError } from './errors.js';
import { addonPaths, locateAddon } from './load.js';

describe('NetioError', () => {
  it('maps errno and system call to stable codes', () => {
    expect(codeForErrno(2, 'open')).toBe('NETIO_NO_TUN_DEVICE');
    expect(codeForErrno(1, 'ioctl(TUNSETIFF)')).toBe('NETIO_PERMISSION_DENIED');
    expect(codeForErrno(13, 'open')).toBe('NETIO_PERMISSION_DENIED');
    expect(codeForErrno(16, 'ioctl(TUNSETIFF)')).toBe('NETIO_DEVICE_BUSY');
    expect(codeForErrno(22, 'ioctl(TUNSETIFF)')).toBe('NETIO_DEVICE_BUSY');
    expect(codeForErrno(22, 'setsockopt')).toBe('NETIO_SYSCALL');
    expect(codeForErrno(98, 'bind')).toBe('NETIO_ADDRESS_IN_USE');
    expect(codeForErrno(77, 'read')).toBe('NETIO_DEVICE_GONE');
    expect(codeForErrno(5, 'write')).toBe('NETIO_DEVICE_GONE');
    expect(codeForErrno(2, 'bind')).toBe('NETIO_SYSCALL');
  });

  it('carries code, errno and syscall, and says what to do', () => {
    const error = createNetioError(null, 2, 'open', '/dev/net/tun');
    expect(error).toBeInstanceOf(NetioError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'NetioError',
      code: 'NETIO_NO_TUN_DEVICE',
      errno: 2,
      syscall: 'open',
    });
    expect(error.message).toMatch(/open failed with ENOENT \(\/dev\/net\/tun\).*modprobe tun/);
    expect(createNetioError(null, 77, 'read', '').message).toMatch(/EBADFD.*open the device again/);
    expect(createNetioError('NETIO_CLOSED', 0, '', 'UDP socket is closed').message).toMatch(
      /^NETIO_CLOSED: UDP socket/,
    );
  });

  it('the loader looks for the Release build first, then Debug, inside the package', () => {
    expect(addonPaths).toHaveLength(2);
    expect(addonPaths[0]).toMatch(/packages\/netio\/build\/Release\/netio\.node$/);
    expect(addonPaths[1]).toMatch(/packages\/netio\/build\/Debug\/netio\.node$/);
  });

  it('a missing addon is NETIO_NOT_BUILT, listing every path tried and the build command', () => {
    const tried = ['/nonexistent/a/netio.node', '/nonexistent/b/netio.node'];
    expect(() => locateAddon(tried)).toThrow(
      expect.objectContaining({
        code: 'NETIO_NOT_BUILT',
        message: expect.stringMatching(/a\/netio\.node\n.*b\/netio\.node\n.*build:native/s),
      }),
    );
  });
});

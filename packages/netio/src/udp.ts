import { assertAttachable } from './attach.js';
import { loadNative, type NativeUdp } from './load.js';
import { closePollersOn } from './poller.js';
import type { UdpOptions, UdpSocket } from './types.js';

class BatchUdpSocket implements UdpSocket {
  readonly fd: number;
  readonly family: 4 | 6;
  readonly localPort: number;
  readonly gro: boolean;
  readonly gsoSupported: boolean;
  readonly steered: boolean;
  readonly recvBufferSize: number;
  readonly sendBufferSize: number;
  // The hot calls go straight to the addon (own properties, no JS frame in between); each function keeps
  // the native instance alive, and throws NETIO_CLOSED after close() like the other methods.
  readonly recv: (first: number, count: number) => number;
  readonly send: (first: number, count: number) => number;
  readonly #native: NativeUdp;

  constructor(native: NativeUdp) {
    this.#native = native;
    this.fd = native.fd;
    this.family = native.family;
    this.localPort = native.localPort;
    this.gro = native.gro;
    this.gsoSupported = native.gsoSupported;
    this.steered = native.steered;
    this.recvBufferSize = native.recvBufferSize;
    this.sendBufferSize = native.sendBufferSize;
    const hot = native.bindHot();
    this.recv = hot.recv;
    this.send = hot.send;
  }

  attach(memory: Uint8Array, meta: Int32Array): void {
    assertAttachable(memory, meta);
    this.#native.attach(memory, meta);
  }

  close(): void {
    closePollersOn(this.fd);
    this.#native.close();
  }
}

/**
 * Opens a non-blocking UDP socket bound to address:port with batched recvmmsg/sendmmsg. Throws NetioError
 * (NETIO_ADDRESS_IN_USE, NETIO_PERMISSION_DENIED, NETIO_BAD_ARGUMENT, NETIO_SYSCALL).
 */
export function openUdp(options: UdpOptions): UdpSocket {
  return new BatchUdpSocket(new (loadNative().Udp)(options));
}

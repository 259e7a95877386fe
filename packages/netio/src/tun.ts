import { assertAttachable } from './attach.js';
import { loadNative, type NativeTun } from './load.js';
import { closePollersOn } from './poller.js';
import type { Tun, TunOptions } from './types.js';

class TunDevice implements Tun {
  readonly name: string;
  readonly fd: number;
  readonly vnetHeader: boolean;
  readonly offloads: number;
  readonly #native: NativeTun;

  constructor(native: NativeTun) {
    this.#native = native;
    this.name = native.name;
    this.fd = native.fd;
    this.vnetHeader = native.vnetHeader;
    this.offloads = native.offloads;
  }

  attach(memory: Uint8Array, meta: Int32Array): void {
    assertAttachable(memory, meta);
    this.#native.attach(memory, meta);
  }

  read(first: number, count: number): number {
    return this.#native.read(first, count);
  }

  write(first: number, count: number): number {
    return this.#native.write(first, count);
  }

  writeCoalesced(first: number, count: number, mtu = 0, verified = false): number {
    return this.#native.writeCoalesced(first, count, mtu, verified);
  }

  coalesceInto(first: number, count: number, target: number, mtu = 0, verified = false): number {
    return this.#native.coalesceInto(first, count, target, mtu, verified);
  }

  writeInbound(first: number, count: number, mtu = 0): number {
    return this.#native.writeInbound(first, count, mtu);
  }

  split(source: number, target: number, headroom: number): number {
    return this.#native.split(source, target, headroom);
  }

  completeChecksums(first: number, count: number): number {
    return this.#native.completeChecksums(first, count);
  }

  setPersist(persist: boolean): void {
    this.#native.setPersist(persist);
  }

  close(): void {
    closePollersOn(this.fd);
    this.#native.close();
  }
}

/**
 * Opens (or attaches to, e.g. a persistent device left by a previous run) a TUN device: IFF_TUN |
 * IFF_NO_PI, non-blocking, close-on-exec. Throws NetioError (NETIO_NO_TUN_DEVICE, NETIO_PERMISSION_DENIED,
 * NETIO_DEVICE_BUSY, NETIO_BAD_ARGUMENT, NETIO_SYSCALL).
 */
export function openTun(options: TunOptions = {}): Tun {
  return new TunDevice(new (loadNative().Tun)(options));
}

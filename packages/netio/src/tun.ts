import { assertAttachable } from './attach.js';
import { loadNative, type NativeTun } from './load.js';
import { closePollersOn } from './poller.js';
import type { Tun, TunOptions } from './types.js';

class TunDevice implements Tun {
  readonly name: string;
  readonly fd: number;
  readonly vnetHeader: boolean;
  readonly offloads: number;
  // The hot calls go straight to the addon (own properties, no JS frame in between); each function keeps
  // the native instance alive, and throws NETIO_CLOSED after close() like the other methods.
  readonly read: (first: number, count: number) => number;
  readonly write: (first: number, count: number) => number;
  readonly writeInbound: (first: number, count: number, mtu?: number) => number;
  readonly split: (source: number, target: number, headroom: number) => number;
  readonly completeChecksums: (first: number, count: number) => number;
  readonly #native: NativeTun;

  constructor(native: NativeTun) {
    this.#native = native;
    this.name = native.name;
    this.fd = native.fd;
    this.vnetHeader = native.vnetHeader;
    this.offloads = native.offloads;
    const hot = native.bindHot();
    this.read = hot.read;
    this.write = hot.write;
    this.writeInbound = hot.writeInbound;
    this.split = hot.split;
    this.completeChecksums = hot.completeChecksums;
  }

  attach(memory: Uint8Array, meta: Int32Array): void {
    assertAttachable(memory, meta);
    this.#native.attach(memory, meta);
  }

  writeCoalesced(first: number, count: number): number {
    return this.#native.writeCoalesced(first, count);
  }

  coalesceInto(first: number, count: number, target: number): number {
    return this.#native.coalesceInto(first, count, target);
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

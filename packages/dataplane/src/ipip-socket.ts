/**
 * The ipip underlay: a raw IPv4 socket of protocol 4 from the `raw-socket` package. We write the outer
 * header ourselves (IP_HDRINCL) so the source is our underlay address and the packet is exactly what a
 * Linux ipip device sends. raw-socket is callback based: one send per call with the address as a
 * string, one 'message' event per received packet (outer header included). Those per-packet costs are
 * accepted for ipip; the inner packet stays in our pool until its send completes.
 */
import { createRequire } from 'node:module';
import { MSG_ADDR, MSG_LENGTH, MSG_OFFSET, MSG_STRIDE } from '@felt/netio';
import { DIRECTION_TX, DROP_QUEUE_FULL, DROP_SOCKET_ERROR } from './drops.js';
import type { ForwarderState } from './forwarder-state.js';
import { formatIpv4 } from './ipv4.js';
import type { Underlay } from './send.js';

interface RawSocket {
  on(event: 'message', listener: (packet: Buffer, source: string) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    address: string,
    callback: (err: Error | null, bytes: number) => void,
  ): void;
  setOption(level: number, option: number, value: number): void;
  pauseRecv(): void;
  resumeRecv(): void;
  close(): void;
}

interface RawSocketModule {
  createSocket(options: { protocol: number; addressFamily: number; bufferSize: number }): RawSocket;
  AddressFamily: { IPv4: number };
  SocketLevel: { IPPROTO_IP: number };
  SocketOption: { IP_HDRINCL: number };
}

const IPPROTO_IPIP = 4;

export class IpipSocket implements Underlay {
  private readonly socket: RawSocket;
  private readonly state: ForwarderState;
  private readonly packets: Buffer;
  private readonly maxInFlight: number;
  private readonly addressText = new Map<number, string>();
  private inFlight = 0;
  private receivePaused = false;

  /** Opens the socket; `onPacket` gets every received protocol-4 packet (valid until it returns). */
  constructor(state: ForwarderState, onPacket: (packet: Uint8Array) => void, onError: (err: Error) => void) {
    const raw = createRequire(import.meta.url)('raw-socket') as RawSocketModule;
    this.state = state;
    this.packets = Buffer.from(state.memory.buffer, state.memory.byteOffset, state.memory.byteLength);
    this.maxInFlight = state.settings.batchSize;
    this.socket = raw.createSocket({
      protocol: IPPROTO_IPIP,
      addressFamily: raw.AddressFamily.IPv4,
      bufferSize: 65535,
    });
    this.socket.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_HDRINCL, 1);
    this.socket.on('message', (packet) => onPacket(packet));
    this.socket.on('error', onError);
  }

  send(first: number, count: number, slots: Int32Array, slotAt: number): number {
    const { meta, pool, counters } = this.state;
    for (let i = 0; i < count; i++) {
      const record = (first + i) * MSG_STRIDE;
      const length = meta[record + MSG_LENGTH];
      if (this.inFlight >= this.maxInFlight) {
        counters.drop(DROP_QUEUE_FULL, DIRECTION_TX, length);
        meta[record + MSG_LENGTH] = 0;
        continue;
      }
      const slot = slots[slotAt + i];
      slots[slotAt + i] = -1;
      this.inFlight++;
      this.socket.send(
        this.packets,
        meta[record + MSG_OFFSET],
        length,
        this.address(meta[record + MSG_ADDR]),
        (err) => {
          this.inFlight--;
          pool.release(slot);
          if (err) counters.drop(DROP_SOCKET_ERROR, DIRECTION_TX, length);
        },
      );
    }
    return count;
  }

  /** Back-pressure from the TUN side: stop or resume taking packets off the socket. */
  setReceivePaused(paused: boolean): void {
    if (paused === this.receivePaused) return;
    this.receivePaused = paused;
    if (paused) this.socket.pauseRecv();
    else this.socket.resumeRecv();
  }

  close(): void {
    this.socket.close();
  }

  /** Dotted-quad text of an underlay address, computed once per address. */
  private address(addr: number): string {
    let text = this.addressText.get(addr);
    if (text === undefined) {
      text = formatIpv4(addr >>> 0);
      this.addressText.set(addr, text);
    }
    return text;
  }
}

/**
 * The ipip underlay: a raw IPv4 socket of protocol 4 from the `raw-socket` package, driven with the
 * same batch contract as a netio UDP socket (records in, records out) so both loops treat it alike.
 *
 * We use raw-socket's native SocketWrap directly: its send and recv are plain non-blocking sendto and
 * recvfrom calls (an exception on EAGAIN), and its readiness watcher emits 'recvReady'/'sendReady'
 * (paused and resumed with pause()). That avoids the package's JS queue, which sends one packet per
 * event-loop turn and allocates a Buffer per received packet. Datagrams are received straight into
 * pool slots. The watcher lives on libuv's default loop, so this socket works on the main thread only
 * (see forwarder-host.ts).
 *
 * We write the outer header ourselves (IP_HDRINCL): the source is our underlay address and the packet
 * is exactly what a Linux ipip device sends.
 */
import { createRequire } from 'node:module';
import { MSG_ADDR, MSG_LENGTH, MSG_OFFSET, MSG_STRIDE, PollEvents, type Poller } from '@felt/netio';
import type { ForwarderState } from './forwarder-state.js';
import { formatIpv4 } from './ipv4.js';
import { ipv4Source } from './ipv4-packet.js';

interface SocketWrap {
  on(event: 'recvReady' | 'sendReady', listener: () => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  send(buffer: Buffer, offset: number, length: number, address: string, done: (bytes: number) => void): void;
  recv(buffer: Buffer, done: (buffer: Buffer, bytes: number, source: string) => void): void;
  setOption(level: number, option: number, value: number): void;
  pause(pauseRecv: boolean, pauseSend: boolean): void;
  close(): void;
}

interface RawSocketModule {
  SocketLevel: { IPPROTO_IP: number; SOL_SOCKET: number };
  SocketOption: { IP_HDRINCL: number; SO_RCVBUF: number; SO_SNDBUF: number };
}

interface RawNative {
  SocketWrap: new (protocol: number, family: number) => SocketWrap;
}

const IPPROTO_IPIP = 4;
/** Socket buffers like the UDP backends' (the kernel caps them at net.core.[rw]mem_max). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
const FAMILY_IPV4 = 1;
const ignoreSent = (): void => {};

/** raw-socket reports errno only as strerror text. */
function wouldBlock(err: unknown): boolean {
  return err instanceof Error && /temporarily unavailable|would block/i.test(err.message);
}

export class IpipSocket {
  private readonly wrap: SocketWrap;
  private readonly state: ForwarderState;
  /** The whole packet memory as one Buffer (sends pass an offset into it). */
  private readonly packets: Buffer;
  /** Buffers over receive areas, by offset (raw-socket receives into a whole Buffer). */
  private readonly receiveViews = new Map<number, Buffer>();
  private readonly addressText = new Map<number, string>();
  private received = 0;
  private readonly onReceived = (_buffer: Buffer, bytes: number): void => {
    this.received = bytes;
  };

  /** Readiness as a netio Poller: start(READABLE | WRITABLE) resumes those events, stop() pauses both. */
  readonly poller: Poller;

  /** Opens the socket; `onEvent` gets PollEvents bits when it is readable or writable. */
  constructor(state: ForwarderState, onEvent: (events: number) => void, onError: (err: Error) => void) {
    const require = createRequire(import.meta.url);
    const raw = require('raw-socket') as RawSocketModule;
    const native = require('raw-socket/build/Release/raw.node') as RawNative;
    this.state = state;
    this.packets = Buffer.from(state.memory.buffer, state.memory.byteOffset, state.memory.byteLength);
    this.wrap = new native.SocketWrap(IPPROTO_IPIP, FAMILY_IPV4);
    this.wrap.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_HDRINCL, 1);
    this.wrap.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_RCVBUF, SOCKET_BUFFER_BYTES);
    this.wrap.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_SNDBUF, SOCKET_BUFFER_BYTES);
    this.wrap.on('recvReady', () => onEvent(PollEvents.READABLE));
    this.wrap.on('sendReady', () => onEvent(PollEvents.WRITABLE));
    this.wrap.on('error', onError);
    this.wrap.pause(true, true);
    this.poller = {
      start: (events) =>
        this.wrap.pause((events & PollEvents.READABLE) === 0, (events & PollEvents.WRITABLE) === 0),
      stop: () => this.wrap.pause(true, true),
      close: () => {},
    };
  }

  /** Receives into records first..first+count-1 until EAGAIN; returns records filled (netio's contract). */
  recv(first: number, count: number): number {
    const { meta, memory } = this.state;
    for (let i = 0; i < count; i++) {
      const record = (first + i) * MSG_STRIDE;
      const offset = meta[record + MSG_OFFSET];
      this.received = 0;
      try {
        this.wrap.recv(this.receiveView(offset, meta[record + MSG_LENGTH]), this.onReceived);
      } catch (err) {
        if (wouldBlock(err)) return i;
        throw err;
      }
      meta[record + MSG_LENGTH] = this.received;
      meta[record + MSG_ADDR] = this.received >= 20 ? ipv4Source(memory, offset) : 0;
    }
    return count;
  }

  /** Sends records first..first+count-1; returns records consumed (fewer on EAGAIN; -1 = failed). */
  send(first: number, count: number): number {
    const meta = this.state.meta;
    for (let i = 0; i < count; i++) {
      const record = (first + i) * MSG_STRIDE;
      try {
        const address = this.address(meta[record + MSG_ADDR]);
        this.wrap.send(
          this.packets,
          meta[record + MSG_OFFSET],
          meta[record + MSG_LENGTH],
          address,
          ignoreSent,
        );
      } catch (err) {
        if (wouldBlock(err)) return i;
        meta[record + MSG_LENGTH] = -1;
      }
    }
    return count;
  }

  close(): void {
    this.wrap.close();
  }

  private receiveView(offset: number, capacity: number): Buffer {
    let view = this.receiveViews.get(offset);
    if (view === undefined || view.length !== capacity) {
      view = this.packets.subarray(offset, offset + capacity);
      this.receiveViews.set(offset, view);
    }
    return view;
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

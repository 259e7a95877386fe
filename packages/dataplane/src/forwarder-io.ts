/**
 * What the plain and the offload forwarder share: the forwarder state over the worker's shared memory,
 * start/stop with everything closed on failure, the two pollers (TUN fd, underlay socket) and the
 * interest that follows back-pressure: while one direction has packets waiting for its output, its
 * input is not read and the output is watched for writability. A subclass opens its device, socket and
 * loops in open() and hands them to run().
 */
import { createPoller, openUdp, PollEvents, type Poller, type Tun, type UdpSocket } from '@felt/netio';
import { TUNNEL_HEADER_LEN } from './constants.js';
import { Counters } from './counters.js';
import { ForwarderState } from './forwarder-state.js';
import { BufferPool } from './pool.js';
import { RouteTableReader } from './route-table.js';
import type { WorkerInit } from './worker-protocol.js';

/** Batches handled per readiness event before yielding to the event loop (fairness between fds). */
const BATCHES_PER_EVENT = 8;

/** Called once when forwarding stops by itself (e.g. the TUN device was deleted). */
export type FatalHandler = (code: string, message: string) => void;

export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'DATAPLANE_INTERNAL';
}

/** The TUN → wire loop as the pollers drive it. */
export interface SendPump {
  readonly blocked: boolean;
  /** Returns how many records it read. */
  onTunReadable(): number;
  onUnderlayWritable(): void;
  releaseSlots(): void;
}

/** The wire → TUN loop as the pollers drive it. */
export interface ReceivePump<Socket> {
  readonly blocked: boolean;
  /** Returns how many records it read. */
  onUnderlayReadable(socket: Socket): number;
  onTunWritable(): void;
  releaseSlots(): void;
}

export abstract class ForwarderIo<Socket> {
  protected readonly init: WorkerInit;
  protected readonly state: ForwarderState;
  private readonly onFatal: FatalHandler;
  /** Records per read that make a full batch: a shorter read means the fd is drained for now. */
  private readonly fullRead: number;
  /** Device and sockets opened so far, closed in this order on shutdown. */
  private handles: { close(): void }[] = [];
  private socket: Socket | undefined;
  private tunPoller: Poller | undefined;
  private udpPoller: Poller | undefined;
  private sendLoop: SendPump | undefined;
  private receiveLoop: ReceivePump<Socket> | undefined;
  private tunInterest = -1;
  private udpInterest = -1;
  private running = false;

  constructor(init: WorkerInit, onFatal: FatalHandler, fullRead: number) {
    this.init = init;
    this.onFatal = onFatal;
    this.fullRead = fullRead;
    const pool = new BufferPool(
      { slots: init.poolSlots, slotSize: init.slotSize },
      init.poolMemory,
      init.poolControl,
    );
    this.state = new ForwarderState(
      pool,
      new Counters(init.counterMemory),
      new RouteTableReader(init.routeMemory, init.layout),
      init.settings,
    );
  }

  /** Opens the device and the socket and starts forwarding; returns the TUN name. Throws on failure. */
  start(): string {
    try {
      return this.open();
    } catch (err) {
      this.shutdown();
      throw err;
    }
  }

  /** Stops forwarding and closes everything (the TUN device stays when persistent). Idempotent. */
  stop(): void {
    this.shutdown();
  }

  /** Opens device, socket and loops (registering each handle with own() as soon as it is open), then run(). */
  protected abstract open(): string;

  /** Registers an open handle for closing on shutdown, even when open() fails later. */
  protected own<H extends { close(): void }>(handle: H): H {
    this.handles.push(handle);
    return handle;
  }

  /** Opens (and owns) the UDP underlay socket on the configured address and port. */
  protected openUnderlayUdp(bufferBytes: number, gro: boolean): UdpSocket {
    const { workers } = this.init;
    return this.own(
      openUdp({
        family: 4,
        address: this.init.underlayAddress,
        port: this.init.settings.port,
        // Several workers bind the same port. The group picks a datagram's worker by its inner flow, the
        // same for both directions, so each flow stays on one worker (the TUN steers replies to the queue
        // that wrote the flow last); sockets not bound yet fall back to the kernel's hash meanwhile.
        reusePort: workers > 1,
        reusePortSteering:
          workers > 1 ? { innerOffset: TUNNEL_HEADER_LEN[this.init.backend], groupSize: workers } : undefined,
        recvBufferSize: bufferBytes,
        sendBufferSize: bufferBytes,
        gro,
      }),
    );
  }

  /** Starts forwarding with everything open(): `udpPoller` must call onUdpEvent. Returns the TUN name. */
  protected run(
    tun: Tun,
    socket: Socket,
    udpPoller: Poller,
    sendLoop: SendPump,
    receiveLoop: ReceivePump<Socket>,
  ): string {
    this.udpPoller = udpPoller;
    this.socket = socket;
    this.sendLoop = sendLoop;
    this.receiveLoop = receiveLoop;
    this.tunPoller = createPoller(tun.fd, (events) => this.onTunEvent(events));
    this.running = true;
    this.updateInterest();
    return tun.name;
  }

  private onTunEvent(events: number): void {
    if (!this.running) return;
    const sendLoop = this.sendLoop!;
    try {
      if (events & PollEvents.WRITABLE) this.receiveLoop!.onTunWritable();
      for (let i = 0; i < BATCHES_PER_EVENT && !sendLoop.blocked; i++) {
        if (sendLoop.onTunReadable() < this.fullRead) break;
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    this.updateInterest();
  }

  protected onUdpEvent(events: number): void {
    if (!this.running) return;
    const receiveLoop = this.receiveLoop!;
    try {
      const sendLoop = this.sendLoop!;
      if (events & PollEvents.WRITABLE) sendLoop.onUnderlayWritable();
      let received = 0;
      let drained = false;
      for (let i = 0; i < BATCHES_PER_EVENT && !receiveLoop.blocked; i++) {
        const records = receiveLoop.onUnderlayReadable(this.socket!);
        received += records;
        drained = records < this.fullRead;
        if (drained) break;
      }
      // The kernel often answers a TUN write while the write runs (ICMP echo replies, TCP ACKs): once the
      // socket is drained, send those answers now rather than one loop turn (and an epoll wake-up) later.
      if (drained && received > 0 && !sendLoop.blocked) sendLoop.onTunReadable();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.updateInterest();
  }

  /** Watches each fd for exactly what the loops can use now (see the file comment). */
  private updateInterest(): void {
    if (!this.running) return;
    const sendBlocked = this.sendLoop!.blocked;
    const receiveBlocked = this.receiveLoop!.blocked;
    const tunWanted = (sendBlocked ? 0 : PollEvents.READABLE) | (receiveBlocked ? PollEvents.WRITABLE : 0);
    if (tunWanted !== this.tunInterest) {
      this.tunInterest = tunWanted;
      if (tunWanted === 0) this.tunPoller!.stop();
      else this.tunPoller!.start(tunWanted);
    }
    const udpWanted = (receiveBlocked ? 0 : PollEvents.READABLE) | (sendBlocked ? PollEvents.WRITABLE : 0);
    if (udpWanted !== this.udpInterest) {
      this.udpInterest = udpWanted;
      if (udpWanted === 0) this.udpPoller!.stop();
      else this.udpPoller!.start(udpWanted);
    }
  }

  protected shutdown(): void {
    this.running = false;
    this.tunPoller?.close();
    this.udpPoller?.close();
    this.sendLoop?.releaseSlots();
    this.receiveLoop?.releaseSlots();
    for (const handle of this.handles) {
      try {
        handle.close();
      } catch {
        // Closing is best effort: the handle may already be gone with its device.
      }
    }
    this.handles = [];
    this.tunPoller = this.udpPoller = undefined;
    this.sendLoop = this.receiveLoop = undefined;
    this.socket = undefined;
  }

  protected fail(err: unknown): void {
    if (!this.running) return;
    this.shutdown();
    this.onFatal(errorCode(err), err instanceof Error ? err.message : String(err));
  }
}

/**
 * The forwarder: owns the TUN device and the underlay socket and runs both loops on the event loop of
 * the thread that starts it (normally the data-plane worker, see worker.ts). Two pollers (TUN fd,
 * socket fd; for ipip the raw socket's own watcher) drive SendLoop and ReceiveLoop; interest follows back-pressure: while one direction has packets
 * waiting for its output, its input is not read and the output is watched for writability.
 */
import {
  createPoller,
  openTun,
  openUdp,
  PollEvents,
  type Poller,
  type Tun,
  type UdpSocket,
} from '@felt/netio';
import { Counters } from './counters.js';
import { ForwarderState } from './forwarder-state.js';
import { IpipSocket } from './ipip-socket.js';
import { BufferPool } from './pool.js';
import { ReceiveLoop } from './receive.js';
import { RouteTableReader } from './route-table.js';
import { SendLoop, type Underlay } from './send.js';
import type { WorkerInit } from './worker-protocol.js';

/** Batches handled per readiness event before yielding to the event loop (fairness between fds). */
const BATCHES_PER_EVENT = 8;
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** Called once when forwarding stops by itself (e.g. the TUN device was deleted). */
export type FatalHandler = (code: string, message: string) => void;

export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'DATAPLANE_INTERNAL';
}

export class Forwarder {
  private readonly init: WorkerInit;
  private readonly state: ForwarderState;
  private readonly onFatal: FatalHandler;
  private tun: Tun | undefined;
  private udp: UdpSocket | undefined;
  private ipip: IpipSocket | undefined;
  /** The underlay socket either way (netio UDP, or the ipip raw socket with the same contract). */
  private socket: (Underlay & { recv(first: number, count: number): number }) | undefined;
  private tunPoller: Poller | undefined;
  private udpPoller: Poller | undefined;
  private sendLoop: SendLoop | undefined;
  private receiveLoop: ReceiveLoop | undefined;
  private tunInterest = -1;
  private udpInterest = -1;
  private running = false;

  constructor(init: WorkerInit, onFatal: FatalHandler) {
    this.init = init;
    this.onFatal = onFatal;
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

  private open(): string {
    const { init, state } = this;
    const tun = openTun({ name: init.tunName, persist: init.persistTun });
    this.tun = tun;
    tun.attach(state.memory, state.meta);
    let socket: Underlay & { recv(first: number, count: number): number };
    if (init.backend === 'ipip') {
      const ipip = new IpipSocket(
        state,
        (events) => this.onUdpEvent(events),
        (err) => this.fail(err),
      );
      this.ipip = ipip;
      this.udpPoller = ipip.poller;
      socket = ipip;
    } else {
      const udp = openUdp({
        family: 4,
        address: init.underlayAddress,
        port: init.settings.port,
        recvBufferSize: SOCKET_BUFFER_BYTES,
        sendBufferSize: SOCKET_BUFFER_BYTES,
      });
      this.udp = udp;
      socket = udp;
      udp.attach(state.memory, state.meta);
      this.udpPoller = createPoller(udp.fd, (events) => this.onUdpEvent(events));
    }
    this.socket = socket;
    this.sendLoop = new SendLoop(state, tun, socket);
    this.receiveLoop = new ReceiveLoop(state, tun);
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
        if (sendLoop.onTunReadable() < this.state.settings.batchSize) break;
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    this.updateInterest();
  }

  private onUdpEvent(events: number): void {
    if (!this.running) return;
    const receiveLoop = this.receiveLoop!;
    try {
      if (events & PollEvents.WRITABLE) this.sendLoop!.onUnderlayWritable();
      for (let i = 0; i < BATCHES_PER_EVENT && !receiveLoop.blocked; i++) {
        if (receiveLoop.onUnderlayReadable(this.socket!) < this.state.settings.batchSize) break;
      }
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
    {
      const udpWanted = (receiveBlocked ? 0 : PollEvents.READABLE) | (sendBlocked ? PollEvents.WRITABLE : 0);
      if (udpWanted !== this.udpInterest) {
        this.udpInterest = udpWanted;
        if (udpWanted === 0) this.udpPoller!.stop();
        else this.udpPoller!.start(udpWanted);
      }
    }
  }

  private shutdown(): void {
    this.running = false;
    this.tunPoller?.close();
    this.udpPoller?.close();
    this.sendLoop?.releaseSlots();
    this.receiveLoop?.releaseSlots();
    for (const close of [() => this.tun?.close(), () => this.udp?.close(), () => this.ipip?.close()]) {
      try {
        close();
      } catch {
        // Closing is best effort: the handle may already be gone with its device.
      }
    }
    this.tunPoller = this.udpPoller = undefined;
    this.sendLoop = this.receiveLoop = undefined;
    this.tun = this.udp = this.ipip = this.socket = undefined;
  }

  private fail(err: unknown): void {
    if (!this.running) return;
    this.shutdown();
    this.onFatal(errorCode(err), err instanceof Error ? err.message : String(err));
  }
}

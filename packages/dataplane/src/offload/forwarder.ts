/**
 * The forwarder with offloads (udp and vxlan backends): like forwarder.ts, but the TUN is opened with
 * a virtio-net header and TSO/USO (64 KiB super-packets both ways) and the socket with UDP GRO, and the
 * loops are GsoSendLoop and GroReceiveLoop. They work on their own message records (layout.ts), over
 * the same packet pool, counters and route table. Interest follows back-pressure as in forwarder.ts.
 *
 * start() throws DATAPLANE_OFFLOADS_UNAVAILABLE (nothing left open) when the kernel refuses TUN
 * segmentation offloads; the worker then runs the plain Forwarder instead.
 */
import {
  createPoller,
  openTun,
  openUdp,
  PollEvents,
  type Poller,
  type Tun,
  TunOffload,
  type UdpSocket,
} from '@felt/netio';
import { Counters } from '../counters.js';
import type { FatalHandler } from '../forwarder.js';
import { errorCode } from '../forwarder.js';
import { ForwarderState } from '../forwarder-state.js';
import { BufferPool } from '../pool.js';
import { RouteTableReader } from '../route-table.js';
import type { WorkerInit } from '../worker-protocol.js';
import { OFFLOAD_READS, offloadRecordCount, TUN_OFFLOADS } from './layout.js';
import { GroReceiveLoop } from './receive-gro.js';
import { GsoSendLoop } from './send-gso.js';

/** Batches handled per readiness event before yielding to the event loop (fairness between fds). */
const BATCHES_PER_EVENT = 8;
const SOCKET_BUFFER_BYTES = 8 * 1024 * 1024;
const REQUIRED_OFFLOADS = TunOffload.CSUM | TunOffload.TSO4;

export const OFFLOADS_UNAVAILABLE = 'DATAPLANE_OFFLOADS_UNAVAILABLE';

export class OffloadForwarder {
  private readonly init: WorkerInit;
  private readonly state: ForwarderState;
  private readonly meta: Int32Array;
  private readonly onFatal: FatalHandler;
  private tun: Tun | undefined;
  private udp: UdpSocket | undefined;
  private tunPoller: Poller | undefined;
  private udpPoller: Poller | undefined;
  private sendLoop: GsoSendLoop | undefined;
  private receiveLoop: GroReceiveLoop | undefined;
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
    this.meta = new Int32Array(offloadRecordCount(init.settings.batchSize) * 8);
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
    let tun: Tun;
    try {
      tun = openTun({
        name: init.tunName,
        persist: init.persistTun,
        vnetHeader: true,
        offloads: TUN_OFFLOADS,
      });
    } catch (err) {
      // TUNSETOFFLOAD refused (EINVAL): the kernel has no TUN offloads. Anything else is a real error.
      if ((err as { syscall?: string }).syscall === 'ioctl(TUNSETOFFLOAD)') {
        throw unavailable('the kernel refused TUN offloads (TUNSETOFFLOAD)');
      }
      throw err;
    }
    this.tun = tun;
    if ((tun.offloads & REQUIRED_OFFLOADS) !== REQUIRED_OFFLOADS) {
      throw unavailable(`the kernel accepted TUN offloads 0x${tun.offloads.toString(16)} only`);
    }
    tun.attach(state.memory, this.meta);
    const udp = openUdp({
      family: 4,
      address: init.underlayAddress,
      port: init.settings.port,
      recvBufferSize: SOCKET_BUFFER_BYTES,
      sendBufferSize: SOCKET_BUFFER_BYTES,
      gro: true,
    });
    this.udp = udp;
    udp.attach(state.memory, this.meta);
    this.sendLoop = new GsoSendLoop(state, tun, udp, this.meta);
    this.receiveLoop = new GroReceiveLoop(state, tun, this.meta);
    this.udpPoller = createPoller(udp.fd, (events) => this.onUdpEvent(events));
    this.tunPoller = createPoller(tun.fd, (events) => this.onTunEvent(events));
    this.running = true;
    state.counters.setOffloadActive(true);
    this.updateInterest();
    return tun.name;
  }

  private onTunEvent(events: number): void {
    if (!this.running) return;
    const sendLoop = this.sendLoop!;
    try {
      if (events & PollEvents.WRITABLE) this.receiveLoop!.onTunWritable();
      for (let i = 0; i < BATCHES_PER_EVENT && !sendLoop.blocked; i++) {
        if (sendLoop.onTunReadable() < OFFLOAD_READS) break;
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
        if (receiveLoop.onUnderlayReadable(this.udp!) < OFFLOAD_READS) break;
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    this.updateInterest();
  }

  /** Watches each fd for exactly what the loops can use now. */
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

  private shutdown(): void {
    this.running = false;
    this.state.counters.setOffloadActive(false);
    this.tunPoller?.close();
    this.udpPoller?.close();
    this.sendLoop?.releaseSlots();
    this.receiveLoop?.releaseSlots();
    for (const close of [() => this.tun?.close(), () => this.udp?.close()]) {
      try {
        close();
      } catch {
        // Closing is best effort: the handle may already be gone with its device.
      }
    }
    this.tunPoller = this.udpPoller = undefined;
    this.sendLoop = undefined;
    this.receiveLoop = undefined;
    this.tun = undefined;
    this.udp = undefined;
  }

  private fail(err: unknown): void {
    if (!this.running) return;
    this.shutdown();
    this.onFatal(errorCode(err), err instanceof Error ? err.message : String(err));
  }
}

function unavailable(message: string): Error {
  return Object.assign(new Error(`offloads unavailable: ${message}`), { code: OFFLOADS_UNAVAILABLE });
}

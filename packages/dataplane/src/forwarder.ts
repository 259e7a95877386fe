/**
 * The forwarder: owns the TUN device and the underlay socket and runs both loops on the event loop of
 * the thread that starts it (normally the data-plane worker, see worker.ts). Two pollers (TUN fd,
 * socket fd; for ipip the raw socket's own watcher) drive SendLoop and ReceiveLoop; interest follows
 * back-pressure (forwarder-io.ts).
 */
import { createPoller, openTun } from '@felt/netio';
import { type FatalHandler, ForwarderIo } from './forwarder-io.js';
import { IpipSocket } from './ipip-socket.js';
import { ReceiveLoop } from './receive.js';
import { SendLoop, type Underlay } from './send.js';
import type { WorkerInit } from './worker-protocol.js';

const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** The underlay socket either way (netio UDP, or the ipip raw socket with the same contract). */
type UnderlaySocket = Underlay & { recv(first: number, count: number): number };

export class Forwarder extends ForwarderIo<UnderlaySocket> {
  constructor(init: WorkerInit, onFatal: FatalHandler) {
    super(init, onFatal, init.settings.batchSize);
  }

  protected open(): string {
    const { init, state } = this;
    const tun = this.own(
      openTun({ name: init.tunName, persist: init.persistTun, multiQueue: init.workers > 1 }),
    );
    tun.attach(state.memory, state.meta);
    if (init.backend === 'ipip') {
      const ipip = this.own(
        new IpipSocket(
          state,
          (events) => this.onUdpEvent(events),
          (err) => this.fail(err),
        ),
      );
      return this.run(tun, ipip, ipip.poller, new SendLoop(state, tun, ipip), new ReceiveLoop(state, tun));
    }
    const udp = this.openUnderlayUdp(SOCKET_BUFFER_BYTES, false);
    udp.attach(state.memory, state.meta);
    const sendLoop = new SendLoop(state, tun, udp);
    const receiveLoop = new ReceiveLoop(state, tun);
    const udpPoller = createPoller(udp.fd, (events) => this.onUdpEvent(events));
    return this.run(tun, udp, udpPoller, sendLoop, receiveLoop);
  }
}

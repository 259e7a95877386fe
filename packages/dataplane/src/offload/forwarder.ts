/**
 * The forwarder with offloads (udp and vxlan backends): like forwarder.ts, but the TUN is opened with
 * a virtio-net header and TSO/USO (64 KiB super-packets both ways) and the socket with UDP GRO, and the
 * loops are GsoSendLoop and GroReceiveLoop. They work on their own message records (layout.ts), over
 * the same packet pool, counters and route table. Pollers and back-pressure: forwarder-io.ts.
 *
 * start() throws DATAPLANE_OFFLOADS_UNAVAILABLE (nothing left open) when the kernel refuses TUN
 * segmentation offloads; the worker then runs the plain Forwarder instead.
 */
import { createPoller, openTun, type Tun, TunOffload, type UdpSocket } from '@felt/netio';
import { type FatalHandler, ForwarderIo } from '../forwarder-io.js';
import type { WorkerInit } from '../worker-protocol.js';
import { OFFLOAD_READS, offloadRecordCount, TUN_OFFLOADS } from './layout.js';
import { GroReceiveLoop } from './receive-gro.js';
import { GsoSendLoop } from './send-gso.js';

const SOCKET_BUFFER_BYTES = 8 * 1024 * 1024;
const REQUIRED_OFFLOADS = TunOffload.CSUM | TunOffload.TSO4;

export const OFFLOADS_UNAVAILABLE = 'DATAPLANE_OFFLOADS_UNAVAILABLE';

export class OffloadForwarder extends ForwarderIo<UdpSocket> {
  private readonly meta: Int32Array;

  constructor(init: WorkerInit, onFatal: FatalHandler) {
    super(init, onFatal, OFFLOAD_READS);
    this.meta = new Int32Array(offloadRecordCount(init.settings.batchSize) * 8);
  }

  protected open(): string {
    const { init, state } = this;
    let tun: Tun;
    try {
      tun = openTun({
        name: init.tunName,
        persist: init.persistTun,
        multiQueue: init.workers > 1,
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
    this.own(tun);
    if ((tun.offloads & REQUIRED_OFFLOADS) !== REQUIRED_OFFLOADS) {
      throw unavailable(`the kernel accepted TUN offloads 0x${tun.offloads.toString(16)} only`);
    }
    tun.attach(state.memory, this.meta);
    const udp = this.openUnderlayUdp(SOCKET_BUFFER_BYTES, true);
    udp.attach(state.memory, this.meta);
    const sendLoop = new GsoSendLoop(state, tun, udp, this.meta);
    const receiveLoop = new GroReceiveLoop(state, tun, this.meta);
    const udpPoller = createPoller(udp.fd, (events) => this.onUdpEvent(events));
    state.counters.setOffloadActive(true);
    return this.run(tun, udp, udpPoller, sendLoop, receiveLoop);
  }

  protected override shutdown(): void {
    this.state.counters.setOffloadActive(false);
    super.shutdown();
  }
}

function unavailable(message: string): Error {
  return Object.assign(new Error(`offloads unavailable: ${message}`), { code: OFFLOADS_UNAVAILABLE });
}

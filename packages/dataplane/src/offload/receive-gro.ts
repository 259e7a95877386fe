/**
 * Inbound flow with offloads (wire → TUN), in the order packets are processed:
 *   1. every receive record owns a pool slot for the loop's lifetime (room for a 64 KiB datagram);
 *   2. recvmmsg up to OFFLOAD_READS datagrams (one native call); with UDP_GRO the kernel hands over a
 *      run of same-size datagrams from one sender as one, MSG_SEGMENT = their size (the last may be
 *      shorter);
 *   3. per datagram of the run, in place: exactly the plain path's checks (decapsulatePacket: known
 *      sender, tunnel header, inner IPv4, anti-spoofing); the inner packets become consecutive records;
 *   4. inner TCP/UDP checksums in C (Tun.completeChecksums): a partial one (a kernel vxlan peer across
 *      a veth leaves them so) is completed, a wrong one dropped as bad_inner_checksum;
 *   5. Tun.writeCoalesced: consecutive segments of one TCP flow (UDP too with USO) go into the TUN as
 *      one super-packet with a virtio-net header, up to 64 KiB per write. A kernel vxlan peer across a
 *      veth sends its TCP super-packets unsegmented (one 64 KiB datagram): those go in as TSO
 *      super-packets cut at the TUN MTU, so the kernel can still forward them;
 *   6. what the TUN did not take stays pending: the socket is not read until it drains.
 */
import {
  InnerChecksum,
  MSG_ADDR,
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_SEGMENT,
  MSG_STRIDE,
  type Tun,
  type UdpSocket,
} from '@felt/netio';
import { monotonicMs, unixSecondsAt } from '../batch-clock.js';
import {
  INNER_CHECKSUMS_COMPLETED,
  OFFLOAD_GRO_DATAGRAMS,
  OFFLOAD_GRO_SEGMENTS,
  OFFLOAD_TUN_MERGED_PACKETS,
  OFFLOAD_TUN_WRITES,
  OP_DECAP,
} from '../counters.js';
import {
  DIRECTION_RX,
  DROP_BAD_INNER_CHECKSUM,
  DROP_QUEUE_FULL,
  DROP_SOCKET_ERROR,
  DROP_TUN_WRITE_ERROR,
} from '../drops.js';
import type { ForwarderState } from '../forwarder-state.js';
import { decapsulatePacket } from '../receive.js';
import { OFFLOAD_OUT_RECORDS, OFFLOAD_READS, OffloadRecords } from './layout.js';
import { acquireSlots } from './send-gso.js';

export class GroReceiveLoop {
  private readonly state: ForwarderState;
  private readonly tun: Tun;
  private readonly meta: Int32Array;
  private readonly slots: Int32Array;
  private pendingFirst = 0;
  private pendingCount = 0;

  constructor(state: ForwarderState, tun: Tun, meta: Int32Array) {
    this.state = state;
    this.tun = tun;
    this.meta = meta;
    this.slots = acquireSlots(state, OFFLOAD_READS);
  }

  /** Whether inner packets wait for the TUN (then the socket must not be read). */
  get blocked(): boolean {
    return this.pendingCount > 0;
  }

  /** Receives, decapsulates and writes one batch; returns datagrams received (OFFLOAD_READS = full). */
  onUnderlayReadable(udp: UdpSocket): number {
    if (this.pendingCount > 0) return 0;
    const { state, meta } = this;
    const pool = state.pool;
    for (let r = 0; r < OFFLOAD_READS; r++) {
      const record = (OffloadRecords.receives + r) * MSG_STRIDE;
      meta[record + MSG_OFFSET] = pool.slotStart(this.slots[r]);
      meta[record + MSG_LENGTH] = pool.slotSize;
    }
    const started = monotonicMs();
    const count = udp.recv(OffloadRecords.receives, OFFLOAD_READS);
    if (count === 0) return 0;
    state.nowSeconds = unixSecondsAt(started);

    let kept = 0;
    state.routes.beginBatch();
    for (let r = 0; r < count; r++) {
      const record = (OffloadRecords.receives + r) * MSG_STRIDE;
      const length = meta[record + MSG_LENGTH];
      if (length < 0) {
        state.counters.drop(DROP_SOCKET_ERROR, DIRECTION_RX, 0);
        continue;
      }
      state.counters.underlay(DIRECTION_RX, length);
      const start = meta[record + MSG_OFFSET];
      const end = start + length;
      const sender = meta[record + MSG_ADDR];
      const segment = meta[record + MSG_SEGMENT];
      const step = segment > 0 ? segment : Math.max(length, 1);
      if (segment > 0 && segment < length) {
        state.counters.offload(OFFLOAD_GRO_DATAGRAMS, 1);
        state.counters.offload(OFFLOAD_GRO_SEGMENTS, Math.ceil(length / segment));
      }
      // At least once: an empty datagram is a counted drop too.
      for (let at = start; at === start || at < end; at += step) {
        const inner = decapsulatePacket(state, at, Math.min(step, end - at), sender);
        if (inner >= 0 && kept === OFFLOAD_OUT_RECORDS) {
          state.counters.drop(DROP_QUEUE_FULL, DIRECTION_RX, state.resultLength);
        } else if (inner >= 0) {
          const out = (OffloadRecords.writes + kept++) * MSG_STRIDE;
          meta[out + MSG_OFFSET] = inner;
          meta[out + MSG_LENGTH] = state.resultLength;
        }
      }
    }
    state.routes.endBatch();

    if (kept > 0 && this.tun.completeChecksums(OffloadRecords.writes, kept) > 0) kept = this.checkSums(kept);
    this.pendingFirst = 0;
    this.pendingCount = kept;
    this.flush();
    state.counters.batch(OP_DECAP, count, (monotonicMs() - started) / 1000);
    return count;
  }

  /** Counts completed checksums and removes packets with bad ones; returns the packets kept. */
  private checkSums(count: number): number {
    const { state, meta } = this;
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const record = (OffloadRecords.writes + i) * MSG_STRIDE;
      const result = meta[record + MSG_SEGMENT];
      if (result === InnerChecksum.BAD) {
        state.counters.drop(DROP_BAD_INNER_CHECKSUM, DIRECTION_RX, meta[record + MSG_LENGTH]);
        continue;
      }
      if (result === InnerChecksum.COMPLETED) state.counters.offload(INNER_CHECKSUMS_COMPLETED, 1);
      if (kept !== i) {
        const out = (OffloadRecords.writes + kept) * MSG_STRIDE;
        meta[out + MSG_OFFSET] = meta[record + MSG_OFFSET];
        meta[out + MSG_LENGTH] = meta[record + MSG_LENGTH];
      }
      kept++;
    }
    return kept;
  }

  /** The TUN became writable: write what is pending. */
  onTunWritable(): void {
    if (this.pendingCount > 0) this.flush();
  }

  private flush(): void {
    const { state, meta } = this;
    const first = OffloadRecords.writes + this.pendingFirst;
    // Every record passed completeChecksums (bad ones removed): coalescing need not sum them again.
    const consumed = this.tun.writeCoalesced(first, this.pendingCount, state.settings.tunMtu, true);
    for (let i = 0; i < consumed; ) {
      const record = (first + i) * MSG_STRIDE;
      const packets = Math.max(1, meta[record + MSG_SEGMENT]);
      state.counters.offload(OFFLOAD_TUN_WRITES, 1);
      if (packets > 1) state.counters.offload(OFFLOAD_TUN_MERGED_PACKETS, packets);
      for (let j = 0; j < packets; j++) {
        if (meta[record + j * MSG_STRIDE + MSG_LENGTH] < 0)
          state.counters.drop(DROP_TUN_WRITE_ERROR, DIRECTION_RX, 0);
      }
      i += packets;
    }
    this.pendingFirst += consumed;
    this.pendingCount -= consumed;
  }

  /** Returns every slot this loop holds to the pool (on stop). */
  releaseSlots(): void {
    this.state.pool.releaseAll(this.slots);
  }
}

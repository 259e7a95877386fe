/**
 * Inbound flow with offloads (wire → TUN), in the order packets are processed:
 *   1. every receive record owns a pool slot for the loop's lifetime (room for a 64 KiB datagram);
 *   2. recvmmsg up to OFFLOAD_READS datagrams (one native call); with UDP_GRO the kernel hands over a
 *      run of same-size datagrams from one sender as one, MSG_SEGMENT = their size (the last may be
 *      shorter);
 *   3. per datagram of the run, in place: exactly the plain path's checks (decapsulatePacket: known
 *      sender, tunnel header, inner IPv4, anti-spoofing); the inner packets become consecutive records;
 *   4. Tun.writeInbound, one native call for checksums and the TUN writes:
 *      - inner packets of a datagram that came with a segment size are COVERED: GRO merges only
 *        datagrams whose non-zero outer UDP checksum the kernel verified, and a UDP_SEGMENT send always
 *        carries one (or never left this host), so their bytes are the sender's and are not summed;
 *      - any other (a kernel vxlan peer sends outer checksum 0) is CHECKed in C: a partial checksum (a
 *        kernel peer across a veth leaves them so) is completed, a wrong one dropped as
 *        bad_inner_checksum;
 *      - consecutive segments of one TCP flow (UDP too with USO) go into the TUN as one super-packet
 *        with a virtio-net header, up to 64 KiB per write; lone ones with NEEDS_CSUM, so the kernel does
 *        not sum them either. A kernel vxlan peer across a veth sends its TCP super-packets unsegmented
 *        (one 64 KiB datagram): those go in as TSO super-packets cut at the TUN MTU, so the kernel can
 *        still forward them;
 *   5. what the TUN did not take stays pending: the socket is not read until it drains. When a batch
 *      holds more inner packets than there are write records, steps 3-4 repeat on the rest.
 */
import {
  Inbound,
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
import { DIRECTION_RX, DROP_BAD_INNER_CHECKSUM, DROP_SOCKET_ERROR, DROP_TUN_WRITE_ERROR } from '../drops.js';
import type { ForwarderState } from '../forwarder-state.js';
import { decapsulatePacket } from '../receive.js';
import { OFFLOAD_OUT_RECORDS, OFFLOAD_READS, OffloadRecords } from './layout.js';
import { acquireSlots } from './loop-slots.js';

export class GroReceiveLoop {
  private readonly state: ForwarderState;
  private readonly tun: Tun;
  private readonly meta: Int32Array;
  private readonly slots: Int32Array;
  /** Datagrams of the last recv, the next one to decapsulate, and where in it (-1: not started). */
  private received = 0;
  private nextDatagram = 0;
  private nextAt = -1;
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
    return this.pendingCount > 0 || this.nextDatagram < this.received;
  }

  /** Receives, decapsulates and writes one batch; returns datagrams received (OFFLOAD_READS = full). */
  onUnderlayReadable(udp: UdpSocket): number {
    if (this.blocked) return 0;
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
    this.received = count;
    this.nextDatagram = 0;
    this.nextAt = -1;
    this.deliver();
    state.counters.batch(OP_DECAP, count, (monotonicMs() - started) / 1000);
    return count;
  }

  /**
   * Decapsulates the received datagrams into the write records and writes them, as often as the records
   * fill (64 datagrams of up to 64 small segments each are more inner packets than records); stops
   * when the TUN would block, to go on from there once it drains.
   */
  private deliver(): void {
    while (this.pendingCount === 0 && this.nextDatagram < this.received) {
      this.pendingFirst = 0;
      this.pendingCount = this.decapsulate();
      this.flush();
    }
  }

  /** Fills the write records from the next datagrams (stops when full); returns the records filled. */
  private decapsulate(): number {
    const { state, meta } = this;
    let kept = 0;
    state.routes.beginBatch();
    for (; this.nextDatagram < this.received; this.nextDatagram++, this.nextAt = -1) {
      const record = (OffloadRecords.receives + this.nextDatagram) * MSG_STRIDE;
      const length = meta[record + MSG_LENGTH];
      const start = meta[record + MSG_OFFSET];
      const segment = meta[record + MSG_SEGMENT];
      if (this.nextAt < 0) {
        if (length < 0) {
          state.counters.drop(DROP_SOCKET_ERROR, DIRECTION_RX, 0);
          continue;
        }
        state.counters.underlay(DIRECTION_RX, length);
        if (segment > 0 && segment < length) {
          state.counters.offload(OFFLOAD_GRO_DATAGRAMS, 1);
          state.counters.offload(OFFLOAD_GRO_SEGMENTS, Math.ceil(length / segment));
        }
        this.nextAt = start;
      }
      const end = start + length;
      const sender = meta[record + MSG_ADDR];
      const step = segment > 0 ? segment : Math.max(length, 1);
      const integrity = segment > 0 ? Inbound.COVERED : Inbound.CHECK;
      // At least once: an empty datagram is a counted drop too.
      for (let at = this.nextAt; at === start || at < end; at += step) {
        if (kept === OFFLOAD_OUT_RECORDS) {
          this.nextAt = at;
          state.routes.endBatch();
          return kept;
        }
        const inner = decapsulatePacket(state, at, Math.min(step, end - at), sender);
        if (inner >= 0) {
          const out = (OffloadRecords.writes + kept++) * MSG_STRIDE;
          meta[out + MSG_OFFSET] = inner;
          meta[out + MSG_LENGTH] = state.resultLength;
          meta[out + MSG_ADDR] = 0;
          meta[out + MSG_SEGMENT] = integrity;
        }
      }
    }
    state.routes.endBatch();
    return kept;
  }

  /** The TUN became writable: write what is pending. */
  onTunWritable(): void {
    if (this.pendingCount > 0) this.flush();
    this.deliver();
  }

  private flush(): void {
    const { state, meta } = this;
    const first = OffloadRecords.writes + this.pendingFirst;
    const consumed = this.tun.writeInbound(first, this.pendingCount, state.settings.tunMtu);
    for (let i = 0; i < consumed; ) {
      const record = (first + i) * MSG_STRIDE;
      const packets = meta[record + MSG_SEGMENT];
      if (packets === 0) {
        state.counters.drop(DROP_BAD_INNER_CHECKSUM, DIRECTION_RX, meta[record + MSG_LENGTH]);
        i++;
        continue;
      }
      state.counters.offload(OFFLOAD_TUN_WRITES, 1);
      if (packets > 1) state.counters.offload(OFFLOAD_TUN_MERGED_PACKETS, packets);
      for (let j = 0; j < packets; j++) {
        const member = record + j * MSG_STRIDE;
        if (meta[member + MSG_ADDR] === InnerChecksum.COMPLETED)
          state.counters.offload(INNER_CHECKSUMS_COMPLETED, 1);
        if (meta[member + MSG_LENGTH] < 0) state.counters.drop(DROP_TUN_WRITE_ERROR, DIRECTION_RX, 0);
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

/**
 * Outbound flow with offloads (TUN → wire), in the order packets are processed:
 *   1. every read record owns a pool slot; the read lands at slot + HEADROOM − 10 so the virtio-net
 *      header sits in front and the IP packet at the aligned offset;
 *   2. read up to OFFLOAD_READS packets of up to 64 KiB (one native call);
 *   3. per packet, by its virtio-net header:
 *      - not GSO: finish a NEEDS_CSUM checksum in place (Tun.split, headroom unused), then exactly the
 *        plain path's decisions (encapsulatePacket: route, TTL, MTU/DF, ICMP errors, tunnel header);
 *      - GSO: the same decisions once for the whole super-packet (routeSuperPacket; no MTU check: the
 *        kernel sized the segments by the TUN MTU), then Tun.split into the read's target slot with the
 *        tunnel header's size as headroom, so segment i's encapsulated bytes start exactly where
 *        segment i−1's end; the tunnel header is written in place in front of each segment;
 *   4. each run of segments becomes UDP messages of at most GSO_MAX_SEGMENTS segments and
 *      GSO_MAX_BYTES bytes, with MSG_SEGMENT = the stride (UDP_SEGMENT: the kernel cuts the run into
 *      datagrams, all of the stride's size but the last);
 *   5. ICMP errors into the TUN; one sendmmsg for the batch;
 *   6. what the socket did not take stays pending (back-pressure as in send.ts). A GSO message the
 *      kernel refuses (EIO: no checksum offload on the egress device; EINVAL) is resent as single
 *      datagrams, counted, and GSO stays off for this socket.
 */
import {
  MSG_ADDR,
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_PORT,
  MSG_SEGMENT,
  MSG_STRIDE,
  type Tun,
  type UdpSocket,
  VNET_HDR_LEN,
} from '@felt/netio';
import { DataplaneError } from '../api.js';
import { monotonicMs } from '../batch-clock.js';
import { encodeVxlan, VXLAN_OVERHEAD } from '../codec/vxlan.js';
import {
  OFFLOAD_GSO_FALLBACKS,
  OFFLOAD_GSO_SEGMENTS,
  OFFLOAD_GSO_SENDS,
  OFFLOAD_SUPER_PACKETS,
  OFFLOAD_SUPER_SEGMENTS,
  OP_ENCAP,
  PEER_TX_BYTES,
  PEER_TX_PACKETS,
} from '../counters.js';
import {
  DIRECTION_TX,
  DROP_BAD_SUPER_PACKET,
  DROP_MALFORMED,
  DROP_NO_ROUTE,
  DROP_OWN_SUBNET,
  DROP_QUEUE_FULL,
  DROP_SOCKET_ERROR,
  DROP_TTL_EXCEEDED,
  reasonOf,
} from '../drops.js';
import { BACKEND_VXLAN, type ForwarderState } from '../forwarder-state.js';
import {
  ICMP_CODE_NET_UNREACHABLE,
  ICMP_CODE_TTL_EXCEEDED,
  ICMP_DEST_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
} from '../icmp.js';
import { decrementTtl } from '../ipv4.js';
import { checkIpv4Packet, ipv4Destination } from '../ipv4-packet.js';
import { encapsulatePacket } from '../send.js';
import {
  GSO_MAX_BYTES,
  GSO_MAX_SEGMENTS,
  OFFLOAD_OUT_RECORDS,
  OFFLOAD_READS,
  OffloadRecords,
} from './layout.js';

const VNET_NEEDS_CSUM = 1;
const EIO = 5;
const EINVAL = 22;

/**
 * The plain path's per-packet decisions for a GSO super-packet at memory[ip, ip+length): IPv4, not our
 * own subnet, a route (ICMP net unreachable otherwise), TTL (ICMP time exceeded), then the TTL
 * decrement (split copies the IP header into every segment). Returns the peer index (its fields in
 * state.routes), or -1 after counting the drop.
 */
export function routeSuperPacket(state: ForwarderState, ip: number, length: number): number {
  const buf = state.memory;
  const s = state.settings;
  const total = checkIpv4Packet(buf, ip, length);
  if (total < 0) return drop(state, reasonOf(total), length);
  const dst = ipv4Destination(buf, ip);
  if ((dst & s.ownMask) === s.ownBase) return drop(state, DROP_OWN_SUBNET, total);
  const peer = state.routes.lookup(dst);
  if (peer < 0) {
    state.queueIcmpError(ip, total, ICMP_DEST_UNREACHABLE, ICMP_CODE_NET_UNREACHABLE, 0, s.networkBase);
    return drop(state, DROP_NO_ROUTE, total);
  }
  if (buf[ip + 8] <= 1) {
    state.queueIcmpError(
      ip,
      total,
      ICMP_TIME_EXCEEDED,
      ICMP_CODE_TTL_EXCEEDED,
      0,
      state.routes.peerSubnetBase,
    );
    return drop(state, DROP_TTL_EXCEEDED, total);
  }
  decrementTtl(buf, ip);
  return peer;
}

function drop(state: ForwarderState, reason: number, bytes: number): number {
  state.counters.drop(reason, DIRECTION_TX, bytes);
  return -1;
}

export class GsoSendLoop {
  private readonly state: ForwarderState;
  private readonly tun: Tun;
  private readonly udp: UdpSocket;
  /** The offload loops' message records (attached to the TUN and the socket). */
  private readonly meta: Int32Array;
  /** Tunnel header bytes in front of each inner packet (vxlan 22, udp 0). */
  private readonly headroom: number;
  /** Pool slots held for the loop's lifetime: one to read into and one to split into, per read. */
  private readonly readSlots: Int32Array;
  private readonly targetSlots: Int32Array;
  /** Bytes of each pending message as built (its record's length becomes the send result). */
  private readonly messageBytes = new Int32Array(OFFLOAD_OUT_RECORDS);
  private messages = 0;
  private pendingFirst = 0;
  private pendingCount = 0;
  /** Set once the kernel refused a GSO send: every segment goes out as its own datagram. */
  private gsoDisabled: boolean;

  constructor(state: ForwarderState, tun: Tun, udp: UdpSocket, meta: Int32Array) {
    this.state = state;
    this.tun = tun;
    this.udp = udp;
    this.meta = meta;
    this.headroom = state.settings.backend === BACKEND_VXLAN ? VXLAN_OVERHEAD : 0;
    this.gsoDisabled = !udp.gsoSupported;
    this.readSlots = acquireSlots(state, OFFLOAD_READS);
    this.targetSlots = acquireSlots(state, OFFLOAD_READS);
  }

  /** Whether messages wait for the socket (then the TUN must not be read). */
  get blocked(): boolean {
    return this.pendingCount > 0;
  }

  /** Reads, segments, encapsulates and sends one batch; returns the TUN reads (OFFLOAD_READS = full). */
  onTunReadable(): number {
    if (this.pendingCount > 0) return 0;
    const { state, meta } = this;
    const pool = state.pool;
    for (let r = 0; r < OFFLOAD_READS; r++) {
      const record = (OffloadRecords.reads + r) * MSG_STRIDE;
      meta[record + MSG_OFFSET] = pool.packetStart(this.readSlots[r]) - VNET_HDR_LEN;
      meta[record + MSG_LENGTH] = pool.capacity + VNET_HDR_LEN;
    }
    const started = monotonicMs();
    const count = this.tun.read(OffloadRecords.reads, OFFLOAD_READS);
    if (count === 0) return 0;

    this.messages = 0;
    state.routes.beginBatch();
    for (let r = 0; r < count; r++) this.forward(r);
    state.routes.endBatch();

    state.flushIcmp(this.icmpWriter);
    this.pendingFirst = 0;
    this.pendingCount = this.messages;
    this.flush();
    state.counters.batch(OP_ENCAP, count, (monotonicMs() - started) / 1000);
    return count;
  }

  /** The socket became writable: send what is pending. */
  onUnderlayWritable(): void {
    if (this.pendingCount > 0) this.flush();
  }

  /** Handles TUN read r: one packet or super-packet into zero or more messages. */
  private forward(r: number): void {
    const { state, meta } = this;
    const buf = state.memory;
    const readRecord = OffloadRecords.reads + r;
    const length = meta[readRecord * MSG_STRIDE + MSG_LENGTH];
    if (length <= VNET_HDR_LEN) {
      if (length >= 0) state.counters.drop(DROP_MALFORMED, DIRECTION_TX, Math.max(length, 0));
      return;
    }
    const header = meta[readRecord * MSG_STRIDE + MSG_OFFSET];
    const ip = header + VNET_HDR_LEN;
    const ipLength = length - VNET_HDR_LEN;
    const targetRecord = OffloadRecords.targets + r;
    const target = targetRecord * MSG_STRIDE;
    meta[target + MSG_OFFSET] = state.pool.slotStart(this.targetSlots[r]);
    meta[target + MSG_LENGTH] = state.pool.slotSize;

    if (buf[header + 1] === 0) {
      // Not GSO: a locally generated packet's checksum is only partial (the TUN offers CSUM).
      if ((buf[header] & VNET_NEEDS_CSUM) !== 0 && this.tun.split(readRecord, targetRecord, 0) < 0) {
        state.counters.drop(DROP_BAD_SUPER_PACKET, DIRECTION_TX, ipLength);
        return;
      }
      const start = encapsulatePacket(state, ip, ipLength);
      if (start >= 0) this.addMessage(start, state.resultLength, 0);
      return;
    }

    state.counters.offload(OFFLOAD_SUPER_PACKETS, 1);
    const peer = routeSuperPacket(state, ip, ipLength);
    if (peer < 0) return;
    const segments = this.tun.split(readRecord, targetRecord, this.headroom);
    const perMessage = this.segmentsPerMessage(meta[target + MSG_SEGMENT]);
    if (segments <= 0 || this.messages + Math.ceil(segments / perMessage) > OFFLOAD_OUT_RECORDS) {
      state.counters.drop(segments <= 0 ? DROP_BAD_SUPER_PACKET : DROP_QUEUE_FULL, DIRECTION_TX, ipLength);
      return;
    }
    const base = meta[target + MSG_OFFSET];
    const stride = meta[target + MSG_SEGMENT];
    const end = base + meta[target + MSG_LENGTH];
    if (this.headroom > 0) {
      const s = state.settings;
      const routes = state.routes;
      for (let i = 0; i < segments; i++) {
        const inner = base + i * stride + this.headroom;
        encodeVxlan(buf, inner, s.vni, routes.peerMacHi, routes.peerMacLo, s.ourMacHi, s.ourMacLo);
      }
    }
    state.counters.offload(OFFLOAD_SUPER_SEGMENTS, segments);
    const counters = state.counters.slots;
    const peerBase = state.counters.peerBase(peer);
    counters[peerBase + PEER_TX_PACKETS] += segments;
    counters[peerBase + PEER_TX_BYTES] += end - base - segments * this.headroom;
    for (let i = 0; i < segments; i += perMessage) {
      const start = base + i * stride;
      const stop = i + perMessage < segments ? start + perMessage * stride : end;
      this.addMessage(start, stop - start, stop - start > stride ? stride : 0);
    }
  }

  /** Segments of `stride` bytes one UDP_SEGMENT message may carry (1 with GSO off). */
  private segmentsPerMessage(stride: number): number {
    if (this.gsoDisabled || stride <= 0) return 1;
    return Math.max(1, Math.min(GSO_MAX_SEGMENTS, Math.floor(GSO_MAX_BYTES / stride)));
  }

  private addMessage(start: number, length: number, segment: number): void {
    const index = this.messages++;
    const record = (OffloadRecords.sends + index) * MSG_STRIDE;
    const meta = this.meta;
    meta[record + MSG_OFFSET] = start;
    meta[record + MSG_LENGTH] = length;
    meta[record + MSG_ADDR] = this.state.routes.peerAddr;
    meta[record + MSG_PORT] = this.state.settings.port;
    meta[record + MSG_SEGMENT] = segment;
    this.messageBytes[index] = length;
  }

  private flush(): void {
    const { state, meta } = this;
    while (this.pendingCount > 0) {
      const count = this.pendingCount;
      const first = OffloadRecords.sends + this.pendingFirst;
      const consumed = this.udp.send(first, count);
      for (let i = 0; i < consumed; i++) {
        const record = (first + i) * MSG_STRIDE;
        const result = meta[record + MSG_LENGTH];
        const segment = meta[record + MSG_SEGMENT];
        if (result >= 0) {
          state.counters.underlay(DIRECTION_TX, result);
          if (segment > 0) {
            state.counters.offload(OFFLOAD_GSO_SENDS, 1);
            state.counters.offload(OFFLOAD_GSO_SEGMENTS, Math.ceil(result / segment));
          }
        } else if (segment > 0 && (result === -EIO || result === -EINVAL)) {
          this.resendUnsegmented(this.pendingFirst + i, record);
        } else {
          state.counters.drop(DROP_SOCKET_ERROR, DIRECTION_TX, 0);
        }
      }
      this.pendingFirst += consumed;
      this.pendingCount -= consumed;
      // Fewer consumed: the socket would block (wait for writable). All consumed: done, unless a
      // fallback appended single datagrams behind them.
      if (consumed < count) break;
    }
  }

  /** Appends message `index` (refused as GSO) as one message per segment, and turns GSO off. */
  private resendUnsegmented(index: number, record: number): void {
    const { state, meta } = this;
    if (!this.gsoDisabled) {
      this.gsoDisabled = true;
      state.counters.offload(OFFLOAD_GSO_FALLBACKS, 1);
    }
    const stride = meta[record + MSG_SEGMENT];
    const start = meta[record + MSG_OFFSET];
    const end = start + this.messageBytes[index];
    const segments = Math.ceil((end - start) / stride);
    if (this.messages + segments > OFFLOAD_OUT_RECORDS) {
      state.counters.drop(DROP_QUEUE_FULL, DIRECTION_TX, end - start);
      return;
    }
    const addr = meta[record + MSG_ADDR];
    for (let at = start; at < end; at += stride) {
      const out = (OffloadRecords.sends + this.messages) * MSG_STRIDE;
      meta[out + MSG_OFFSET] = at;
      meta[out + MSG_LENGTH] = Math.min(stride, end - at);
      meta[out + MSG_ADDR] = addr;
      meta[out + MSG_PORT] = meta[record + MSG_PORT];
      meta[out + MSG_SEGMENT] = 0;
      this.messageBytes[this.messages++] = meta[out + MSG_LENGTH];
      this.pendingCount++;
    }
  }

  /** ICMP errors go into the TUN through writeCoalesced: plain writes would lack the virtio header. */
  private readonly icmpWriter = {
    write: (first: number, count: number): number => {
      const shared = this.state.meta;
      for (let i = 0; i < count; i++) {
        const from = (first + i) * MSG_STRIDE;
        const to = (OffloadRecords.icmp + i) * MSG_STRIDE;
        this.meta[to + MSG_OFFSET] = shared[from + MSG_OFFSET];
        this.meta[to + MSG_LENGTH] = shared[from + MSG_LENGTH];
      }
      return this.tun.writeCoalesced(OffloadRecords.icmp, count);
    },
  };

  /** Returns every slot this loop holds to the pool (on stop). */
  releaseSlots(): void {
    this.state.pool.releaseAll(this.readSlots);
    this.state.pool.releaseAll(this.targetSlots);
  }
}

/** Pool slots for a loop's lifetime; a pool too small for the offload loops cannot start. */
export function acquireSlots(state: ForwarderState, count: number): Int32Array {
  const slots = state.pool.acquireMany(count);
  if (slots) return slots;
  throw new DataplaneError('DATAPLANE_START_FAILED', 'the buffer pool is too small for the offload loops');
}

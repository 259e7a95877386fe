/**
 * Outbound flow with offloads (TUN → wire), in the order packets are processed:
 *   1. the loop owns OFFLOAD_READS pool slots; a batch's first reads land one per slot at slot +
 *      HEADROOM − 10, so the virtio-net header sits in front and the IP packet at the aligned offset;
 *   2. read up to OFFLOAD_READS packets of up to 64 KiB (one native call); while every read found a
 *      packet, read again (up to OFFLOAD_BATCH_READS in all) behind each plain packet whose slot still
 *      has room for a 64 KiB read: small packets pack into the slots, so a batch of them is large;
 *   3. the partial (NEEDS_CSUM) TCP/UDP checksums of the plain packets among them are finished in one
 *      native call (Tun.completeChecksums: the field holds the pseudo-header sum); any other NEEDS_CSUM
 *      packet is finished alone from its virtio-net header (Tun.split, headroom unused);
 *   4. per packet, by its virtio-net header:
 *      - not GSO: exactly the plain path's decisions (encapsulatePacket: route, TTL, MTU/DF, ICMP
 *        errors, tunnel header);
 *        consecutive such packets to one peer with equal encapsulated sizes (the last may be shorter)
 *        are gathered into one UDP_SEGMENT message (records after the first: SEND_CONTINUES), so the
 *        kernel moves one skb for the run on both hosts instead of one per packet;
 *      - GSO: the same decisions once for the whole super-packet (routeSuperPacket; no MTU check: the
 *        kernel sized the segments by the TUN MTU), then Tun.split into its slot's target slot with the
 *        tunnel header's size as headroom, so segment i's encapsulated bytes start exactly where
 *        segment i−1's end; the tunnel header is written in place in front of each segment;
 *   5. each run of segments becomes UDP messages of at most GSO_MAX_SEGMENTS segments and
 *      GSO_MAX_BYTES bytes, with MSG_SEGMENT = the stride (UDP_SEGMENT: the kernel cuts the run into
 *      datagrams, all of the stride's size but the last);
 *   6. ICMP errors into the TUN; one sendmmsg for the batch;
 *   7. what the socket did not take stays pending (back-pressure as in send.ts). A GSO message the
 *      kernel refuses (EIO: no checksum offload on the egress device; EINVAL) is resent as single
 *      datagrams (each record cut at the message's segment size), counted, and GSO stays off for this
 *      socket (no more gathering either).
 */
import {
  InnerChecksum,
  MSG_ADDR,
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_PORT,
  MSG_SEGMENT,
  MSG_STRIDE,
  SEND_CONTINUES,
  type Tun,
  type UdpSocket,
  VNET_HDR_LEN,
} from '@felt/netio';
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
  OFFLOAD_BATCH_READS,
  OFFLOAD_OUT_RECORDS,
  OFFLOAD_READS,
  OffloadRecords,
  TUN_READ_ROOM,
} from './layout.js';
import { acquireSlots } from './loop-slots.js';

const VNET_NEEDS_CSUM = 1;
const PROTOCOL_TCP = 6;
const PROTOCOL_UDP = 17;
/** Where the checksum field sits in a TCP and a UDP header (virtio-net csum_offset). */
const TCP_CHECKSUM_AT = 16;
const UDP_CHECKSUM_AT = 6;
/**
 * Bytes between a packet and the next read into the same slot (after 8-byte alignment): room for the
 * next packet's tunnel header (VXLAN's 22 bytes is the largest), which also holds its virtio-net header.
 */
const READ_GAP = 24;
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
  /**
   * Pool slots held for the loop's lifetime: OFFLOAD_READS to read into, and as many to split into (a
   * slot holds at most one super-packet: nothing is read behind one).
   */
  private readonly readSlots: Int32Array;
  private readonly targetSlots: Int32Array;
  /** Per read of the batch: the index (into readSlots and targetSlots) of the slot it landed in. */
  private readonly slotOfRead = new Int32Array(OFFLOAD_BATCH_READS);
  /** Per read of the batch: 1 when its partial checksum is still to finish alone (Tun.split). */
  private readonly finishAlone = new Uint8Array(OFFLOAD_BATCH_READS);
  /** Read index of each record passed to completeChecksums. */
  private readonly checksumReads = new Int32Array(OFFLOAD_BATCH_READS);
  /** Bytes of each pending send record as built (its length becomes the send result). */
  private readonly recordBytes = new Int32Array(OFFLOAD_OUT_RECORDS);
  /** Send records used in this batch (a message is one record, or several with SEND_CONTINUES). */
  private records = 0;
  /** The head record of the last message while single packets may still join it (gather), else -1. */
  private gatherHead = -1;
  /** The open gather's segment size, packets and bytes. */
  private gatherSize = 0;
  private gatherCount = 0;
  private gatherBytes = 0;
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

  /**
   * Reads, segments, encapsulates and sends one batch; returns the TUN reads (fewer than OFFLOAD_READS:
   * the TUN is drained for now).
   */
  onTunReadable(): number {
    if (this.pendingCount > 0) return 0;
    const state = this.state;
    const started = monotonicMs();
    const count = this.readBatch();
    if (count === 0) return 0;

    this.completeChecksums(count);
    this.records = 0;
    this.gatherHead = -1;
    state.routes.beginBatch();
    for (let r = 0; r < count; r++) this.forward(r);
    state.routes.endBatch();

    state.flushIcmp(this.icmpWriter);
    this.pendingFirst = 0;
    this.pendingCount = this.records;
    this.flush();
    state.counters.batch(OP_ENCAP, count, (monotonicMs() - started) / 1000);
    return count;
  }

  /** The socket became writable: send what is pending. */
  onUnderlayWritable(): void {
    if (this.pendingCount > 0) this.flush();
  }

  /**
   * One packet per slot with the whole slot as room; then, while every read so far found a packet, one
   * more behind each plain packet read in the last round whose slot still has TUN_READ_ROOM after it
   * (READ_GAP in front), up to OFFLOAD_BATCH_READS. Returns the reads (slotOfRead says where each went).
   */
  private readBatch(): number {
    const { meta, slotOfRead, readSlots } = this;
    const pool = this.state.pool;
    const buf = this.state.memory;
    for (let j = 0; j < OFFLOAD_READS; j++) {
      const record = (OffloadRecords.reads + j) * MSG_STRIDE;
      meta[record + MSG_OFFSET] = pool.packetStart(readSlots[j]) - VNET_HDR_LEN;
      meta[record + MSG_LENGTH] = pool.capacity + VNET_HDR_LEN;
      slotOfRead[j] = j;
    }
    let count = this.tun.read(OffloadRecords.reads, OFFLOAD_READS);
    let armed = OFFLOAD_READS;
    let roundStart = 0;
    while (count === armed && count < OFFLOAD_BATCH_READS) {
      let next = count;
      for (let r = roundStart; r < count && next < OFFLOAD_BATCH_READS; r++) {
        const record = (OffloadRecords.reads + r) * MSG_STRIDE;
        const length = meta[record + MSG_LENGTH];
        const header = meta[record + MSG_OFFSET];
        // Nothing behind a super-packet (its slot's split target is taken) or a failed read.
        if (length <= VNET_HDR_LEN || buf[header + 1] !== 0) continue;
        const at = ((header + length + 7) & ~7) + READ_GAP - VNET_HDR_LEN;
        const room = pool.slotStart(readSlots[slotOfRead[r]]) + pool.slotSize - at;
        if (room < TUN_READ_ROOM) continue;
        const out = (OffloadRecords.reads + next) * MSG_STRIDE;
        meta[out + MSG_OFFSET] = at;
        meta[out + MSG_LENGTH] = room;
        slotOfRead[next++] = slotOfRead[r];
      }
      if (next === count) break;
      roundStart = count;
      armed = next;
      count += this.tun.read(OffloadRecords.reads + count, next - count);
    }
    return count;
  }

  /**
   * Finishes the partial checksums of the batch's plain (not GSO) packets: those of TCP or UDP right
   * after the IPv4 header in one Tun.completeChecksums call over the split-target records (free until
   * forward() uses them), marking for Tun.split any packet it cannot finish and every other NEEDS_CSUM
   * packet. Malformed packets are left to encapsulatePacket's checks.
   */
  private completeChecksums(count: number): void {
    const { meta, finishAlone, checksumReads } = this;
    const buf = this.state.memory;
    let records = 0;
    for (let r = 0; r < count; r++) {
      finishAlone[r] = 0;
      const read = (OffloadRecords.reads + r) * MSG_STRIDE;
      const length = meta[read + MSG_LENGTH];
      const header = meta[read + MSG_OFFSET];
      if (length <= VNET_HDR_LEN || buf[header + 1] !== 0 || (buf[header] & VNET_NEEDS_CSUM) === 0) continue;
      const ip = header + VNET_HDR_LEN;
      const protocol = buf[ip + 9];
      const csumStart = buf[header + 6] | (buf[header + 7] << 8);
      const csumOffset = buf[header + 8] | (buf[header + 9] << 8);
      const field =
        protocol === PROTOCOL_TCP ? TCP_CHECKSUM_AT : protocol === PROTOCOL_UDP ? UDP_CHECKSUM_AT : -1;
      if (buf[ip] >> 4 !== 4 || csumStart !== (buf[ip] & 15) * 4 || csumOffset !== field) {
        finishAlone[r] = 1;
        continue;
      }
      const record = (OffloadRecords.targets + records) * MSG_STRIDE;
      meta[record + MSG_OFFSET] = ip;
      meta[record + MSG_LENGTH] = length - VNET_HDR_LEN;
      checksumReads[records++] = r;
    }
    if (records === 0 || this.tun.completeChecksums(OffloadRecords.targets, records) === 0) return;
    for (let i = 0; i < records; i++) {
      const result = meta[(OffloadRecords.targets + i) * MSG_STRIDE + MSG_SEGMENT];
      if (result === InnerChecksum.BAD) finishAlone[checksumReads[i]] = 1;
    }
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
    meta[target + MSG_OFFSET] = state.pool.slotStart(this.targetSlots[this.slotOfRead[r]]);
    meta[target + MSG_LENGTH] = state.pool.slotSize;

    if (buf[header + 1] === 0) {
      // Not GSO: a partial checksum completeChecksums did not finish (the TUN offers CSUM).
      if (this.finishAlone[r] === 1 && this.tun.split(readRecord, targetRecord, 0) < 0) {
        state.counters.drop(DROP_BAD_SUPER_PACKET, DIRECTION_TX, ipLength);
        return;
      }
      const start = encapsulatePacket(state, ip, ipLength);
      if (start >= 0) this.addPacket(start, state.resultLength);
      return;
    }

    state.counters.offload(OFFLOAD_SUPER_PACKETS, 1);
    const peer = routeSuperPacket(state, ip, ipLength);
    if (peer < 0) return;
    const segments = this.tun.split(readRecord, targetRecord, this.headroom);
    const perMessage = this.segmentsPerMessage(meta[target + MSG_SEGMENT]);
    if (segments <= 0 || this.records + Math.ceil(segments / perMessage) > OFFLOAD_OUT_RECORDS) {
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
    this.gatherHead = -1;
    for (let i = 0; i < segments; i += perMessage) {
      const start = base + i * stride;
      const stop = i + perMessage < segments ? start + perMessage * stride : end;
      this.addRecord(start, stop - start, stop - start > stride ? stride : 0);
    }
  }

  /**
   * One encapsulated packet for the peer in state.routes: the next segment of the open gather when it
   * goes to the same peer and fits (not longer than the segment size; a shorter one ends the gather,
   * as the kernel allows only the last segment to be short), else a message of its own that later
   * packets may join. Only the last message is ever extended, so packets keep their order.
   */
  private addPacket(start: number, length: number): void {
    const meta = this.meta;
    const routes = this.state.routes;
    const head = this.gatherHead;
    if (head >= 0) {
      const record = (OffloadRecords.sends + head) * MSG_STRIDE;
      if (
        length <= this.gatherSize &&
        this.gatherCount < GSO_MAX_SEGMENTS &&
        this.gatherBytes + length <= GSO_MAX_BYTES &&
        meta[record + MSG_ADDR] === routes.peerAddr
      ) {
        meta[record + MSG_SEGMENT] = this.gatherSize;
        this.addRecord(start, length, SEND_CONTINUES);
        this.gatherCount++;
        this.gatherBytes += length;
        if (length < this.gatherSize) this.gatherHead = -1;
        return;
      }
    }
    this.gatherHead = this.gsoDisabled ? -1 : this.records;
    this.gatherSize = length;
    this.gatherCount = 1;
    this.gatherBytes = length;
    this.addRecord(start, length, 0);
  }

  /** Segments of `stride` bytes one UDP_SEGMENT message may carry (1 with GSO off). */
  private segmentsPerMessage(stride: number): number {
    if (this.gsoDisabled || stride <= 0) return 1;
    return Math.max(1, Math.min(GSO_MAX_SEGMENTS, Math.floor(GSO_MAX_BYTES / stride)));
  }

  private addRecord(start: number, length: number, segment: number): void {
    const index = this.records++;
    const record = (OffloadRecords.sends + index) * MSG_STRIDE;
    const meta = this.meta;
    meta[record + MSG_OFFSET] = start;
    meta[record + MSG_LENGTH] = length;
    meta[record + MSG_ADDR] = this.state.routes.peerAddr;
    meta[record + MSG_PORT] = this.state.settings.port;
    meta[record + MSG_SEGMENT] = segment;
    this.recordBytes[index] = length;
  }

  private flush(): void {
    const { state, meta } = this;
    while (this.pendingCount > 0) {
      const count = this.pendingCount;
      const first = OffloadRecords.sends + this.pendingFirst;
      const consumed = this.udp.send(first, count);
      // A batch never stops inside a message: the first record consumed is a head.
      let segment = 0;
      let head = 0;
      for (let i = 0; i < consumed; i++) {
        const record = (first + i) * MSG_STRIDE;
        const result = meta[record + MSG_LENGTH];
        const own = meta[record + MSG_SEGMENT];
        if (own !== SEND_CONTINUES) {
          segment = own;
          head = record;
        }
        if (result >= 0) {
          state.counters.underlay(DIRECTION_TX, result);
          if (segment > 0) {
            if (own !== SEND_CONTINUES) state.counters.offload(OFFLOAD_GSO_SENDS, 1);
            state.counters.offload(OFFLOAD_GSO_SEGMENTS, Math.ceil(result / segment));
          }
        } else if (segment > 0 && (result === -EIO || result === -EINVAL)) {
          this.resendUnsegmented(this.pendingFirst + i, record, head, segment);
        } else {
          // Each record of a failed message is at least one packet lost.
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

  /**
   * Appends send record `index` (at `record`) of a message refused as GSO (segment size `stride`, head
   * record at `head`: continuation records carry no address) as one datagram per segment, and turns GSO
   * off.
   */
  private resendUnsegmented(index: number, record: number, head: number, stride: number): void {
    const { state, meta } = this;
    if (!this.gsoDisabled) {
      this.gsoDisabled = true;
      state.counters.offload(OFFLOAD_GSO_FALLBACKS, 1);
    }
    const start = meta[record + MSG_OFFSET];
    const end = start + this.recordBytes[index];
    const segments = Math.ceil((end - start) / stride);
    if (this.records + segments > OFFLOAD_OUT_RECORDS) {
      state.counters.drop(DROP_QUEUE_FULL, DIRECTION_TX, end - start);
      return;
    }
    for (let at = start; at < end; at += stride) {
      const out = (OffloadRecords.sends + this.records) * MSG_STRIDE;
      meta[out + MSG_OFFSET] = at;
      meta[out + MSG_LENGTH] = Math.min(stride, end - at);
      meta[out + MSG_ADDR] = meta[head + MSG_ADDR];
      meta[out + MSG_PORT] = meta[head + MSG_PORT];
      meta[out + MSG_SEGMENT] = 0;
      this.recordBytes[this.records++] = meta[out + MSG_LENGTH];
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

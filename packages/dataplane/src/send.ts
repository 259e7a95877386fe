/**
 * Outbound flow (TUN → wire), in the order packets are processed:
 *   1. arm: every send record owns a pool slot; the TUN read lands at slot + HEADROOM;
 *   2. read a batch from the TUN (one native call);
 *   3. per packet (encapsulatePacket): check IPv4 → own subnet never leaves → route lookup (ICMP net
 *      unreachable from the network address when none) → TTL (ICMP time exceeded) → MTU (ICMP
 *      fragmentation needed with DF; both from the peer's tunnel address) →
 *      decrement TTL with an incremental checksum → write the tunnel header in place in front;
 *   4. compact the kept packets into consecutive records with the peer's address and port;
 *   5. write the queued ICMP errors into the TUN; send the batch (one native call);
 *   6. what the socket did not take stays pending: the TUN is not read again until it drains
 *      (back-pressure; the kernel's TUN queue fills and drops, inner TCP backs off).
 */
import { MSG_ADDR, MSG_LENGTH, MSG_OFFSET, MSG_PORT, MSG_SEGMENT, MSG_STRIDE, type Tun } from '@felt/netio';
import { monotonicMs } from './batch-clock.js';
import { encodeIpip, IPIP_OVERHEAD } from './codec/ipip.js';
import { encodeUdp } from './codec/udp.js';
import { encodeVxlan, VXLAN_OVERHEAD } from './codec/vxlan.js';
import { OP_ENCAP, PEER_TX_BYTES, PEER_TX_PACKETS } from './counters.js';
import {
  DIRECTION_TX,
  DROP_NO_ROUTE,
  DROP_OWN_SUBNET,
  DROP_SOCKET_ERROR,
  DROP_TOO_BIG,
  DROP_TTL_EXCEEDED,
  dropCode,
  reasonOf,
} from './drops.js';
import { BACKEND_IPIP, BACKEND_VXLAN, type ForwarderState } from './forwarder-state.js';
import {
  ICMP_CODE_FRAG_NEEDED,
  ICMP_CODE_NET_UNREACHABLE,
  ICMP_CODE_TTL_EXCEEDED,
  ICMP_DEST_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
} from './icmp.js';
import { decrementTtl } from './ipv4.js';
import { checkIpv4Packet, ipv4Destination, ipv4DontFragment } from './ipv4-packet.js';
import { armRecords } from './records.js';

/** Where encapsulated packets go: the netio UDP socket, or the ipip raw socket (same contract). */
export interface Underlay {
  /**
   * Sends records first..first+count-1 (offset, length, address, port); returns how many it consumed
   * (fewer when the socket would block). A consumed record's length is the bytes sent, or negative.
   */
  send(first: number, count: number): number;
}

/**
 * Encapsulates the packet read at memory[inner, inner+length) for its peer. Returns where the
 * underlay payload starts (its length in state.resultLength; the peer's fields in state.routes), or
 * a negative drop code after counting the drop.
 */
export function encapsulatePacket(state: ForwarderState, inner: number, length: number): number {
  const buf = state.memory;
  const s = state.settings;
  const total = checkIpv4Packet(buf, inner, length);
  if (total < 0) return drop(state, reasonOf(total), length);

  const dst = ipv4Destination(buf, inner);
  if ((dst & s.ownMask) === s.ownBase) return drop(state, DROP_OWN_SUBNET, total);
  const peer = state.routes.lookup(dst);
  if (peer < 0) {
    state.queueIcmpError(inner, total, ICMP_DEST_UNREACHABLE, ICMP_CODE_NET_UNREACHABLE, 0, s.networkBase);
    return drop(state, DROP_NO_ROUTE, total);
  }
  // Errors about the tunnel hop come from the peer's tunnel address (its lease's .0), as a traceroute
  // through Flannel's kernel vxlan shows that hop.
  const hop = state.routes.peerSubnetBase;
  if (buf[inner + 8] <= 1) {
    state.queueIcmpError(inner, total, ICMP_TIME_EXCEEDED, ICMP_CODE_TTL_EXCEEDED, 0, hop);
    return drop(state, DROP_TTL_EXCEEDED, total);
  }
  if (total > s.tunMtu) {
    if (ipv4DontFragment(buf, inner)) {
      state.queueIcmpError(inner, total, ICMP_DEST_UNREACHABLE, ICMP_CODE_FRAG_NEEDED, s.tunMtu, hop);
    }
    return drop(state, DROP_TOO_BIG, total);
  }
  decrementTtl(buf, inner);

  let start: number;
  if (s.backend === BACKEND_VXLAN) {
    const r = state.routes;
    start = encodeVxlan(buf, inner, s.vni, r.peerMacHi, r.peerMacLo, s.ourMacHi, s.ourMacLo);
    state.resultLength = total + VXLAN_OVERHEAD;
  } else if (s.backend === BACKEND_IPIP) {
    start = encodeIpip(buf, inner, total, s.underlayAddress, state.routes.peerAddr);
    state.resultLength = total + IPIP_OVERHEAD;
  } else {
    start = encodeUdp(buf, inner);
    state.resultLength = total;
  }
  const counters = state.counters.slots;
  const base = state.counters.peerBase(peer);
  counters[base + PEER_TX_PACKETS] += 1;
  counters[base + PEER_TX_BYTES] += total;
  return start;
}

function drop(state: ForwarderState, reason: number, bytes: number): number {
  state.counters.drop(reason, DIRECTION_TX, bytes);
  return dropCode(reason);
}

/** The TUN → wire loop. The worker calls onTunReadable and onUnderlayWritable from its pollers. */
export class SendLoop {
  private readonly state: ForwarderState;
  private readonly tun: Tun;
  private readonly underlay: Underlay;
  /** Pool slot of each send record (-1: none yet). */
  private readonly slots: Int32Array;
  private pendingFirst = 0;
  private pendingCount = 0;

  constructor(state: ForwarderState, tun: Tun, underlay: Underlay) {
    this.state = state;
    this.tun = tun;
    this.underlay = underlay;
    this.slots = new Int32Array(state.settings.batchSize).fill(-1);
  }

  /** Whether encapsulated packets wait for the socket (then the TUN must not be read). */
  get blocked(): boolean {
    return this.pendingCount > 0;
  }

  /** Reads, encapsulates and sends one batch; returns the packets read. */
  onTunReadable(): number {
    if (this.pendingCount > 0) return 0;
    const state = this.state;
    const meta = state.meta;
    const armed = armRecords(state.pool, meta, state.sendFirst, this.slots, 0);
    if (armed === 0) return 0;
    const started = monotonicMs();
    const count = this.tun.read(state.sendFirst, armed);
    if (count === 0) return 0;

    let kept = 0;
    state.routes.beginBatch();
    for (let i = 0; i < count; i++) {
      const record = (state.sendFirst + i) * MSG_STRIDE;
      const length = meta[record + MSG_LENGTH];
      if (length <= 0) continue;
      const start = encapsulatePacket(state, meta[record + MSG_OFFSET], length);
      if (start < 0) continue;
      if (kept !== i) {
        const slot = this.slots[kept];
        this.slots[kept] = this.slots[i];
        this.slots[i] = slot;
      }
      const out = (state.sendFirst + kept) * MSG_STRIDE;
      meta[out + MSG_OFFSET] = start;
      meta[out + MSG_LENGTH] = state.resultLength;
      meta[out + MSG_ADDR] = state.routes.peerAddr;
      meta[out + MSG_PORT] = state.settings.port;
      meta[out + MSG_SEGMENT] = 0;
      kept++;
    }
    state.routes.endBatch();

    state.flushIcmp(this.tun);
    this.pendingFirst = 0;
    this.pendingCount = kept;
    this.flush();
    state.counters.batch(OP_ENCAP, count, (monotonicMs() - started) / 1000);
    return count;
  }

  /** The socket became writable: send what is pending. */
  onUnderlayWritable(): void {
    if (this.pendingCount > 0) this.flush();
  }

  private flush(): void {
    const state = this.state;
    const first = state.sendFirst + this.pendingFirst;
    const consumed = this.underlay.send(first, this.pendingCount);
    for (let i = 0; i < consumed; i++) {
      const record = (first + i) * MSG_STRIDE;
      const result = state.meta[record + MSG_LENGTH];
      if (result < 0) state.counters.drop(DROP_SOCKET_ERROR, DIRECTION_TX, 0);
      else state.counters.underlay(DIRECTION_TX, result);
    }
    this.pendingFirst += consumed;
    this.pendingCount -= consumed;
  }

  /** Returns every slot this loop holds to the pool (on stop). */
  releaseSlots(): void {
    this.state.pool.releaseAll(this.slots);
  }
}

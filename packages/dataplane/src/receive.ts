/**
 * Inbound flow (wire → TUN), in the order packets are processed:
 *   1. arm: every receive record owns a pool slot; a datagram lands in front of slot + HEADROOM so
 *      that, once the tunnel header is stripped, the inner packet starts at the aligned offset;
 *   2. receive a batch (one native call; ipip: one recvfrom per datagram, also straight into slots);
 *   3. per datagram (decapsulatePacket): the sender must be a known peer → the tunnel header must be
 *      valid (VXLAN flags, VNI, inner MAC, EtherType) → the inner packet must be well-formed IPv4 →
 *      its source must lie inside the sender's leased subnet (anti-spoofing);
 *   4. compact the kept packets into consecutive records pointing at the inner packets (no copy);
 *   5. write them into the TUN (one native call);
 *   6. what the TUN did not take stays pending: the socket is not read again until it drains (the
 *      kernel's socket buffer fills and drops; the peer's TCP backs off).
 */
import { MSG_ADDR, MSG_LENGTH, MSG_OFFSET, MSG_STRIDE, type Tun } from '@felt/netio';
import { monotonicMs, unixSecondsAt } from './batch-clock.js';
import { decodeIpip, IPIP_OVERHEAD } from './codec/ipip.js';
import { decodeUdp } from './codec/udp.js';
import { decodeVxlan, VXLAN_OVERHEAD } from './codec/vxlan.js';
import { OP_DECAP, PEER_LAST_RECEIVE, PEER_RX_BYTES, PEER_RX_PACKETS } from './counters.js';
import {
  DIRECTION_RX,
  DROP_SOCKET_ERROR,
  DROP_SPOOFED_SOURCE,
  DROP_TUN_WRITE_ERROR,
  DROP_UNKNOWN_PEER,
  dropCode,
  reasonOf,
} from './drops.js';
import { BACKEND_IPIP, BACKEND_VXLAN, type ForwarderState } from './forwarder-state.js';
import { checkIpv4Packet, ipv4Source } from './ipv4-packet.js';
import { armRecords } from './records.js';

/**
 * Validates and strips the tunnel header of the datagram at memory[start, start+length) from underlay
 * address `sender` (int32). Returns where the inner packet starts (its length in state.resultLength),
 * or a negative drop code after counting the drop.
 */
export function decapsulatePacket(
  state: ForwarderState,
  start: number,
  length: number,
  sender: number,
): number {
  const buf = state.memory;
  const s = state.settings;
  const routes = state.routes;
  const peer = routes.peerBySource(sender);
  if (peer < 0) return drop(state, DROP_UNKNOWN_PEER, length);

  let inner: number;
  if (s.backend === BACKEND_VXLAN) inner = decodeVxlan(buf, start, length, s.vni, s.ourMacHi, s.ourMacLo);
  else if (s.backend === BACKEND_IPIP) inner = decodeIpip(buf, start, length);
  else inner = decodeUdp(buf, start, length);
  if (inner < 0) return drop(state, reasonOf(inner), length);

  const total = checkIpv4Packet(buf, inner, start + length - inner);
  if (total < 0) return drop(state, reasonOf(total), length);
  if ((ipv4Source(buf, inner) & routes.peerSubnetMask) !== routes.peerSubnetBase) {
    return drop(state, DROP_SPOOFED_SOURCE, total);
  }

  const counters = state.counters.slots;
  const base = state.counters.peerBase(peer);
  counters[base + PEER_RX_PACKETS] += 1;
  counters[base + PEER_RX_BYTES] += total;
  counters[base + PEER_LAST_RECEIVE] = state.nowSeconds;
  state.resultLength = total;
  return inner;
}

function drop(state: ForwarderState, reason: number, bytes: number): number {
  state.counters.drop(reason, DIRECTION_RX, bytes);
  return dropCode(reason);
}

/** The wire → TUN loop. The worker calls its methods from the pollers (or raw-socket events). */
export class ReceiveLoop {
  private readonly state: ForwarderState;
  private readonly tun: Tun;
  /** Bytes in front of the aligned inner-packet offset where a datagram is received. */
  private readonly overhead: number;
  /** Pool slot of each receive record (-1: none yet). */
  private readonly slots: Int32Array;
  private pendingFirst = 0;
  private pendingCount = 0;

  constructor(state: ForwarderState, tun: Tun) {
    this.state = state;
    this.tun = tun;
    const backend = state.settings.backend;
    this.overhead = backend === BACKEND_VXLAN ? VXLAN_OVERHEAD : backend === BACKEND_IPIP ? IPIP_OVERHEAD : 0;
    this.slots = new Int32Array(state.settings.batchSize).fill(-1);
  }

  /** Whether decapsulated packets wait for the TUN (then the socket must not be read). */
  get blocked(): boolean {
    return this.pendingCount > 0;
  }

  /** Receives, decapsulates and writes one batch from the underlay socket; returns datagrams received. */
  onUnderlayReadable(underlay: { recv(first: number, count: number): number }): number {
    if (this.pendingCount > 0) return 0;
    const state = this.state;
    const meta = state.meta;
    const armed = armRecords(state.pool, meta, state.receiveFirst, this.slots, this.overhead);
    if (armed === 0) return 0;
    const started = monotonicMs();
    const count = underlay.recv(state.receiveFirst, armed);
    if (count === 0) return 0;
    state.nowSeconds = unixSecondsAt(started);

    let kept = 0;
    state.routes.beginBatch();
    for (let i = 0; i < count; i++) {
      const record = (state.receiveFirst + i) * MSG_STRIDE;
      const length = meta[record + MSG_LENGTH];
      if (length < 0) {
        state.counters.drop(DROP_SOCKET_ERROR, DIRECTION_RX, 0);
        continue;
      }
      state.counters.underlay(DIRECTION_RX, length);
      const inner = decapsulatePacket(state, meta[record + MSG_OFFSET], length, meta[record + MSG_ADDR]);
      if (inner < 0) continue;
      if (kept !== i) {
        const slot = this.slots[kept];
        this.slots[kept] = this.slots[i];
        this.slots[i] = slot;
      }
      const out = (state.receiveFirst + kept) * MSG_STRIDE;
      meta[out + MSG_OFFSET] = inner;
      meta[out + MSG_LENGTH] = state.resultLength;
      kept++;
    }
    state.routes.endBatch();

    this.pendingFirst = 0;
    this.pendingCount = kept;
    this.flush();
    state.counters.batch(OP_DECAP, count, (monotonicMs() - started) / 1000);
    return count;
  }

  /** The TUN became writable: write what is pending. */
  onTunWritable(): void {
    if (this.pendingCount > 0) this.flush();
  }

  private flush(): void {
    const state = this.state;
    const first = state.receiveFirst + this.pendingFirst;
    const consumed = this.tun.write(first, this.pendingCount);
    for (let i = 0; i < consumed; i++) {
      const record = (first + i) * MSG_STRIDE;
      const result = state.meta[record + MSG_LENGTH];
      if (result < 0) state.counters.drop(DROP_TUN_WRITE_ERROR, DIRECTION_RX, 0);
    }
    this.pendingFirst += consumed;
    this.pendingCount -= consumed;
  }

  /** Returns every slot this loop holds to the pool (on stop). */
  releaseSlots(): void {
    this.state.pool.releaseAll(this.slots);
  }
}

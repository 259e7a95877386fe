/**
 * What both loops of the worker share: the packet memory and its message records, the pool, the
 * counters, the route table reader, the settings as plain numbers, and the queue of ICMP errors
 * waiting to be written into the TUN.
 *
 * Message records (netio's MSG_* words) are split in three fixed ranges of `batchSize` records each:
 * send (TUN → wire), receive (wire → TUN) and ICMP (generated → TUN).
 */
import { MSG_LENGTH, MSG_OFFSET, MSG_STRIDE } from '@felt/netio';
import type { Counters } from './counters.js';
import { DIRECTION_TX, DROP_POOL_EXHAUSTED, DROP_QUEUE_FULL } from './drops.js';
import { ICMP_ERROR_MAX_LEN, mayReplyWithIcmpError, writeIcmpError } from './icmp.js';
import type { BufferPool } from './pool.js';
import type { RouteTableReader } from './route-table.js';

export const BACKEND_UDP = 0;
export const BACKEND_VXLAN = 1;
export const BACKEND_IPIP = 2;

/** The configuration as the hot path reads it: numbers only, addresses as int32. */
export interface ForwarderSettings {
  backend: number;
  vni: number;
  ourMacHi: number;
  ourMacLo: number;
  /** Our lease (never sent to the wire). */
  ownBase: number;
  ownMask: number;
  tunMtu: number;
  /** Cluster network address: the source of ICMP errors that concern no peer (net unreachable). */
  networkBase: number;
  underlayAddress: number;
  /** Destination port of underlay datagrams (all nodes agree on it, as in Flannel). */
  port: number;
  batchSize: number;
}

export class ForwarderState {
  readonly memory: Uint8Array;
  readonly meta: Int32Array;
  readonly pool: BufferPool;
  readonly counters: Counters;
  readonly routes: RouteTableReader;
  readonly settings: ForwarderSettings;
  readonly sendFirst = 0;
  readonly receiveFirst: number;
  readonly icmpFirst: number;
  /** Unix seconds at the start of the current batch (last-receive timestamps). */
  nowSeconds = 0;
  /** Set by encapsulatePacket / decapsulatePacket: bytes of the result. */
  resultLength = 0;
  /** ICMP errors queued in records icmpFirst..icmpFirst+icmpCount-1, each in its own pool slot. */
  icmpCount = 0;
  private readonly icmpSlots: Int32Array;

  constructor(pool: BufferPool, counters: Counters, routes: RouteTableReader, settings: ForwarderSettings) {
    this.memory = pool.memory;
    this.pool = pool;
    this.counters = counters;
    this.routes = routes;
    this.settings = settings;
    this.meta = new Int32Array(new SharedArrayBuffer(3 * settings.batchSize * MSG_STRIDE * 4));
    this.receiveFirst = settings.batchSize;
    this.icmpFirst = 2 * settings.batchSize;
    this.icmpSlots = new Int32Array(settings.batchSize).fill(-1);
  }

  /**
   * Queues an ICMP error from `source` about the IPv4 packet at `ip` (when RFC 1812 allows one and there
   * is room). The source must not be a local address of this host: the kernel drops packets arriving
   * from the TUN with a local source ("martian"), so our own TUN address cannot be used.
   */
  queueIcmpError(
    ip: number,
    ipLength: number,
    type: number,
    code: number,
    mtu: number,
    source: number,
  ): void {
    if (!mayReplyWithIcmpError(this.memory, ip)) return;
    if (this.icmpCount === this.settings.batchSize) {
      this.counters.drop(DROP_QUEUE_FULL, DIRECTION_TX, ICMP_ERROR_MAX_LEN);
      return;
    }
    const slot = this.pool.acquire();
    if (slot < 0) {
      this.counters.drop(DROP_POOL_EXHAUSTED, DIRECTION_TX, ICMP_ERROR_MAX_LEN);
      return;
    }
    const at = this.pool.packetStart(slot);
    const length = writeIcmpError(this.memory, at, this.memory, ip, ipLength, type, code, mtu, source);
    const record = (this.icmpFirst + this.icmpCount) * MSG_STRIDE;
    this.meta[record + MSG_OFFSET] = at;
    this.meta[record + MSG_LENGTH] = length;
    this.icmpSlots[this.icmpCount] = slot;
    this.icmpCount++;
  }

  /**
   * Writes the queued ICMP errors into the TUN (best effort: what the TUN does not take now is
   * dropped; the sender retries) and returns their slots to the pool.
   */
  flushIcmp(tun: { write(first: number, count: number): number }): void {
    if (this.icmpCount === 0) return;
    try {
      tun.write(this.icmpFirst, this.icmpCount);
    } finally {
      for (let i = 0; i < this.icmpCount; i++) this.pool.release(this.icmpSlots[i]);
      this.icmpCount = 0;
    }
  }
}

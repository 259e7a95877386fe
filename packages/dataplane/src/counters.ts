/**
 * Counters in one SharedArrayBuffer: the worker increments plain Float64Array slots (exact integers up
 * to 2^53, no BigInt), the main thread reads them at snapshot time. Aligned 8-byte reads do not tear.
 *
 * Layout (Float64 slots): drops [reason][direction][packets, bytes] · underlay bytes [tx, rx] ·
 * histograms [op][size, duration][buckets..., sum, count] · offloads [OFFLOAD_*] ·
 * peers [index][txP, txB, rxP, rxB, lastRx].
 */
import { DROP_REASONS, type Histogram } from './api.js';

const SIZE_BOUNDS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const DURATION_BOUNDS: readonly number[] = Array.from({ length: 9 }, (_, k) => 1e-6 * 4 ** k);

const HISTOGRAM_SLOTS = SIZE_BOUNDS.length + 3; // buckets + Inf + sum + count (both histograms have 9 bounds)
const DROPS_AT = 0;
const UNDERLAY_AT = DROPS_AT + DROP_REASONS.length * 4;
const HISTOGRAMS_AT = UNDERLAY_AT + 2;
const OFFLOAD_AT = HISTOGRAMS_AT + 4 * HISTOGRAM_SLOTS;
/** Offload counters (offload/*.ts): 1 while the offload loops run, then event counts. */
export const OFFLOAD_ACTIVE = 0;
/** TUN reads that were GSO super-packets, and the segments they were split into. */
export const OFFLOAD_SUPER_PACKETS = 1;
export const OFFLOAD_SUPER_SEGMENTS = 2;
/** UDP sends carrying a UDP_SEGMENT run, and the datagrams in them. */
export const OFFLOAD_GSO_SENDS = 3;
export const OFFLOAD_GSO_SEGMENTS = 4;
/** GSO sends the kernel refused (EIO/EINVAL): resent one datagram each, GSO off from then on. */
export const OFFLOAD_GSO_FALLBACKS = 5;
/** Received datagrams the kernel coalesced (UDP_GRO), and the datagrams in them. */
export const OFFLOAD_GRO_DATAGRAMS = 6;
export const OFFLOAD_GRO_SEGMENTS = 7;
/** TUN writes on receive, and the packets that went out merged (more than one per write). */
export const OFFLOAD_TUN_WRITES = 8;
export const OFFLOAD_TUN_MERGED_PACKETS = 9;
/** Inner TCP/UDP checksums received partial (pseudo-header sum only) and completed. */
export const INNER_CHECKSUMS_COMPLETED = 10;
const OFFLOAD_SLOTS = 11;
const PEERS_AT = OFFLOAD_AT + OFFLOAD_SLOTS;
const PEER_SLOTS = 5;
export const PEER_TX_PACKETS = 0;
export const PEER_TX_BYTES = 1;
export const PEER_RX_PACKETS = 2;
export const PEER_RX_BYTES = 3;
export const PEER_LAST_RECEIVE = 4;

export const OP_ENCAP = 0;
export const OP_DECAP = 1;

export function countersByteLength(maxPeers: number): number {
  return (PEERS_AT + maxPeers * PEER_SLOTS) * 8;
}

/** Worker side: the increments the loops make. */
export class Counters {
  readonly slots: Float64Array;

  constructor(memory: SharedArrayBuffer) {
    this.slots = new Float64Array(memory);
  }

  drop(reasonIndex: number, direction: number, bytes: number): void {
    const at = DROPS_AT + reasonIndex * 4 + direction * 2;
    this.slots[at] += 1;
    this.slots[at + 1] += bytes;
  }

  underlay(direction: number, bytes: number): void {
    this.slots[UNDERLAY_AT + direction] += bytes;
  }

  /** Adds to an offload counter (OFFLOAD_*, INNER_CHECKSUMS_COMPLETED). */
  offload(index: number, value: number): void {
    this.slots[OFFLOAD_AT + index] += value;
  }

  setOffloadActive(active: boolean): void {
    this.slots[OFFLOAD_AT + OFFLOAD_ACTIVE] = active ? 1 : 0;
  }

  /** Index of the first slot of a peer's counters (PEER_* offsets from there). */
  peerBase(peer: number): number {
    return PEERS_AT + peer * PEER_SLOTS;
  }

  /** One batch: its packet count and duration in seconds. */
  batch(op: number, packets: number, seconds: number): void {
    observe(this.slots, HISTOGRAMS_AT + op * 2 * HISTOGRAM_SLOTS, SIZE_BOUNDS, packets);
    observe(this.slots, HISTOGRAMS_AT + (op * 2 + 1) * HISTOGRAM_SLOTS, DURATION_BOUNDS, seconds);
  }
}

function observe(slots: Float64Array, at: number, bounds: readonly number[], value: number): void {
  let bucket = 0;
  while (bucket < bounds.length && value > bounds[bucket]) bucket++;
  slots[at + bucket] += 1;
  slots[at + bounds.length + 1] += value;
  slots[at + bounds.length + 2] += 1;
}

/** Main-thread side: copies out of the shared counters. */
export class CounterReader {
  private readonly slots: Float64Array;

  constructor(memory: SharedArrayBuffer) {
    this.slots = new Float64Array(memory);
  }

  drop(reasonIndex: number, direction: number): { packets: number; bytes: number } {
    const at = DROPS_AT + reasonIndex * 4 + direction * 2;
    return { packets: this.slots[at], bytes: this.slots[at + 1] };
  }

  underlay(direction: number): number {
    return this.slots[UNDERLAY_AT + direction];
  }

  offload(index: number): number {
    return this.slots[OFFLOAD_AT + index];
  }

  peer(peer: number, field: number): number {
    return this.slots[PEERS_AT + peer * PEER_SLOTS + field];
  }

  /** Zeroes a peer's counters before its index is given to a new peer. */
  resetPeer(peer: number): void {
    this.slots.fill(0, PEERS_AT + peer * PEER_SLOTS, PEERS_AT + (peer + 1) * PEER_SLOTS);
  }

  histogram(op: number, which: 'size' | 'duration'): Histogram {
    const bounds = which === 'size' ? SIZE_BOUNDS : DURATION_BOUNDS;
    const at = HISTOGRAMS_AT + (op * 2 + (which === 'size' ? 0 : 1)) * HISTOGRAM_SLOTS;
    return {
      bounds,
      counts: Array.from(this.slots.subarray(at, at + bounds.length + 1)),
      sum: this.slots[at + bounds.length + 1],
      count: this.slots[at + bounds.length + 2],
    };
  }
}

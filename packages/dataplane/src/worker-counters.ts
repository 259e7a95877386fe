/**
 * The counters of several workers read as one: each worker writes only its own counter memory (no two
 * threads ever add to the same slot), and the main thread sums them at snapshot time. Totals keep the
 * single-worker meaning: counts add up, the last-receive time is the latest, offloads are active when
 * every worker runs them.
 */
import type { Histogram, WorkerStats } from './api.js';
import {
  CounterReader,
  countersByteLength,
  OFFLOAD_ACTIVE,
  OP_DECAP,
  OP_ENCAP,
  PEER_LAST_RECEIVE,
} from './counters.js';

export class WorkerCounters {
  /** One counter memory per worker, in worker order (handed to each worker's init). */
  readonly memories: SharedArrayBuffer[];
  private readonly readers: CounterReader[];

  constructor(workers: number, maxPeers: number) {
    this.memories = Array.from(
      { length: workers },
      () => new SharedArrayBuffer(countersByteLength(maxPeers)),
    );
    this.readers = this.memories.map((memory) => new CounterReader(memory));
  }

  drop(reasonIndex: number, direction: number): { packets: number; bytes: number } {
    let packets = 0;
    let bytes = 0;
    for (const reader of this.readers) {
      const one = reader.drop(reasonIndex, direction);
      packets += one.packets;
      bytes += one.bytes;
    }
    return { packets, bytes };
  }

  underlay(direction: number): number {
    return this.sum((reader) => reader.underlay(direction));
  }

  offload(index: number): number {
    if (index === OFFLOAD_ACTIVE) return this.readers.every((reader) => reader.offload(index) === 1) ? 1 : 0;
    return this.sum((reader) => reader.offload(index));
  }

  peer(peer: number, field: number): number {
    if (field === PEER_LAST_RECEIVE)
      return Math.max(...this.readers.map((reader) => reader.peer(peer, field)));
    return this.sum((reader) => reader.peer(peer, field));
  }

  /** Zeroes a peer's counters in every worker before its index is given to a new peer. */
  resetPeer(peer: number): void {
    for (const reader of this.readers) reader.resetPeer(peer);
  }

  histogram(op: number, which: 'size' | 'duration'): Histogram {
    const [first, ...rest] = this.readers.map((reader) => reader.histogram(op, which));
    for (const other of rest) {
      for (let i = 0; i < first.counts.length; i++) first.counts[i] += other.counts[i];
      first.sum += other.sum;
      first.count += other.count;
    }
    return first;
  }

  /** Each worker's share: packets and batches from its batch-size histograms. */
  perWorker(): WorkerStats[] {
    return this.readers.map((reader) => {
      const encap = reader.histogram(OP_ENCAP, 'size');
      const decap = reader.histogram(OP_DECAP, 'size');
      return {
        encapPackets: encap.sum,
        decapPackets: decap.sum,
        encapBatches: encap.count,
        decapBatches: decap.count,
      };
    });
  }

  private sum(read: (reader: CounterReader) => number): number {
    let total = 0;
    for (const reader of this.readers) total += read(reader);
    return total;
  }
}

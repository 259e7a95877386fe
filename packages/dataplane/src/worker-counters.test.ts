import { describe, expect, it } from 'vitest';
import {
  Counters,
  OFFLOAD_ACTIVE,
  OFFLOAD_GSO_SENDS,
  OP_DECAP,
  OP_ENCAP,
  PEER_LAST_RECEIVE,
  PEER_RX_BYTES,
} from './counters.js';
import { DIRECTION_RX, DIRECTION_TX } from './drops.js';
import { WorkerCounters } from './worker-counters.js';

describe('WorkerCounters', () => {
  const setUp = () => {
    const all = new WorkerCounters(2, 4);
    const [a, b] = all.memories.map((memory) => new Counters(memory));
    return { all, a, b };
  };

  it('sums counts over workers, takes the latest receive time, and offloads active only when all run them', () => {
    const { all, a, b } = setUp();
    a.drop(2, DIRECTION_TX, 100);
    b.drop(2, DIRECTION_TX, 50);
    a.underlay(DIRECTION_RX, 1000);
    b.underlay(DIRECTION_RX, 24);
    a.offload(OFFLOAD_GSO_SENDS, 3);
    b.offload(OFFLOAD_GSO_SENDS, 4);
    a.slots[a.peerBase(1) + PEER_RX_BYTES] = 7;
    b.slots[b.peerBase(1) + PEER_RX_BYTES] = 5;
    a.slots[a.peerBase(1) + PEER_LAST_RECEIVE] = 1_700_000_010;
    b.slots[b.peerBase(1) + PEER_LAST_RECEIVE] = 1_700_000_020;
    expect(all.drop(2, DIRECTION_TX)).toEqual({ packets: 2, bytes: 150 });
    expect(all.underlay(DIRECTION_RX)).toBe(1024);
    expect(all.offload(OFFLOAD_GSO_SENDS)).toBe(7);
    expect(all.peer(1, PEER_RX_BYTES)).toBe(12);
    expect(all.peer(1, PEER_LAST_RECEIVE)).toBe(1_700_000_020);
    a.setOffloadActive(true);
    expect(all.offload(OFFLOAD_ACTIVE)).toBe(0);
    b.setOffloadActive(true);
    expect(all.offload(OFFLOAD_ACTIVE)).toBe(1);
    all.resetPeer(1);
    expect(all.peer(1, PEER_RX_BYTES)).toBe(0);
  });

  it('merges histograms and reports each worker share', () => {
    const { all, a, b } = setUp();
    a.batch(OP_ENCAP, 3, 1e-5);
    b.batch(OP_ENCAP, 64, 1e-4);
    b.batch(OP_DECAP, 1, 1e-6);
    const size = all.histogram(OP_ENCAP, 'size');
    expect(size.count).toBe(2);
    expect(size.sum).toBe(67);
    expect(size.counts.reduce((x, y) => x + y, 0)).toBe(2);
    expect(all.perWorker()).toEqual([
      { encapPackets: 3, decapPackets: 0, encapBatches: 1, decapBatches: 0 },
      { encapPackets: 64, decapPackets: 1, encapBatches: 1, decapBatches: 1 },
    ]);
  });
});

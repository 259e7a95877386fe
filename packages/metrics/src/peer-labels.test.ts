import { describe, expect, it } from 'vitest';
import { PeerLabeller } from './peer-labels.js';
import type { PeerCounters } from './sources.js';

function peer(n: number, bytes = 100): PeerCounters {
  return {
    subnet: `10.244.${n}.0/24`,
    publicIp: `198.18.0.${n}`,
    txPackets: 1,
    txBytes: bytes,
    rxPackets: 2,
    rxBytes: 2 * bytes,
    lastReceiveMs: n * 1000,
  };
}

describe('PeerLabeller', () => {
  it('labels up to maxPeers peers and sums the rest into _other', () => {
    const labeller = new PeerLabeller(2);
    const result = labeller.assign([peer(1), peer(2), peer(3), peer(4)]);
    expect(result.labelled.map((p) => p.subnet)).toEqual(['10.244.1.0/24', '10.244.2.0/24']);
    expect(result.other).toEqual({
      txPackets: 2,
      txBytes: 200,
      rxPackets: 4,
      rxBytes: 400,
      lastReceiveMs: 4000,
    });
  });

  it('reports no _other while nothing overflowed', () => {
    expect(new PeerLabeller(5).assign([peer(1), peer(2)]).other).toBeNull();
  });

  it('drops departed peers and gives their label slot to a newcomer', () => {
    const labeller = new PeerLabeller(2);
    labeller.assign([peer(1), peer(2)]);
    const result = labeller.assign([peer(2), peer(3)]);
    expect(result.labelled.map((p) => p.subnet)).toEqual(['10.244.2.0/24', '10.244.3.0/24']);
    expect(result.other).toBeNull();
  });

  it('keeps an overflow peer in _other while it stays, and keeps _other monotonic when it leaves', () => {
    const labeller = new PeerLabeller(1);
    labeller.assign([peer(1), peer(2, 100)]);
    const grown = labeller.assign([peer(1), peer(2, 150)]);
    expect(grown.other?.txBytes).toBe(150);
    // Peer 1 leaves: peer 2 stays in _other (no promotion, which would double count its history).
    const afterLeave = labeller.assign([peer(2, 160)]);
    expect(afterLeave.labelled).toEqual([]);
    expect(afterLeave.other?.txBytes).toBe(160);
    // Peer 2 leaves: its last counts stay in _other; a newcomer takes the free label.
    const afterBoth = labeller.assign([peer(5)]);
    expect(afterBoth.labelled.map((p) => p.subnet)).toEqual(['10.244.5.0/24']);
    expect(afterBoth.other?.txBytes).toBe(160);
  });

  it('is idempotent for the same input', () => {
    const labeller = new PeerLabeller(1);
    const peers = [peer(1), peer(2), peer(3)];
    const first = labeller.assign(peers);
    expect(labeller.assign(peers)).toEqual(first);
  });

  it('merges duplicate subnets instead of exporting duplicate series', () => {
    const result = new PeerLabeller(4).assign([peer(1), peer(1)]);
    expect(result.labelled).toHaveLength(1);
    expect(result.labelled[0].txBytes).toBe(200);
  });

  it('with maxPeers 0 exports only _other', () => {
    const result = new PeerLabeller(0).assign([peer(1)]);
    expect(result.labelled).toEqual([]);
    expect(result.other?.rxBytes).toBe(200);
  });

  it('rejects a negative cap', () => {
    expect(() => new PeerLabeller(-1)).toThrow(RangeError);
  });
});

// Caps the number of distinct `peer` label values. A peer keeps the label it got while it stays in the
// forwarding table; peers beyond the cap are summed into `peer="_other"`. `_other` stays monotonic: the
// last counts of overflow peers that left are kept as an offset, so a departure never looks like a reset.
import type { PeerCounters } from './sources.js';

export const OTHER_PEER = '_other';

export interface PeerTotals {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  lastReceiveMs: number;
}

export interface PeerLabelling {
  /** Peers exported under their own subnet, in first-seen order. */
  labelled: PeerCounters[];
  /** Aggregate of every overflow peer ever seen; null while no peer has overflowed. */
  other: PeerTotals | null;
}

function zeroTotals(): PeerTotals {
  return { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, lastReceiveMs: 0 };
}

function addInto(target: PeerTotals, source: PeerTotals): void {
  target.txPackets += source.txPackets;
  target.txBytes += source.txBytes;
  target.rxPackets += source.rxPackets;
  target.rxBytes += source.rxBytes;
  target.lastReceiveMs = Math.max(target.lastReceiveMs, source.lastReceiveMs);
}

export class PeerLabeller {
  readonly #maxPeers: number;
  readonly #labelled = new Set<string>();
  /** Last seen counts of overflow peers still present. */
  readonly #overflow = new Map<string, PeerTotals>();
  /** Counts of overflow peers that have left. */
  #departedOverflow: PeerTotals | null = null;

  constructor(maxPeers: number) {
    if (!Number.isInteger(maxPeers) || maxPeers < 0) {
      throw new RangeError(`maxPeers must be a non-negative integer, got ${maxPeers}`);
    }
    this.#maxPeers = maxPeers;
  }

  /** Applies the current peer set; idempotent for the same input. */
  assign(peers: readonly PeerCounters[]): PeerLabelling {
    const present = new Map<string, PeerCounters>();
    for (const peer of peers) {
      const seen = present.get(peer.subnet);
      if (seen === undefined) present.set(peer.subnet, peer);
      else present.set(peer.subnet, { ...seen, ...mergeTotals(seen, peer) });
    }

    for (const subnet of this.#labelled) if (!present.has(subnet)) this.#labelled.delete(subnet);
    for (const [subnet, last] of this.#overflow) {
      if (present.has(subnet)) continue;
      this.#departedOverflow ??= zeroTotals();
      addInto(this.#departedOverflow, last);
      this.#overflow.delete(subnet);
    }

    for (const [subnet, peer] of present) {
      if (this.#labelled.has(subnet)) continue;
      if (!this.#overflow.has(subnet) && this.#labelled.size < this.#maxPeers) this.#labelled.add(subnet);
      else this.#overflow.set(subnet, totalsOf(peer));
    }

    const labelled = [...this.#labelled].map((subnet) => present.get(subnet)!);
    return { labelled, other: this.#otherTotals() };
  }

  #otherTotals(): PeerTotals | null {
    if (this.#overflow.size === 0 && this.#departedOverflow === null) return null;
    const other = zeroTotals();
    if (this.#departedOverflow !== null) addInto(other, this.#departedOverflow);
    for (const totals of this.#overflow.values()) addInto(other, totals);
    return other;
  }
}

function totalsOf(peer: PeerCounters): PeerTotals {
  return {
    txPackets: peer.txPackets,
    txBytes: peer.txBytes,
    rxPackets: peer.rxPackets,
    rxBytes: peer.rxBytes,
    lastReceiveMs: peer.lastReceiveMs,
  };
}

function mergeTotals(a: PeerCounters, b: PeerCounters): PeerTotals {
  const merged = totalsOf(a);
  addInto(merged, totalsOf(b));
  return merged;
}

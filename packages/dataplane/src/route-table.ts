/**
 * The route table shared between the control plane (main thread, writer) and the forwarder (worker,
 * reader): one Int32Array over a SharedArrayBuffer, guarded by a sequence word (seqlock). The writer
 * makes the word odd, writes, makes it even; a reader retries when the word was odd or changed while
 * it read, so it never acts on a half-written route or peer.
 *
 * Lookup of a destination inside the cluster network is O(1): the subnet number indexes a direct
 * array. Everything else (prefixes of another length, outside the network) is in a short list sorted
 * longest prefix first; a direct entry flags when a longer prefix inside its subnet must be checked.
 *
 * Layout (int32 words):
 *   [0] sequence  [1] extra route count  [2..3] unused
 *   direct[slotCount]        (peer + 1) | HAS_LONGER; 0 = no route
 *   peers[maxPeers][8]       address, port, MAC hi, MAC lo, subnet base, subnet mask
 *   extra[MAX_EXTRA_ROUTES][4]  base, mask, prefix length, peer
 *   sources[hashSize][2]     underlay address → peer (open addressing, address 0 = empty)
 * Addresses are int32 (host-order uint32 bit patterns), the form netio records use.
 */
import { MAX_EXTRA_ROUTES } from './constants.js';

export const SEQUENCE = 0;
export const EXTRA_COUNT = 1;
const HEADER_WORDS = 4;

export const PEER_STRIDE = 8;
export const PEER_ADDR = 0;
export const PEER_PORT = 1;
export const PEER_MAC_HI = 2;
export const PEER_MAC_LO = 3;
export const PEER_SUBNET_BASE = 4;
export const PEER_SUBNET_MASK = 5;

export const EXTRA_STRIDE = 4;
export const ENTRY_HAS_LONGER = 0x40000000;
export const ENTRY_PEER_MASK = 0x3fffffff;

/**
 * Retries of one read before giving up (about 10 ms of spinning). A writer holds the sequence odd for
 * microseconds, at most a few milliseconds for a whole-table rewrite; only a writer that died mid-write
 * exhausts this bound.
 */
const MAX_READ_ATTEMPTS = 10_000_000;

export interface RouteTableGeometry {
  /** Cluster network base and prefix length. */
  networkBase: number;
  networkPrefix: number;
  /** Prefix length of a lease: each direct slot is one lease-sized subnet. */
  subnetPrefix: number;
  maxPeers: number;
}

export interface RouteTableLayout extends RouteTableGeometry {
  slotCount: number;
  directAt: number;
  peersAt: number;
  extraAt: number;
  sourcesAt: number;
  hashBits: number;
  words: number;
}

export function routeTableLayout(geometry: RouteTableGeometry): RouteTableLayout {
  const slotCount = 2 ** (geometry.subnetPrefix - geometry.networkPrefix);
  const hashBits = Math.max(4, Math.ceil(Math.log2(geometry.maxPeers * 2)));
  const directAt = HEADER_WORDS;
  const peersAt = directAt + slotCount;
  const extraAt = peersAt + geometry.maxPeers * PEER_STRIDE;
  const sourcesAt = extraAt + MAX_EXTRA_ROUTES * EXTRA_STRIDE;
  const words = sourcesAt + 2 ** hashBits * 2;
  return { ...geometry, slotCount, directAt, peersAt, extraAt, sourcesAt, hashBits, words };
}

/** Hash of an underlay address into the sources table. */
export function sourceHash(addr: number, hashBits: number): number {
  return Math.imul(addr, 0x9e3779b1) >>> (32 - hashBits);
}

/** Worker side. After a successful lookup the peer's fields are in the public properties. */
export class RouteTableReader {
  readonly table: Int32Array;
  /** Fields of the last peer found (consistent with each other: read under the same sequence). */
  peerAddr = 0;
  peerPort = 0;
  peerMacHi = 0;
  peerMacLo = 0;
  peerSubnetBase = 0;
  peerSubnetMask = 0;
  private readonly networkBase: number;
  private readonly networkMask: number;
  private readonly hostBits: number;
  private readonly subnetPrefix: number;
  private readonly directAt: number;
  private readonly peersAt: number;
  private readonly extraAt: number;
  private readonly sourcesAt: number;
  private readonly hashBits: number;
  private readonly hashMask: number;
  private readonly maxPeers: number;

  constructor(memory: SharedArrayBuffer, layout: RouteTableLayout) {
    this.table = new Int32Array(memory);
    this.networkBase = layout.networkBase | 0;
    this.networkMask = layout.networkPrefix === 0 ? 0 : (0xffffffff << (32 - layout.networkPrefix)) | 0;
    this.hostBits = 32 - layout.subnetPrefix;
    this.subnetPrefix = layout.subnetPrefix;
    this.directAt = layout.directAt;
    this.peersAt = layout.peersAt;
    this.extraAt = layout.extraAt;
    this.sourcesAt = layout.sourcesAt;
    this.hashBits = layout.hashBits;
    this.hashMask = 2 ** layout.hashBits - 1;
    this.maxPeers = layout.maxPeers;
  }

  /** The peer that owns `dst` (int32), or -1 for no route. Fills the peer* properties. */
  lookup(dst: number): number {
    const t = this.table;
    for (let attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
      const sequence = Atomics.load(t, SEQUENCE);
      if ((sequence & 1) === 1) continue;
      let peer: number;
      if ((dst & this.networkMask) === this.networkBase) {
        const entry = t[this.directAt + ((dst & ~this.networkMask) >>> this.hostBits)];
        peer = (entry & ENTRY_PEER_MASK) - 1;
        if ((entry & ENTRY_HAS_LONGER) !== 0) {
          const longer = this.scanExtra(dst, this.subnetPrefix + 1);
          if (longer >= 0) peer = longer;
        }
      } else {
        peer = this.scanExtra(dst, 0);
      }
      if (peer >= 0) this.loadPeer(peer);
      if (Atomics.load(t, SEQUENCE) === sequence) return peer;
    }
    return -1;
  }

  /** The peer whose underlay address is `addr` (int32), or -1. Fills the peer* properties. */
  peerBySource(addr: number): number {
    const t = this.table;
    for (let attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
      const sequence = Atomics.load(t, SEQUENCE);
      if ((sequence & 1) === 1) continue;
      let peer = -1;
      let bucket = sourceHash(addr, this.hashBits);
      for (let probe = 0; probe <= this.hashMask; probe++) {
        const at = this.sourcesAt + bucket * 2;
        const key = t[at];
        if (key === 0) break;
        if (key === addr) {
          peer = t[at + 1];
          break;
        }
        bucket = (bucket + 1) & this.hashMask;
      }
      if (peer >= 0) this.loadPeer(peer);
      if (Atomics.load(t, SEQUENCE) === sequence) return peer;
    }
    return -1;
  }

  /** Longest match among the extra routes with a prefix of at least `minPrefix` bits. */
  private scanExtra(dst: number, minPrefix: number): number {
    const t = this.table;
    const count = Math.min(t[EXTRA_COUNT], MAX_EXTRA_ROUTES);
    for (let i = 0; i < count; i++) {
      const at = this.extraAt + i * EXTRA_STRIDE;
      if (t[at + 2] < minPrefix) return -1;
      if ((dst & t[at + 1]) === t[at]) return t[at + 3];
    }
    return -1;
  }

  private loadPeer(peer: number): void {
    // A torn read may yield any index; the sequence check discards it, but never read out of bounds.
    if (peer >= this.maxPeers) return;
    const t = this.table;
    const at = this.peersAt + peer * PEER_STRIDE;
    this.peerAddr = t[at + PEER_ADDR];
    this.peerPort = t[at + PEER_PORT];
    this.peerMacHi = t[at + PEER_MAC_HI];
    this.peerMacLo = t[at + PEER_MAC_LO];
    this.peerSubnetBase = t[at + PEER_SUBNET_BASE];
    this.peerSubnetMask = t[at + PEER_SUBNET_MASK];
  }
}

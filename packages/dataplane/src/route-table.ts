/**
 * The route table shared between the control plane (main thread, writer) and the forwarder (worker,
 * reader): an Int32Array over a SharedArrayBuffer holding two copies of the table. The reader picks
 * the active copy once per batch (two atomic operations) and then reads it with plain loads; the
 * writer updates the inactive copy, makes it active, waits until the reader has left the old copy
 * (at most one batch), and brings the old copy up to date. A batch therefore sees one consistent
 * table, never a half-written route or peer, and lookups cost no atomics.
 *
 * Lookup of a destination inside the cluster network is O(1): the subnet number indexes a direct
 * array. Everything else (prefixes of another length, outside the network) is in a short list sorted
 * longest prefix first; a direct entry flags when a longer prefix inside its subnet must be checked.
 *
 * Layout (int32 words): header [0] active copy (0/1), [1] copy the reader uses (-1: between batches),
 * then two copies, each:
 *   [0] extra route count  [1..3] unused
 *   direct[slotCount]           (peer + 1) | HAS_LONGER; 0 = no route
 *   peers[maxPeers][8]          address, port, MAC hi, MAC lo, subnet base, subnet mask
 *   extra[MAX_EXTRA_ROUTES][4]  base, mask, prefix length, peer
 *   sources[hashSize][2]        underlay address → peer (open addressing, address 0 = empty)
 * Addresses are int32 (host-order uint32 bit patterns), the form netio records use.
 */
import { MAX_EXTRA_ROUTES } from './constants.js';

export const ACTIVE_COPY = 0;
export const READER_COPY = 1;
const HEADER_WORDS = 4;
export const EXTRA_COUNT = 0;
const COPY_HEADER_WORDS = 4;

export const PEER_STRIDE = 8;
export const PEER_ADDR = 0;
export const PEER_PORT = 1;
export const PEER_MAC_HI = 2;
export const PEER_MAC_LO = 3;
export const PEER_SUBNET_BASE = 4;
export const PEER_SUBNET_MASK = 5;

export const EXTRA_STRIDE = 4;
export const ENTRY_HAS_LONGER = 0x40000000;
const ENTRY_PEER_MASK = 0x3fffffff;

/** Attempts to pin the active copy while a writer keeps flipping (each flip waits for us: never hit). */
const MAX_PIN_ATTEMPTS = 1000;

export interface RouteTableGeometry {
  /** Cluster network base and prefix length. */
  networkBase: number;
  networkPrefix: number;
  /** Prefix length of a lease: each direct slot is one lease-sized subnet. */
  subnetPrefix: number;
  maxPeers: number;
}

/** Word offsets inside one copy, the size of a copy, and the whole table's size. */
export interface RouteTableLayout extends RouteTableGeometry {
  slotCount: number;
  directAt: number;
  peersAt: number;
  extraAt: number;
  sourcesAt: number;
  hashBits: number;
  copyWords: number;
  words: number;
}

export function routeTableLayout(geometry: RouteTableGeometry): RouteTableLayout {
  const slotCount = 2 ** (geometry.subnetPrefix - geometry.networkPrefix);
  const hashBits = Math.max(4, Math.ceil(Math.log2(geometry.maxPeers * 2)));
  const directAt = COPY_HEADER_WORDS;
  const peersAt = directAt + slotCount;
  const extraAt = peersAt + geometry.maxPeers * PEER_STRIDE;
  const sourcesAt = extraAt + MAX_EXTRA_ROUTES * EXTRA_STRIDE;
  const copyWords = sourcesAt + 2 ** hashBits * 2;
  const words = HEADER_WORDS + 2 * copyWords;
  return { ...geometry, slotCount, directAt, peersAt, extraAt, sourcesAt, hashBits, copyWords, words };
}

/** First word of a copy. */
export function copyStart(layout: RouteTableLayout, copy: number): number {
  return HEADER_WORDS + copy * layout.copyWords;
}

/** Hash of an underlay address into the sources table. */
export function sourceHash(addr: number, hashBits: number): number {
  return Math.imul(addr, 0x9e3779b1) >>> (32 - hashBits);
}

/**
 * Worker side. Call beginBatch() before a batch of lookups and endBatch() after it. After a
 * successful lookup the peer's fields are in the public properties.
 */
export class RouteTableReader {
  readonly table: Int32Array;
  /** Fields of the last peer found. */
  peerAddr = 0;
  peerPort = 0;
  peerMacHi = 0;
  peerMacLo = 0;
  peerSubnetBase = 0;
  peerSubnetMask = 0;
  private readonly layout: RouteTableLayout;
  private readonly networkBase: number;
  private readonly networkMask: number;
  private readonly hostBits: number;
  private readonly subnetPrefix: number;
  private readonly hashBits: number;
  private readonly hashMask: number;
  // Absolute word offsets in the copy pinned by beginBatch.
  private directAt: number;
  private peersAt: number;
  private extraAt: number;
  private sourcesAt: number;
  private extraCountAt: number;

  constructor(memory: SharedArrayBuffer, layout: RouteTableLayout) {
    this.table = new Int32Array(memory);
    this.layout = layout;
    this.networkBase = layout.networkBase | 0;
    this.networkMask = layout.networkPrefix === 0 ? 0 : (0xffffffff << (32 - layout.networkPrefix)) | 0;
    this.hostBits = 32 - layout.subnetPrefix;
    this.subnetPrefix = layout.subnetPrefix;
    this.hashBits = layout.hashBits;
    this.hashMask = 2 ** layout.hashBits - 1;
    this.directAt = this.peersAt = this.extraAt = this.sourcesAt = this.extraCountAt = 0;
    this.pin(0);
  }

  /** Pins the active copy for the lookups of one batch. */
  beginBatch(): void {
    const t = this.table;
    let copy = Atomics.load(t, ACTIVE_COPY);
    for (let attempt = 0; attempt < MAX_PIN_ATTEMPTS; attempt++) {
      Atomics.store(t, READER_COPY, copy);
      const now = Atomics.load(t, ACTIVE_COPY);
      if (now === copy) break;
      copy = now;
    }
    this.pin(copy);
  }

  /** Releases the pinned copy so the writer may update it. */
  endBatch(): void {
    Atomics.store(this.table, READER_COPY, -1);
  }

  /** The peer that owns `dst` (int32), or -1 for no route. Fills the peer* properties. */
  lookup(dst: number): number {
    let peer: number;
    if ((dst & this.networkMask) === this.networkBase) {
      const entry = this.table[this.directAt + ((dst & ~this.networkMask) >>> this.hostBits)];
      peer = (entry & ENTRY_PEER_MASK) - 1;
      if ((entry & ENTRY_HAS_LONGER) !== 0) {
        const longer = this.scanExtra(dst, this.subnetPrefix + 1);
        if (longer >= 0) peer = longer;
      }
    } else {
      peer = this.scanExtra(dst, 0);
    }
    if (peer >= 0) this.loadPeer(peer);
    return peer;
  }

  /** The peer whose underlay address is `addr` (int32), or -1. Fills the peer* properties. */
  peerBySource(addr: number): number {
    const t = this.table;
    let bucket = sourceHash(addr, this.hashBits);
    for (let probe = 0; probe <= this.hashMask; probe++) {
      const at = this.sourcesAt + bucket * 2;
      const key = t[at];
      if (key === 0) return -1;
      if (key === addr) {
        const peer = t[at + 1];
        this.loadPeer(peer);
        return peer;
      }
      bucket = (bucket + 1) & this.hashMask;
    }
    return -1;
  }

  private pin(copy: number): void {
    const start = copyStart(this.layout, copy);
    this.extraCountAt = start + EXTRA_COUNT;
    this.directAt = start + this.layout.directAt;
    this.peersAt = start + this.layout.peersAt;
    this.extraAt = start + this.layout.extraAt;
    this.sourcesAt = start + this.layout.sourcesAt;
  }

  /** Longest match among the extra routes with a prefix of at least `minPrefix` bits. */
  private scanExtra(dst: number, minPrefix: number): number {
    const t = this.table;
    const count = t[this.extraCountAt];
    for (let i = 0; i < count; i++) {
      const at = this.extraAt + i * EXTRA_STRIDE;
      if (t[at + 2] < minPrefix) return -1;
      if ((dst & t[at + 1]) === t[at]) return t[at + 3];
    }
    return -1;
  }

  private loadPeer(peer: number): void {
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

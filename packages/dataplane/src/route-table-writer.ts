/**
 * Main-thread side of the shared route table (layout and reader in route-table.ts). Keeps the routes in
 * plain JS structures and writes the compiled form into shared memory inside one seqlock write section
 * per change, so the worker sees either the old or the new table, never a mix.
 */
import { MAX_EXTRA_ROUTES } from './constants.js';
import { type Cidr, maskOf } from './ipv4.js';
import {
  ENTRY_HAS_LONGER,
  EXTRA_COUNT,
  EXTRA_STRIDE,
  PEER_ADDR,
  PEER_MAC_HI,
  PEER_MAC_LO,
  PEER_PORT,
  PEER_STRIDE,
  PEER_SUBNET_BASE,
  PEER_SUBNET_MASK,
  type RouteTableLayout,
  SEQUENCE,
  sourceHash,
} from './route-table.js';

/** What the forwarder needs of one peer; addresses are unsigned host-order numbers. */
export interface PeerRecord {
  subnet: Cidr;
  addr: number;
  port: number;
  macHi: number;
  macLo: number;
}

interface ExtraRoute {
  subnet: Cidr;
  peer: number;
}

export class RouteTableWriter {
  readonly table: Int32Array;
  private readonly layout: RouteTableLayout;
  private readonly networkMask: number;
  private readonly peers = new Map<number, PeerRecord>();
  /** Direct slot → peer, for lease-sized subnets inside the cluster network. */
  private readonly owners = new Map<number, number>();
  private extras: ExtraRoute[] = [];

  constructor(memory: SharedArrayBuffer, layout: RouteTableLayout) {
    this.table = new Int32Array(memory);
    this.layout = layout;
    this.networkMask = maskOf(layout.networkPrefix);
  }

  /** Whether a subnet would need an extra route (and whether one more still fits). */
  fits(subnet: Cidr): boolean {
    return this.isDirect(subnet) || this.extras.length < MAX_EXTRA_ROUTES;
  }

  /** Applies removals, then upserts (peer index → record), in one write section. */
  apply(upserts: ReadonlyArray<readonly [number, PeerRecord]>, removals: readonly number[]): void {
    const t = this.table;
    const dirtySlots = new Set<number>();
    let extrasChanged = false;
    let sourcesChanged = false;
    const dropRoute = (record: PeerRecord, peer: number): void => {
      if (this.isDirect(record.subnet)) {
        const slot = this.slotOf(record.subnet.base);
        if (this.owners.get(slot) === peer) this.owners.delete(slot);
        dirtySlots.add(slot);
      } else {
        this.extras = this.extras.filter((e) => e.peer !== peer);
        extrasChanged = true;
      }
    };

    Atomics.add(t, SEQUENCE, 1);
    try {
      for (const peer of removals) {
        const record = this.peers.get(peer);
        if (!record) continue;
        dropRoute(record, peer);
        this.peers.delete(peer);
        t.fill(0, this.peerAt(peer), this.peerAt(peer) + PEER_STRIDE);
        sourcesChanged = true;
      }
      for (const [peer, record] of upserts) {
        const old = this.peers.get(peer);
        if (old) {
          dropRoute(old, peer);
          if (old.addr !== record.addr) sourcesChanged = true;
        }
        this.peers.set(peer, record);
        const at = this.peerAt(peer);
        t[at + PEER_ADDR] = record.addr | 0;
        t[at + PEER_PORT] = record.port;
        t[at + PEER_MAC_HI] = record.macHi;
        t[at + PEER_MAC_LO] = record.macLo | 0;
        t[at + PEER_SUBNET_BASE] = record.subnet.base | 0;
        t[at + PEER_SUBNET_MASK] = record.subnet.mask | 0;
        if (this.isDirect(record.subnet)) {
          const slot = this.slotOf(record.subnet.base);
          this.owners.set(slot, peer);
          dirtySlots.add(slot);
        } else {
          this.extras.push({ subnet: record.subnet, peer });
          extrasChanged = true;
        }
        if (!sourcesChanged) this.insertSource(record.addr | 0, peer);
      }
      if (extrasChanged) {
        this.writeExtras();
        for (let slot = 0; slot < this.layout.slotCount; slot++) this.writeSlot(slot);
      } else {
        for (const slot of dirtySlots) this.writeSlot(slot);
      }
      if (sourcesChanged) this.rebuildSources();
    } finally {
      Atomics.add(t, SEQUENCE, 1);
    }
  }

  /** Whether the subnet is a lease-sized subnet of the cluster network (a direct slot, no extra route). */
  isDirect(subnet: Cidr): boolean {
    return (
      subnet.prefixLength === this.layout.subnetPrefix &&
      (subnet.base & this.networkMask) >>> 0 === this.layout.networkBase >>> 0
    );
  }

  private slotOf(addr: number): number {
    return ((addr - this.layout.networkBase) >>> 0) / 2 ** (32 - this.layout.subnetPrefix);
  }

  private peerAt(peer: number): number {
    return this.layout.peersAt + peer * PEER_STRIDE;
  }

  private writeExtras(): void {
    this.extras.sort((a, b) => b.subnet.prefixLength - a.subnet.prefixLength);
    const t = this.table;
    this.extras.forEach((e, i) => {
      const at = this.layout.extraAt + i * EXTRA_STRIDE;
      t[at] = e.subnet.base | 0;
      t[at + 1] = e.subnet.mask | 0;
      t[at + 2] = e.subnet.prefixLength;
      t[at + 3] = e.peer;
    });
    t[EXTRA_COUNT] = this.extras.length;
  }

  /** Best route of prefix length <= the lease length for the slot, plus whether longer ones exist in it. */
  private writeSlot(slot: number): void {
    const subnetPrefix = this.layout.subnetPrefix;
    const slotBase = (this.layout.networkBase + slot * 2 ** (32 - subnetPrefix)) >>> 0;
    const slotMask = maskOf(subnetPrefix);
    let best = this.owners.get(slot) ?? -1;
    let hasLonger = false;
    for (const e of this.extras) {
      if (e.subnet.prefixLength > subnetPrefix) {
        if ((e.subnet.base & slotMask) >>> 0 === slotBase) hasLonger = true;
      } else if (best < 0 && (slotBase & e.subnet.mask) >>> 0 === e.subnet.base) {
        best = e.peer;
      }
    }
    this.table[this.layout.directAt + slot] = (best + 1) | (hasLonger ? ENTRY_HAS_LONGER : 0);
  }

  private insertSource(addr: number, peer: number): void {
    const t = this.table;
    const mask = 2 ** this.layout.hashBits - 1;
    let bucket = sourceHash(addr, this.layout.hashBits);
    for (let probe = 0; probe <= mask; probe++) {
      const at = this.layout.sourcesAt + bucket * 2;
      if (t[at] === 0 || t[at] === addr) {
        t[at] = addr;
        t[at + 1] = peer;
        return;
      }
      bucket = (bucket + 1) & mask;
    }
  }

  private rebuildSources(): void {
    const start = this.layout.sourcesAt;
    this.table.fill(0, start, start + 2 ** this.layout.hashBits * 2);
    for (const [peer, record] of this.peers) this.insertSource(record.addr | 0, peer);
  }
}

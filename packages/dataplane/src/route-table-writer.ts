/**
 * Main-thread side of the shared route table (layout and reader in route-table.ts). Keeps the routes in
 * plain JS structures; each change is rendered into the inactive copy, which then becomes active; once
 * the reader has left the old copy (it re-pins every batch), the same change is rendered there too.
 */
import { MAX_EXTRA_ROUTES } from './constants.js';
import { type Cidr, maskOf } from './ipv4.js';
import {
  ACTIVE_COPY,
  copyStart,
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
  READER_COPY,
  type RouteTableLayout,
  sourceHash,
} from './route-table.js';

/** How long a change waits for the reader to leave the old copy (one batch; far less in practice). */
const READER_WAIT_MS = 1000;

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

/** What one change touched, rendered into each copy in turn. */
interface Change {
  peers: Set<number>;
  slots: Set<number> | 'all';
  extras: boolean;
  sources: 'rebuild' | number[];
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
    Atomics.store(this.table, READER_COPY, -1);
  }

  /** Whether the subnet is a lease-sized subnet of the cluster network (a direct slot, no extra route). */
  isDirect(subnet: Cidr): boolean {
    return (
      subnet.prefixLength === this.layout.subnetPrefix &&
      (subnet.base & this.networkMask) >>> 0 === this.layout.networkBase >>> 0
    );
  }

  /** Whether a subnet would need an extra route (and whether one more still fits). */
  fits(subnet: Cidr): boolean {
    return this.isDirect(subnet) || this.extras.length < MAX_EXTRA_ROUTES;
  }

  /** Applies removals, then upserts (peer index → record), as one change the reader sees at once. */
  apply(upserts: ReadonlyArray<readonly [number, PeerRecord]>, removals: readonly number[]): void {
    const change: Change = { peers: new Set(), slots: new Set(), extras: false, sources: [] };
    const dropRoute = (record: PeerRecord, peer: number): void => {
      if (this.isDirect(record.subnet)) {
        const slot = this.slotOf(record.subnet.base);
        if (this.owners.get(slot) === peer) this.owners.delete(slot);
        (change.slots as Set<number>).add(slot);
      } else {
        this.extras = this.extras.filter((e) => e.peer !== peer);
        change.extras = true;
      }
    };
    for (const peer of removals) {
      const record = this.peers.get(peer);
      if (!record) continue;
      dropRoute(record, peer);
      this.peers.delete(peer);
      change.peers.add(peer);
      change.sources = 'rebuild';
    }
    for (const [peer, record] of upserts) {
      const old = this.peers.get(peer);
      if (old) {
        dropRoute(old, peer);
        if (old.addr !== record.addr) change.sources = 'rebuild';
      }
      this.peers.set(peer, record);
      change.peers.add(peer);
      if (this.isDirect(record.subnet)) {
        const slot = this.slotOf(record.subnet.base);
        this.owners.set(slot, peer);
        (change.slots as Set<number>).add(slot);
      } else {
        this.extras.push({ subnet: record.subnet, peer });
        change.extras = true;
      }
      if (change.sources !== 'rebuild') change.sources.push(peer);
    }
    if (change.extras) {
      this.extras.sort((a, b) => b.subnet.prefixLength - a.subnet.prefixLength);
      change.slots = 'all';
    }

    const t = this.table;
    const old = Atomics.load(t, ACTIVE_COPY);
    this.render(1 - old, change);
    Atomics.store(t, ACTIVE_COPY, 1 - old);
    const deadline = performance.now() + READER_WAIT_MS;
    for (let spin = 0; Atomics.load(t, READER_COPY) === old && spin < 1e9; spin++) {
      if ((spin & 1023) === 1023 && performance.now() > deadline) break;
    }
    this.render(old, change);
  }

  private slotOf(addr: number): number {
    return ((addr - this.layout.networkBase) >>> 0) / 2 ** (32 - this.layout.subnetPrefix);
  }

  private render(copy: number, change: Change): void {
    const t = this.table;
    const start = copyStart(this.layout, copy);
    for (const peer of change.peers) {
      const at = start + this.layout.peersAt + peer * PEER_STRIDE;
      const record = this.peers.get(peer);
      if (!record) {
        t.fill(0, at, at + PEER_STRIDE);
        continue;
      }
      t[at + PEER_ADDR] = record.addr | 0;
      t[at + PEER_PORT] = record.port;
      t[at + PEER_MAC_HI] = record.macHi;
      t[at + PEER_MAC_LO] = record.macLo | 0;
      t[at + PEER_SUBNET_BASE] = record.subnet.base | 0;
      t[at + PEER_SUBNET_MASK] = record.subnet.mask | 0;
    }
    if (change.extras) {
      this.extras.forEach((e, i) => {
        const at = start + this.layout.extraAt + i * EXTRA_STRIDE;
        t[at] = e.subnet.base | 0;
        t[at + 1] = e.subnet.mask | 0;
        t[at + 2] = e.subnet.prefixLength;
        t[at + 3] = e.peer;
      });
      t[start + EXTRA_COUNT] = this.extras.length;
    }
    if (change.slots === 'all') {
      for (let slot = 0; slot < this.layout.slotCount; slot++) this.renderSlot(start, slot);
    } else {
      for (const slot of change.slots) this.renderSlot(start, slot);
    }
    if (change.sources === 'rebuild') {
      const at = start + this.layout.sourcesAt;
      t.fill(0, at, at + 2 ** this.layout.hashBits * 2);
      for (const [peer, record] of this.peers) this.insertSource(start, record.addr | 0, peer);
    } else {
      for (const peer of change.sources) this.insertSource(start, this.peers.get(peer)!.addr | 0, peer);
    }
  }

  /** Best route of prefix length <= the lease length for the slot, plus whether longer ones exist in it. */
  private renderSlot(start: number, slot: number): void {
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
    this.table[start + this.layout.directAt + slot] = (best + 1) | (hasLonger ? ENTRY_HAS_LONGER : 0);
  }

  private insertSource(start: number, addr: number, peer: number): void {
    const t = this.table;
    const mask = 2 ** this.layout.hashBits - 1;
    let bucket = sourceHash(addr, this.layout.hashBits);
    for (let probe = 0; probe <= mask; probe++) {
      const at = start + this.layout.sourcesAt + bucket * 2;
      if (t[at] === 0 || t[at] === addr) {
        t[at] = addr;
        t[at + 1] = peer;
        return;
      }
      bucket = (bucket + 1) & mask;
    }
  }
}

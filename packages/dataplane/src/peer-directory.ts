/**
 * The control plane's view of peers: which counter/route index each leased subnet has, and the
 * validated record the route table needs. Indices freed by a removal are reused last (FIFO), so a
 * batch still in flight in the worker rarely counts for a newcomer; counters are zeroed on reuse.
 */
import { type BackendType, DataplaneError, type PeerSpec } from './api.js';
import { macHi, macLo } from './codec/vxlan.js';
import { type Cidr, cidrContains, formatCidr, parseCidr, parseIpv4, parseMac } from './ipv4.js';
import type { PeerRecord } from './route-table-writer.js';

export interface PeerEntry {
  index: number;
  spec: PeerSpec;
  record: PeerRecord;
}

export class PeerDirectory {
  private readonly bySubnet = new Map<string, PeerEntry>();
  private readonly freeIndices: number[] = [];
  private nextIndex = 0;

  constructor(
    private readonly backend: BackendType,
    private readonly maxPeers: number,
    private readonly port: number,
    private readonly ownSubnet: Cidr,
  ) {}

  get size(): number {
    return this.bySubnet.size;
  }

  entries(): IterableIterator<PeerEntry> {
    return this.bySubnet.values();
  }

  get(subnet: string): PeerEntry | undefined {
    const cidr = parseCidr(subnet);
    return cidr ? this.bySubnet.get(formatCidr(cidr)) : undefined;
  }

  /** Validates a spec into the key (normalised subnet) and the record, without changing anything. */
  validate(spec: PeerSpec): { key: string; record: PeerRecord } {
    const badPeer = (problem: string): never => {
      throw new DataplaneError('DATAPLANE_BAD_PEER', `peer ${JSON.stringify(spec)}: ${problem}`);
    };
    if (typeof spec !== 'object' || spec === null) badPeer('must be an object');
    const subnet = parseCidr(String(spec.subnet));
    if (!subnet) return badPeer('subnet must be an IPv4 CIDR such as 10.244.7.0/24');
    if (cidrContains(subnet, this.ownSubnet) || cidrContains(this.ownSubnet, subnet)) {
      badPeer('subnet overlaps our own lease');
    }
    const addr = parseIpv4(String(spec.publicIp));
    if (addr <= 0) badPeer('publicIp must be an IPv4 address');
    let mac: Uint8Array = new Uint8Array(6);
    if (this.backend === 'vxlan') {
      const parsed = spec.vtepMac === undefined ? undefined : parseMac(spec.vtepMac);
      if (!parsed || (parsed[0] & 1) === 1) badPeer('vtepMac must be a unicast MAC (vxlan backend)');
      mac = parsed as Uint8Array;
    }
    return {
      key: formatCidr(subnet),
      record: { subnet, addr, port: this.port, macHi: macHi(mac), macLo: macLo(mac) },
    };
  }

  /** Records the peer; returns its entry and whether its index is new (its counters need zeroing). */
  upsert(spec: PeerSpec, key: string, record: PeerRecord): { entry: PeerEntry; fresh: boolean } {
    const existing = this.bySubnet.get(key);
    if (existing) {
      existing.spec = spec;
      existing.record = record;
      return { entry: existing, fresh: false };
    }
    const index = this.freeIndices.length > 0 ? this.freeIndices.shift()! : this.nextIndex;
    if (index >= this.maxPeers) {
      throw new DataplaneError('DATAPLANE_TOO_MANY_PEERS', `more than maxPeers=${this.maxPeers} peers`);
    }
    if (index === this.nextIndex) this.nextIndex++;
    const entry = { index, spec, record };
    this.bySubnet.set(key, entry);
    return { entry, fresh: true };
  }

  /** Forgets the peer; returns its index, or -1 when unknown. */
  remove(key: string): number {
    const entry = this.bySubnet.get(key);
    if (!entry) return -1;
    this.bySubnet.delete(key);
    this.freeIndices.push(entry.index);
    return entry.index;
  }
}

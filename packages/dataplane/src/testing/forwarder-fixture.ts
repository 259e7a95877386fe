/**
 * Two forwarders (node A and node B) wired to each other in memory, without netio: for unit tests and
 * micro-benchmarks of the per-packet functions. Cluster network 10.0.0.0/8 with /24 leases; A owns
 * 10.0.1.0/24 at 198.18.0.1, B owns 10.0.2.0/24 at 198.18.0.2; `extraPeers` more peers
 * (10.0.3.0/24 onwards at 198.19.x.y) are programmed on both sides.
 */
import type { BackendType } from '../api.js';
import { resolveConfig } from '../config.js';
import { Counters, countersByteLength } from '../counters.js';
import { ForwarderState } from '../forwarder-state.js';
import { internetChecksum, parseIpv4 } from '../ipv4.js';
import { PeerDirectory } from '../peer-directory.js';
import { BufferPool } from '../pool.js';
import { RouteTableReader } from '../route-table.js';
import { RouteTableWriter } from '../route-table-writer.js';

export interface FixtureNode {
  state: ForwarderState;
  routes: RouteTableWriter;
  subnet: string;
  underlay: number;
}

export interface ForwarderFixture {
  a: FixtureNode;
  b: FixtureNode;
}

export interface FixtureOptions {
  backend: BackendType;
  extraPeers?: number;
  tunMtu?: number;
  vni?: number;
  batchSize?: number;
  poolSlots?: number;
}

const NODES = [
  { subnet: '10.0.1.0/24', underlay: '198.18.0.1', mac: '0e:2a:00:00:00:01' },
  { subnet: '10.0.2.0/24', underlay: '198.18.0.2', mac: '0e:2a:00:00:00:02' },
];

function extraPeer(i: number): { subnet: string; publicIp: string; vtepMac: string } {
  const n = i + 3;
  return {
    subnet: `10.${n >> 8}.${n & 255}.0/24`,
    publicIp: `198.19.${n >> 8}.${n & 255}`,
    vtepMac: `0e:2a:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`,
  };
}

function createNode(self: number, options: FixtureOptions): FixtureNode {
  const me = NODES[self];
  const other = NODES[1 - self];
  const extraPeers = options.extraPeers ?? 0;
  const resolved = resolveConfig({
    backend: options.backend,
    tunName: 'fixture0',
    persistTun: false,
    tunMtu: options.tunMtu ?? 1400,
    underlayAddress: me.underlay,
    port: 8472,
    vni: options.vni ?? 1,
    vtepMac: me.mac,
    network: '10.0.0.0/8',
    subnet: me.subnet,
    maxPeers: extraPeers + 16,
    batchSize: options.batchSize,
    poolSlots: options.poolSlots,
  });
  const pool = new BufferPool({ slots: resolved.poolSlots, slotSize: resolved.slotSize });
  const routeMemory = new SharedArrayBuffer(resolved.layout.words * 4);
  const routes = new RouteTableWriter(routeMemory, resolved.layout);
  const directory = new PeerDirectory(options.backend, resolved.maxPeers, 8472, resolved.subnet);
  const specs = [{ subnet: other.subnet, publicIp: other.underlay, vtepMac: other.mac }];
  for (let i = 0; i < extraPeers; i++) specs.push(extraPeer(i));
  const upserts = specs.map((spec) => {
    const { key, record } = directory.validate(spec);
    return [directory.upsert(spec, key, record).entry.index, record] as const;
  });
  routes.apply(upserts, []);
  const state = new ForwarderState(
    pool,
    new Counters(new SharedArrayBuffer(countersByteLength(resolved.maxPeers))),
    new RouteTableReader(routeMemory, resolved.layout),
    resolved.settings,
  );
  return { state, routes, subnet: me.subnet, underlay: parseIpv4(me.underlay) | 0 };
}

export function createForwarderFixture(options: FixtureOptions): ForwarderFixture {
  return { a: createNode(0, options), b: createNode(1, options) };
}

export interface PacketSpec {
  /** Addresses as int32 or unsigned numbers. */
  source: number;
  destination: number;
  /** Total length including the 20-byte header. */
  length: number;
  ttl?: number;
  dontFragment?: boolean;
  protocol?: number;
  /** First payload byte; following bytes count up from it. */
  seed?: number;
}

/** Writes a valid IPv4 packet (20-byte header, checksum) at buf[at...]; returns its length. */
export function writeIpv4Packet(buf: Uint8Array, at: number, p: PacketSpec): number {
  buf[at] = 0x45;
  buf[at + 1] = 0;
  buf[at + 2] = p.length >>> 8;
  buf[at + 3] = p.length;
  buf[at + 4] = 0x12;
  buf[at + 5] = 0x34;
  buf[at + 6] = p.dontFragment ? 0x40 : 0;
  buf[at + 7] = 0;
  buf[at + 8] = p.ttl ?? 64;
  buf[at + 9] = p.protocol ?? 17;
  buf[at + 10] = 0;
  buf[at + 11] = 0;
  for (let i = 0; i < 4; i++) {
    buf[at + 12 + i] = p.source >>> (24 - 8 * i);
    buf[at + 16 + i] = p.destination >>> (24 - 8 * i);
  }
  const checksum = internetChecksum(buf, at, 20);
  buf[at + 10] = checksum >>> 8;
  buf[at + 11] = checksum;
  const seed = p.seed ?? 0;
  for (let i = 20; i < p.length; i++) buf[at + i] = seed + i;
  return p.length;
}

/**
 * Validation of DataplaneConfig into the numbers the worker uses. Every problem is a
 * DataplaneError('DATAPLANE_BAD_CONFIG') naming the field and what a valid value looks like.
 */
import { type BackendType, type DataplaneConfig, DataplaneError } from './api.js';
import { macHi, macLo } from './codec/vxlan.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_MAX_PEERS, DEFAULT_POOL_SLOTS, TUNNEL_HEADER_LEN } from './constants.js';
import { BACKEND_IPIP, BACKEND_UDP, BACKEND_VXLAN, type ForwarderSettings } from './forwarder-state.js';
import { type Cidr, cidrContains, parseCidr, parseIpv4, parseMac } from './ipv4.js';
import { OFFLOAD_SLOT_SIZE } from './offload/layout.js';
import { slotSizeFor } from './pool.js';
import { type RouteTableGeometry, type RouteTableLayout, routeTableLayout } from './route-table.js';

/** Largest direct route index (2^20 lease-sized subnets in the cluster network). */
const MAX_DIRECT_BITS = 20;
const BACKENDS: Record<BackendType, number> = { udp: BACKEND_UDP, vxlan: BACKEND_VXLAN, ipip: BACKEND_IPIP };

export interface ResolvedConfig {
  config: DataplaneConfig;
  network: Cidr;
  subnet: Cidr;
  settings: ForwarderSettings;
  layout: RouteTableLayout;
  maxPeers: number;
  poolSlots: number;
  slotSize: number;
  offloads: boolean;
  workers: number;
}

/** Upper bound of data-plane workers (each holds its own pool, counters and TUN queue). */
export const MAX_WORKERS = 16;

function bad(field: string, problem: string): never {
  throw new DataplaneError('DATAPLANE_BAD_CONFIG', `dataplane config: ${field} ${problem}`);
}

function integerIn(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    bad(field, `must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

export function resolveConfig(config: DataplaneConfig): ResolvedConfig {
  if (typeof config !== 'object' || config === null) bad('', 'must be an object');
  const backend = BACKENDS[config.backend];
  if (backend === undefined)
    bad('backend', `must be one of udp, vxlan, ipip (got ${String(config.backend)})`);
  if (typeof config.tunName !== 'string' || !/^[A-Za-z0-9_.%-]{1,15}$/.test(config.tunName)) {
    bad('tunName', 'must be an interface name of 1–15 characters [A-Za-z0-9_.%-]');
  }
  const tunMtu = integerIn('tunMtu', config.tunMtu, 576, 65535 - TUNNEL_HEADER_LEN[config.backend] - 28);
  const underlay = typeof config.underlayAddress === 'string' ? parseIpv4(config.underlayAddress) : -1;
  if (underlay <= 0) bad('underlayAddress', 'must be an IPv4 address such as 198.18.0.1');
  const port = config.backend === 'ipip' ? 0 : integerIn('port', config.port, 1, 65535);
  const vni = config.backend === 'vxlan' ? integerIn('vni', config.vni, 0, 0xffffff) : 0;
  const mac = config.backend === 'vxlan' ? parseMac(config.vtepMac) : new Uint8Array(6);
  if (!mac || (mac[0] & 1) === 1) bad('vtepMac', 'must be a unicast MAC such as 0e:2a:00:00:00:01');
  const network = parseCidr(String(config.network));
  if (!network || network.prefixLength < 1) bad('network', 'must be an IPv4 CIDR such as 10.244.0.0/16');
  const subnet = parseCidr(String(config.subnet));
  if (!subnet || !cidrContains(network, subnet) || subnet.prefixLength === network.prefixLength) {
    bad('subnet', `must be a CIDR inside network ${config.network}, such as 10.244.3.0/24`);
  }
  if (subnet.prefixLength - network.prefixLength > MAX_DIRECT_BITS) {
    bad('subnet', `may be at most ${MAX_DIRECT_BITS} bits longer than the network prefix`);
  }
  const maxPeers = integerIn('maxPeers', config.maxPeers ?? DEFAULT_MAX_PEERS, 1, 1 << 20);
  const batchSize = integerIn('batchSize', config.batchSize ?? DEFAULT_BATCH_SIZE, 1, 1024);
  const minSlots = 3 * batchSize + 1;
  const poolSlots = integerIn(
    'poolSlots',
    config.poolSlots ?? Math.max(DEFAULT_POOL_SLOTS, 4 * batchSize),
    minSlots,
    1 << 20,
  );
  if (typeof config.persistTun !== 'boolean') bad('persistTun', 'must be true or false');
  if (config.offloads !== undefined && typeof config.offloads !== 'boolean') {
    bad('offloads', 'must be true or false');
  }
  const offloads = config.backend !== 'ipip' && config.offloads !== false;
  const workers = integerIn('workers', config.workers ?? 1, 1, MAX_WORKERS);
  // ipip forwards on the main thread (forwarder-host.ts): there is no second thread to give a queue to.
  if (config.backend === 'ipip' && workers !== 1) bad('workers', 'must be 1 for the ipip backend');

  const geometry: RouteTableGeometry = {
    networkBase: network.base,
    networkPrefix: network.prefixLength,
    subnetPrefix: subnet.prefixLength,
    maxPeers,
  };
  const settings: ForwarderSettings = {
    backend,
    vni,
    ourMacHi: macHi(mac),
    ourMacLo: macLo(mac),
    ownBase: subnet.base | 0,
    ownMask: subnet.mask | 0,
    tunMtu,
    networkBase: network.base | 0,
    underlayAddress: underlay | 0,
    port,
    batchSize,
  };
  // Room for the largest datagram a peer may send on a standard underlay, and for our own packets.
  // With offloads a slot holds a 64 KiB super-packet, or the segments split from one.
  const slotSize = offloads
    ? OFFLOAD_SLOT_SIZE
    : slotSizeFor(Math.max(2048, tunMtu + TUNNEL_HEADER_LEN[config.backend]));
  return {
    config,
    network,
    subnet,
    settings,
    layout: routeTableLayout(geometry),
    maxPeers,
    poolSlots,
    slotSize,
    offloads,
    workers,
  };
}

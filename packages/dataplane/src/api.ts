/**
 * The programmatic API of @felt/dataplane: what the daemon and the metrics package code against.
 *
 * The data plane runs in one worker_threads worker that owns the TUN device and the underlay socket (or
 * `workers` of them, each with its own TUN queue and its own SO_REUSEPORT socket).
 * The main thread programs peers into a shared route table (no per-packet messaging) and reads the
 * shared counters at scrape time (`snapshot()`).
 *
 * Link configuration (address, MTU, up, the route of the cluster network into the TUN) is the
 * caller's job: the data plane opens the TUN device by name (creating it when absent) and forwards.
 */
import type { DropReason } from './drop-reasons.js';

export type BackendType = 'udp' | 'vxlan' | 'ipip';

export interface DataplaneConfig {
  backend: BackendType;
  /** TUN interface name; an existing (persistent) device with this name is attached to. */
  tunName: string;
  /** Keep the TUN device after stop() so a restarted daemon re-attaches without breaking flows. */
  persistTun: boolean;
  /** MTU of the TUN device: inner packets above it are too big (ICMP Fragmentation Needed with DF). */
  tunMtu: number;
  /** Local underlay IPv4 address the socket binds to and vxlan/ipip use as the outer source. */
  underlayAddress: string;
  /** Underlay UDP port: udp 8285, vxlan 8472 by convention; ignored for ipip. */
  port: number;
  /** VXLAN network identifier (Flannel default 1); ignored by other backends. */
  vni: number;
  /** Our VTEP MAC 'aa:bb:cc:dd:ee:ff' (vxlan only; locally administered unicast). */
  vtepMac: string;
  /** Cluster network CIDR, e.g. '10.244.0.0/16'. */
  network: string;
  /** Our own lease, e.g. '10.244.3.0/24'. Traffic for it never goes to the wire. */
  subnet: string;
  /** Upper bound of peers (route table and counters are sized once). Default 16384. */
  maxPeers?: number;
  /** Packet buffers per direction. Default 256. */
  poolSlots?: number;
  /** Packets per batch (TUN reads, recvmmsg/sendmmsg). Default 64. */
  batchSize?: number;
  /**
   * TUN TSO/USO with 64 KiB super-packets, UDP GSO/GRO and coalesced TUN writes (offload/*.ts). Default
   * on for udp and vxlan; used only where the kernel accepts TUN offloads (snapshot().offloads.active
   * says whether they run). ipip has no offload path and ignores it.
   */
  offloads?: boolean;
  /**
   * Data-plane workers (udp and vxlan; ipip allows 1 only). Default 1: one worker, one TUN fd, one
   * socket, exactly as before. N > 1: N workers, each with its own queue of a multi-queue TUN
   * (IFF_MULTI_QUEUE; a persistent device must have been created multi_queue) and its own socket bound
   * to the same port with SO_REUSEPORT. The kernel spreads TUN reads by flow hash and incoming
   * datagrams by their outer address/port hash (so one peer that always sends from one port lands on
   * one worker). Each worker has its own pool and counters; snapshot() sums them.
   */
  workers?: number;
}

/** A remote node's lease as the data plane needs it. */
export interface PeerSpec {
  /** The peer's leased subnet, e.g. '10.244.7.0/24'; also the anti-spoofing range of its packets. */
  subnet: string;
  /** Underlay IPv4 address packets are sent to (and must come from). */
  publicIp: string;
  /** The peer's VTEP MAC (vxlan backend only; required there). */
  vtepMac?: string;
}

/** A pino-compatible logger. The data plane never logs per packet. */
export interface DataplaneLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface DataplaneOptions {
  logger?: DataplaneLogger;
}

export { DROP_REASONS, type DropReason } from './drop-reasons.js';

export interface TrafficCounter {
  packets: number;
  bytes: number;
}

export interface PeerStats {
  subnet: string;
  publicIp: string;
  /** Inner (overlay IP packet) bytes; tunnel headers excluded. */
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  /** Unix time (seconds) of the last valid packet from this peer; 0 = never. */
  lastReceiveSeconds: number;
}

/**
 * A histogram as Prometheus wants it: `counts[i]` observations with value <= `bounds[i]` and above the
 * previous bound (NOT cumulative); `counts[bounds.length]` is the +Inf bucket. `sum` and `count` as usual.
 */
export interface Histogram {
  bounds: readonly number[];
  counts: number[];
  sum: number;
  count: number;
}

export interface BatchStats {
  /** Packets per batch; bounds 1, 2, 4, ..., 256. */
  size: Histogram;
  /** Seconds per batch (read, (de)capsulate, write); bounds 1 µs × 4^k, k = 0..8. */
  durationSeconds: Histogram;
}

/** Offload counters (all zero while offloads are off). */
export interface OffloadStats {
  /** Whether the offload loops run (configured on, and accepted by the kernel). */
  active: boolean;
  /** GSO super-packets read from the TUN, and the segments they were split into. */
  superPackets: number;
  superPacketSegments: number;
  /** UDP sends carrying a UDP_SEGMENT run, and the datagrams in them (segments per send = ratio). */
  gsoSends: number;
  gsoSegments: number;
  /** GSO sends the kernel refused: resent as single datagrams, GSO off from then on. */
  gsoFallbacks: number;
  /** Received datagrams coalesced by UDP GRO, and the datagrams in them. */
  groDatagrams: number;
  groSegments: number;
  /** TUN writes on receive, and the packets that went out merged with others (packets per write). */
  tunWrites: number;
  tunMergedPackets: number;
}

/** One data-plane worker's share of the traffic (its own counters; the snapshot's totals sum them). */
export interface WorkerStats {
  /**
   * Records each way through this worker's batches (the batch-size histograms' sums): packets read
   * from the TUN (encap) and from the socket (decap); with offloads a record is a super-packet or run.
   */
  encapPackets: number;
  decapPackets: number;
  /** Batches behind those packets. */
  encapBatches: number;
  decapBatches: number;
}

export interface DataplaneSnapshot {
  backend: BackendType;
  tunName: string;
  tunMtu: number;
  peers: PeerStats[];
  /** Every reason is present (zeros included). */
  drops: Record<DropReason, { tx: TrafficCounter; rx: TrafficCounter }>;
  /** Bytes on the underlay socket, tunnel headers included (outer IP excluded). */
  underlayBytes: { tx: number; rx: number };
  /** Packet buffers of both directions. */
  pool: { free: number; inUse: number };
  batches: { encap: BatchStats; decap: BatchStats };
  offloads: OffloadStats;
  /** Inner TCP/UDP checksums received partial (a kernel peer's CHECKSUM_PARTIAL) and completed. */
  innerChecksumsCompleted: number;
  /** Per worker, in worker order (one entry with workers = 1). */
  workers: WorkerStats[];
}

export type DataplaneErrorCode =
  /** The configuration is invalid; the message names the field. */
  | 'DATAPLANE_BAD_CONFIG'
  /** A PeerSpec is invalid (subnet, address, MAC, or outside the cluster network). */
  | 'DATAPLANE_BAD_PEER'
  /** More peers than maxPeers. */
  | 'DATAPLANE_TOO_MANY_PEERS'
  /** The worker could not open the TUN device or the socket; `cause` carries the NetioError. */
  | 'DATAPLANE_START_FAILED'
  /** The TUN device disappeared or the worker died while running (emitted as 'fatal'). */
  | 'DATAPLANE_FATAL'
  /** Called after stop(). */
  | 'DATAPLANE_STOPPED';

export class DataplaneError extends Error {
  readonly code: DataplaneErrorCode;
  constructor(code: DataplaneErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataplaneError';
    this.code = code;
  }
}

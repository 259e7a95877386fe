// What @felt/metrics reads at scrape time. These are the minimal shapes it needs; the data plane and the
// registry publish richer objects that satisfy them structurally (see adapters in the daemon).
import type { OffloadStats, WorkerStats } from '@felt/dataplane';
import type { EtcdOperation } from '@felt/registry';

export type Direction = 'tx' | 'rx';
export type DatapathOp = 'encap' | 'decap';

/** Cumulative counters of one peer tunnel, as the data plane keeps them (plain numbers, never reset). */
export interface PeerCounters {
  /** The peer's lease subnet, e.g. '10.244.3.0/24': the `peer` label. */
  subnet: string;
  /** Underlay address the peer is reached at. */
  publicIp: string;
  /** Node name when known (Flannel's etcd leases carry none). */
  node?: string;
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  /** Epoch milliseconds of the last valid packet received from the peer; 0 = never. */
  lastReceiveMs: number;
}

export interface DropCounts {
  packets: number;
  bytes: number;
}

/** A histogram kept as bucket counts in the hot path. */
export interface BucketCounts {
  /** Upper bounds in the metric's base unit (seconds, packets), ascending, without +Inf. */
  bounds: readonly number[];
  /** NON-cumulative count per bucket; `bounds.length + 1` entries, the last one counts values above every bound. */
  counts: ArrayLike<number>;
  /** Sum of observed values, in the base unit. */
  sum: number;
}

/** One consistent read of the data plane's shared counters. */
export interface DataplaneSnapshot {
  /** Peers currently programmed in the forwarding table. */
  peers: readonly PeerCounters[];
  /** Drop counters by direction and reason (snake_case); missing reasons count as 0. */
  drops: Readonly<Record<Direction, Readonly<Record<string, DropCounts>>>>;
  /** UDP payload bytes on the underlay socket, tunnel header included. */
  underlayBytes: Readonly<Record<Direction, number>>;
  batchSize: Readonly<Record<DatapathOp, BucketCounts>>;
  batchDurationSeconds: Readonly<Record<DatapathOp, BucketCounts>>;
  pool: { free: number; inUse: number };
  /** Packets waiting per internal queue, by queue name. */
  queues?: Readonly<Record<string, number>>;
  /** Offload counters (TUN TSO/GRO, UDP GSO/GRO); absent = offloads not supported by the source. */
  offloads?: OffloadCounters;
  /** Inner TCP/UDP checksums received partial (pseudo-header only) and completed before the TUN. */
  innerChecksumsCompleted?: number;
  /** Per data-plane worker (TUN queue), in worker order; absent = a single-threaded source. */
  workers?: readonly WorkerStats[];
}

/** The data plane's offload counters (cumulative). */
export type OffloadCounters = OffloadStats;

/** The etcd operations the registry reports on. */
export type { EtcdOperation };

/** Counters of the subnet registry; a structural subset of @felt/registry's RegistryStats. */
export interface RegistryStatsSource {
  renewals: { success: number; error: number };
  watchEvents: { put: number; delete: number };
  watchRestarts: { disconnected: number; compacted: number; canceled: number };
  /** Failed etcd calls per operation: a total, or totals by gRPC status name. */
  etcdErrors: Readonly<Partial<Record<EtcdOperation, number | Readonly<Record<string, number>>>>>;
  malformedLeasesSkipped?: number;
  reacquisitions?: number;
  synced: boolean;
  /** Epoch ms at which our lease expires; null without a lease. */
  leaseExpiresAt: number | null;
}

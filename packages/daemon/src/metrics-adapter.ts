// The data plane's snapshot and the registry's counters in the shapes @felt/metrics reads
// (direction-major drops, per-op histograms, milliseconds for the last-receive time, etcd errors by
// gRPC status).
import type { DataplaneSnapshot as DataplaneView, Histogram } from '@felt/dataplane';
import type {
  BucketCounts,
  DropCounts,
  DataplaneSnapshot as MetricsSnapshot,
  RegistryStatsSource,
} from '@felt/metrics';
import type { RegistryStats } from '@felt/registry';

export function metricsSnapshot(view: DataplaneView): MetricsSnapshot {
  const tx: Record<string, DropCounts> = {};
  const rx: Record<string, DropCounts> = {};
  for (const [reason, counts] of Object.entries(view.drops)) {
    tx[reason] = counts.tx;
    rx[reason] = counts.rx;
  }
  return {
    peers: view.peers.map((peer) => ({
      subnet: peer.subnet,
      publicIp: peer.publicIp,
      txPackets: peer.txPackets,
      txBytes: peer.txBytes,
      rxPackets: peer.rxPackets,
      rxBytes: peer.rxBytes,
      lastReceiveMs: peer.lastReceiveSeconds * 1000,
    })),
    drops: { tx, rx },
    underlayBytes: view.underlayBytes,
    batchSize: { encap: buckets(view.batches.encap.size), decap: buckets(view.batches.decap.size) },
    batchDurationSeconds: {
      encap: buckets(view.batches.encap.durationSeconds),
      decap: buckets(view.batches.decap.durationSeconds),
    },
    pool: view.pool,
    offloads: view.offloads,
    innerChecksumsCompleted: view.innerChecksumsCompleted,
    workers: view.workers,
  };
}

function buckets(histogram: Histogram): BucketCounts {
  return { bounds: histogram.bounds, counts: histogram.counts, sum: histogram.sum };
}

/** etcd errors by operation and gRPC status name (the `code` label), not per operation only. */
export function registryMetricsStats(stats: RegistryStats): RegistryStatsSource {
  return { ...stats, etcdErrors: stats.etcdErrorsByCode };
}

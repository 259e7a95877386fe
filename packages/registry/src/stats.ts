// Counters the daemon exports as metrics; every enum value starts at 0 so series exist from the start.
// Imports types only: @felt/registry/stats exposes ETCD_OPERATIONS without loading etcd3 (@felt/metrics).
import type { EtcdOperation, RegistryStats } from './types.js';

export const ETCD_OPERATIONS: readonly EtcdOperation[] = [
  'range',
  'put',
  'txn',
  'delete',
  'lease_grant',
  'lease_revoke',
  'watch',
];

export function emptyStats(): RegistryStats {
  const etcdErrors = Object.fromEntries(ETCD_OPERATIONS.map((op) => [op, 0])) as Record<
    EtcdOperation,
    number
  >;
  const etcdErrorsByCode = Object.fromEntries(ETCD_OPERATIONS.map((op) => [op, {}])) as Record<
    EtcdOperation,
    Record<string, number>
  >;
  return {
    renewals: { success: 0, error: 0, lost: 0 },
    watchEvents: { put: 0, delete: 0 },
    watchRestarts: { disconnected: 0, compacted: 0, canceled: 0 },
    etcdErrors,
    etcdErrorsByCode,
    malformedLeasesSkipped: 0,
    resyncRepairs: 0,
    reacquisitions: 0,
    synced: false,
    leaseExpiresAt: null,
    peers: 0,
  };
}

/** A deep copy, so callers can diff snapshots. */
export function copyStats(stats: RegistryStats): RegistryStats {
  return {
    ...stats,
    renewals: { ...stats.renewals },
    watchEvents: { ...stats.watchEvents },
    watchRestarts: { ...stats.watchRestarts },
    etcdErrors: { ...stats.etcdErrors },
    etcdErrorsByCode: Object.fromEntries(
      Object.entries(stats.etcdErrorsByCode).map(([op, codes]) => [op, { ...codes }]),
    ) as RegistryStats['etcdErrorsByCode'],
  };
}

/** Counts one failed etcd call under its operation and gRPC status name. */
export function countEtcdError(stats: RegistryStats, op: EtcdOperation, code: string): void {
  stats.etcdErrors[op]++;
  const codes = stats.etcdErrorsByCode[op];
  codes[code] = (codes[code] ?? 0) + 1;
}

// Metrics read from the subnet registry's counters at scrape time.
import type { Registry } from 'prom-client';
import { registerScrapeMetric, type Sample } from './collector.js';
import { ETCD_OPERATIONS } from './enums.js';
import type { RegistryStatsSource } from './sources.js';

/** Code label for registries that count etcd errors per operation only. */
export const UNKNOWN_ERROR_CODE = 'unknown';

export function registerRegistryMetrics(registry: Registry, stats: () => RegistryStatsSource | null): void {
  const labelled =
    <K extends string>(
      label: string,
      keys: readonly K[],
      pick: (s: RegistryStatsSource) => Record<K, number>,
    ) =>
    (): Sample[] => {
      const s = stats();
      return keys.map((key) => ({ labels: { [label]: key }, value: s === null ? 0 : pick(s)[key] }));
    };

  registerScrapeMetric(registry, {
    name: 'felt_subnet_lease_expiry_timestamp_seconds',
    help: "Unix time at which this node's subnet lease expires (0 = no lease).",
    type: 'gauge',
    samples: () => [{ labels: { family: 'ipv4' }, value: (stats()?.leaseExpiresAt ?? 0) / 1000 }],
  });
  registerScrapeMetric(registry, {
    name: 'felt_subnet_lease_renewals_total',
    help: 'Lease renewal attempts by outcome.',
    type: 'counter',
    samples: labelled('outcome', ['success', 'error'] as const, (s) => s.renewals),
  });
  registerScrapeMetric(registry, {
    name: 'felt_subnet_lease_reacquisitions_total',
    help: 'Times our subnet lease was lost and acquired again.',
    type: 'counter',
    samples: () => [{ value: stats()?.reacquisitions ?? 0 }],
  });
  registerScrapeMetric(registry, {
    name: 'felt_registry_watch_events_total',
    help: 'Subnet lease events received from the registry watch.',
    type: 'counter',
    samples: labelled('type', ['put', 'delete'] as const, (s) => s.watchEvents),
  });
  registerScrapeMetric(registry, {
    name: 'felt_registry_watch_restarts_total',
    help: 'Times the registry watch was re-established (compacted means a full re-list).',
    type: 'counter',
    samples: labelled('reason', ['disconnected', 'compacted', 'canceled'] as const, (s) => s.watchRestarts),
  });
  registerScrapeMetric(registry, {
    name: 'felt_registry_malformed_leases_total',
    help: 'Lease values from other writers that could not be parsed and were skipped.',
    type: 'counter',
    samples: () => [{ value: stats()?.malformedLeasesSkipped ?? 0 }],
  });
  registerScrapeMetric(registry, {
    name: 'felt_registry_synced',
    help: '1 once the initial list and watch of peer leases is applied to the forwarding table.',
    type: 'gauge',
    samples: () => [{ value: stats()?.synced ? 1 : 0 }],
  });
  registerScrapeMetric(registry, {
    name: 'felt_etcd_errors_total',
    help: 'Failed etcd calls by operation and gRPC status name.',
    type: 'counter',
    samples: () => {
      const errors = stats()?.etcdErrors ?? {};
      return ETCD_OPERATIONS.flatMap((op) => {
        const count = errors[op] ?? 0;
        if (typeof count === 'number') return [{ labels: { op, code: UNKNOWN_ERROR_CODE }, value: count }];
        return Object.entries(count).map(([code, value]) => ({ labels: { op, code }, value }));
      });
    },
  });
}

import { createMetrics, parseExposition } from '@felt/metrics';
import type { RegistryStats } from '@felt/registry';
import { describe, expect, it } from 'vitest';
import { registryMetricsStats } from './metrics-adapter.js';

const stats: RegistryStats = {
  renewals: { success: 0, error: 0, lost: 0 },
  watchEvents: { put: 0, delete: 0 },
  watchRestarts: { disconnected: 0, compacted: 0, canceled: 0 },
  etcdErrors: { range: 3, put: 0, txn: 0, delete: 0, lease_grant: 0, lease_revoke: 0, watch: 1 },
  etcdErrorsByCode: {
    range: { UNAVAILABLE: 2, DEADLINE_EXCEEDED: 1 },
    put: {},
    txn: {},
    delete: {},
    lease_grant: {},
    lease_revoke: {},
    watch: { UNKNOWN: 1 },
  },
  malformedLeasesSkipped: 0,
  resyncRepairs: 0,
  reacquisitions: 0,
  synced: true,
  leaseExpiresAt: null,
  peers: 0,
};

describe('registryMetricsStats', () => {
  it('exports etcd errors by gRPC status name', async () => {
    const metrics = createMetrics({
      build: { version: 'test' },
      defaultMetrics: false,
      registryStats: () => registryMetricsStats(stats),
    });
    const errors = parseExposition(await metrics.registry.metrics()).filter(
      (sample) => sample.name === 'felt_etcd_errors_total',
    );
    const byLabels = errors.map((sample) => [sample.labels.op, sample.labels.code, sample.value]);
    expect(byLabels).toEqual(
      expect.arrayContaining([
        ['range', 'UNAVAILABLE', 2],
        ['range', 'DEADLINE_EXCEEDED', 1],
        ['watch', 'UNKNOWN', 1],
      ]),
    );
    expect(errors.some((sample) => sample.labels.code === 'unknown')).toBe(false);
  });
});

// createMetrics: one prom-client Registry holding felt's metric set (ecosystem.md §1) plus prom-client's
// default process metrics. Counters owned by the data plane and the registry are pulled at scrape time.
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { oncePerScrape, registerScrapeMetric } from './collector.js';
import { type DataplaneView, registerDataplaneMetrics } from './dataplane-metrics.js';
import {
  ETCD_DURATION_BOUNDS,
  ETCD_OUTCOMES,
  ETCD_REQUEST_OPERATIONS,
  type EtcdOutcome,
  ROUTE_SYNC_BOUNDS,
} from './enums.js';
import { PeerLabeller } from './peer-labels.js';
import { registerRegistryMetrics } from './registry-metrics.js';
import type { DataplaneSnapshot, EtcdOperation, RegistryStatsSource } from './sources.js';

export const DEFAULT_MAX_PEERS = 256;

/**
 * Event-loop delay sampling period of the default metrics. prom-client's 10 ms wakes the main thread
 * 100 times a second (about 8 ms of CPU a second on a small VM, next to the data plane's worker) for
 * gauges scraped every few seconds; 100 ms keeps their percentiles meaningful at a tenth of the cost.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

const NON_COUNTER_TOTALS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export interface MetricsOptions {
  /** Registry to fill; a new one by default. */
  registry?: Registry;
  /** Cap on distinct `peer` label values (`--metrics-max-peers`); the rest is summed as `peer="_other"`. */
  maxPeers?: number;
  build: { version: string; runtimeVersion?: string };
  /** Backend type once the network config is known (label of felt_build_info). */
  backend?: () => string | null;
  /** MTU set on the TUN device, once it exists. */
  tunMtu?: () => number | null;
  /** Read once per scrape; null before the data plane runs. Throwing fails the scrape. */
  dataplane?: () => DataplaneSnapshot | null;
  /** Read once per scrape; null before the registry exists. */
  registryStats?: () => RegistryStatsSource | null;
  /** prom-client's process_* and nodejs_* metrics (unprefixed). Default true. */
  defaultMetrics?: boolean;
}

export interface FeltMetrics {
  registry: Registry;
  /** Latency of one etcd call (call sites outside the hot path). */
  recordEtcdRequest(op: EtcdOperation, outcome: EtcdOutcome, seconds: number): void;
  /** One successful reconciliation of kernel routes with the lease table. */
  recordRouteSync(seconds: number, nowMs?: number): void;
}

export function createMetrics(options: MetricsOptions): FeltMetrics {
  const registry = options.registry ?? new Registry();
  const labeller = new PeerLabeller(options.maxPeers ?? DEFAULT_MAX_PEERS);
  const readDataplane = options.dataplane ?? (() => null);

  const view = oncePerScrape((): DataplaneView => {
    const snapshot = readDataplane();
    return { snapshot, peers: labeller.assign(snapshot?.peers ?? []) };
  });
  registerDataplaneMetrics(registry, view);
  registerRegistryMetrics(registry, oncePerScrape(options.registryStats ?? (() => null)));

  registerScrapeMetric(registry, {
    name: 'felt_tunnel_mtu_bytes',
    help: 'MTU set on the TUN device and written to subnet.env (0 before the device exists).',
    type: 'gauge',
    samples: () => [{ value: options.tunMtu?.() ?? 0 }],
  });
  registerScrapeMetric(registry, {
    name: 'felt_build_info',
    help: 'Build and runtime metadata (always 1).',
    type: 'gauge',
    samples: () => [
      {
        labels: {
          version: options.build.version,
          runtime_version: options.build.runtimeVersion ?? process.version,
          backend: options.backend?.() ?? '',
        },
        value: 1,
      },
    ],
  });

  const etcdDuration = new Histogram({
    name: 'felt_etcd_request_duration_seconds',
    help: 'Latency of etcd calls by operation and outcome.',
    labelNames: ['op', 'outcome'] as const,
    buckets: [...ETCD_DURATION_BOUNDS],
    registers: [registry],
  });
  for (const op of ETCD_REQUEST_OPERATIONS)
    for (const outcome of ETCD_OUTCOMES) etcdDuration.zero({ op, outcome });

  const routeSyncDuration = new Histogram({
    name: 'felt_route_sync_duration_seconds',
    help: 'Time to reconcile kernel routes with the lease table.',
    buckets: [...ROUTE_SYNC_BOUNDS],
    registers: [registry],
  });
  const routeSyncLast = new Gauge({
    name: 'felt_route_sync_last_timestamp_seconds',
    help: 'Unix time of the last successful route reconciliation (0 = never).',
    registers: [registry],
  });
  routeSyncLast.set(0);

  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // Gauges named like counters fail `promtool check metrics`; the per-type gauges they sum remain.
    for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name);
  }

  return {
    registry,
    recordEtcdRequest: (op, outcome, seconds) => etcdDuration.observe({ op, outcome }, seconds),
    recordRouteSync: (seconds, nowMs = Date.now()) => {
      routeSyncDuration.observe(seconds);
      routeSyncLast.set(nowMs / 1000);
    },
  };
}

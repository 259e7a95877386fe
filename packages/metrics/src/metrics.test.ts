import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DROP_REASONS as DATAPLANE_DROP_REASONS } from '@felt/dataplane';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DROP_REASONS } from './enums.js';
import { createMetrics, type MetricsOptions } from './metrics.js';
import { type ExposedSample, parseExposition } from './parse.js';
import type { BucketCounts, DataplaneSnapshot, PeerCounters, RegistryStatsSource } from './sources.js';

function peer(n: number): PeerCounters {
  return {
    subnet: `10.244.${n}.0/24`,
    publicIp: `198.18.0.${n}`,
    txPackets: n,
    txBytes: 1000 * n,
    rxPackets: 2 * n,
    rxBytes: 2000 * n,
    lastReceiveMs: 1_700_000_000_000 + n * 1000,
  };
}

function buckets(bounds: number[], counts: number[], sum: number): BucketCounts {
  return { bounds, counts, sum };
}

function snapshot(peers: PeerCounters[]): DataplaneSnapshot {
  return {
    peers,
    drops: {
      tx: { no_route: { packets: 3, bytes: 300 } },
      rx: { future_reason: { packets: 1, bytes: 84 } },
    },
    underlayBytes: { tx: 5000, rx: 6000 },
    batchSize: {
      encap: buckets([1, 2, 4], [5, 1, 0, 2], 300),
      decap: buckets([1, 2, 4], [1, 0, 0, 0], 1),
    },
    batchDurationSeconds: {
      encap: buckets([0.001, 0.01], [7, 1, 0], 0.012),
      decap: buckets([0.001, 0.01], [1, 0, 0], 0.0002),
    },
    pool: { free: 60, inUse: 4 },
    queues: { udp_tx: 3 },
    workers: [
      { encapPackets: 200, decapPackets: 1, encapBatches: 5, decapBatches: 1 },
      { encapPackets: 100, decapPackets: 0, encapBatches: 3, decapBatches: 0 },
    ],
  };
}

const stats: RegistryStatsSource = {
  renewals: { success: 4, error: 1 },
  watchEvents: { put: 7, delete: 2 },
  watchRestarts: { disconnected: 1, compacted: 0, canceled: 0 },
  etcdErrors: { put: 2, range: { UNAVAILABLE: 3 } },
  malformedLeasesSkipped: 1,
  reacquisitions: 0,
  synced: true,
  leaseExpiresAt: 1_700_086_400_000,
};

async function scrape(options: Partial<MetricsOptions> = {}) {
  const metrics = createMetrics({ build: { version: '1.2.3', runtimeVersion: 'v20.0.0' }, ...options });
  return { metrics, text: await metrics.registry.metrics() };
}

function find(samples: ExposedSample[], name: string, labels: Record<string, string> = {}): ExposedSample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

function value(samples: ExposedSample[], name: string, labels: Record<string, string> = {}): number {
  const found = find(samples, name, labels);
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  return found[0].value;
}

function typeOf(text: string, name: string): string | undefined {
  return new RegExp(`^# TYPE ${name} (\\w+)$`, 'm').exec(text)?.[1];
}

describe('createMetrics exposition', () => {
  it('declares every metric of the table with its type', async () => {
    const { text } = await scrape({ dataplane: () => snapshot([peer(1)]), registryStats: () => stats });
    const expected: Record<string, string> = {
      felt_peer_packets_total: 'counter',
      felt_peer_bytes_total: 'counter',
      felt_peer_last_receive_timestamp_seconds: 'gauge',
      felt_peer_info: 'gauge',
      felt_peers: 'gauge',
      felt_drops_total: 'counter',
      felt_drop_bytes_total: 'counter',
      felt_underlay_bytes_total: 'counter',
      felt_datapath_batch_duration_seconds: 'histogram',
      felt_datapath_batch_size: 'histogram',
      felt_datapath_queue_length: 'gauge',
      felt_datapath_worker_packets_total: 'counter',
      felt_buffer_pool_buffers: 'gauge',
      felt_tunnel_mtu_bytes: 'gauge',
      felt_subnet_lease_expiry_timestamp_seconds: 'gauge',
      felt_subnet_lease_renewals_total: 'counter',
      felt_registry_watch_events_total: 'counter',
      felt_registry_watch_restarts_total: 'counter',
      felt_registry_synced: 'gauge',
      felt_etcd_request_duration_seconds: 'histogram',
      felt_etcd_errors_total: 'counter',
      felt_route_sync_duration_seconds: 'histogram',
      felt_route_sync_last_timestamp_seconds: 'gauge',
      felt_build_info: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) expect(typeOf(text, name), name).toBe(type);
    // Default process metrics stay unprefixed.
    expect(typeOf(text, 'process_cpu_seconds_total')).toBe('counter');
    expect(typeOf(text, 'nodejs_eventloop_lag_seconds')).toBe('gauge');
  });

  it('exports per-peer counters, info and timestamps from the data plane snapshot', async () => {
    const { text } = await scrape({ dataplane: () => snapshot([peer(1), peer(2)]) });
    const samples = parseExposition(text);
    expect(value(samples, 'felt_peer_packets_total', { peer: '10.244.2.0/24', direction: 'tx' })).toBe(2);
    expect(value(samples, 'felt_peer_bytes_total', { peer: '10.244.2.0/24', direction: 'rx' })).toBe(4000);
    expect(value(samples, 'felt_peer_last_receive_timestamp_seconds', { peer: '10.244.1.0/24' })).toBe(
      1_700_000_001,
    );
    expect(
      value(samples, 'felt_peer_info', { peer: '10.244.1.0/24', public_ip: '198.18.0.1', node: '' }),
    ).toBe(1);
    expect(value(samples, 'felt_peers', { family: 'ipv4' })).toBe(2);
    expect(value(samples, 'felt_underlay_bytes_total', { direction: 'rx' })).toBe(6000);
    expect(value(samples, 'felt_buffer_pool_buffers', { state: 'in_use' })).toBe(4);
    expect(value(samples, 'felt_datapath_queue_length', { queue: 'udp_tx' })).toBe(3);
    expect(value(samples, 'felt_datapath_worker_packets_total', { worker: '1', op: 'encap' })).toBe(100);
    expect(value(samples, 'felt_datapath_worker_packets_total', { worker: '0', op: 'decap' })).toBe(1);
    expect(find(samples, 'felt_peer_packets_total', { peer: '_other' })).toEqual([]);
  });

  it('caps peer labels at maxPeers and sums the overflow into peer="_other"', async () => {
    const { text } = await scrape({
      maxPeers: 2,
      dataplane: () => snapshot([peer(1), peer(2), peer(3), peer(4)]),
    });
    const samples = parseExposition(text);
    const peers = new Set(find(samples, 'felt_peer_bytes_total').map((s) => s.labels.peer));
    expect(peers).toEqual(new Set(['10.244.1.0/24', '10.244.2.0/24', '_other']));
    expect(value(samples, 'felt_peer_bytes_total', { peer: '_other', direction: 'tx' })).toBe(7000);
    expect(value(samples, 'felt_peer_last_receive_timestamp_seconds', { peer: '_other' })).toBe(
      1_700_000_004,
    );
    expect(find(samples, 'felt_peer_info')).toHaveLength(2);
    expect(value(samples, 'felt_peers', { family: 'ipv4' })).toBe(4);
  });

  it('removes the series of a peer that left the forwarding table', async () => {
    let peers = [peer(1), peer(2)];
    const metrics = createMetrics({
      build: { version: 'x' },
      dataplane: () => snapshot(peers),
      defaultMetrics: false,
    });
    expect(find(parseExposition(await metrics.registry.metrics()), 'felt_peer_bytes_total')).toHaveLength(4);
    peers = [peer(2)];
    const after = parseExposition(await metrics.registry.metrics());
    for (const name of [
      'felt_peer_bytes_total',
      'felt_peer_packets_total',
      'felt_peer_info',
      'felt_peer_last_receive_timestamp_seconds',
    ]) {
      expect(find(after, name, { peer: '10.244.1.0/24' }), name).toEqual([]);
      expect(find(after, name, { peer: '10.244.2.0/24' }).length, name).toBeGreaterThan(0);
    }
  });

  it('initialises every drop reason and direction to 0, before the data plane runs and after', async () => {
    const before = parseExposition((await scrape({ dataplane: () => null })).text);
    for (const reason of DROP_REASONS) {
      for (const direction of ['tx', 'rx']) {
        expect(value(before, 'felt_drops_total', { reason, direction })).toBe(0);
        expect(value(before, 'felt_drop_bytes_total', { reason, direction })).toBe(0);
      }
    }
    const after = parseExposition((await scrape({ dataplane: () => snapshot([]) })).text);
    expect(value(after, 'felt_drops_total', { reason: 'no_route', direction: 'tx' })).toBe(3);
    expect(value(after, 'felt_drop_bytes_total', { reason: 'no_route', direction: 'tx' })).toBe(300);
    expect(value(after, 'felt_drops_total', { reason: 'ttl_exceeded', direction: 'rx' })).toBe(0);
    // A reason outside the documented list is still exported, for both directions.
    expect(value(after, 'felt_drops_total', { reason: 'future_reason', direction: 'rx' })).toBe(1);
    expect(value(after, 'felt_drops_total', { reason: 'future_reason', direction: 'tx' })).toBe(0);
  });

  it("zero-initialises the data plane's own drop reason list", () => {
    expect(DROP_REASONS).toBe(DATAPLANE_DROP_REASONS);
  });

  it("loads without the data plane's runtime (native addon) or the registry's (etcd3)", async () => {
    // A child process whose module resolution fails on the main entry of @felt/dataplane, netio or registry.
    const hooks = `export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      if (/\\/(dataplane|netio|registry)\\/dist\\/index\\.js$/.test(result.url)) throw new Error('loaded ' + result.url);
      return result;
    }`;
    const script = `import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
      const metrics = await import('@felt/metrics');
      console.log(metrics.DROP_REASONS.length);`;
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { cwd: new URL('..', import.meta.url).pathname, timeout: 10_000 },
        (error, stdout, stderr) => (error ? reject(new Error(stderr || error.message)) : resolve(stdout)),
      );
    });
    expect(Number(output)).toBe(DATAPLANE_DROP_REASONS.length);
  });

  it('exports batch histograms as cumulative Prometheus histograms', async () => {
    const samples = parseExposition((await scrape({ dataplane: () => snapshot([]) })).text);
    const size = (le: string) => value(samples, 'felt_datapath_batch_size_bucket', { op: 'encap', le });
    expect([size('1'), size('2'), size('4'), size('+Inf')]).toEqual([5, 6, 6, 8]);
    expect(value(samples, 'felt_datapath_batch_size_count', { op: 'encap' })).toBe(8);
    expect(value(samples, 'felt_datapath_batch_size_sum', { op: 'encap' })).toBe(300);
    expect(value(samples, 'felt_datapath_batch_duration_seconds_bucket', { op: 'encap', le: '0.01' })).toBe(
      8,
    );
    expect(value(samples, 'felt_datapath_batch_duration_seconds_sum', { op: 'decap' })).toBe(0.0002);
  });

  it('exports empty histograms with the documented buckets before the data plane runs', async () => {
    const samples = parseExposition((await scrape()).text);
    const les = find(samples, 'felt_datapath_batch_duration_seconds_bucket', { op: 'decap' }).map(
      (s) => s.labels.le,
    );
    expect(les).toEqual([
      '0.000001',
      '0.000004',
      '0.000016',
      '0.000064',
      '0.000256',
      '0.001024',
      '0.004096',
      '0.016384',
      '0.065536',
      '+Inf',
    ]);
    const sizes = find(samples, 'felt_datapath_batch_size_bucket', { op: 'encap' }).map((s) => s.labels.le);
    expect(sizes).toEqual(['1', '2', '4', '8', '16', '32', '64', '128', '256', '+Inf']);
  });

  it('exports registry counters, lease expiry and etcd errors', async () => {
    const samples = parseExposition((await scrape({ registryStats: () => stats })).text);
    expect(value(samples, 'felt_subnet_lease_expiry_timestamp_seconds', { family: 'ipv4' })).toBe(
      1_700_086_400,
    );
    expect(value(samples, 'felt_subnet_lease_renewals_total', { outcome: 'error' })).toBe(1);
    expect(value(samples, 'felt_registry_watch_events_total', { type: 'put' })).toBe(7);
    expect(value(samples, 'felt_registry_watch_restarts_total', { reason: 'disconnected' })).toBe(1);
    expect(value(samples, 'felt_registry_synced')).toBe(1);
    expect(value(samples, 'felt_etcd_errors_total', { op: 'put', code: 'unknown' })).toBe(2);
    expect(value(samples, 'felt_etcd_errors_total', { op: 'range', code: 'UNAVAILABLE' })).toBe(3);
    expect(value(samples, 'felt_etcd_errors_total', { op: 'txn', code: 'unknown' })).toBe(0);
    expect(value(samples, 'felt_registry_malformed_leases_total')).toBe(1);
  });

  it('reports a registry that does not exist yet as unsynced, without a lease', async () => {
    const samples = parseExposition((await scrape({ registryStats: () => null })).text);
    expect(value(samples, 'felt_registry_synced')).toBe(0);
    expect(value(samples, 'felt_subnet_lease_expiry_timestamp_seconds', { family: 'ipv4' })).toBe(0);
    expect(value(samples, 'felt_subnet_lease_renewals_total', { outcome: 'success' })).toBe(0);
  });

  it('records etcd latency and route syncs, and exports build info and the TUN MTU', async () => {
    const metrics = createMetrics({
      build: { version: '1.2.3', runtimeVersion: 'v20.0.0' },
      backend: () => 'vxlan',
      tunMtu: () => 1450,
      defaultMetrics: false,
    });
    metrics.recordEtcdRequest('txn', 'ok', 0.003);
    metrics.recordRouteSync(0.002, 1_700_000_000_000);
    const samples = parseExposition(await metrics.registry.metrics());
    expect(
      value(samples, 'felt_etcd_request_duration_seconds_bucket', { op: 'txn', outcome: 'ok', le: '0.004' }),
    ).toBe(1);
    expect(value(samples, 'felt_etcd_request_duration_seconds_count', { op: 'put', outcome: 'error' })).toBe(
      0,
    );
    expect(value(samples, 'felt_route_sync_duration_seconds_count')).toBe(1);
    expect(value(samples, 'felt_route_sync_last_timestamp_seconds')).toBe(1_700_000_000);
    expect(value(samples, 'felt_tunnel_mtu_bytes')).toBe(1450);
    expect(
      value(samples, 'felt_build_info', { version: '1.2.3', runtime_version: 'v20.0.0', backend: 'vxlan' }),
    ).toBe(1);
  });

  it('reads the data plane once per scrape', async () => {
    let reads = 0;
    const metrics = createMetrics({
      build: { version: 'x' },
      defaultMetrics: false,
      dataplane: () => {
        reads++;
        return snapshot([peer(1)]);
      },
    });
    await metrics.registry.metrics();
    expect(reads).toBe(1);
    await metrics.registry.metrics();
    expect(reads).toBe(2);
  });

  it('fails the scrape when the data plane cannot be read, instead of exporting bogus zeros', async () => {
    const metrics = createMetrics({
      build: { version: 'x' },
      defaultMetrics: false,
      dataplane: () => {
        throw new Error('worker gone');
      },
    });
    await expect(metrics.registry.metrics()).rejects.toThrow('worker gone');
  });

  it('fills a caller-supplied registry', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry, build: { version: 'x' }, defaultMetrics: false });
    expect(metrics.registry).toBe(registry);
    expect(registry.getSingleMetric('felt_build_info')).toBeDefined();
  });
});

const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(promtool!, ['check', 'metrics'], { timeout: 10_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

describe.skipIf(promtool === undefined)(
  'promtool check metrics (skipped when promtool is absent: install Debian package prometheus, as make setup does)',
  () => {
    it('accepts the full exposition', async () => {
      const { text } = await scrape({
        maxPeers: 1,
        dataplane: () => snapshot([peer(1), peer(2)]),
        registryStats: () => stats,
        backend: () => 'udp',
        tunMtu: () => 1472,
      });
      const result = await promtoolCheck(text);
      expect(result.output).toBe('');
      expect(result.code).toBe(0);
    });

    it('is a real check: it rejects a broken exposition', async () => {
      const result = await promtoolCheck('# TYPE x_total gauge\nx_total 1\n');
      expect(result.code).not.toBe(0);
    });
  },
);

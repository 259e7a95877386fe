import { createServer } from 'node:net';
import { createMetrics } from '@felt/metrics';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReadinessReport } from '../state.js';
import { type HttpServers, type HttpServersOptions, startHttpServers } from './server.js';

const quiet = { info: () => {}, warn: () => {} };
const ready: ReadinessReport = {
  ready: true,
  phase: 'running',
  checks: [{ name: 'leaseHeld', ok: true, required: true }],
};
const exposition = '# HELP felt_x x\n# TYPE felt_x gauge\nfelt_x 1\n';
const fakeMetrics = {
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
  metrics: async () => exposition,
};

/** A port that was free a moment ago (health ports cannot be 0: 0 turns the listener off). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

let running: HttpServers[] = [];
afterEach(async () => {
  await Promise.all(running.map((s) => s.close()));
  running = [];
});

async function start(overrides: Partial<HttpServersOptions>): Promise<HttpServers> {
  const servers = await startHttpServers({
    metricsAddr: { host: '127.0.0.1', port: 0 },
    healthzIp: '127.0.0.1',
    healthzPort: 0,
    readiness: () => ready,
    metrics: fakeMetrics,
    logger: quiet,
    ...overrides,
  });
  running.push(servers);
  return servers;
}

async function get(port: number, path: string, method = 'GET') {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('startHttpServers', () => {
  it('serves /metrics with the registry content type, and the health paths, on the metrics listener', async () => {
    const servers = await start({});
    const port = servers.metricsAddress!.port;
    expect(servers.healthzAddress).toBeNull();
    expect(await get(port, '/metrics')).toEqual({
      status: 200,
      type: fakeMetrics.contentType,
      body: exposition,
    });
    expect((await get(port, '/readyz')).status).not.toBe(404);
    expect((await get(port, '/nope')).status).toBe(404);
    expect((await get(port, '/metrics', 'POST')).status).toBe(405);
    expect(await get(port, '/metrics', 'HEAD')).toMatchObject({ status: 200, body: '' });
  });

  it('serves health on its own listener, readiness following the daemon state', async () => {
    let report: ReadinessReport = {
      ...ready,
      ready: false,
      checks: [{ name: 'tunUp', ok: false, required: true }],
    };
    const healthzPort = await freePort();
    const servers = await start({ metricsAddr: null, healthzPort, readiness: () => report });
    expect(servers.metricsAddress).toBeNull();
    expect(servers.healthzAddress?.port).toBe(healthzPort);
    expect(await get(healthzPort, '/readyz')).toMatchObject({ status: 503, body: 'not ready: tunUp\n' });
    expect((await get(healthzPort, '/readyz?verbose')).body).toContain('[-]tunUp failed');
    report = ready;
    expect(await get(healthzPort, '/readyz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await get(healthzPort, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await get(healthzPort, '/livez?verbose')).body).toMatch(/^\[\+\]event-loop ok/);
    expect((await get(healthzPort, '/metrics')).status).toBe(404);
  });

  it('serves everything on one listener when both addresses are the same', async () => {
    const port = await freePort();
    const servers = await start({ metricsAddr: { host: '127.0.0.1', port }, healthzPort: port });
    expect(servers.healthzAddress).toBe(servers.metricsAddress);
    for (const path of ['/metrics', '/healthz', '/livez', '/readyz'])
      expect((await get(port, path)).status, path).toBe(200);
  });

  it('keeps liveness independent of readiness and reports extra liveness checks', async () => {
    const healthzPort = await freePort();
    await start({
      metricsAddr: null,
      healthzPort,
      readiness: () => {
        throw new Error('etcd unreachable');
      },
      liveness: () => [{ name: 'dataplane', ok: false, detail: 'worker exited' }],
    });
    expect(await get(healthzPort, '/readyz')).toMatchObject({ status: 503 });
    expect((await get(healthzPort, '/readyz')).body).toContain('etcd unreachable');
    const live = await get(healthzPort, '/livez');
    expect(live).toMatchObject({ status: 500, body: 'not live: dataplane\n' });
  });

  it('answers 500 when a scrape fails', async () => {
    const servers = await start({
      metrics: { contentType: 'text/plain', metrics: () => Promise.reject(new Error('snapshot failed')) },
    });
    expect(await get(servers.metricsAddress!.port, '/metrics')).toMatchObject({ status: 500 });
  });

  it('reports a taken port with a stable code naming the flag, and leaves nothing listening', async () => {
    const first = await start({});
    const port = first.metricsAddress!.port;
    await expect(start({ metricsAddr: { host: '127.0.0.1', port } })).rejects.toMatchObject({
      code: 'HTTP_LISTEN_FAILED',
      flag: '--metrics-addr',
    });
    const healthzPort = await freePort();
    await expect(
      start({ metricsAddr: { host: '127.0.0.1', port: 0 }, healthzPort: port }),
    ).rejects.toMatchObject({ code: 'HTTP_LISTEN_FAILED', flag: '--healthz-ip/--healthz-port' });
    expect(healthzPort).toBeGreaterThan(0);
  });

  it('serves a real @felt/metrics registry', async () => {
    const { registry } = createMetrics({ build: { version: 'test' }, defaultMetrics: false });
    const servers = await start({ metrics: registry });
    const res = await get(servers.metricsAddress!.port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toBe(registry.contentType);
    expect(res.body).toContain('felt_drops_total{reason="no_route",direction="tx"} 0');
  });

  it('starts nothing when both are off, and close() is safe', async () => {
    const servers = await start({ metricsAddr: null, healthzPort: 0 });
    expect(servers.metricsAddress).toBeNull();
    expect(servers.healthzAddress).toBeNull();
    await servers.close();
  });
});

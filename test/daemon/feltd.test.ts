// feltd as a process: start-up to 'ready', readiness, restart keeping the TUN, TUN deleted under it,
// SIGTERM within the deadline. Two nodes of the cluster harness, udp backend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.js';
import { sh, waitFor } from '../harness/netns.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.create({ nodes: 2, backend: 'udp' });
});
afterAll(() => cluster?.dispose());

function logLines(index: number): Record<string, unknown>[] {
  const output = cluster.node(index).feltd?.output() ?? '';
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('feltd', () => {
  it("logs JSON lines with level labels, the redacted config and 'ready'", () => {
    const lines = logLines(0);
    const starting = lines.find((line) => line.msg === 'starting feltd');
    expect(starting?.level).toBe('info');
    expect((starting?.config as Record<string, unknown> | undefined)?.tunName).toBe('felt0');
    const ready = lines.find((line) => line.msg === 'ready');
    expect(ready?.subnet).toBe(cluster.node(0).subnet?.subnet);
  });

  it('configures the TUN: .0/32, MTU underlay − 28, route of the cluster network', async () => {
    const { netns, subnet } = cluster.node(0);
    const address = await sh('ip', ['-4', '-o', 'addr', 'show', 'dev', 'felt0'], { netns });
    expect(address.stdout).toContain(`${subnet?.subnet.split('/')[0]}/32`);
    const link = JSON.parse((await sh('ip', ['-j', 'link', 'show', 'dev', 'felt0'], { netns })).stdout)[0];
    const underlay = JSON.parse((await sh('ip', ['-j', 'link', 'show', 'dev', 'eth0'], { netns })).stdout)[0];
    expect(link.mtu).toBe(underlay.mtu - 28);
    expect(link.txqlen).toBe(1000);
    const ipv6 = await sh('cat', ['/proc/sys/net/ipv6/conf/felt0/disable_ipv6'], { netns, allowFail: true });
    if (ipv6.code === 0) expect(ipv6.stdout.trim()).toBe('1');
    const route = await sh('ip', ['-4', 'route', 'show', 'exact', '10.244.0.0/16'], { netns });
    expect(route.stdout).toContain('dev felt0');
  });

  it('measures its etcd calls: felt_etcd_request_duration_seconds counts the start-up transaction', async () => {
    const metrics = await cluster.metrics(0);
    const count = (op: string) =>
      metrics.sum('felt_etcd_request_duration_seconds_count', { op, outcome: 'ok' });
    expect(count('range')).toBeGreaterThan(0);
    expect(count('lease_grant')).toBeGreaterThan(0);
    expect(count('txn')).toBeGreaterThan(0);
  });

  it('forwards pod to pod across nodes', async () => {
    const [a] = cluster.node(0).pods;
    const [b] = cluster.node(1).pods;
    expect(await cluster.ping(a, b.ip, 3)).toBe(true);
  });

  it('recreates a TUN device deleted under it and keeps forwarding', async () => {
    const { netns } = cluster.node(1);
    await sh('ip', ['link', 'del', 'felt0'], { netns });
    await waitFor(
      'a TUN recreated log line',
      () => logLines(1).some((line) => line.msg === 'TUN device and data plane restored'),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const [a] = cluster.node(0).pods;
    const [b] = cluster.node(1).pods;
    expect(await cluster.ping(a, b.ip, 2)).toBe(true);
  });

  it('restarts keeping its lease, TUN and routes; SIGTERM exits 0 quickly', async () => {
    const before = cluster.node(0).subnet?.subnet;
    const started = Date.now();
    expect(await cluster.stopNode(0)).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    const { netns } = cluster.node(0);
    // Between the processes the persistent device and its route stay.
    const route = await sh('ip', ['-4', 'route', 'show', 'exact', '10.244.0.0/16'], { netns });
    expect(route.stdout).toContain('dev felt0');
    await cluster.startNode(0);
    expect(cluster.node(0).subnet?.subnet).toBe(before);
    // Forwarding resumed from the saved peer state before etcd answered, and that data plane was kept.
    const resumed = logLines(0).find((line) => line.msg?.toString().startsWith('forwarding resumed'));
    expect(resumed?.peers).toBe(1);
    expect(logLines(0).some((line) => line.msg === 'keeping the data plane resumed before etcd')).toBe(true);
    const [a] = cluster.node(0).pods;
    const [b] = cluster.node(1).pods;
    expect(await cluster.ping(a, b.ip, 2)).toBe(true);
  });

  it('keeps forwarding while etcd is down and reports etcd reachability', async () => {
    const [a] = cluster.node(0).pods;
    const [b] = cluster.node(1).pods;
    await cluster.etcd.kill();
    try {
      await waitFor(
        'etcd unreachable log',
        () => logLines(0).some((line) => line.msg?.toString().startsWith('etcd unreachable')),
        {
          timeoutMs: 20_000,
          intervalMs: 200,
        },
      );
      expect(await cluster.ping(a, b.ip, 2)).toBe(true);
      expect(await cluster.readyz(0)).toBe(200);
      // The failed probes are counted by gRPC status, not as "unknown".
      const errors = (await cluster.metrics(0)).find('felt_etcd_errors_total', { op: 'range' });
      expect(errors.filter((sample) => sample.value > 0).map((sample) => sample.labels.code)).toEqual([
        expect.stringMatching(/^(UNAVAILABLE|DEADLINE_EXCEEDED)$/),
      ]);
    } finally {
      await cluster.etcd.restart();
    }
    await waitFor(
      'etcd reachable log',
      () => logLines(0).some((line) => line.msg === 'etcd reachable again'),
      {
        timeoutMs: 20_000,
        intervalMs: 200,
      },
    );
  });

  it('stops promptly on SIGTERM while still waiting for the network config', async () => {
    const node = await cluster.addNode();
    const feltd = cluster.spawnFeltd(node.index, [
      ...cluster.feltdFlags(node),
      '--etcd-prefix=/felt-test/empty',
    ]);
    await feltd.waitForOutput(/underlay selected/, 15_000);
    const started = Date.now();
    expect(await feltd.stop(5_000)).toBe(0);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

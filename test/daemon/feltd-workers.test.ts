// feltd --dataplane-workers on two vxlan nodes: restarting a node with another worker count recreates
// its persistent TUN in the matching queue mode (no resume of the old data plane), a restart with the
// same count resumes before etcd as usual, and forwarding works each time; a bad value is a one-line
// configuration error (exit 2).
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.js';
import { sh } from '../harness/netns.js';

const IFF_MULTI_QUEUE = 0x100;
let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.create({ nodes: 2, backend: 'vxlan' });
});
afterAll(() => cluster?.dispose());

function logLines(index: number): Record<string, unknown>[] {
  return (cluster.node(index).feltd?.output() ?? '')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function multiQueue(index: number): Promise<boolean> {
  const flags = await sh('cat', ['/sys/class/net/felt0/tun_flags'], { netns: cluster.node(index).netns });
  return (Number.parseInt(flags.stdout.trim(), 16) & IFF_MULTI_QUEUE) !== 0;
}

async function restartWith(workers: string): Promise<void> {
  expect(await cluster.stopNode(0)).toBe(0);
  await cluster.startNode(0, [`--dataplane-workers=${workers}`]);
}

async function podsReachEachOther(): Promise<boolean> {
  const [a] = cluster.node(0).pods;
  const [b] = cluster.node(1).pods;
  return (await cluster.ping(a, b.ip, 2)) && (await cluster.ping(b, a.ip, 2));
}

describe('feltd --dataplane-workers', () => {
  it('auto runs one worker up to 2 cores (single-queue TUN), two above', async () => {
    expect(await multiQueue(0)).toBe(availableParallelism() > 2);
  });

  it('an explicit 1 runs one worker on a single-queue TUN', async () => {
    await restartWith('1');
    expect(await multiQueue(0)).toBe(false);
    expect(await podsReachEachOther()).toBe(true);
  });

  it('a restart with 2 workers recreates the TUN multi-queue and forwards on it', async () => {
    await restartWith('2');
    const lines = logLines(0);
    const skipped = lines.find((line) => line.msg === 'not resuming forwarding before etcd');
    expect(String(skipped?.reason)).toContain('data-plane workers');
    expect(lines.some((line) => String(line.msg).includes('other queue mode'))).toBe(true);
    expect(await multiQueue(0)).toBe(true);
    expect(await podsReachEachOther()).toBe(true);
    const metrics = await cluster.metrics(0);
    const perWorker = [0, 1].map((w) =>
      metrics.sum('felt_datapath_worker_packets_total', { worker: String(w) }),
    );
    expect(perWorker[0] + perWorker[1]).toBeGreaterThan(0);
  });

  it('a restart with the same count resumes before etcd and keeps that data plane', async () => {
    await restartWith('2');
    expect(logLines(0).some((line) => line.msg === 'keeping the data plane resumed before etcd')).toBe(true);
    expect(await multiQueue(0)).toBe(true);
    expect(await podsReachEachOther()).toBe(true);
  });

  it('back to 1 worker: single-queue TUN again, still forwarding', async () => {
    await restartWith('1');
    expect(await multiQueue(0)).toBe(false);
    expect(await podsReachEachOther()).toBe(true);
  });

  it('rejects a bad count with a one-line error and exit code 2', async () => {
    const proc = cluster.spawnFeltd(1, ['--dataplane-workers=0']);
    expect(await proc.exited).toBe(2);
    const output = proc.output().trim();
    expect(output).toMatch(/--dataplane-workers/);
    expect(output.split('\n')).toHaveLength(1);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { type EtcdServer, startEtcd } from '../harness/etcd.js';
import { Lab } from '../harness/netns.js';

describe('etcd harness on a lab underlay', () => {
  const lab = new Lab('etcd');
  let servers: EtcdServer[] = [];
  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await lab.dispose();
  });

  it('serves on the root-namespace bridge address and inside a namespace, reachable from a node', async () => {
    const bridge = await lab.addBridge('br', `${lab.underlay}.254/24`);
    const node = await lab.addHost('n1', bridge, 1);
    const onBridge = await startEtcd({ host: `${lab.underlay}.254` });
    const inNetns = await startEtcd({ host: `${lab.underlay}.1`, netns: node });
    servers = [onBridge, inNetns];
    expect(onBridge.endpoint).toBe(`http://${lab.underlay}.254:${new URL(onBridge.endpoint).port}`);
    await onBridge.etcdctl('put', '/felt/where', 'bridge');
    // A node namespace reaches the bridge address over the veth.
    const fromNode = await lab.exec(
      node,
      'etcdctl',
      [`--endpoints=${onBridge.endpoint}`, 'get', '/felt/where', '--print-value-only'],
      {
        env: { ...process.env, ETCDCTL_API: '3' },
      },
    );
    expect(fromNode.stdout).toBe('bridge\n');
    await inNetns.etcdctl('put', '/felt/where', 'netns');
    expect(await inNetns.etcdctl('get', '/felt/where', '--print-value-only')).toBe('netns\n');
  });
});

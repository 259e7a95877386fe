import { vxlanDataOf } from '@felt/registry';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SubnetWatch } from '../../packages/registry/src/watch.js';
import type { EtcdServer } from '../harness/etcd.js';
import { waitFor } from '../harness/netns.js';
import {
  putConfig,
  recordingLogger,
  recordPeerEvents,
  subnetsKey,
  udpLease,
  useRegistryEtcd,
} from './fixtures.js';
import { startProxy } from './tcp-proxy.js';

// Copied from Flannel's Documentation/reservations.md: what a vxlan flanneld writes.
const FLANNEL_VXLAN_LEASE =
  '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}';

describe('registry: watching peers on a real etcd', () => {
  const env = useRegistryEtcd();
  const registries = env.registries;
  let etcd: EtcdServer;
  beforeAll(() => {
    etcd = env.etcd;
  });

  it('lists existing leases, says synced, then reports add / change / remove in order', async () => {
    await etcd.etcdctl('put', subnetsKey('10.244.1.0-24'), udpLease('198.18.0.1'));
    // A frequent consistency check runs alongside and must find nothing to repair.
    const registry = registries.open({ resyncIntervalMs: 50 });
    const watcher = registry.watchPeers();
    const synced = new Promise<string[]>((resolve) =>
      watcher.on('synced', (peers) => resolve(peers.map((p) => p.subnet))),
    );
    const events = recordPeerEvents(watcher);
    expect(await synced).toEqual(['10.244.1.0/24']);
    expect(watcher.synced).toBe(true);
    events.length = 0; // the initial 'added' from the list

    await etcd.etcdctl('put', subnetsKey('10.244.2.0-24'), udpLease('198.18.0.2'));
    await etcd.etcdctl('put', subnetsKey('10.244.1.0-24'), udpLease('198.18.0.11'));
    await etcd.etcdctl('del', subnetsKey('10.244.2.0-24'));
    await etcd.etcdctl('put', subnetsKey('10.244.3.0-24'), udpLease('198.18.0.3'));
    await waitFor('4 peer events', () => events.length >= 4, { timeoutMs: 5_000 });
    expect(events).toEqual([
      'added 10.244.2.0/24 198.18.0.2',
      'changed 10.244.1.0/24 198.18.0.1->198.18.0.11',
      'removed 10.244.2.0/24',
      'added 10.244.3.0/24 198.18.0.3',
    ]);
    expect(watcher.peers().map((p) => p.subnet)).toEqual(['10.244.1.0/24', '10.244.3.0/24']);
    expect(registry.stats().resyncRepairs).toBe(0);
  });

  it('repairs a peer view that missed an event, from the periodic full list', async () => {
    await etcd.etcdctl('put', subnetsKey('10.244.1.0-24'), udpLease('198.18.0.1'));
    const registry = registries.open({ resyncIntervalMs: 200 });
    const watcher = registry.watchPeers();
    const events = recordPeerEvents(watcher);
    await waitFor('synced', () => watcher.synced, { timeoutMs: 5_000 });
    // Simulate a silent watch: the view loses a lease etcd still has.
    (watcher as unknown as SubnetWatch).view.delete(subnetsKey('10.244.1.0-24'));
    expect(watcher.peers()).toEqual([]);
    await waitFor('the repair', () => registry.stats().resyncRepairs >= 1, { timeoutMs: 5_000 });
    expect(watcher.peers().map((p) => p.subnet)).toEqual(['10.244.1.0/24']);
    expect(events).toEqual([
      'added 10.244.1.0/24 198.18.0.1',
      'removed 10.244.1.0/24',
      'added 10.244.1.0/24 198.18.0.1',
    ]);
  });

  it("reports a lease put with etcdctl in Flannel's exact JSON as a vxlan peer with its VtepMAC", async () => {
    const watcher = registries.open().watchPeers();
    await etcd.etcdctl('put', subnetsKey('10.5.34.0-24'), FLANNEL_VXLAN_LEASE);
    const peer = await waitFor('the Flannel peer', () => watcher.peers()[0], { timeoutMs: 5_000 });
    expect(peer.subnet).toBe('10.5.34.0/24');
    expect(peer.attrs.PublicIP).toBe('192.168.64.3');
    expect(vxlanDataOf(peer.attrs)).toEqual({ VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' });
  });

  it('writes its own lease exactly in Flannel format, attached to an etcd lease with the TTL asked for', async () => {
    const config = await putConfig(etcd, '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
    const lease = await registries.open({ leaseTtlSeconds: 600, renewMarginSeconds: 60 }).acquire({
      publicIp: '198.18.5.1',
      backendType: 'vxlan',
      backendData: { VNI: 1, VtepMAC: '0e:2a:00:00:00:01' },
      config,
    });
    const out = JSON.parse(await etcd.etcdctl('get', lease.key, '-w', 'json')) as {
      kvs: { value: string }[];
    };
    const text = Buffer.from(out.kvs[0]!.value, 'base64').toString();
    const doc = JSON.parse(text);
    expect(Object.keys(doc)).toEqual(['PublicIP', 'PublicIPv6', 'BackendType', 'BackendData']);
    expect(typeof doc.PublicIP).toBe('string');
    expect(doc.PublicIP).toBe('198.18.5.1');
    expect(doc.PublicIPv6).toBeNull();
    expect(doc.BackendType).toBe('vxlan');
    expect(Object.keys(doc.BackendData)).toEqual(['VNI', 'VtepMAC']);
    expect(Number.isInteger(doc.BackendData.VNI)).toBe(true);
    expect(doc.BackendData.VtepMAC).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(text).toBe(
      '{"PublicIP":"198.18.5.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:2a:00:00:00:01"}}',
    );
    expect(lease.key).toMatch(/^\/coreos\.com\/network\/subnets\/10\.244\.\d+\.0-24$/);
    // Lease IDs are 64-bit: read them from the raw text, JSON.parse would round them.
    const leaseId = BigInt(
      /"lease":(\d+)/.exec(await etcd.etcdctl('get', lease.key, '-w', 'json'))?.[1] ?? '0',
    );
    const ttl = await etcd.etcdctl('lease', 'timetolive', leaseId.toString(16));
    const granted = Number(/granted with TTL\((\d+)s\)/.exec(ttl)?.[1]);
    expect(granted).toBe(600);
  });

  it('skips garbage lease values and keys, counts them, logs once per key, and never crashes', async () => {
    const { lines, logger } = recordingLogger();
    const registry = registries.open({ logger });
    const watcher = registry.watchPeers();
    const events = recordPeerEvents(watcher);
    await waitFor('synced', () => watcher.synced, { timeoutMs: 5_000 });
    await etcd.etcdctl('put', subnetsKey('10.244.7.0-24'), '{"PublicIP": not json');
    await etcd.etcdctl('put', subnetsKey('10.244.7.0-24'), '{"PublicIP":"999.1.1.1"}');
    await etcd.etcdctl('put', subnetsKey('not-a-subnet'), udpLease('198.18.0.9'));
    await etcd.etcdctl('put', subnetsKey('10.244.8.0-24'), udpLease('198.18.0.8'));
    await waitFor('the valid peer', () => events.length >= 1, { timeoutMs: 5_000 });
    expect(events).toEqual(['added 10.244.8.0/24 198.18.0.8']);
    expect(registry.stats().malformedLeasesSkipped).toBe(3);
    const warnings = lines.filter((l) => l.level === 'warn' && l.msg === 'skipping malformed lease');
    expect(warnings.map((w) => (w.obj as { key: string }).key).sort()).toEqual([
      subnetsKey('10.244.7.0-24'),
      subnetsKey('not-a-subnet'),
    ]);
    // Fixed by its writer: now a peer.
    await etcd.etcdctl('put', subnetsKey('10.244.7.0-24'), udpLease('198.18.0.7'));
    await waitFor('the repaired peer', () => events.length >= 2, { timeoutMs: 5_000 });
    expect(events[1]).toBe('added 10.244.7.0/24 198.18.0.7');
  });

  it('recovers after falling behind a compaction: re-lists and emits exactly the difference', async () => {
    const proxy = await startProxy({ host: '127.0.0.1', port: Number(new URL(etcd.endpoint).port) });
    try {
      await etcd.etcdctl('put', subnetsKey('10.244.1.0-24'), udpLease('198.18.0.1'));
      await etcd.etcdctl('put', subnetsKey('10.244.2.0-24'), udpLease('198.18.0.2'));
      const registry = registries.open({ endpoints: [proxy.endpoint] });
      const watcher = registry.watchPeers();
      const events = recordPeerEvents(watcher);
      await waitFor('synced', () => watcher.synced, { timeoutMs: 5_000 });
      events.length = 0;

      proxy.freeze(); // from here the watcher hears nothing
      await etcd.etcdctl('del', subnetsKey('10.244.1.0-24'));
      await etcd.etcdctl('put', subnetsKey('10.244.2.0-24'), udpLease('198.18.0.22'));
      await etcd.etcdctl('put', subnetsKey('10.244.3.0-24'), udpLease('198.18.0.3'));
      await etcd.etcdctl('put', subnetsKey('10.244.3.0-24'), udpLease('198.18.0.33'));
      const status = JSON.parse(await etcd.etcdctl('endpoint', 'status', '-w', 'json')) as {
        Status: { header: { revision: number } };
      }[];
      await etcd.etcdctl('compact', String(status[0]!.Status.header.revision));
      proxy.cutAndThaw();

      await waitFor('the re-list after compaction', () => registry.stats().watchRestarts.compacted >= 1, {
        timeoutMs: 15_000,
      });
      await waitFor('3 events', () => events.length >= 3, { timeoutMs: 5_000 });
      expect([...events].sort()).toEqual([
        'added 10.244.3.0/24 198.18.0.33',
        'changed 10.244.2.0/24 198.18.0.2->198.18.0.22',
        'removed 10.244.1.0/24',
      ]);
      expect(watcher.peers().map((p) => `${p.subnet} ${p.attrs.PublicIP}`)).toEqual([
        '10.244.2.0/24 198.18.0.22',
        '10.244.3.0/24 198.18.0.33',
      ]);
      // And it keeps watching afterwards.
      await etcd.etcdctl('del', subnetsKey('10.244.2.0-24'));
      await waitFor('the removal after recovery', () => events.length >= 4, { timeoutMs: 5_000 });
      expect(events[3]).toBe('removed 10.244.2.0/24');
      expect(events).toHaveLength(4);
    } finally {
      await registries.closeAll();
      await proxy.close();
    }
  });

  it('recovers after etcd is killed and restarted; the final peer set is exactly right', async () => {
    await etcd.etcdctl('put', subnetsKey('10.244.1.0-24'), udpLease('198.18.0.1'));
    await etcd.etcdctl('put', subnetsKey('10.244.2.0-24'), udpLease('198.18.0.2'));
    const registry = registries.open();
    const watcher = registry.watchPeers();
    const events = recordPeerEvents(watcher);
    await waitFor('synced', () => watcher.synced, { timeoutMs: 5_000 });
    events.length = 0;

    await etcd.kill();
    await waitFor('the watch to notice', () => registry.stats().watchRestarts.disconnected >= 1, {
      timeoutMs: 15_000,
    });
    await etcd.restart();
    await etcd.etcdctl('del', subnetsKey('10.244.1.0-24'));
    await etcd.etcdctl('put', subnetsKey('10.244.4.0-24'), udpLease('198.18.0.4'));
    await waitFor('both changes after the restart', () => events.length >= 2, { timeoutMs: 15_000 });
    expect(events).toEqual(['removed 10.244.1.0/24', 'added 10.244.4.0/24 198.18.0.4']);
    expect(watcher.peers().map((p) => p.subnet)).toEqual(['10.244.2.0/24', '10.244.4.0/24']);
    expect(registry.stats().synced).toBe(true);
  });
});

import { isRegistryError, type Lease } from '@felt/registry';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEtcdClient } from '../../packages/registry/src/etcd-client.js';
import type { EtcdContext } from '../../packages/registry/src/etcd-context.js';
import { createLease, renewLease } from '../../packages/registry/src/lease-ops.js';
import { emptyStats } from '../../packages/registry/src/stats.js';
import type { EtcdServer } from '../harness/etcd.js';
import { waitFor } from '../harness/netns.js';
import {
  leasesInEtcd,
  PREFIX,
  putConfig,
  recordingLogger,
  recordPeerEvents,
  udpLease,
  useRegistryEtcd,
} from './fixtures.js';

const CONFIG = '{"Network":"10.60.0.0/16","Backend":{"Type":"udp"}}';

/** The etcd lease (ID and remaining seconds) behind a key, read with etcdctl. */
async function etcdLeaseOf(etcd: EtcdServer, key: string): Promise<{ id: bigint; remaining: number }> {
  // Lease IDs are 64-bit: read them from the raw text, JSON.parse would round them.
  const id = BigInt(/"lease":(\d+)/.exec(await etcd.etcdctl('get', key, '-w', 'json'))?.[1] ?? '0');
  const out = await etcd.etcdctl('lease', 'timetolive', id.toString(16));
  return { id, remaining: Number(/remaining\((-?\d+)s\)/.exec(out)?.[1]) };
}

describe('registry: lease lifecycle on a real etcd', () => {
  const env = useRegistryEtcd();
  const registries = env.registries;
  let etcd: EtcdServer;
  beforeAll(() => {
    etcd = env.etcd;
  });

  it('renews before the margin: the key stays past its first TTL on a fresh etcd lease', async () => {
    const config = await putConfig(etcd, CONFIG);
    const registry = registries.open({ leaseTtlSeconds: 4, renewMarginSeconds: 2 });
    const renewed: Lease[] = [];
    registry.on('renewed', (l) => renewed.push(l));
    const lease = await registry.acquire({ publicIp: '198.18.9.1', config });
    const first = await etcdLeaseOf(etcd, lease.key);
    expect(first.remaining).toBeGreaterThan(0);
    expect(first.remaining).toBeLessThanOrEqual(4);

    await waitFor('three renewals (> one TTL)', () => registry.stats().renewals.success >= 3, {
      timeoutMs: 15_000,
    });
    const now = await etcdLeaseOf(etcd, lease.key);
    expect(now.id).not.toBe(first.id);
    expect(now.remaining).toBeGreaterThan(0);
    expect(renewed.at(-1)?.subnet).toBe(lease.subnet);
    expect(renewed.at(-1)!.expiresAt!).toBeGreaterThan(lease.expiresAt!);
    expect(registry.stats().leaseExpiresAt).toBe(registry.lease()?.expiresAt);
    expect(registry.stats().renewals.error).toBe(0);
    expect((await leasesInEtcd(etcd)).get(lease.key)).toBe(udpLease('198.18.9.1'));
  });

  it("a peer's lease that expires is reported as removed", async () => {
    const config = await putConfig(etcd, CONFIG);
    const watcher = registries.open().watchPeers();
    const events = recordPeerEvents(watcher);
    const peer = registries.open({ leaseTtlSeconds: 3, renewMarginSeconds: 1 });
    const lease = await peer.acquire({ publicIp: '198.18.9.2', config });
    await waitFor('the peer to appear', () => events.length >= 1, { timeoutMs: 5_000 });
    await peer.close(); // a crashed node: no renewal, no release
    await waitFor('the expiry', () => events.length >= 2, { timeoutMs: 10_000 });
    expect(events).toEqual([`added ${lease.subnet} 198.18.9.2`, `removed ${lease.subnet}`]);
  });

  it('re-acquires the same subnet when its key is deleted under it, and reports it', async () => {
    const config = await putConfig(etcd, CONFIG);
    const registry = registries.open();
    const lost: string[] = [];
    const reacquired: Lease[] = [];
    registry.on('lease-lost', ({ lease, reason }) => lost.push(`${lease.subnet} ${reason}`));
    registry.on('lease-reacquired', ({ lease }) => reacquired.push(lease));
    const lease = await registry.acquire({ publicIp: '198.18.9.3', config });
    const peerEvents = recordPeerEvents(registry.watchPeers());
    await waitFor('the watch to see our key', () => registry.stats().synced, { timeoutMs: 5_000 });

    await etcd.etcdctl('del', lease.key);
    await waitFor('re-acquisition', () => reacquired.length >= 1, { timeoutMs: 10_000 });
    expect(lost).toEqual([`${lease.subnet} deleted`]);
    expect(reacquired[0]!.subnet).toBe(lease.subnet);
    expect(registry.lease()?.subnet).toBe(lease.subnet);
    expect(registry.stats().reacquisitions).toBe(1);
    expect((await leasesInEtcd(etcd)).get(lease.key)).toBe(udpLease('198.18.9.3'));
    expect(peerEvents).toEqual([]); // our own key never shows up as a peer
  });

  it('never overwrites a key another node took; moves to another subnet instead', async () => {
    const config = await putConfig(etcd, CONFIG);
    const registry = registries.open({ leaseTtlSeconds: 6, renewMarginSeconds: 3 });
    const lost: string[] = [];
    registry.on('lease-lost', ({ reason }) => lost.push(reason));
    const lease = await registry.acquire({ publicIp: '198.18.9.4', config });
    await waitFor('synced', () => registry.stats().synced, { timeoutMs: 5_000 });

    // Another writer (say a Flannel node that lost track) puts its own lease on our key.
    const intruder = udpLease('198.18.9.99');
    await etcd.etcdctl('put', lease.key, intruder);
    await waitFor(
      'a new subnet',
      () => registry.lease() !== null && registry.lease()!.subnet !== lease.subnet,
      {
        timeoutMs: 10_000,
      },
    );
    expect(lost).toEqual(['taken']);
    const stored = await leasesInEtcd(etcd);
    expect(stored.get(lease.key)).toBe(intruder);
    expect(stored.get(registry.lease()!.key)).toBe(udpLease('198.18.9.4'));
    // The intruder is a peer now.
    expect(
      registry
        .watchPeers()
        .peers()
        .map((p) => p.attrs.PublicIP),
    ).toEqual(['198.18.9.99']);
  });

  it('renewal is a compare-and-swap: it refuses to write a key whose etcd lease is no longer ours', async () => {
    const client = createEtcdClient({ endpoints: [etcd.endpoint] });
    const silent = () => {};
    const ctx: EtcdContext = {
      client,
      prefix: PREFIX,
      subnets: `${PREFIX}/subnets/`,
      stats: emptyStats(),
      logger: { debug: silent, info: silent, warn: silent, error: silent },
    };
    try {
      const key = `${PREFIX}/subnets/10.60.42.0-24`;
      const attrs = { PublicIP: '198.18.9.6', PublicIPv6: null };
      const mine = await createLease(
        ctx,
        { subnet: '10.60.42.0/24', key, attrs, expiresAt: null },
        udpLease('198.18.9.6'),
        60,
      );
      expect(mine).not.toBeNull();
      const renewed = await renewLease(ctx, mine!, 60);
      expect(renewed?.leaseId).not.toBe(mine!.leaseId);
      // Someone else writes the key (a blind Flannel put); our next renewal must not overwrite it.
      await etcd.etcdctl('put', key, udpLease('198.18.9.66'));
      expect(await renewLease(ctx, renewed!, 60)).toBeNull();
      expect((await leasesInEtcd(etcd)).get(key)).toBe(udpLease('198.18.9.66'));
      // And creating it again is refused too.
      expect(
        await createLease(
          ctx,
          { subnet: '10.60.42.0/24', key, attrs, expiresAt: null },
          udpLease('198.18.9.6'),
          60,
        ),
      ).toBeNull();
    } finally {
      client.close();
    }
  });

  it('release deletes the key and revokes the lease; peers see it removed', async () => {
    const config = await putConfig(etcd, CONFIG);
    const watcher = registries.open().watchPeers();
    const events = recordPeerEvents(watcher);
    const registry = registries.open();
    const lease = await registry.acquire({ publicIp: '198.18.9.5', config });
    await waitFor('the peer', () => events.length >= 1, { timeoutMs: 5_000 });
    await registry.release();
    expect(registry.lease()).toBeNull();
    expect((await leasesInEtcd(etcd)).has(lease.key)).toBe(false);
    await waitFor('removed', () => events.length >= 2, { timeoutMs: 5_000 });
    expect(events[1]).toBe(`removed ${lease.subnet}`);
    await expect(registry.release()).rejects.toMatchObject({ code: 'REGISTRY_NO_LEASE' });
  });

  it('waits for a missing config, names the key to write, rejects garbage with the field, then proceeds', async () => {
    const { lines, logger } = recordingLogger();
    const registry = registries.open({ logger });
    await expect(registry.loadConfig()).rejects.toMatchObject({ code: 'REGISTRY_NO_CONFIG' });
    const waiting = registry.waitForConfig();
    await waitFor(
      'the hint',
      () => lines.some((l) => /etcdctl put \/coreos\.com\/network\/config/.test(l.msg ?? '')),
      {
        timeoutMs: 5_000,
      },
    );
    await etcd.etcdctl('put', `${PREFIX}/config`, '{"Network":"10.0.0.0/16","SubnetLen":31}');
    await waitFor(
      'the bad-config warning',
      () => lines.some((l) => /SubnetLen 31 is larger than 30/.test(JSON.stringify(l.obj))),
      {
        timeoutMs: 10_000,
      },
    );
    try {
      await registry.loadConfig();
      expect.unreachable();
    } catch (err) {
      expect(isRegistryError(err, 'REGISTRY_BAD_CONFIG')).toBe(true);
      expect((err as { field: string }).field).toBe('SubnetLen');
    }
    await etcd.etcdctl('put', `${PREFIX}/config`, '{"Network":"10.0.0.0/16","Backend":{"Type":"vxlan"}}');
    const config = await waiting;
    expect(config.backend.type).toBe('vxlan');
    // Each problem was logged once, not on every retry.
    expect(
      lines.filter((l) => l.level === 'warn' && /SubnetLen 31/.test(JSON.stringify(l.obj))),
    ).toHaveLength(1);
  });
});

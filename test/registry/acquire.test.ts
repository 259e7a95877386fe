import { isRegistryError, type Lease } from '@felt/registry';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EtcdServer } from '../harness/etcd.js';
import { leasesInEtcd, putConfig, useRegistryEtcd } from './fixtures.js';

describe('registry: acquiring subnets on a real etcd', () => {
  const env = useRegistryEtcd();
  const registries = env.registries;
  let etcd: EtcdServer;
  beforeAll(() => {
    etcd = env.etcd;
  });

  it('50 registries acquiring at once get 50 distinct subnets inside the range', async () => {
    const config = await putConfig(etcd, '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
    const leases = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        registries.open().acquire({ publicIp: `198.18.0.${i + 1}`, backendType: 'vxlan', config }),
      ),
    );
    const subnets = new Set(leases.map((l) => l.subnet));
    expect(subnets.size).toBe(50);
    for (const l of leases) expect(l.subnet).toMatch(/^10\.244\.\d+\.0\/24$/);
    expect(subnets.has('10.244.0.0/24')).toBe(false); // first subnet reserved
    const stored = await leasesInEtcd(etcd);
    expect(stored.size).toBe(50);
    const owners = new Set([...stored.values()].map((v) => JSON.parse(v).PublicIP));
    expect(owners.size).toBe(50);
  });

  it('on a range with room for 10, exactly 10 of 50 succeed and the rest are out of subnets', async () => {
    const config = await putConfig(
      etcd,
      '{"Network":"10.9.0.0/24","SubnetLen":30,"SubnetMin":"10.9.0.4","SubnetMax":"10.9.0.40","Backend":{"Type":"udp"}}',
    );
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        registries.open().acquire({ publicIp: `198.18.1.${i + 1}`, config }),
      ),
    );
    const won = results.filter((r): r is PromiseFulfilledResult<Lease> => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(10);
    expect(new Set(won.map((r) => r.value.subnet)).size).toBe(10);
    expect(lost).toHaveLength(40);
    for (const r of lost) {
      expect(isRegistryError(r.reason, 'REGISTRY_OUT_OF_SUBNETS')).toBe(true);
      expect(String(r.reason.message)).toMatch(/out of subnets/);
    }
  });

  it('a restarted node reuses its lease by PublicIP, else the free previous subnet', async () => {
    const config = await putConfig(etcd, '{"Network":"10.50.0.0/16","Backend":{"Type":"vxlan"}}');
    const first = await registries.open().acquire({ publicIp: '198.18.2.1', backendType: 'vxlan', config });
    await registries.closeAll(); // clean exit keeps the lease (Flannel semantics)
    const again = await registries.open().acquire({ publicIp: '198.18.2.1', backendType: 'vxlan', config });
    expect(again.subnet).toBe(first.subnet);

    // New PublicIP: no match by IP, so the previous subnet (as subnet.env writes it, .1/len) is used if free.
    const owner = registries.open();
    const moved = await owner.acquire({ publicIp: '198.18.2.9', previousSubnet: '10.50.77.1/24', config });
    expect(moved.subnet).toBe('10.50.77.0/24');
    // ...and not when someone else holds it.
    const other = await registries
      .open()
      .acquire({ publicIp: '198.18.2.10', previousSubnet: '10.50.77.1/24', config });
    expect(other.subnet).not.toBe('10.50.77.0/24');
  });

  it('garbage under the prefix never crashes acquire; it still counts as taken', async () => {
    const config = await putConfig(
      etcd,
      '{"Network":"10.9.0.0/24","SubnetLen":30,"SubnetMin":"10.9.0.4","SubnetMax":"10.9.0.8","Backend":{"Type":"udp"}}',
    );
    await etcd.etcdctl('put', '/coreos.com/network/subnets/10.9.0.4-30', 'not json');
    await etcd.etcdctl('put', '/coreos.com/network/subnets/garbage', '{}');
    const lease = await registries.open().acquire({ publicIp: '198.18.3.1', config });
    expect(lease.subnet).toBe('10.9.0.8/30');
  });
});

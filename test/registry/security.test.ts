import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startEtcd } from '../harness/etcd.js';
import { putConfig, Registries } from './fixtures.js';
import { makeCertificates } from './tls-certs.js';

const CONFIG = '{"Network":"10.70.0.0/16","Backend":{"Type":"vxlan"}}';

describe('registry: TLS and authentication are passed through to etcd', () => {
  it('works over TLS with a client certificate, and fails clearly without one', async () => {
    const certs = await makeCertificates();
    const etcd = await startEtcd({ tls: certs });
    const registries = new Registries(() => etcd);
    try {
      expect(etcd.endpoint).toMatch(/^https:/);
      const config = await putConfig(etcd, CONFIG);
      const registry = registries.open({
        tls: { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile },
      });
      expect(await registry.loadConfig()).toEqual(config);
      const lease = await registry.acquire({ publicIp: '198.18.7.1', backendType: 'vxlan', config });
      expect(lease.subnet).toMatch(/^10\.70\./);

      const noClientCert = registries.open({ tls: { caFile: certs.caFile }, callTimeoutMs: 2_000 });
      await expect(noClientCert.loadConfig()).rejects.toMatchObject({
        code: expect.stringMatching(/^REGISTRY_(ETCD|TIMEOUT)$/),
      });
      expect(noClientCert.stats().etcdErrors.range).toBe(1);
      expect(() => registries.open({ tls: { caFile: '/nonexistent/ca.pem' } })).toThrow(
        /cannot read etcd TLS CA file/,
      );
    } finally {
      await registries.closeAll();
      await etcd.stop();
      rmSync(certs.dir, { recursive: true, force: true });
    }
  });

  it('authenticates with username and password when etcd auth is on', async () => {
    const etcd = await startEtcd();
    const registries = new Registries(() => etcd);
    try {
      const config = await putConfig(etcd, CONFIG);
      await etcd.etcdctl('user', 'add', 'root:rootpw', '--interactive=false');
      await etcd.etcdctl('auth', 'enable');
      const registry = registries.open({ auth: { username: 'root', password: 'rootpw' } });
      const lease = await registry.acquire({ publicIp: '198.18.7.2', config });
      expect(lease.subnet).toMatch(/^10\.70\./);
      const stored = await etcd.etcdctl('--user=root:rootpw', 'get', lease.key, '--print-value-only');
      expect(JSON.parse(stored).PublicIP).toBe('198.18.7.2');

      const anonymous = registries.open({ callTimeoutMs: 2_000 });
      await expect(anonymous.loadConfig()).rejects.toMatchObject({ code: 'REGISTRY_ETCD' });
      const wrong = registries.open({ auth: { username: 'root', password: 'nope' }, callTimeoutMs: 2_000 });
      await expect(wrong.loadConfig()).rejects.toMatchObject({ code: 'REGISTRY_ETCD' });
    } finally {
      await registries.closeAll();
      await etcd.stop();
    }
  });
});

// feltctl as a process against a real etcd (config get/set, leases written in Flannel's JSON by etcdctl)
// and against a real /metrics listener (status). Everything on 127.0.0.1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics, type DataplaneSnapshot } from '@felt/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpServers, startHttpServers } from '../../packages/daemon/dist/http/index.js';
import { type EtcdServer, startEtcd } from '../harness/etcd.js';
import { sh } from '../harness/netns.js';

const FELTCTL = new URL('../../packages/daemon/bin/feltctl', import.meta.url).pathname;
const PREFIX = '/coreos.com/network';
const FLANNEL_VXLAN_LEASE =
  '{"PublicIP":"198.18.0.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"6e:2f:9c:41:07:b3"}}';

let etcd: EtcdServer;
let workDir: string;

beforeAll(async () => {
  etcd = await startEtcd();
  workDir = mkdtempSync(join(tmpdir(), 'feltctl-test-'));
});
afterAll(async () => {
  await etcd?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function feltctl(args: string[], input?: string) {
  return sh(FELTCTL, ['--etcd-endpoints', etcd.endpoint, '--timeout', '3s', ...args], {
    allowFail: true,
    timeoutMs: 20_000,
    ...(input === undefined ? {} : { input }),
  });
}

describe('feltctl config', () => {
  it('get reports a missing config with the key to write', async () => {
    const r = await feltctl(['config', 'get']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no network config at ${PREFIX}/config`);
  });

  it('set --file stores the document that etcdctl then reads back', async () => {
    const file = join(workDir, 'net.json');
    writeFileSync(file, '{\n  "Network": "10.244.0.0/16",\n  "Backend": { "Type": "vxlan" }\n}\n');
    const r = await feltctl(['config', 'set', '--file', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      Network: '10.244.0.0/16',
      Backend: { Type: 'vxlan', VNI: 1, Port: 8472 },
    });
    const stored = (await etcd.etcdctl('get', '--print-value-only', `${PREFIX}/config`)).trim();
    expect(JSON.parse(stored)).toEqual({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
    const get = await feltctl(['config', 'get']);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toEqual({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
  });

  it('set refuses an invalid document (exit 2, field named) and leaves etcd unchanged', async () => {
    const r = await feltctl(['config', 'set', '{"Network":"10.244.0.0/16","Backend":{"Type":"wireguard"}}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Backend\.Type "wireguard" is not supported.*\[FELTCTL_BAD_CONFIG\]/);
    const stored = (await etcd.etcdctl('get', '--print-value-only', `${PREFIX}/config`)).trim();
    expect(JSON.parse(stored).Backend.Type).toBe('vxlan');
  });

  it('set reads stdin and honours --etcd-prefix', async () => {
    const r = await feltctl(
      ['--etcd-prefix', '/felt-test/net', 'config', 'set', '-'],
      '{"Network":"10.5.0.0/16"}',
    );
    expect(r.code, r.stderr).toBe(0);
    expect((await etcd.etcdctl('get', '--print-value-only', '/felt-test/net/config')).trim()).toBe(
      '{"Network":"10.5.0.0/16"}',
    );
  });
});

describe('feltctl leases', () => {
  it('lists leases written by etcdctl in Flannel JSON, with VtepMAC and expiry', async () => {
    const grant = await etcd.etcdctl('lease', 'grant', '3600');
    const leaseId = /lease ([0-9a-f]+) granted/.exec(grant)?.[1];
    expect(leaseId, grant).toBeDefined();
    await etcd.etcdctl('put', `--lease=${leaseId}`, `${PREFIX}/subnets/10.244.11.0-24`, FLANNEL_VXLAN_LEASE);
    await etcd.etcdctl(
      'put',
      `${PREFIX}/subnets/10.244.2.0-24`,
      '{"PublicIP":"198.18.0.2","PublicIPv6":null}',
    );
    await etcd.etcdctl('put', `${PREFIX}/subnets/10.244.3.0-24`, '{"PublicIP":');

    const r = await feltctl(['leases']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^SUBNET\s+PUBLIC IP\s+BACKEND\s+VTEP MAC\s+EXPIRES$/);
    expect(lines[1]).toMatch(/^10\.244\.2\.0\/24\s+198\.18\.0\.2\s+udp\s+-\s+never$/);
    expect(lines[2]).toMatch(/^10\.244\.3\.0\/24\s+\?\s+invalid/);
    expect(lines[3]).toMatch(
      /^10\.244\.11\.0\/24\s+198\.18\.0\.11\s+vxlan\s+6e:2f:9c:41:07:b3\s+\S+Z \(in (59m|1h)\)$/,
    );
    expect(r.stdout).toContain('invalid lease values (feltd skips them)');

    const json = await feltctl(['leases', '-o', 'json']);
    const rows = JSON.parse(json.stdout) as { subnet: string; expiresAt: number | null }[];
    const vxlan = rows.find((row) => row.subnet === '10.244.11.0/24');
    expect(vxlan?.expiresAt).toBeGreaterThan(Date.now() + 3_500_000);
    expect(vxlan?.expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
  });

  it('fails with FELTCTL_ETCD (exit 1) within the timeout when etcd is unreachable', async () => {
    const started = Date.now();
    const r = await sh(FELTCTL, ['--etcd-endpoints', 'http://127.0.0.1:9', '--timeout', '1s', 'leases'], {
      allowFail: true,
      timeoutMs: 20_000,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[FELTCTL_ETCD\]/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('feltctl status', () => {
  let servers: HttpServers | null = null;
  afterAll(async () => {
    await servers?.close();
  });

  it('reads a node /metrics served by the daemon HTTP server', async () => {
    const empty = { bounds: [1], counts: [0, 0], sum: 0 };
    const snapshot: DataplaneSnapshot = {
      peers: [
        {
          subnet: '10.244.11.0/24',
          publicIp: '198.18.0.11',
          txPackets: 7,
          txBytes: 7000,
          rxPackets: 9,
          rxBytes: 9000,
          lastReceiveMs: Date.now(),
        },
      ],
      drops: { tx: { no_route: { packets: 2, bytes: 168 } }, rx: {} },
      underlayBytes: { tx: 8000, rx: 10_000 },
      batchSize: { encap: empty, decap: empty },
      batchDurationSeconds: { encap: empty, decap: empty },
      pool: { free: 100, inUse: 28 },
    };
    const metrics = createMetrics({
      build: { version: '0.0.0-test' },
      backend: () => 'vxlan',
      dataplane: () => snapshot,
    });
    servers = await startHttpServers({
      metricsAddr: { host: '127.0.0.1', port: 0 },
      healthzIp: '127.0.0.1',
      healthzPort: 0,
      readiness: () => ({ ready: true, phase: 'running', checks: [] }),
      metrics: metrics.registry,
      logger: { info: () => {}, warn: () => {} },
    });
    const addr = `127.0.0.1:${servers.metricsAddress!.port}`;
    const r = await sh(FELTCTL, ['status', '--metrics-addr', addr], { allowFail: true, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`node ${addr}: felt 0.0.0-test (vxlan)`);
    expect(r.stdout).toMatch(/10\.244\.11\.0\/24\s+198\.18\.0\.11\s+7\s+6\.8 KiB\s+9\s+8\.8 KiB\s+\d+s ago/);
    expect(r.stdout).toMatch(/no_route\s+tx\s+2\s+168 B/);
    expect(r.stdout).toContain('buffers: 100 free, 28 in use');
  });
});

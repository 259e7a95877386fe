import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetrics, type DataplaneSnapshot } from '@felt/metrics';
import { afterEach, describe, expect, it } from 'vitest';
import type { FeltctlStore, StoredKey } from './etcd.js';
import type { CommandIo } from './io.js';
import { runFeltctl } from './main.js';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

class FakeStore implements FeltctlStore {
  readonly data = new Map<string, { value: string; lease: string }>();
  readonly ttls = new Map<string, number>();
  closed = false;
  async get(key: string) {
    return this.data.get(key)?.value ?? null;
  }
  async put(key: string, value: string) {
    this.data.set(key, { value, lease: '0' });
  }
  async list(prefix: string): Promise<StoredKey[]> {
    return [...this.data].filter(([k]) => k.startsWith(prefix)).map(([key, v]) => ({ key, ...v }));
  }
  async leaseTtl(lease: string) {
    return this.ttls.get(lease) ?? null;
  }
  close() {
    this.closed = true;
  }
}

function harness(store = new FakeStore(), stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    readStdin: async () => stdin,
    readFile: async (path) => {
      if (path === 'net.json') return '{\n  "Network": "10.50.0.0/16",\n  "Backend": {"Type": "udp"}\n}\n';
      throw new Error(`ENOENT: no such file, open '${path}'`);
    },
    now: () => NOW,
  };
  const run = (...argv: string[]) => runFeltctl(argv, { io, env: {}, openStore: () => store });
  return { store, run, out: () => out.join(''), err: () => err.join('') };
}

describe('feltctl config', () => {
  it('set validates, stores the compact document and prints the effective config', async () => {
    const h = harness();
    expect(await h.run('config', 'set', '--file', 'net.json')).toBe(0);
    expect(h.store.data.get('/coreos.com/network/config')?.value).toBe(
      '{"Network":"10.50.0.0/16","Backend":{"Type":"udp"}}',
    );
    expect(JSON.parse(h.out())).toMatchObject({
      Network: '10.50.0.0/16',
      SubnetLen: 24,
      Backend: { Type: 'udp', Port: 8285 },
    });
    expect(h.err()).toBe('stored /coreos.com/network/config\n');
    expect(h.store.closed).toBe(true);
  });

  it('set refuses an invalid config naming the field, stores nothing, exits 2', async () => {
    const h = harness();
    expect(await h.run('config', 'set', '{"Network":"10.0.0.0/16","SubnetLen":31}')).toBe(2);
    expect(h.err()).toMatch(/SubnetLen 31 is larger than 30.*\[FELTCTL_BAD_CONFIG\]/);
    expect(h.store.data.size).toBe(0);
  });

  it('set --dry-run validates without writing; stdin works as a source', async () => {
    const h = harness(new FakeStore(), '{"Network":"10.9.0.0/16"}');
    expect(await h.run('config', 'set', '-', '--dry-run')).toBe(0);
    expect(h.store.data.size).toBe(0);
    expect(h.err()).toContain('not stored');
  });

  it('set reports an unreadable file as input error', async () => {
    const h = harness();
    expect(await h.run('config', 'set', '-f', 'missing.json')).toBe(2);
    expect(h.err()).toMatch(/cannot read missing.json.*\[FELTCTL_INPUT\]/);
  });

  it('get prints the stored document, and warns (exit 1) when feltd would reject it', async () => {
    const h = harness();
    h.store.data.set('/p/config', { value: '{"Network":"10.1.0.0/16"}', lease: '0' });
    expect(await h.run('--etcd-prefix', '/p', 'config', 'get')).toBe(0);
    expect(h.out()).toBe('{"Network":"10.1.0.0/16"}\n');
    h.store.data.set('/p/config', { value: '{"Network":"bogus"}', lease: '0' });
    expect(await h.run('--etcd-prefix', '/p', 'config', 'get')).toBe(1);
    expect(h.err()).toMatch(/warning: invalid network config/);
  });

  it('get without a config says which key to write', async () => {
    const h = harness();
    expect(await h.run('config', 'get')).toBe(1);
    expect(h.err()).toMatch(/no network config at \/coreos.com\/network\/config.*\[FELTCTL_NO_CONFIG\]/);
  });
});

describe('feltctl leases', () => {
  function withLeases() {
    const store = new FakeStore();
    const put = (key: string, value: string, lease = '0') =>
      store.data.set(`/coreos.com/network/subnets/${key}`, { value, lease });
    put(
      '10.244.10.0-24',
      '{"PublicIP":"198.18.0.10","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"AA:bb:cc:dd:ee:01"}}',
      '7',
    );
    put('10.244.2.0-24', '{"PublicIP":"198.18.0.2","PublicIPv6":null}', '8');
    put('10.244.3.0-24', 'not json');
    put('junk-key', '{}');
    store.ttls.set('7', 3600);
    return store;
  }

  it('prints a table sorted by subnet with backend, VtepMAC and expiry; flags invalid values', async () => {
    const h = harness(withLeases());
    expect(await h.run('leases')).toBe(0);
    expect(h.out()).toBe(
      [
        'SUBNET          PUBLIC IP    BACKEND  VTEP MAC           EXPIRES',
        '10.244.2.0/24   198.18.0.2   udp      -                  2026-06-01T12:00:00Z (in 0s)',
        '10.244.3.0/24   ?            invalid  -                  never',
        '10.244.10.0/24  198.18.0.10  vxlan    aa:bb:cc:dd:ee:01  2026-06-01T13:00:00Z (in 1h)',
        '',
        'invalid lease values (feltd skips them):',
        '  10.244.3.0/24: lease value: not JSON',
        '',
      ].join('\n'),
    );
  });

  it('prints JSON with -o json', async () => {
    const h = harness(withLeases());
    expect(await h.run('leases', '-o', 'json')).toBe(0);
    const rows = JSON.parse(h.out());
    expect(rows.map((r: { subnet: string }) => r.subnet)).toEqual([
      '10.244.2.0/24',
      '10.244.3.0/24',
      '10.244.10.0/24',
    ]);
    expect(rows[2]).toMatchObject({ backend: 'vxlan', expiresAt: NOW + 3_600_000, problem: null });
  });

  it('says so when there are no leases', async () => {
    const h = harness();
    expect(await h.run('leases')).toBe(0);
    expect(h.out()).toBe('no subnet leases\n');
  });
});

describe('feltctl status', () => {
  let server: Server | null = null;
  afterEach(() => {
    server?.close();
    server = null;
  });

  function snapshot(): DataplaneSnapshot {
    const empty = { bounds: [1], counts: [0, 0], sum: 0 };
    return {
      peers: [
        {
          subnet: '10.244.2.0/24',
          publicIp: '198.18.0.2',
          txPackets: 10,
          txBytes: 15_000,
          rxPackets: 20,
          rxBytes: 2048,
          lastReceiveMs: NOW - 3000,
        },
        {
          subnet: '10.244.3.0/24',
          publicIp: '198.18.0.3',
          txPackets: 1,
          txBytes: 100,
          rxPackets: 0,
          rxBytes: 0,
          lastReceiveMs: 0,
        },
        {
          subnet: '10.244.4.0/24',
          publicIp: '198.18.0.4',
          txPackets: 2,
          txBytes: 200,
          rxPackets: 0,
          rxBytes: 0,
          lastReceiveMs: 0,
        },
      ],
      drops: { tx: { no_route: { packets: 4, bytes: 336 } }, rx: {} },
      underlayBytes: { tx: 2 * 1024 * 1024, rx: 1024 },
      batchSize: { encap: empty, decap: empty },
      batchDurationSeconds: { encap: empty, decap: empty },
      pool: { free: 60, inUse: 4 },
    };
  }

  async function serveNode(): Promise<number> {
    const { registry } = createMetrics({
      build: { version: '9.9.9' },
      maxPeers: 2,
      backend: () => 'vxlan',
      tunMtu: () => 1450,
      dataplane: snapshot,
      registryStats: () => ({
        renewals: { success: 0, error: 0 },
        watchEvents: { put: 0, delete: 0 },
        watchRestarts: { disconnected: 0, compacted: 0, canceled: 0 },
        etcdErrors: {},
        synced: true,
        leaseExpiresAt: NOW + 86_400_000,
      }),
    });
    const s = createServer(async (_req, res) => {
      res.setHeader('content-type', registry.contentType);
      res.end(await registry.metrics());
    });
    server = s;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return (s.address() as AddressInfo).port;
  }

  it('prints peers, traffic and drops from a node /metrics', async () => {
    const port = await serveNode();
    const h = harness();
    expect(await h.run('status', '--metrics-addr', `127.0.0.1:${port}`)).toBe(0);
    expect(h.out()).toBe(
      [
        `node 127.0.0.1:${port}: felt 9.9.9 (vxlan)`,
        'lease: expires 2026-06-02T12:00:00Z (in 1d)   registry synced: yes   TUN MTU: 1450',
        'underlay: tx 2.0 MiB, rx 1.0 KiB',
        'buffers: 60 free, 4 in use',
        '',
        'peers: 3',
        'PEER                               PUBLIC IP   TX PACKETS  TX BYTES  RX PACKETS  RX BYTES  LAST RECEIVE',
        '10.244.2.0/24                      198.18.0.2          10  14.6 KiB          20   2.0 KiB  3s ago',
        '10.244.3.0/24                      198.18.0.3           1     100 B           0       0 B  never',
        '_other (over --metrics-max-peers)  -                    2     200 B           0       0 B  never',
        '',
        'drops:',
        'REASON    DIRECTION  PACKETS  BYTES',
        'no_route  tx               4  336 B',
        '',
      ].join('\n'),
    );
  });

  it('prints the summary as JSON with -o json', async () => {
    const port = await serveNode();
    const h = harness();
    expect(await h.run('status', '--metrics-addr', `127.0.0.1:${port}`, '-o', 'json')).toBe(0);
    const summary = JSON.parse(h.out());
    expect(summary).toMatchObject({
      version: '9.9.9',
      backend: 'vxlan',
      peersProgrammed: 3,
      registrySynced: true,
    });
    expect(summary.drops).toEqual([{ reason: 'no_route', direction: 'tx', packets: 4, bytes: 336 }]);
  });

  it('fails clearly when nothing answers, or the endpoint is not feltd', async () => {
    const h = harness();
    const probe = createServer((_req, res) => res.end('hello 1\n'));
    server = probe;
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    expect(await h.run('status', '--metrics-addr', `127.0.0.1:${port}`)).toBe(1);
    expect(h.err()).toMatch(/does not look like feltd metrics.*\[FELTCTL_SCRAPE\]/);
    probe.close();
    server = null;
    expect(await h.run('status', '--metrics-addr', `127.0.0.1:${port}`, '--timeout', '2s')).toBe(1);
    expect(h.err()).toMatch(/cannot read http:\/\/127.0.0.1:\d+\/metrics: ECONNREFUSED/);
  });
});

import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataplaneConfig, PeerSpec } from '@felt/dataplane';
import { type AcquireRequest, type Lease, parseNetworkConfig } from '@felt/registry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config/load.js';
import { Daemon, type DaemonDeps } from './daemon.js';
import type { TunSpec } from './host/tun-setup.js';
import type { DataplanePort, RegistryPort } from './ports.js';
import { DaemonState } from './state.js';
import { type WarmStart, warmStart } from './warm-start.js';
import { parseWarmState, type WarmState, warmStatePath } from './warm-state.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function lease(subnet: string, publicIp: string, backend?: string, mac?: string): Lease {
  return {
    subnet,
    key: `/coreos.com/network/subnets/${subnet.replace('/', '-')}`,
    attrs: {
      PublicIP: publicIp,
      PublicIPv6: null,
      ...(backend ? { BackendType: backend } : {}),
      ...(mac ? { BackendData: { VNI: 1, VtepMAC: mac } } : {}),
    },
    expiresAt: null,
  };
}

class FakeWatcher extends EventEmitter {
  synced = false;
  list: Lease[] = [];
  closed = false;
  peers() {
    return this.list;
  }
  close() {
    this.closed = true;
  }
}

class FakeDataplane extends EventEmitter {
  peers = new Map<string, PeerSpec>();
  stopped = false;
  constructor(readonly config: DataplaneConfig) {
    super();
  }
  setPeers(peers: PeerSpec[]) {
    this.peers = new Map(peers.map((peer) => [peer.subnet, peer]));
  }
  upsertPeer(peer: PeerSpec) {
    this.peers.set(peer.subnet, peer);
  }
  removePeer(subnet: string) {
    this.peers.delete(subnet);
  }
  snapshot(): never {
    throw new Error('not used');
  }
  async stop() {
    this.stopped = true;
  }
}

interface Harness {
  daemon: Daemon;
  state: DaemonState;
  calls: string[];
  watcher: FakeWatcher;
  dataplanes: FakeDataplane[];
  acquired: AcquireRequest[];
  tunSpecs: TunSpec[];
  tunProblems: string[];
  registryUp: boolean;
  fatal: Error[];
}

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'felt-daemon-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

function harness(flags: string[], backend = 'vxlan', warm: WarmStart | null = null): Harness {
  const result = loadConfig(['--subnet-file', join(directory, 'subnet.env'), ...flags], {});
  if (result.kind !== 'run') throw new Error('config');
  const config = result.config;
  const state = new DaemonState(config, '0.0.0-test');
  const calls: string[] = [];
  const watcher = new FakeWatcher();
  const h = {
    calls,
    watcher,
    dataplanes: [] as FakeDataplane[],
    acquired: [] as AcquireRequest[],
    tunSpecs: [] as TunSpec[],
    tunProblems: [] as string[],
    registryUp: true,
    fatal: [] as Error[],
  };
  const network = parseNetworkConfig(JSON.stringify({ Network: '10.5.0.0/16', Backend: { Type: backend } }));
  let held: Lease | null = null;
  const registry = Object.assign(new EventEmitter(), {
    async waitForConfig() {
      calls.push('waitForConfig');
      return network;
    },
    async loadConfig() {
      if (!h.registryUp) throw new Error('etcd down');
      return network;
    },
    async acquire(request: AcquireRequest) {
      calls.push('acquire');
      h.acquired.push(request);
      held = lease('10.5.72.0/24', request.publicIp, request.backendType, '0e:66:c6:12:00:01');
      return held;
    },
    lease: () => held,
    async release() {
      calls.push('release');
      held = null;
    },
    watchPeers() {
      calls.push('watchPeers');
      return watcher;
    },
    stats: () => {
      throw new Error('not used');
    },
    async close() {
      calls.push('registry.close');
    },
  }) as unknown as RegistryPort;
  const deps: DaemonDeps = {
    config,
    state,
    logger: silent,
    registry,
    startDataplane: async (dataplaneConfig) => {
      calls.push('dataplane.start');
      const dataplane = new FakeDataplane(dataplaneConfig);
      h.dataplanes.push(dataplane);
      return dataplane as unknown as DataplanePort;
    },
    underlay: {
      links: async () => [
        { name: 'lo', addresses: ['127.0.0.1'], loopback: true },
        { name: 'eth0', addresses: ['198.18.0.1'], loopback: false },
      ],
      defaultRouteDevice: async () => null,
      mtu: async () => 1500,
    },
    tunHost: {
      present: async () => !h.tunProblems.includes('device missing'),
      ensureDevice: async (name) => {
        calls.push(`tun.ensureDevice ${name}`);
        return h.tunProblems.includes('device missing');
      },
      problems: async () => h.tunProblems,
      apply: async (spec) => {
        calls.push('tun.apply');
        h.tunSpecs.push(spec);
        h.tunProblems = [];
      },
      removeRoute: async (network) => {
        calls.push(`tun.removeRoute ${network}`);
      },
    },
    iptables: {
      supportsRandomFully: async () => true,
      ensure: async (name) => {
        calls.push(`iptables.ensure ${name}`);
        return false;
      },
      remove: async (rules) => {
        calls.push(`iptables.remove ${rules[0]?.chain}`);
      },
    },
    onFatal: (error) => h.fatal.push(error),
    hostCheckIntervalMs: 20,
    registryProbeIntervalMs: 20,
    warm,
  };
  const daemon = new Daemon(deps);
  return Object.assign(h, { daemon, state });
}

const until = async (what: string, condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
};

describe('Daemon start-up', () => {
  it('runs the steps in order and becomes ready after the first peer sync', async () => {
    const h = harness(['--ip-masq']);
    await h.daemon.start();
    expect(h.calls).toEqual([
      'waitForConfig',
      'acquire',
      'watchPeers',
      'tun.ensureDevice felt0',
      'tun.apply',
      'iptables.ensure masq',
      'iptables.ensure forward',
      'dataplane.start',
    ]);
    expect(h.state.phase).toBe('running');
    expect(h.state.isReady()).toBe(false);
    h.watcher.synced = true;
    h.watcher.list = [lease('10.5.9.0/24', '198.18.0.9', 'vxlan', '0e:66:c6:12:00:09')];
    h.watcher.emit('synced', h.watcher.list);
    expect(h.state.isReady()).toBe(true);
    expect([...h.dataplanes[0].peers.values()]).toEqual([
      { subnet: '10.5.9.0/24', publicIp: '198.18.0.9', vtepMac: '0e:66:c6:12:00:09' },
    ]);
    expect(await readFile(join(directory, 'subnet.env'), 'utf8')).toBe(
      'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.72.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
    expect(h.tunSpecs[0]).toEqual({ name: 'felt0', address: '10.5.72.0', mtu: 1450, network: '10.5.0.0/16' });
    expect(h.dataplanes[0].config).toMatchObject({
      backend: 'vxlan',
      persistTun: true,
      tunMtu: 1450,
      underlayAddress: '198.18.0.1',
      port: 8472,
      vni: 1,
      subnet: '10.5.72.0/24',
    });
    await h.daemon.stop();
  });

  it('asks for the previous subnet and publishes vxlan backend data', async () => {
    await writeFile(
      join(directory, 'subnet.env'),
      'FLANNEL_NETWORK=10.6.0.0/16\nFLANNEL_SUBNET=10.6.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
    const h = harness(['--ip-masq', '--public-ip', '198.18.0.77']);
    await h.daemon.start();
    expect(h.acquired[0]).toMatchObject({
      publicIp: '198.18.0.77',
      backendType: 'vxlan',
      backendData: { VNI: 1, VtepMAC: '0e:66:c6:12:00:4d' },
      previousSubnet: '10.6.3.1/24',
    });
    // The network changed since the last run: its route and old rules go first.
    expect(h.calls).toContain('tun.removeRoute 10.6.0.0/16');
    expect(h.calls).toContain('iptables.remove POSTROUTING');
    await h.daemon.stop();
  });

  it('publishes no BackendType for udp and leaves iptables alone when both rule sets are off', async () => {
    const h = harness(['--no-iptables-forward-rules'], 'udp');
    await h.daemon.start();
    expect(h.acquired[0].backendType).toBeUndefined();
    expect(h.calls.filter((call) => call.startsWith('iptables'))).toEqual([]);
    expect(h.state.checks.iptablesInstalled).toBe(true);
    await h.daemon.stop();
  });
});

describe('Daemon while running', () => {
  it('follows peer events and rejects leases of another backend', async () => {
    const h = harness([]);
    await h.daemon.start();
    const dataplane = h.dataplanes[0];
    h.watcher.emit('added', lease('10.5.1.0/24', '198.18.0.2', 'vxlan', '0e:66:00:00:00:02'));
    h.watcher.emit('added', lease('10.5.2.0/24', '198.18.0.3'));
    expect([...dataplane.peers.keys()]).toEqual(['10.5.1.0/24']);
    expect(h.state.counters.peerEventsRejected).toBe(1);
    const moved = lease('10.5.1.0/24', '198.18.0.22', 'vxlan', '0e:66:00:00:00:16');
    h.watcher.emit('changed', moved, lease('10.5.1.0/24', '198.18.0.2', 'vxlan', '0e:66:00:00:00:02'));
    expect(dataplane.peers.get('10.5.1.0/24')?.publicIp).toBe('198.18.0.22');
    h.watcher.emit('removed', moved);
    expect(dataplane.peers.size).toBe(0);
    await h.daemon.stop();
  });

  it('restarts the data plane and re-applies host setup when the TUN disappears', async () => {
    const h = harness([]);
    await h.daemon.start();
    h.watcher.synced = true;
    h.watcher.list = [lease('10.5.1.0/24', '198.18.0.2', 'vxlan', '0e:66:00:00:00:02')];
    h.watcher.emit('synced', h.watcher.list);
    h.tunProblems = ['device missing'];
    await until('recovery', () => h.state.counters.tunRecreated === 1 && h.state.checks.tunUp);
    expect(h.dataplanes).toHaveLength(2);
    expect(h.dataplanes[0].stopped).toBe(true);
    expect([...h.dataplanes[1].peers.keys()]).toEqual(['10.5.1.0/24']);
    expect(h.tunSpecs).toHaveLength(2);

    h.dataplanes[1].emit('fatal', new Error('worker exited'));
    await until('second recovery', () => h.dataplanes.length === 3 && h.state.checks.tunUp);
    expect(h.state.counters.dataplaneRestarts).toBe(2);
    expect(h.fatal).toEqual([]);
    await h.daemon.stop();
  });

  it('re-applies a drifted TUN configuration without restarting the data plane', async () => {
    const h = harness([]);
    await h.daemon.start();
    h.tunProblems = ['route 10.5.0.0/16 missing'];
    await until('re-apply', () => h.tunSpecs.length === 2);
    expect(h.dataplanes).toHaveLength(1);
    expect(h.state.counters.tunRecreated).toBe(0);
    await h.daemon.stop();
  });

  it('reports etcd reachability without touching readiness or forwarding', async () => {
    const h = harness([]);
    await h.daemon.start();
    h.watcher.synced = true;
    h.watcher.emit('synced', []);
    expect(h.state.isReady()).toBe(true);
    h.registryUp = false;
    await until('disconnected', () => !h.state.checks.registryConnected);
    expect(h.state.isReady()).toBe(true);
    expect(h.dataplanes[0].stopped).toBe(false);
    h.registryUp = true;
    await until('reconnected', () => h.state.checks.registryConnected);
    await h.daemon.stop();
  });
});

describe('Daemon stop', () => {
  it('keeps the lease by default and stops the data plane', async () => {
    const h = harness([]);
    await h.daemon.start();
    await h.daemon.stop();
    expect(h.calls).not.toContain('release');
    expect(h.calls).toContain('registry.close');
    expect(h.dataplanes[0].stopped).toBe(true);
    expect(h.watcher.closed).toBe(true);
    expect(h.state.phase).toBe('stopped');
    expect(h.state.isReady()).toBe(false);
  });

  it('releases the lease with --release-lease-on-exit', async () => {
    const h = harness(['--release-lease-on-exit']);
    await h.daemon.start();
    await h.daemon.stop();
    expect(h.calls.indexOf('release')).toBeLessThan(h.calls.indexOf('registry.close'));
  });
});

describe('Daemon restart from the saved peer state', () => {
  const peerA = lease('10.5.1.0/24', '198.18.0.2', 'vxlan', '0e:66:c6:12:00:02');
  const peerB = lease('10.5.2.0/24', '198.18.0.3', 'vxlan', '0e:66:c6:12:00:03');
  const peerC = lease('10.5.3.0/24', '198.18.0.4', 'vxlan', '0e:66:c6:12:00:04');
  const statePath = () => warmStatePath(join(directory, 'subnet.env'));

  async function savedState(): Promise<WarmState> {
    const state = parseWarmState(await readFile(statePath(), 'utf8'));
    if (typeof state === 'string') throw new Error(state);
    return state;
  }

  /** A first run that syncs peers A and B and stops, leaving subnet.env and the peer state. */
  async function firstRun(): Promise<void> {
    const h = harness([]);
    await h.daemon.start();
    h.watcher.synced = true;
    h.watcher.list = [peerA, peerB];
    h.watcher.emit('synced', h.watcher.list);
    await h.daemon.stop(); // waits for the pending save
    expect((await savedState()).peers.map((peer) => peer.subnet)).toEqual(['10.5.1.0/24', '10.5.2.0/24']);
  }

  async function resume(): Promise<{ warm: WarmStart | null; started: FakeDataplane[] }> {
    const started: FakeDataplane[] = [];
    const config = loadConfig(['--subnet-file', join(directory, 'subnet.env')], {});
    if (config.kind !== 'run') throw new Error('config');
    const warm = await warmStart({
      config: config.config,
      logger: silent,
      tunPresent: async () => true,
      startDataplane: async (dataplaneConfig) => {
        const dataplane = new FakeDataplane(dataplaneConfig);
        started.push(dataplane);
        return dataplane as unknown as DataplanePort;
      },
    });
    return { warm, started };
  }

  it('forwards to the saved peers before etcd answers, keeps that data plane and reconciles at sync', async () => {
    await firstRun();
    const { warm, started } = await resume();
    expect(warm).not.toBeNull();
    const resumed = started[0]!;
    expect([...resumed.peers.keys()]).toEqual(['10.5.1.0/24', '10.5.2.0/24']);

    const h = harness([], 'vxlan', warm);
    await h.daemon.start();
    expect(h.calls).not.toContain('dataplane.start');
    expect(h.daemon.dataplane).toBe(resumed);
    expect(h.state.isReady()).toBe(false); // readiness still waits for the registry sync
    h.watcher.synced = true;
    h.watcher.list = [peerB, peerC];
    h.watcher.emit('synced', h.watcher.list);
    expect(h.state.isReady()).toBe(true);
    expect([...resumed.peers.keys()]).toEqual(['10.5.2.0/24', '10.5.3.0/24']);
    await h.daemon.stop();
    expect((await savedState()).peers.map((peer) => peer.subnet)).toEqual(['10.5.2.0/24', '10.5.3.0/24']);
    expect(resumed.stopped).toBe(true);
  });

  it('replaces the resumed data plane when etcd leads to another configuration', async () => {
    await firstRun();
    const saved = await savedState();
    await writeFile(
      statePath(),
      JSON.stringify({
        version: 1,
        config: { ...saved.config, underlayAddress: '198.18.0.99' },
        peers: saved.peers,
      }),
    );
    const { warm, started } = await resume();
    expect(warm?.config.underlayAddress).toBe('198.18.0.99');
    const h = harness([], 'vxlan', warm);
    await h.daemon.start();
    expect(started[0]!.stopped).toBe(true);
    expect(h.calls.filter((call) => call === 'dataplane.start')).toHaveLength(1);
    expect(h.daemon.dataplane).toBe(h.dataplanes[0]);
    expect(h.dataplanes[0]!.config.underlayAddress).toBe('198.18.0.1');
    await h.daemon.stop();
  });
});

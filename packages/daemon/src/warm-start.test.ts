import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataplaneConfig, PeerSpec } from '@felt/dataplane';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config/load.js';
import type { DataplanePort } from './ports.js';
import { formatSubnetEnv } from './subnet-env.js';
import { warmStart, warmStartObstacle } from './warm-start.js';
import { formatWarmState, type WarmState } from './warm-state.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const config: DataplaneConfig = {
  backend: 'udp',
  tunName: 'felt0',
  persistTun: true,
  tunMtu: 1472,
  underlayAddress: '198.18.0.1',
  port: 8285,
  vni: 0,
  vtepMac: '0e:66:c6:12:00:01',
  network: '10.5.0.0/16',
  subnet: '10.5.72.0/24',
};
const peers: PeerSpec[] = [{ subnet: '10.5.1.0/24', publicIp: '198.18.0.2' }];
const saved: WarmState = { config, peers };
const env = { network: '10.5.0.0/16', subnet: '10.5.72.1/24', mtu: 1472, ipMasq: false };

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'felt-warm-start-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('warmStartObstacle', () => {
  it('resumes only the same TUN, network, subnet and MTU as the last subnet.env', () => {
    expect(warmStartObstacle(saved, env, 'felt0')).toBeNull();
    expect(warmStartObstacle(saved, env, 'felt1')).toBe('saved state is for TUN felt0');
    expect(warmStartObstacle(saved, null, 'felt0')).toBe('no previous subnet.env');
    for (const changed of [{ subnet: '10.5.9.1/24' }, { network: '10.6.0.0/16' }, { mtu: 1400 }]) {
      expect(warmStartObstacle(saved, { ...env, ...changed }, 'felt0')).toBe(
        'subnet.env does not match the saved state',
      );
    }
    expect(warmStartObstacle({ config: { ...config, subnet: 'garbage' }, peers }, env, 'felt0')).toBe(
      'saved subnet garbage is malformed',
    );
  });
});

describe('warmStart', () => {
  class FakeDataplane extends EventEmitter {
    peers: PeerSpec[] = [];
    setPeers(list: PeerSpec[]) {
      if (list.some((peer) => peer.publicIp === 'bad')) throw new Error('DATAPLANE_BAD_PEER');
      this.peers = list;
    }
  }

  async function attempt(options: { tunPresent?: boolean; startFails?: boolean } = {}) {
    const loaded = loadConfig(['--subnet-file', join(directory, 'subnet.env')], {});
    if (loaded.kind !== 'run') throw new Error('config');
    const started: DataplaneConfig[] = [];
    const warm = await warmStart({
      config: loaded.config,
      logger: silent,
      tunPresent: async () => options.tunPresent ?? true,
      startDataplane: async (dataplaneConfig) => {
        started.push(dataplaneConfig);
        if (options.startFails) throw new Error('TUN busy');
        return new FakeDataplane() as unknown as DataplanePort;
      },
    });
    return { warm, started };
  }

  const writeBoth = async (state: WarmState | string = saved) => {
    await writeFile(join(directory, 'subnet.env'), formatSubnetEnv({ ...env, subnet: '10.5.72.0/24' }));
    await writeFile(
      join(directory, 'felt-peers.json'),
      typeof state === 'string' ? state : formatWarmState(state),
    );
  };

  it('starts the data plane with the saved config and peers', async () => {
    await writeBoth();
    const { warm, started } = await attempt();
    expect(started).toEqual([config]);
    expect(warm?.config).toEqual(config);
    expect((warm?.dataplane as unknown as FakeDataplane | undefined)?.peers).toEqual(peers);
  });

  it('keeps the data plane when the saved peers are refused (the registry sync programs them)', async () => {
    await writeBoth({ config, peers: [{ subnet: '10.5.1.0/24', publicIp: 'bad' }] });
    const { warm } = await attempt();
    expect((warm?.dataplane as unknown as FakeDataplane | undefined)?.peers).toEqual([]);
  });

  it('falls back to the normal start: first start, garbage, TUN gone, data plane failure', async () => {
    expect((await attempt()).started).toEqual([]);
    await writeBoth('{"version":1');
    expect(await attempt()).toEqual({ warm: null, started: [] });
    await writeBoth();
    expect(await attempt({ tunPresent: false })).toEqual({ warm: null, started: [] });
    const failed = await attempt({ startFails: true });
    expect(failed.warm).toBeNull();
    expect(failed.started).toHaveLength(1);
  });
});

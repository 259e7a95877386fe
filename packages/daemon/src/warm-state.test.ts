import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataplaneConfig } from '@felt/dataplane';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatWarmState,
  parseWarmState,
  readWarmState,
  type WarmState,
  WarmStateWriter,
  warmStatePath,
} from './warm-state.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const config: DataplaneConfig = {
  backend: 'vxlan',
  tunName: 'felt0',
  persistTun: true,
  tunMtu: 1450,
  underlayAddress: '198.18.0.1',
  port: 8472,
  vni: 1,
  vtepMac: '0e:66:c6:12:00:01',
  network: '10.5.0.0/16',
  subnet: '10.5.72.0/24',
};
const state: WarmState = {
  config,
  peers: [{ subnet: '10.5.1.0/24', publicIp: '198.18.0.2', vtepMac: '0e:66:c6:12:00:02' }],
};

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'felt-warm-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('warm state file', () => {
  it('lives next to subnet.env', () => {
    expect(warmStatePath('/run/flannel/subnet.env')).toBe('/run/flannel/felt-peers.json');
  });

  it('round-trips', () => {
    expect(parseWarmState(formatWarmState(state))).toEqual(state);
  });

  it('names why garbage is unusable instead of throwing', () => {
    expect(parseWarmState('{')).toBe('not JSON');
    expect(parseWarmState('[]')).toBe('not version 1');
    expect(parseWarmState(JSON.stringify({ version: 2, ...state }))).toBe('not version 1');
    expect(
      parseWarmState(JSON.stringify({ version: 1, config: { ...config, tunMtu: '1450' }, peers: [] })),
    ).toBe('config incomplete');
    expect(
      parseWarmState(JSON.stringify({ version: 1, config: { ...config, backend: 'gre' }, peers: [] })),
    ).toBe('config incomplete');
    expect(parseWarmState(JSON.stringify({ version: 1, config, peers: [{ subnet: 1 }] }))).toBe(
      'peers malformed',
    );
  });

  it('reads as null when absent', async () => {
    expect(await readWarmState(join(directory, 'felt-peers.json'))).toBeNull();
  });
});

describe('WarmStateWriter', () => {
  it('coalesces a burst into the latest state and leaves no temporary file', async () => {
    const path = join(directory, 'run', 'felt-peers.json');
    let reads = 0;
    let current: WarmState | null = null;
    const writer = new WarmStateWriter(
      path,
      () => {
        reads++;
        return current;
      },
      silent,
    );
    writer.schedule(); // nothing to save yet
    await writer.idle();
    expect(await readWarmState(path)).toBeNull();
    for (let peers = 1; peers <= 50; peers++) {
      current = { config, peers: state.peers.slice(0, 1).concat(Array(peers - 1).fill(state.peers[0])) };
      writer.schedule();
    }
    await writer.idle();
    expect(reads).toBeLessThanOrEqual(3);
    expect(((await readWarmState(path)) as WarmState).peers).toHaveLength(50);
    expect(await readdir(join(directory, 'run'))).toEqual(['felt-peers.json']);
  });

  it('logs a failing write once and keeps going', async () => {
    const warnings: string[] = [];
    const logger = { ...silent, warn: (_: object, message?: string) => warnings.push(message ?? '') };
    // A directory where the file should be: every rename fails.
    const path = join(directory, 'blocked');
    await mkdir(join(path, 'inside'), { recursive: true });
    const writer = new WarmStateWriter(path, () => state, logger);
    writer.schedule();
    await writer.idle();
    writer.schedule();
    await writer.idle();
    expect(warnings).toEqual(['cannot save the peer state']);
    expect(await readdir(directory)).toEqual(['blocked']); // the temporary file was removed
  });
});

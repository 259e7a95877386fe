import { describe, expect, it } from 'vitest';
import type { DataplaneConfig } from './api.js';
import { resolveConfig } from './config.js';
import { parseCidr } from './ipv4.js';
import { PeerDirectory } from './peer-directory.js';

const valid: DataplaneConfig = {
  backend: 'vxlan',
  tunName: 'felt0',
  persistTun: true,
  tunMtu: 1450,
  underlayAddress: '198.18.0.1',
  port: 8472,
  vni: 1,
  vtepMac: '0e:2a:00:00:00:01',
  network: '10.244.0.0/16',
  subnet: '10.244.3.0/24',
};

describe('resolveConfig', () => {
  it('turns a valid configuration into hot-path numbers', () => {
    const r = resolveConfig(valid);
    expect(r.settings.ownBase).toBe(0x0af40300);
    expect(r.settings.networkBase).toBe(0x0af40000);
    expect(r.layout.slotCount).toBe(256);
    expect(r.poolSlots).toBeGreaterThanOrEqual(3 * r.settings.batchSize + 1);
  });

  it.each<[string, Partial<DataplaneConfig>]>([
    ['backend', { backend: 'gre' as never }],
    ['tunName', { tunName: 'a-name-that-is-too-long' }],
    ['tunMtu', { tunMtu: 100 }],
    ['underlayAddress', { underlayAddress: 'example.com' }],
    ['port', { port: 70000 }],
    ['vni', { vni: -1 }],
    ['vtepMac', { vtepMac: '01:00:5e:00:00:01' }],
    ['network', { network: '10.244.0.0' }],
    ['subnet', { subnet: '10.245.3.0/24' }],
    ['maxPeers', { maxPeers: 0 }],
    ['poolSlots', { poolSlots: 10 }],
    ['workers', { workers: 0 }],
    ['workers', { workers: 17 }],
    ['workers', { workers: 1.5 }],
    ['workers', { backend: 'ipip', workers: 2 }],
  ])('rejects a bad %s with DATAPLANE_BAD_CONFIG naming the field', (field, patch) => {
    expect(() => resolveConfig({ ...valid, ...patch })).toThrow(
      expect.objectContaining({ code: 'DATAPLANE_BAD_CONFIG', message: expect.stringContaining(field) }),
    );
  });

  it('runs one worker by default and up to MAX_WORKERS for udp and vxlan', () => {
    expect(resolveConfig(valid).workers).toBe(1);
    expect(resolveConfig({ ...valid, workers: 4 }).workers).toBe(4);
    expect(resolveConfig({ ...valid, backend: 'udp', port: 8285, workers: 16 }).workers).toBe(16);
    expect(resolveConfig({ ...valid, backend: 'ipip', workers: 1 }).workers).toBe(1);
  });

  it('ignores the VXLAN fields for other backends', () => {
    expect(() => resolveConfig({ ...valid, backend: 'ipip', vtepMac: '', vni: -5, port: 0 })).not.toThrow();
  });
});

describe('PeerDirectory', () => {
  const own = parseCidr('10.244.3.0/24')!;

  it('validates peers with DATAPLANE_BAD_PEER', () => {
    const d = new PeerDirectory('vxlan', 4, 8472, own);
    const bad = [
      { subnet: '10.244.3.0/24', publicIp: '198.18.0.2', vtepMac: '0e:2a:00:00:00:02' },
      { subnet: '10.244.4.0/24', publicIp: 'nope', vtepMac: '0e:2a:00:00:00:02' },
      { subnet: '10.244.4.0/24', publicIp: '198.18.0.2' },
      { subnet: 'garbage', publicIp: '198.18.0.2', vtepMac: '0e:2a:00:00:00:02' },
    ];
    for (const spec of bad)
      expect(() => d.validate(spec)).toThrow(expect.objectContaining({ code: 'DATAPLANE_BAD_PEER' }));
  });

  it('gives each subnet a stable index, reuses freed ones last and enforces maxPeers', () => {
    const d = new PeerDirectory('udp', 2, 8285, own);
    const add = (subnet: string) => {
      const { key, record } = d.validate({ subnet, publicIp: '198.18.0.9' });
      return d.upsert({ subnet, publicIp: '198.18.0.9' }, key, record);
    };
    expect(add('10.244.4.0/24')).toMatchObject({ entry: { index: 0 }, fresh: true });
    expect(add('10.244.4.0/24')).toMatchObject({ entry: { index: 0 }, fresh: false });
    expect(add('10.244.5.0/24').entry.index).toBe(1);
    expect(() => add('10.244.6.0/24')).toThrow(expect.objectContaining({ code: 'DATAPLANE_TOO_MANY_PEERS' }));
    expect(d.remove('10.244.4.0/24')).toBe(0);
    expect(add('10.244.6.0/24')).toMatchObject({ entry: { index: 0 }, fresh: true });
  });
});

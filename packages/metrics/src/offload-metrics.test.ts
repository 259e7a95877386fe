import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';
import { parseExposition } from './parse.js';
import type { DataplaneSnapshot } from './sources.js';

const empty = { bounds: [1], counts: [0, 0], sum: 0 };

function snapshot(extra: Partial<DataplaneSnapshot>): DataplaneSnapshot {
  return {
    peers: [],
    drops: { tx: {}, rx: {} },
    underlayBytes: { tx: 0, rx: 0 },
    batchSize: { encap: empty, decap: empty },
    batchDurationSeconds: { encap: empty, decap: empty },
    pool: { free: 1, inUse: 0 },
    ...extra,
  };
}

async function values(source: DataplaneSnapshot | null): Promise<Map<string, number>> {
  const metrics = createMetrics({ build: { version: '1', runtimeVersion: 'v20' }, dataplane: () => source });
  const samples = parseExposition(await metrics.registry.metrics());
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name.startsWith('felt_offload') || s.name === 'felt_inner_checksums_completed_total') {
      out.set(s.labels.kind ? `${s.name}{${s.labels.kind}}` : s.name, s.value);
    }
  }
  return out;
}

describe('offload metrics', () => {
  it('exports every offload counter from the snapshot', async () => {
    const v = await values(
      snapshot({
        offloads: {
          active: true,
          superPackets: 10,
          superPacketSegments: 450,
          gsoSends: 20,
          gsoSegments: 449,
          gsoFallbacks: 1,
          groDatagrams: 30,
          groSegments: 700,
          tunWrites: 25,
          tunMergedPackets: 690,
        },
        innerChecksumsCompleted: 7,
      }),
    );
    expect(Object.fromEntries(v)).toEqual({
      felt_offload_active: 1,
      felt_offload_super_packets_total: 10,
      felt_offload_super_packet_segments_total: 450,
      felt_offload_gso_sends_total: 20,
      felt_offload_gso_segments_total: 449,
      felt_offload_gro_datagrams_total: 30,
      felt_offload_gro_segments_total: 700,
      felt_offload_tun_writes_total: 25,
      felt_offload_gro_merged_packets_total: 690,
      'felt_offload_fallbacks_total{gso}': 1,
      felt_inner_checksums_completed_total: 7,
    });
  });

  it('exports zeros before the data plane runs or when its snapshot has no offload counters', async () => {
    for (const source of [null, snapshot({})]) {
      const v = await values(source);
      expect(v.size).toBe(11);
      expect([...v.values()].every((x) => x === 0)).toBe(true);
    }
  });
});

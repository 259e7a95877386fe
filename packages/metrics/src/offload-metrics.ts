// Offload counters of the data plane (TUN TSO/GRO, UDP GSO/GRO), read from its snapshot at scrape time.
import type { Registry } from 'prom-client';
import { registerScrapeMetric } from './collector.js';
import type { DataplaneSnapshot, OffloadCounters } from './sources.js';

type Counted = Exclude<keyof OffloadCounters, 'active'>;

const COUNTERS: ReadonlyArray<{ name: string; help: string; field: Counted }> = [
  {
    name: 'felt_offload_super_packets_total',
    help: 'GSO super-packets (up to 64 KiB) read from the TUN device.',
    field: 'superPackets',
  },
  {
    name: 'felt_offload_super_packet_segments_total',
    help: 'Inner packets the TUN super-packets were split into (segments per super-packet = ratio).',
    field: 'superPacketSegments',
  },
  {
    name: 'felt_offload_gso_sends_total',
    help: 'UDP messages sent with UDP_SEGMENT (GSO), each a run of datagrams to one peer.',
    field: 'gsoSends',
  },
  {
    name: 'felt_offload_gso_segments_total',
    help: 'Datagrams carried by UDP GSO messages (segments per send = ratio to gso_sends).',
    field: 'gsoSegments',
  },
  {
    name: 'felt_offload_gro_datagrams_total',
    help: 'Received UDP datagrams the kernel coalesced (UDP_GRO).',
    field: 'groDatagrams',
  },
  {
    name: 'felt_offload_gro_segments_total',
    help: 'Datagrams inside coalesced UDP receives.',
    field: 'groSegments',
  },
  {
    name: 'felt_offload_tun_writes_total',
    help: 'TUN writes on receive with offloads (one per coalesced super-packet or lone packet).',
    field: 'tunWrites',
  },
  {
    name: 'felt_offload_gro_merged_packets_total',
    help: 'Inner packets written into the TUN merged with others (packets per TUN write = ratio).',
    field: 'tunMergedPackets',
  },
];

export function registerOffloadMetrics(registry: Registry, snapshot: () => DataplaneSnapshot | null): void {
  const offloads = (): OffloadCounters | undefined => snapshot()?.offloads;
  registerScrapeMetric(registry, {
    name: 'felt_offload_active',
    help: 'Whether the data plane runs with offloads (1) or the plain per-packet loops (0).',
    type: 'gauge',
    samples: () => [{ labels: {}, value: offloads()?.active ? 1 : 0 }],
  });
  for (const { name, help, field } of COUNTERS) {
    registerScrapeMetric(registry, {
      name,
      help,
      type: 'counter',
      samples: () => [{ labels: {}, value: offloads()?.[field] ?? 0 }],
    });
  }
  registerScrapeMetric(registry, {
    name: 'felt_offload_fallbacks_total',
    help: 'Offloads the kernel refused at run time, by kind (gso: UDP GSO send refused, resent unsegmented).',
    type: 'counter',
    samples: () => [{ labels: { kind: 'gso' }, value: offloads()?.gsoFallbacks ?? 0 }],
  });
  registerScrapeMetric(registry, {
    name: 'felt_inner_checksums_completed_total',
    help: 'Inner TCP/UDP checksums received partial (a kernel peer without a NIC to finish them) and completed.',
    type: 'counter',
    samples: () => [{ labels: {}, value: snapshot()?.innerChecksumsCompleted ?? 0 }],
  });
}

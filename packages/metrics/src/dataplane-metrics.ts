// Metrics read from the data plane's counters at scrape time (the rows marked H in ecosystem.md §1).
import type { Registry } from 'prom-client';
import { registerScrapeMetric, type Sample } from './collector.js';
import { BATCH_DURATION_BOUNDS, BATCH_SIZE_BOUNDS, DATAPATH_OPS, DIRECTIONS, DROP_REASONS } from './enums.js';
import { emptyBuckets, histogramSamples } from './histogram.js';
import { registerOffloadMetrics } from './offload-metrics.js';
import { OTHER_PEER, type PeerLabelling, type PeerTotals } from './peer-labels.js';
import type { BucketCounts, DatapathOp, DataplaneSnapshot } from './sources.js';

/** One scrape's view: the snapshot (null before the data plane runs) and its peer labelling. */
export interface DataplaneView {
  snapshot: DataplaneSnapshot | null;
  peers: PeerLabelling;
}

type PeerRow = { peer: string; totals: PeerTotals };

function peerRows(view: DataplaneView): PeerRow[] {
  const rows: PeerRow[] = view.peers.labelled.map((p) => ({ peer: p.subnet, totals: p }));
  if (view.peers.other !== null) rows.push({ peer: OTHER_PEER, totals: view.peers.other });
  return rows;
}

/** Documented reasons first (always present), then any further reason the data plane reports. */
function dropReasons(snapshot: DataplaneSnapshot | null): string[] {
  const reasons = new Set<string>(DROP_REASONS);
  if (snapshot !== null)
    for (const d of DIRECTIONS) for (const r of Object.keys(snapshot.drops[d])) reasons.add(r);
  return [...reasons];
}

export function registerDataplaneMetrics(registry: Registry, view: () => DataplaneView): void {
  const perPeer = (field: (t: PeerTotals, d: 'tx' | 'rx') => number) => (): Sample[] =>
    peerRows(view()).flatMap(({ peer, totals }) =>
      DIRECTIONS.map((direction) => ({ labels: { peer, direction }, value: field(totals, direction) })),
    );

  registerScrapeMetric(registry, {
    name: 'felt_peer_packets_total',
    help: 'Overlay packets encapsulated to (tx) or decapsulated from (rx) a peer tunnel.',
    type: 'counter',
    samples: perPeer((t, d) => (d === 'tx' ? t.txPackets : t.rxPackets)),
  });
  registerScrapeMetric(registry, {
    name: 'felt_peer_bytes_total',
    help: 'Inner (overlay IP packet) bytes to/from a peer; excludes outer IP/UDP and tunnel headers.',
    type: 'counter',
    samples: perPeer((t, d) => (d === 'tx' ? t.txBytes : t.rxBytes)),
  });
  registerScrapeMetric(registry, {
    name: 'felt_peer_last_receive_timestamp_seconds',
    help: 'Unix time of the last valid packet received from the peer (0 = never).',
    type: 'gauge',
    samples: () =>
      peerRows(view()).map(({ peer, totals }) => ({ labels: { peer }, value: totals.lastReceiveMs / 1000 })),
  });
  registerScrapeMetric(registry, {
    name: 'felt_peer_info',
    help: 'Static attributes of a peer lease (always 1), for group_left joins.',
    type: 'gauge',
    samples: () =>
      view().peers.labelled.map((p) => ({
        labels: { peer: p.subnet, public_ip: p.publicIp, node: p.node ?? '' },
        value: 1,
      })),
  });
  registerScrapeMetric(registry, {
    name: 'felt_peers',
    help: 'Remote subnet leases currently programmed in the forwarding table.',
    type: 'gauge',
    samples: () => [
      { labels: { family: 'ipv4' }, value: view().snapshot?.peers.length ?? 0 },
      { labels: { family: 'ipv6' }, value: 0 },
    ],
  });

  const perDrop = (field: 'packets' | 'bytes') => (): Sample[] => {
    const snapshot = view().snapshot;
    return dropReasons(snapshot).flatMap((reason) =>
      DIRECTIONS.map((direction) => ({
        labels: { reason, direction },
        value: snapshot?.drops[direction][reason]?.[field] ?? 0,
      })),
    );
  };
  registerScrapeMetric(registry, {
    name: 'felt_drops_total',
    help: `Packets dropped by the forwarder, by reason (${DROP_REASONS.join(', ')}) and direction.`,
    type: 'counter',
    samples: perDrop('packets'),
  });
  registerScrapeMetric(registry, {
    name: 'felt_drop_bytes_total',
    help: 'Bytes of packets dropped by the forwarder, by reason and direction.',
    type: 'counter',
    samples: perDrop('bytes'),
  });
  registerScrapeMetric(registry, {
    name: 'felt_underlay_bytes_total',
    help: 'UDP payload bytes sent/received on the underlay socket, tunnel header included.',
    type: 'counter',
    samples: () =>
      DIRECTIONS.map((direction) => ({
        labels: { direction },
        value: view().snapshot?.underlayBytes[direction] ?? 0,
      })),
  });

  const perOpHistogram =
    (
      name: string,
      pick: (s: DataplaneSnapshot) => Readonly<Record<DatapathOp, BucketCounts>>,
      bounds: readonly number[],
    ) =>
    (): Sample[] => {
      const snapshot = view().snapshot;
      return DATAPATH_OPS.flatMap((op) =>
        histogramSamples(name, { op }, snapshot === null ? emptyBuckets(bounds) : pick(snapshot)[op]),
      );
    };
  registerScrapeMetric(registry, {
    name: 'felt_datapath_batch_duration_seconds',
    help: 'Wall time to process one batch (read, (de)capsulate, write).',
    type: 'histogram',
    samples: perOpHistogram(
      'felt_datapath_batch_duration_seconds',
      (s) => s.batchDurationSeconds,
      BATCH_DURATION_BOUNDS,
    ),
  });
  registerScrapeMetric(registry, {
    name: 'felt_datapath_batch_size',
    help: 'Packets handled per batch.',
    type: 'histogram',
    samples: perOpHistogram('felt_datapath_batch_size', (s) => s.batchSize, BATCH_SIZE_BOUNDS),
  });
  registerScrapeMetric(registry, {
    name: 'felt_datapath_worker_packets_total',
    help: 'Packets handled per data-plane worker (one TUN queue and socket each); the other series sum all workers.',
    type: 'counter',
    samples: () =>
      (view().snapshot?.workers ?? []).flatMap((stats, index) => [
        { labels: { worker: String(index), op: 'encap' }, value: stats.encapPackets },
        { labels: { worker: String(index), op: 'decap' }, value: stats.decapPackets },
      ]),
  });
  registerScrapeMetric(registry, {
    name: 'felt_datapath_queue_length',
    help: 'Packets waiting in an internal queue.',
    type: 'gauge',
    samples: () =>
      Object.entries(view().snapshot?.queues ?? {}).map(([queue, value]) => ({ labels: { queue }, value })),
  });
  registerScrapeMetric(registry, {
    name: 'felt_buffer_pool_buffers',
    help: 'Packet buffers in the preallocated pool; pool_exhausted drops start at free=0.',
    type: 'gauge',
    samples: () => {
      const pool = view().snapshot?.pool;
      return [
        { labels: { state: 'free' }, value: pool?.free ?? 0 },
        { labels: { state: 'in_use' }, value: pool?.inUse ?? 0 },
      ];
    },
  });
  registerOffloadMetrics(registry, () => view().snapshot);
}

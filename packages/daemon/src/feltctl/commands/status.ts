// `feltctl status`: reads a node's /metrics and prints its peers, traffic and drops.
import { type ExposedSample, OTHER_PEER, parseExposition } from '@felt/metrics';
import type { HostPort } from '../../config/values.js';
import type { OutputFormat } from '../args.js';
import { FeltctlError } from '../errors.js';
import { formatBytes, formatDuration, formatInstant, formatTable } from '../format.js';
import type { CommandIo } from '../io.js';

export interface PeerStatus {
  peer: string;
  publicIp: string | null;
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  /** Epoch ms; 0 = never. */
  lastReceiveMs: number;
}

export interface DropStatus {
  reason: string;
  direction: string;
  packets: number;
  bytes: number;
}

export interface NodeStatus {
  version: string | null;
  backend: string | null;
  peersProgrammed: number;
  registrySynced: boolean;
  /** Epoch ms; null without a lease. */
  leaseExpiresAt: number | null;
  tunMtu: number | null;
  underlay: { txBytes: number; rxBytes: number };
  pool: { free: number; inUse: number } | null;
  peers: PeerStatus[];
  /** Non-zero drops only. */
  drops: DropStatus[];
}

function pick(
  samples: readonly ExposedSample[],
  name: string,
  labels: Record<string, string> = {},
): ExposedSample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

function one(
  samples: readonly ExposedSample[],
  name: string,
  labels: Record<string, string> = {},
): number | null {
  return pick(samples, name, labels)[0]?.value ?? null;
}

export function summariseMetrics(samples: readonly ExposedSample[]): NodeStatus {
  const build = pick(samples, 'felt_build_info')[0]?.labels;
  const peerNames = [...new Set(pick(samples, 'felt_peer_bytes_total').map((s) => s.labels.peer))];
  const peers = peerNames.map((peer) => ({
    peer,
    publicIp: pick(samples, 'felt_peer_info', { peer })[0]?.labels.public_ip ?? null,
    txPackets: one(samples, 'felt_peer_packets_total', { peer, direction: 'tx' }) ?? 0,
    txBytes: one(samples, 'felt_peer_bytes_total', { peer, direction: 'tx' }) ?? 0,
    rxPackets: one(samples, 'felt_peer_packets_total', { peer, direction: 'rx' }) ?? 0,
    rxBytes: one(samples, 'felt_peer_bytes_total', { peer, direction: 'rx' }) ?? 0,
    lastReceiveMs: (one(samples, 'felt_peer_last_receive_timestamp_seconds', { peer }) ?? 0) * 1000,
  }));
  const drops = pick(samples, 'felt_drops_total')
    .filter((s) => s.value > 0)
    .map((s) => ({
      reason: s.labels.reason,
      direction: s.labels.direction,
      packets: s.value,
      bytes: one(samples, 'felt_drop_bytes_total', s.labels) ?? 0,
    }));
  const expiry = one(samples, 'felt_subnet_lease_expiry_timestamp_seconds', { family: 'ipv4' });
  const mtu = one(samples, 'felt_tunnel_mtu_bytes');
  const free = one(samples, 'felt_buffer_pool_buffers', { state: 'free' });
  const inUse = one(samples, 'felt_buffer_pool_buffers', { state: 'in_use' });
  return {
    version: build?.version ?? null,
    backend: build?.backend || null,
    peersProgrammed: one(samples, 'felt_peers', { family: 'ipv4' }) ?? peers.length,
    registrySynced: one(samples, 'felt_registry_synced') === 1,
    leaseExpiresAt: expiry ? expiry * 1000 : null,
    tunMtu: mtu ? mtu : null,
    underlay: {
      txBytes: one(samples, 'felt_underlay_bytes_total', { direction: 'tx' }) ?? 0,
      rxBytes: one(samples, 'felt_underlay_bytes_total', { direction: 'rx' }) ?? 0,
    },
    pool: free === null || inUse === null ? null : { free, inUse },
    peers,
    drops,
  };
}

function lastReceive(ms: number, nowMs: number): string {
  return ms === 0 ? 'never' : `${formatDuration((nowMs - ms) / 1000)} ago`;
}

export function formatStatus(node: string, status: NodeStatus, nowMs: number): string {
  const lines: string[] = [];
  const backend = status.backend ? ` (${status.backend})` : '';
  lines.push(`node ${node}: felt ${status.version ?? '?'}${backend}`);
  lines.push(
    `lease: ${status.leaseExpiresAt === null ? 'none' : `expires ${formatInstant(status.leaseExpiresAt, nowMs)}`}` +
      `   registry synced: ${status.registrySynced ? 'yes' : 'no'}` +
      `   TUN MTU: ${status.tunMtu ?? '-'}`,
  );
  lines.push(
    `underlay: tx ${formatBytes(status.underlay.txBytes)}, rx ${formatBytes(status.underlay.rxBytes)}`,
  );
  if (status.pool !== null) lines.push(`buffers: ${status.pool.free} free, ${status.pool.inUse} in use`);
  lines.push('');
  lines.push(`peers: ${status.peersProgrammed}`);
  if (status.peers.length > 0) {
    const right = { align: 'right' } as const;
    lines.push(
      formatTable(
        [
          { header: 'PEER' },
          { header: 'PUBLIC IP' },
          { header: 'TX PACKETS', ...right },
          { header: 'TX BYTES', ...right },
          { header: 'RX PACKETS', ...right },
          { header: 'RX BYTES', ...right },
          { header: 'LAST RECEIVE' },
        ],
        status.peers.map((p) => [
          p.peer === OTHER_PEER ? `${OTHER_PEER} (over --metrics-max-peers)` : p.peer,
          p.publicIp ?? '-',
          String(p.txPackets),
          formatBytes(p.txBytes),
          String(p.rxPackets),
          formatBytes(p.rxBytes),
          lastReceive(p.lastReceiveMs, nowMs),
        ]),
      ),
    );
  }
  lines.push('');
  if (status.drops.length === 0) lines.push('drops: none');
  else {
    lines.push('drops:');
    lines.push(
      formatTable(
        [
          { header: 'REASON' },
          { header: 'DIRECTION' },
          { header: 'PACKETS', align: 'right' },
          { header: 'BYTES', align: 'right' },
        ],
        status.drops.map((d) => [d.reason, d.direction, String(d.packets), formatBytes(d.bytes)]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function scrapeNode(addr: HostPort, timeoutMs: number): Promise<ExposedSample[]> {
  const url = `http://${addr.host}:${addr.port}/metrics`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const { cause } = error as Error & { cause?: { code?: string; message?: string } };
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new FeltctlError(
      'FELTCTL_SCRAPE',
      `cannot read ${url}: ${reason}; is feltd running with --metrics-addr?`,
      {
        cause: error,
      },
    );
  }
  const body = await response.text();
  if (!response.ok)
    throw new FeltctlError('FELTCTL_SCRAPE', `${url} answered ${response.status}: ${body.trim()}`);
  const samples = parseExposition(body);
  if (!samples.some((s) => s.name === 'felt_build_info')) {
    throw new FeltctlError('FELTCTL_SCRAPE', `${url} does not look like feltd metrics (no felt_build_info)`);
  }
  return samples;
}

export async function status(
  addr: HostPort,
  timeoutMs: number,
  output: OutputFormat,
  io: CommandIo,
): Promise<number> {
  const summary = summariseMetrics(await scrapeNode(addr, timeoutMs));
  const node = `${addr.host}:${addr.port}`;
  io.stdout(
    output === 'json' ? `${JSON.stringify(summary, null, 2)}\n` : formatStatus(node, summary, io.now()),
  );
  return 0;
}

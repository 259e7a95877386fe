// `feltctl leases`: every subnet lease under `<prefix>/subnets/`, with its remaining etcd lease time.
import { parseLeaseValue, parseSubnetKey, vxlanDataOf } from '@felt/registry';
import type { OutputFormat } from '../args.js';
import type { FeltctlStore } from '../etcd.js';
import { formatInstant, formatTable } from '../format.js';
import type { CommandIo } from '../io.js';

export interface LeaseRow {
  subnet: string;
  publicIp: string | null;
  backend: string | null;
  vtepMac: string | null;
  /** Epoch ms; null = the key has no TTL. */
  expiresAt: number | null;
  /** Why the value could not be read, when it could not. */
  problem: string | null;
}

function ipv4Number(subnet: string): number {
  return subnet
    .split('/')[0]
    .split('.')
    .reduce((n, octet) => n * 256 + Number(octet), 0);
}

const TTL_QUERIES_IN_FLIGHT = 16;

/** Remaining TTL per etcd lease ID, asked once per ID, a few at a time. */
async function leaseTtls(store: FeltctlStore, ids: Iterable<string>): Promise<Map<string, number | null>> {
  const pending = [...new Set(ids)].filter((id) => id !== '0');
  const ttls = new Map<string, number | null>();
  for (let i = 0; i < pending.length; i += TTL_QUERIES_IN_FLIGHT) {
    const batch = pending.slice(i, i + TTL_QUERIES_IN_FLIGHT);
    const results = await Promise.all(batch.map((id) => store.leaseTtl(id)));
    for (const [j, id] of batch.entries()) ttls.set(id, results[j] ?? null);
  }
  return ttls;
}

export async function readLeases(store: FeltctlStore, prefix: string, nowMs: number): Promise<LeaseRow[]> {
  const subnets = `${prefix}/subnets/`;
  const kvs = await store.list(subnets);
  const ttls = await leaseTtls(
    store,
    kvs.map((kv) => kv.lease),
  );
  const rows: LeaseRow[] = [];
  for (const kv of kvs) {
    const subnet = parseSubnetKey(kv.key.slice(subnets.length));
    if (subnet === null) continue;
    // A key whose lease is already gone expires now.
    const expiresAt = kv.lease === '0' ? null : nowMs + (ttls.get(kv.lease) ?? 0) * 1000;
    try {
      const attrs = parseLeaseValue(kv.value);
      rows.push({
        subnet,
        publicIp: attrs.PublicIP,
        // Flannel's udp backend writes no BackendType.
        backend: attrs.BackendType ?? 'udp',
        vtepMac: vxlanDataOf(attrs)?.VtepMAC ?? null,
        expiresAt,
        problem: null,
      });
    } catch (error) {
      rows.push({
        subnet,
        publicIp: null,
        backend: null,
        vtepMac: null,
        expiresAt,
        problem: (error as Error).message,
      });
    }
  }
  return rows.sort((a, b) => ipv4Number(a.subnet) - ipv4Number(b.subnet));
}

export function formatLeases(rows: readonly LeaseRow[], nowMs: number): string {
  if (rows.length === 0) return 'no subnet leases\n';
  const table = formatTable(
    [
      { header: 'SUBNET' },
      { header: 'PUBLIC IP' },
      { header: 'BACKEND' },
      { header: 'VTEP MAC' },
      { header: 'EXPIRES' },
    ],
    rows.map((r) => [
      r.subnet,
      r.publicIp ?? '?',
      r.problem === null ? (r.backend ?? '-') : 'invalid',
      r.vtepMac ?? '-',
      r.expiresAt === null ? 'never' : formatInstant(r.expiresAt, nowMs),
    ]),
  );
  const problems = rows.filter((r) => r.problem !== null).map((r) => `${r.subnet}: ${r.problem}`);
  return `${table}\n${problems.length > 0 ? `\ninvalid lease values (feltd skips them):\n  ${problems.join('\n  ')}\n` : ''}`;
}

export async function leases(
  store: FeltctlStore,
  prefix: string,
  output: OutputFormat,
  io: CommandIo,
): Promise<number> {
  const now = io.now();
  const rows = await readLeases(store, prefix, now);
  io.stdout(output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatLeases(rows, now));
  return 0;
}

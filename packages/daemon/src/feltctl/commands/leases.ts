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

export async function readLeases(store: FeltctlStore, prefix: string, nowMs: number): Promise<LeaseRow[]> {
  const subnets = `${prefix}/subnets/`;
  const rows: LeaseRow[] = [];
  for (const kv of await store.list(subnets)) {
    const subnet = parseSubnetKey(kv.key.slice(subnets.length));
    if (subnet === null) continue;
    const ttl = kv.lease === '0' ? null : await store.leaseTtl(kv.lease);
    const expiresAt = kv.lease === '0' ? null : nowMs + (ttl ?? 0) * 1000;
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

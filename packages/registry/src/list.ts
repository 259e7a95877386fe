// One consistent read of every lease under `<prefix>/subnets/`, with the revision it was taken at.

import { isRegistryError, type RegistryError } from './errors.js';
import { etcdCall, prefixRangeEnd } from './etcd-client.js';
import type { EtcdContext } from './etcd-context.js';
import { type StoredLease, storedLeaseFromKv } from './lease-record.js';
import { parseSubnetKey } from './subnet-math/cidr.js';

export interface MalformedEntry {
  key: string;
  modRevision: string;
  /** The subnet the key names, when the key itself is well-formed (it still occupies that subnet). */
  subnet: string | null;
  error: RegistryError;
}

export interface LeaseListing {
  revision: string;
  leases: StoredLease[];
  malformed: MalformedEntry[];
}

export function classify(
  subnets: string,
  kv: Parameters<typeof storedLeaseFromKv>[1],
): StoredLease | MalformedEntry {
  try {
    return storedLeaseFromKv(subnets, kv);
  } catch (err) {
    if (!isRegistryError(err)) throw err;
    const key = kv.key.toString();
    const subnet = key.startsWith(subnets) ? parseSubnetKey(key.slice(subnets.length)) : null;
    return { key, modRevision: kv.mod_revision, subnet, error: err };
  }
}

export function isMalformed(entry: StoredLease | MalformedEntry): entry is MalformedEntry {
  return 'error' in entry;
}

/** Lists the leases now, or as they were at `atRevision` (then `revision` is that revision). */
export async function listLeases(ctx: EtcdContext, atRevision?: bigint): Promise<LeaseListing> {
  const key = Buffer.from(ctx.subnets);
  const rangeEnd = prefixRangeEnd(ctx.subnets);
  const res = await etcdCall(ctx, 'range', () =>
    ctx.client.kv.range(
      atRevision === undefined
        ? { key, range_end: rangeEnd }
        : { key, range_end: rangeEnd, revision: String(atRevision) },
    ),
  );
  const leases: StoredLease[] = [];
  const malformed: MalformedEntry[] = [];
  for (const kv of res.kvs) {
    const entry = classify(ctx.subnets, kv);
    if (isMalformed(entry)) malformed.push(entry);
    else leases.push(entry);
  }
  // The header carries the store's current revision, also for a read at an older one.
  const revision = atRevision === undefined ? res.header.revision : String(atRevision);
  return { revision, leases, malformed };
}

// Turning etcd key/values under `<prefix>/subnets/` into Lease objects.
import type { IKeyValue } from 'etcd3';
import { RegistryError } from './errors.js';
import { parseLeaseValue } from './lease-json.js';
import { parseSubnetKey } from './subnet-math/cidr.js';
import type { Lease } from './types.js';

/** A lease as stored: the parsed view plus what compare-and-swap needs. */
export interface StoredLease {
  lease: Lease;
  /** etcd lease ID ('0' for a reservation without TTL). */
  leaseId: string;
  modRevision: string;
  /** Raw value, to tell real changes from renewals that rewrite the same JSON. */
  value: string;
}

export function subnetsPrefix(prefix: string): string {
  return `${prefix.replace(/\/+$/, '')}/subnets/`;
}

export function configKey(prefix: string): string {
  return `${prefix.replace(/\/+$/, '')}/config`;
}

/** Parses one key/value; throws REGISTRY_BAD_LEASE naming the key when either part is malformed. */
export function storedLeaseFromKv(subnets: string, kv: IKeyValue): StoredLease {
  const key = kv.key.toString();
  const subnet = key.startsWith(subnets) ? parseSubnetKey(key.slice(subnets.length)) : null;
  if (subnet === null) {
    throw new RegistryError('REGISTRY_BAD_LEASE', `lease key ${key} is not <prefix>/subnets/<a.b.c.d>-<len>`);
  }
  const value = kv.value.toString();
  let attrs: Lease['attrs'];
  try {
    attrs = parseLeaseValue(value);
  } catch (err) {
    throw new RegistryError('REGISTRY_BAD_LEASE', `lease ${key}: ${(err as Error).message}`, { cause: err });
  }
  return {
    lease: { subnet, key, attrs, expiresAt: null },
    leaseId: kv.lease,
    modRevision: kv.mod_revision,
    value,
  };
}

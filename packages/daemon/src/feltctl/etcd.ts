// The few etcd operations feltctl needs, behind a small interface so commands can be tested with a fake.
import { createEtcdClient, isRegistryError } from '@felt/registry';
import type { Etcd3 } from 'etcd3';
import type { EtcdConnection } from './args.js';
import { FeltctlError } from './errors.js';

export interface StoredKey {
  key: string;
  value: string;
  /** etcd lease ID ('0' when the key has none). */
  lease: string;
}

export interface FeltctlStore {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  list(prefix: string): Promise<StoredKey[]>;
  /** Remaining seconds of an etcd lease; null when the lease is gone. */
  leaseTtl(lease: string): Promise<number | null>;
  close(): void;
}

/**
 * The registry's etcd client (TLS and auth passed through, a deadline on every call, no retries
 * inside etcd3: a CLI fails fast and says why). Bad TLS settings are the user's input to fix.
 */
function connect(c: EtcdConnection): Etcd3 {
  const optional = (value: string | null) => value ?? undefined;
  try {
    return createEtcdClient({
      endpoints: c.endpoints,
      tls: { caFile: optional(c.caFile), certFile: optional(c.certFile), keyFile: optional(c.keyFile) },
      ...(c.username === null ? {} : { auth: { username: c.username, password: c.password ?? '' } }),
      dialTimeoutMs: c.timeoutMs,
      callTimeoutMs: c.timeoutMs,
    });
  } catch (error) {
    if (!isRegistryError(error)) throw error;
    throw new FeltctlError('FELTCTL_INPUT', error.message, { cause: error });
  }
}

/** Turns an etcd client failure into FELTCTL_ETCD naming the endpoints. */
async function call<T>(c: EtcdConnection, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const message = ((error as Error).message ?? String(error)).replace(/\s*Resolution note:\s*$/, '');
    throw new FeltctlError('FELTCTL_ETCD', `etcd ${what} failed at ${c.endpoints.join(',')}: ${message}`, {
      cause: error,
    });
  }
}

export function openEtcdStore(c: EtcdConnection): FeltctlStore {
  const client = connect(c);
  return {
    get: (key) => call(c, `get ${key}`, () => client.get(key).string()),
    put: (key, value) => call(c, `put ${key}`, async () => void (await client.put(key).value(value))),
    list: (prefix) =>
      call(c, `list ${prefix}`, async () => {
        const response = await client.getAll().prefix(prefix).exec();
        return response.kvs.map((kv) => ({
          key: kv.key.toString(),
          value: kv.value.toString(),
          lease: kv.lease,
        }));
      }),
    leaseTtl: (lease) =>
      call(c, `lease ${lease}`, async () => {
        const response = await client.leaseClient.leaseTimeToLive({ ID: lease });
        const ttl = Number(response.TTL);
        return ttl < 0 ? null : ttl;
      }),
    close: () => client.close(),
  };
}

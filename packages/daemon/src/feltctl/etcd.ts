// The few etcd operations feltctl needs, behind a small interface so commands can be tested with a fake.
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
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

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new FeltctlError('FELTCTL_INPUT', `cannot read etcd ${what} ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function credentials(c: EtcdConnection): IOptions['credentials'] {
  if (c.caFile === null && c.certFile === null) return undefined;
  if ((c.certFile === null) !== (c.keyFile === null)) {
    throw new FeltctlError('FELTCTL_USAGE', '--etcd-certfile and --etcd-keyfile go together');
  }
  return {
    // grpc-js takes a missing root certificate as "use the system CAs".
    rootCertificate: c.caFile === null ? (undefined as unknown as Buffer) : readPem(c.caFile, 'CA file'),
    ...(c.certFile === null ? {} : { certChain: readPem(c.certFile, 'certificate') }),
    ...(c.keyFile === null ? {} : { privateKey: readPem(c.keyFile, 'key') }),
  };
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
  const client = new Etcd3({
    hosts: c.endpoints,
    credentials: credentials(c),
    ...(c.username === null ? {} : { auth: { username: c.username, password: c.password ?? '' } }),
    dialTimeout: c.timeoutMs,
    defaultCallOptions: () => ({ deadline: Date.now() + c.timeoutMs }),
    // One attempt per command: a CLI should fail fast and say why, not retry behind the user's back.
    faultHandling: { host: () => noRetry, global: noRetry },
  });
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

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** A cockatiel-shaped policy that runs the call once. */
const noRetry = {
  execute: (fn: (context: { signal: AbortSignal; attempt: number }) => unknown) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })),
} as unknown as Policy;

// One etcd3 client per registry: TLS/auth passed through, a deadline on every unary call, and no
// retry/circuit-breaker policies inside etcd3 (our loops own retries and backoff, so recovery after an
// etcd restart is not delayed by an open breaker).
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { RegistryError } from './errors.js';
import type { EtcdContext } from './etcd-context.js';
import { grpcCodeOf } from './grpc-code.js';
import { countEtcdError } from './stats.js';
import type { EtcdOperation, SubnetRegistryOptions } from './types.js';

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** Runs the call once, as is. */
const passThrough = {
  execute: (fn: (context: { signal: AbortSignal; attempt: number }) => unknown) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })),
} as unknown as Policy;

function readTlsFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const message = `cannot read etcd TLS ${what} ${file}: ${(err as Error).message}`;
    throw new RegistryError('REGISTRY_BAD_REQUEST', message, { cause: err });
  }
}

/** Unlike Flannel, a CA alone is honoured (server verification without a client certificate). */
function credentials(tls: SubnetRegistryOptions['tls']): IOptions['credentials'] {
  if (tls === undefined || (tls.caFile === undefined && tls.certFile === undefined)) return undefined;
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new RegistryError(
      'REGISTRY_BAD_REQUEST',
      'etcd TLS needs both a certificate and a key file (or neither)',
    );
  }
  return {
    // etcd3 hands this to grpc's createSsl, where a missing root certificate means the system CAs.
    rootCertificate: (tls.caFile === undefined ? undefined : readTlsFile(tls.caFile, 'CA file')) as Buffer,
    ...(tls.certFile === undefined ? {} : { certChain: readTlsFile(tls.certFile, 'certificate') }),
    ...(tls.keyFile === undefined ? {} : { privateKey: readTlsFile(tls.keyFile, 'key') }),
  };
}

export function createEtcdClient(options: SubnetRegistryOptions): Etcd3 {
  if (options.endpoints.length === 0) {
    throw new RegistryError('REGISTRY_BAD_REQUEST', 'no etcd endpoints given (e.g. http://127.0.0.1:2379)');
  }
  const callTimeoutMs = options.callTimeoutMs ?? 5_000;
  return new Etcd3({
    hosts: options.endpoints,
    credentials: credentials(options.tls),
    ...(options.auth === undefined ? {} : { auth: { ...options.auth } }),
    dialTimeout: options.dialTimeoutMs ?? 5_000,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    grpcOptions: {
      // grpc-js defaults back off reconnects up to 120 s; an etcd restart must be noticed within seconds.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 5_000,
      // Detects half-open connections (etcd3#110, #153); etcd's default minimum ping interval is 5 s.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    },
    faultHandling: { host: () => passThrough, global: passThrough },
  });
}

/** Key just past every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixRangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * Wraps one unary etcd call: times it for the onEtcdCall hook, counts failures per operation and gRPC
 * status, and turns them into REGISTRY_ETCD / REGISTRY_TIMEOUT errors.
 */
export async function etcdCall<T>(
  ctx: Pick<EtcdContext, 'stats' | 'onEtcdCall' | 'logger'>,
  op: EtcdOperation,
  fn: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    const result = await fn();
    report(ctx, op, 'ok', started);
    return result;
  } catch (err) {
    const status = grpcCodeOf(err);
    countEtcdError(ctx.stats, op, status);
    report(ctx, op, 'error', started, status);
    if (err instanceof RegistryError) throw err;
    const message = (err as Error).message ?? String(err);
    const code = /deadline/i.test(message) ? 'REGISTRY_TIMEOUT' : 'REGISTRY_ETCD';
    throw new RegistryError(code, `etcd ${op} failed: ${message}`, { cause: err });
  }
}

function report(
  ctx: Pick<EtcdContext, 'onEtcdCall' | 'logger'>,
  op: EtcdOperation,
  outcome: 'ok' | 'error',
  started: number,
  code?: string,
): void {
  if (ctx.onEtcdCall === undefined) return;
  try {
    ctx.onEtcdCall(op, outcome, (performance.now() - started) / 1000, code);
  } catch (err) {
    ctx.logger.debug({ op, err: (err as Error).message }, 'onEtcdCall hook threw; ignored');
  }
}

// SubnetRegistry: our subnet lease (acquire, renew, re-acquire when lost, release) and the shared
// watch of everybody's leases. Operations on our lease run one at a time.
import { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';
import { acquireSubnet, leaseAttrsFor } from './acquire.js';
import type { PeerWatcherApi, SubnetRegistryApi } from './api.js';
import { Backoff, delay } from './backoff.js';
import { parseNetworkConfig } from './config.js';
import { RegistryError } from './errors.js';
import { createEtcdClient, etcdCall } from './etcd-client.js';
import type { EtcdContext } from './etcd-context.js';
import { releaseLease, renewLease } from './lease-ops.js';
import { configKey, type StoredLease, subnetsPrefix } from './lease-record.js';
import { renewDelayMs, renewRetryDelayMs } from './renew-timing.js';
import { copyStats, emptyStats } from './stats.js';
import type {
  AcquireRequest,
  Lease,
  NetworkConfig,
  RegistryEvents,
  RegistryLogger,
  RegistryStats,
  SubnetRegistryOptions,
} from './types.js';
import { SubnetWatch } from './watch.js';

const silentLogger: RegistryLogger = { debug() {}, info() {}, warn() {}, error() {} };

type LossReason = RegistryEvents['lease-lost'][0]['reason'];

export class SubnetRegistry extends EventEmitter<RegistryEvents> implements SubnetRegistryApi {
  private readonly client: Etcd3;
  private readonly ctx: EtcdContext;
  private readonly stats_: RegistryStats = emptyStats();
  private readonly ttlSeconds: number;
  private readonly marginMs: number;
  private readonly resyncIntervalMs: number;
  private readonly closing = new AbortController();
  private config: NetworkConfig | null = null;
  private watch: SubnetWatch | null = null;
  private owned: StoredLease | null = null;
  /** What acquire() was asked for, reused when re-acquiring after a loss. */
  private request: AcquireRequest | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private recovering = false;

  constructor(options: SubnetRegistryOptions) {
    super();
    this.ttlSeconds = options.leaseTtlSeconds ?? 86_400;
    const marginSeconds = options.renewMarginSeconds ?? 3_600;
    if (!(this.ttlSeconds > 0) || !(marginSeconds > 0) || marginSeconds >= this.ttlSeconds) {
      throw new RegistryError(
        'REGISTRY_BAD_REQUEST',
        `renew margin (${marginSeconds} s) must be positive and below the lease TTL (${this.ttlSeconds} s)`,
      );
    }
    this.marginMs = marginSeconds * 1000;
    this.resyncIntervalMs = options.resyncIntervalMs ?? 300_000;
    this.client = createEtcdClient(options);
    const prefix = (options.prefix ?? '/coreos.com/network').replace(/\/+$/, '');
    this.ctx = {
      client: this.client,
      prefix,
      subnets: subnetsPrefix(prefix),
      stats: this.stats_,
      logger: options.logger ?? silentLogger,
      onEtcdCall: options.onEtcdCall,
    };
  }

  async loadConfig(): Promise<NetworkConfig> {
    const key = configKey(this.ctx.prefix);
    const text = await etcdCall(this.ctx, 'range', () => this.client.get(key).string());
    if (text === null) {
      throw new RegistryError('REGISTRY_NO_CONFIG', `no network config at ${key}`);
    }
    this.config = parseNetworkConfig(text);
    return this.config;
  }

  async waitForConfig(signal?: AbortSignal): Promise<NetworkConfig> {
    const key = configKey(this.ctx.prefix);
    const backoff = new Backoff(100, 5_000);
    let lastProblem = '';
    for (;;) {
      this.throwIfStopped(signal);
      try {
        return await this.loadConfig();
      } catch (err) {
        const e = err as RegistryError;
        // Log each distinct problem once, not every retry.
        if (e.message !== lastProblem) {
          lastProblem = e.message;
          const hint =
            e.code === 'REGISTRY_NO_CONFIG'
              ? `write it, e.g. etcdctl put ${key} '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}'`
              : `fix the document at ${key}`;
          this.ctx.logger.warn({ key, code: e.code, err: e.message }, `waiting for network config: ${hint}`);
        }
      }
      await delay(backoff.next(), anySignal(this.closing.signal, signal));
    }
  }

  acquire(request: AcquireRequest): Promise<Lease> {
    return this.exclusive(async () => {
      this.throwIfStopped(request.signal);
      const config = request.config ?? this.config ?? (await this.loadConfig());
      this.request = { ...request, config, signal: undefined };
      const watch = this.ensureWatch();
      watch.view.hold();
      try {
        const stored = await acquireSubnet(this.ctx, {
          publicIp: request.publicIp,
          attrs: leaseAttrsFor(request.publicIp, request.backendType, request.backendData),
          previousSubnet: request.previousSubnet ?? this.owned?.lease.subnet ?? null,
          config,
          ttlSeconds: this.ttlSeconds,
          signal: anySignal(this.closing.signal, request.signal),
        });
        this.adopt(stored);
        this.ctx.logger.info(
          { subnet: stored.lease.subnet, expiresAt: stored.lease.expiresAt },
          'subnet lease acquired',
        );
        return stored.lease;
      } finally {
        watch.view.release();
      }
    });
  }

  lease(): Lease | null {
    return this.owned?.lease ?? null;
  }

  release(): Promise<void> {
    return this.exclusive(async () => {
      const current = this.owned;
      if (current === null) throw new RegistryError('REGISTRY_NO_LEASE', 'no lease to release');
      this.request = null;
      this.clearRenewTimer();
      this.owned = null;
      this.stats_.leaseExpiresAt = null;
      const deleted = await releaseLease(this.ctx, current);
      // Forget the key before it stops being "ours", so it never shows up as a peer.
      if (deleted) this.watch?.view.delete(current.lease.key);
      this.watch?.view.setOwnKey(null);
      this.ctx.logger.info({ subnet: current.lease.subnet, deleted }, 'subnet lease released');
    });
  }

  watchPeers(): PeerWatcherApi {
    return this.ensureWatch();
  }

  stats(): RegistryStats {
    return copyStats(this.stats_);
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    this.clearRenewTimer();
    const stopping = this.watch?.stop();
    await this.queue.catch(() => {});
    await stopping;
    this.client.close();
  }

  private ensureWatch(): SubnetWatch {
    if (this.watch === null) {
      this.watch = new SubnetWatch(this.ctx, {
        onApplied: () => this.checkOwnKey(),
        resyncIntervalMs: this.resyncIntervalMs,
      });
      this.watch.view.setOwnKey(this.owned?.lease.key ?? null);
      this.watch.start();
    }
    return this.watch;
  }

  /** Makes `stored` our lease (or none): peer filter, expiry stat, renewal timer. */
  private adopt(stored: StoredLease | null): void {
    this.owned = stored;
    this.stats_.leaseExpiresAt = stored?.lease.expiresAt ?? null;
    this.watch?.view.setOwnKey(stored?.lease.key ?? null);
    this.clearRenewTimer();
    if (stored?.lease.expiresAt != null)
      this.scheduleRenewal(renewDelayMs(stored.lease.expiresAt, this.marginMs));
  }

  private scheduleRenewal(ms: number): void {
    this.clearRenewTimer();
    this.renewTimer = setTimeout(() => void this.renew(), ms);
    this.renewTimer.unref();
  }

  private clearRenewTimer(): void {
    if (this.renewTimer !== null) clearTimeout(this.renewTimer);
    this.renewTimer = null;
  }

  private renew(): Promise<void> {
    return this.exclusive(async () => {
      const current = this.owned;
      if (current === null || current.lease.expiresAt === null) return;
      let renewed: StoredLease | null;
      try {
        renewed = await renewLease(this.ctx, current, this.ttlSeconds);
      } catch (err) {
        this.stats_.renewals.error++;
        const retryMs = renewRetryDelayMs(current.lease.expiresAt);
        this.ctx.logger.warn(
          { subnet: current.lease.subnet, err: (err as Error).message, retryMs },
          'lease renewal failed',
        );
        if (this.owned === current) this.scheduleRenewal(retryMs);
        return;
      }
      if (renewed === null) {
        this.stats_.renewals.lost++;
        this.lost(current, 'renew-conflict');
        return;
      }
      this.stats_.renewals.success++;
      this.adopt(renewed);
      this.emit('renewed', renewed.lease);
    });
  }

  /** After every watch batch: is our key still ours? Only judged when the watch has seen our last write. */
  private checkOwnKey(): void {
    const current = this.owned;
    const watch = this.watch;
    if (current === null || watch === null || this.busy > 0 || this.recovering) return;
    if (watch.revision < BigInt(current.modRevision)) return;
    const seen = watch.stored(current.lease.key);
    if (seen === undefined) {
      const expired = current.lease.expiresAt !== null && Date.now() >= current.lease.expiresAt - 1000;
      this.lost(current, expired ? 'expired' : 'deleted');
    } else if (seen.leaseId !== current.leaseId || seen.value !== current.value) {
      this.lost(current, 'taken');
    }
  }

  /** Reports the loss and re-acquires in the background (same subnet first), with bounded backoff. */
  private lost(previous: StoredLease, reason: LossReason): void {
    if (this.owned !== previous || this.recovering) return;
    this.recovering = true;
    this.adopt(null);
    this.ctx.logger.warn({ subnet: previous.lease.subnet, reason }, 'subnet lease lost; re-acquiring');
    this.emit('lease-lost', { lease: previous.lease, reason });
    void this.reacquire(previous);
  }

  private async reacquire(previous: StoredLease): Promise<void> {
    const backoff = new Backoff(100, 5_000);
    let lastProblem = '';
    try {
      while (!this.closing.signal.aborted && this.request !== null) {
        try {
          const lease = await this.acquireForRecovery(previous);
          this.stats_.reacquisitions++;
          this.emit('lease-reacquired', { previous: previous.lease, lease });
          return;
        } catch (err) {
          if (this.closing.signal.aborted) return;
          // Out of subnets can last; say it once per distinct problem, not every 5 s.
          const message = (err as Error).message;
          if (message !== lastProblem) {
            lastProblem = message;
            this.ctx.logger.error({ err: message }, 're-acquiring the subnet lease failed; retrying');
          }
          if (this.listenerCount('lease-error') > 0) this.emit('lease-error', err as Error);
        }
        await delay(backoff.next(), this.closing.signal);
      }
    } finally {
      this.recovering = false;
      this.checkOwnKey();
    }
  }

  private acquireForRecovery(previous: StoredLease): Promise<Lease> {
    const request = this.request as AcquireRequest;
    return this.acquire({ ...request, previousSubnet: previous.lease.subnet });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      this.busy++;
      try {
        return await fn();
      } finally {
        this.busy--;
        // A watch batch that arrived meanwhile was not judged; judge it now.
        queueMicrotask(() => this.checkOwnKey());
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  private throwIfStopped(signal?: AbortSignal): void {
    if (this.closing.signal.aborted) throw new RegistryError('REGISTRY_CLOSED', 'registry is closed');
    if (signal?.aborted) throw new RegistryError('REGISTRY_ABORTED', 'aborted');
  }
}

function anySignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  return b === undefined ? a : AbortSignal.any([a, b]);
}

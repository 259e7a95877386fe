// The peer watcher: list every lease, then watch from the list revision + 1. After a disconnect it
// resumes from the last applied revision + 1; when that revision was compacted away (or the watch was
// canceled) it lists again and emits only the difference. Retries back off from 100 ms to 5 s, so no
// event is lost or duplicated and a dead etcd is not hammered. Malformed values are skipped,
// logged once per key and counted.
import { EventEmitter } from 'node:events';
import type { IEvent, IWatchResponse } from 'etcd3';
import type { PeerWatcherApi } from './api.js';
import { Backoff, delay } from './backoff.js';
import type { EtcdContext } from './etcd-context.js';
import { grpcCodeOf } from './grpc-code.js';
import type { StoredLease } from './lease-record.js';
import { classify, isMalformed, type LeaseListing, listLeases, type MalformedEntry } from './list.js';
import { PeerView } from './peer-view.js';
import { countEtcdError } from './stats.js';
import type { Lease, PeerEvents } from './types.js';

export type WatchEndReason = 'disconnected' | 'compacted' | 'canceled';

export interface SubnetWatchOptions {
  /** Called after every applied change batch (list or watch response). */
  onApplied?(): void;
  /** Period of the consistency check against a full list; 0 turns it off. */
  resyncIntervalMs?: number;
}

export class SubnetWatch extends EventEmitter<PeerEvents> implements PeerWatcherApi {
  readonly view: PeerView;
  private readonly abort = new AbortController();
  private readonly badValues = new Map<string, string>();
  private running: Promise<void> | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private syncedOnce = false;
  private syncScheduled = false;
  private failureStreak = 0;
  /** Highest etcd revision applied so far ('0' before the first list). */
  revision = 0n;

  constructor(
    private readonly ctx: EtcdContext,
    private readonly hooks: SubnetWatchOptions = {},
  ) {
    super();
    this.view = new PeerView({
      added: (lease) => this.emit('added', lease),
      changed: (lease, previous) => this.emit('changed', lease, previous),
      removed: (lease) => this.emit('removed', lease),
    });
  }

  get synced(): boolean {
    return this.syncedOnce;
  }

  peers(): Lease[] {
    return this.view.peers();
  }

  /** The stored lease under `key` as last seen (ours included), or undefined. */
  stored(key: string): StoredLease | undefined {
    return this.view.table.get(key);
  }

  start(): void {
    this.running ??= this.run();
    const every = this.hooks.resyncIntervalMs ?? 0;
    if (every > 0 && this.resyncTimer === null) {
      this.resyncTimer = setInterval(() => void this.resync(), every);
      this.resyncTimer.unref();
    }
  }

  close(): void {
    this.removeAllListeners();
  }

  /** Stops the loop (the registry's close()); resolves once it has stopped. */
  async stop(): Promise<void> {
    if (this.resyncTimer !== null) clearInterval(this.resyncTimer);
    this.abort.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(100, 5_000);
    const signal = this.abort.signal;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          const listing = await listLeases(this.ctx);
          if (signal.aborted) break;
          this.applyListing(listing);
          needList = false;
        }
        const reason = await this.watchFrom(this.revision + 1n, backoff);
        if (reason === null) break;
        this.ctx.stats.watchRestarts[reason]++;
        // After a disconnect etcd still has every event since our revision; after a compaction or a
        // cancel it may not, so only a fresh list (diffed against what we told) is exact.
        needList = reason !== 'disconnected';
        this.ctx.logger.info(
          { reason, revision: String(this.revision), relist: needList },
          'lease watch ended',
        );
      } catch (err) {
        if (this.failureStreak++ === 0) {
          this.ctx.logger.warn({ err: (err as Error).message }, 'cannot list leases; retrying with backoff');
        }
      }
      await delay(backoff.next(), signal);
    }
  }

  /** Watches until it ends; the reason, or null when closed. */
  private watchFrom(startRevision: bigint, backoff: Backoff): Promise<WatchEndReason | null> {
    const watcher = this.ctx.client
      .watch()
      .prefix(this.ctx.subnets)
      .startRevision(String(startRevision))
      .watcher();
    return new Promise((resolve) => {
      const signal = this.abort.signal;
      const finish = (reason: WatchEndReason | null) => {
        signal.removeEventListener('abort', onAbort);
        watcher.removeAllListeners();
        watcher.on('error', () => {}); // late errors from a watcher we are dropping
        void watcher.cancel().catch(() => {});
        resolve(reason);
      };
      const onAbort = () => finish(null);
      signal.addEventListener('abort', onAbort, { once: true });
      watcher.on('connected', () => {
        this.failureStreak = 0;
        backoff.reset();
      });
      watcher.on('data', (res: IWatchResponse) => this.applyWatchResponse(res));
      watcher.on('disconnected', () => finish('disconnected'));
      watcher.on('error', (err: Error) => {
        countEtcdError(this.ctx.stats, 'watch', grpcCodeOf(err));
        // etcd 3.4 cancels a watch below the compaction horizon with compact_revision set and no
        // reason text, which etcd3 surfaces as "Watcher canceled: " with nothing after it.
        const cancelReason = err.message.replace(/^Watcher canceled:\s*/, '');
        const compacted = cancelReason === '' || /compact/i.test(cancelReason);
        this.ctx.logger.info(
          { err: err.message },
          compacted ? 'lease watch fell behind compaction' : 'lease watch canceled',
        );
        finish(compacted ? 'compacted' : 'canceled');
      });
      watcher.on('end', () => finish('canceled'));
    });
  }

  /**
   * Belt and braces against a watch that went silent (etcd3 #31, #72, #78): list at the revision the
   * view claims to reflect; any difference means events were missed, so apply the listing.
   */
  private async resync(): Promise<void> {
    const at = this.revision;
    if (!this.syncedOnce || at === 0n || this.abort.signal.aborted) return;
    let listing: LeaseListing;
    try {
      listing = await listLeases(this.ctx, at);
    } catch {
      return; // compacted past `at` or etcd unreachable: the watch loop deals with both
    }
    // Events applied meanwhile make the listing stale; compare again next time.
    if (this.revision !== at || this.abort.signal.aborted) return;
    const differences = this.view.countDifferences(listing.leases);
    if (differences === 0) return;
    this.ctx.stats.resyncRepairs++;
    this.ctx.logger.warn(
      { differences, revision: String(at) },
      'lease watch missed changes; repaired from a full list',
    );
    this.applyListing(listing);
  }

  private applyListing(listing: LeaseListing): void {
    const malformedKeys = new Set(listing.malformed.map((m) => m.key));
    for (const m of listing.malformed) this.reportMalformed(m);
    for (const key of this.badValues.keys()) if (!malformedKeys.has(key)) this.badValues.delete(key);
    this.view.replaceAll(listing.leases);
    this.revision = BigInt(listing.revision);
    this.ctx.stats.peers = this.view.size;
    if (!this.syncScheduled) {
      this.syncScheduled = true;
      // While our own key is being decided the view holds its events; "synced" comes after them.
      this.view.whenReleased(() => {
        this.syncedOnce = true;
        this.ctx.stats.synced = true;
        this.emit('synced', this.view.peers());
      });
    }
    this.hooks.onApplied?.();
  }

  private applyWatchResponse(res: IWatchResponse & { events?: IEvent[] }): void {
    const events = res.events ?? [];
    for (const ev of events) this.applyEvent(ev);
    // Resume point: a batch of a watcher still catching up carries the store's current revision in its
    // header although later events are pending, so trust the header only for event-less progress reports.
    const last =
      events.length > 0 ? BigInt(events[events.length - 1]!.kv.mod_revision) : BigInt(res.header.revision);
    if (last > this.revision) this.revision = last;
    this.ctx.stats.peers = this.view.size;
    this.hooks.onApplied?.();
  }

  private applyEvent(ev: IEvent): void {
    const key = ev.kv.key.toString();
    if (ev.type === 'Delete') {
      this.ctx.stats.watchEvents.delete++;
      this.badValues.delete(key);
      this.view.delete(key);
      return;
    }
    this.ctx.stats.watchEvents.put++;
    const entry = classify(this.ctx.subnets, ev.kv);
    if (isMalformed(entry)) {
      this.reportMalformed(entry);
      // A lease that no longer parses no longer tells us how to reach that peer.
      this.view.delete(key);
      return;
    }
    this.badValues.delete(key);
    this.view.set(entry);
  }

  /** Counts each bad value once (per key and revision); logs once per key. */
  private reportMalformed(entry: MalformedEntry): void {
    const seen = this.badValues.get(entry.key);
    if (seen === entry.modRevision) return;
    this.ctx.stats.malformedLeasesSkipped++;
    if (seen === undefined) {
      this.ctx.logger.warn({ key: entry.key, err: entry.error.message }, 'skipping malformed lease');
    }
    this.badValues.set(entry.key, entry.modRevision);
  }
}

// What consumers have been told about peers, kept equal to "every valid lease except our own".
// Each change marks a key dirty; flushing compares the desired state of each dirty key with what was
// last emitted, so a re-list, a change of our own key, or a held batch all emit only the difference.
import type { StoredLease } from './lease-record.js';
import type { Lease } from './types.js';

export interface PeerChangeSink {
  added(lease: Lease): void;
  changed(lease: Lease, previous: Lease): void;
  removed(lease: Lease): void;
}

export class PeerView {
  /** Every valid lease, ours included, by key. */
  readonly table = new Map<string, StoredLease>();
  private readonly told = new Map<string, StoredLease>();
  private readonly dirty = new Set<string>();
  private ownKey: string | null = null;
  private holds = 0;
  private flushing = false;
  private afterRelease: (() => void)[] = [];

  constructor(private readonly sink: PeerChangeSink) {}

  get size(): number {
    return this.told.size;
  }

  peers(): Lease[] {
    return [...this.told.values()].map((s) => s.lease).sort((a, b) => a.key.localeCompare(b.key));
  }

  set(stored: StoredLease): void {
    this.table.set(stored.lease.key, stored);
    this.touch(stored.lease.key);
  }

  delete(key: string): void {
    if (this.table.delete(key)) this.touch(key);
  }

  /** Replaces the whole table (after a list); only keys that differ end up emitted. */
  replaceAll(leases: StoredLease[]): void {
    const next = new Map(leases.map((s) => [s.lease.key, s]));
    for (const key of this.table.keys()) if (!next.has(key)) this.delete(key);
    for (const stored of next.values()) {
      const before = this.table.get(stored.lease.key);
      if (before === undefined || before.modRevision !== stored.modRevision) this.set(stored);
    }
  }

  /** How many keys `replaceAll(leases)` would change. */
  countDifferences(leases: StoredLease[]): number {
    let differences = 0;
    const next = new Set<string>();
    for (const stored of leases) {
      next.add(stored.lease.key);
      if (this.table.get(stored.lease.key)?.modRevision !== stored.modRevision) differences++;
    }
    for (const key of this.table.keys()) if (!next.has(key)) differences++;
    return differences;
  }

  setOwnKey(key: string | null): void {
    if (key === this.ownKey) return;
    const previous = this.ownKey;
    this.ownKey = key;
    if (previous !== null) this.touch(previous);
    if (key !== null) this.touch(key);
  }

  /** While held, changes are recorded but not emitted (used while our own key is being decided). */
  hold(): void {
    this.holds++;
  }

  release(): void {
    this.holds = Math.max(0, this.holds - 1);
    this.flush();
    if (this.holds === 0) for (const fn of this.afterRelease.splice(0)) fn();
  }

  /** Runs `fn` now, or once the view is no longer held (so it sees the flushed peer set). */
  whenReleased(fn: () => void): void {
    if (this.holds === 0) fn();
    else this.afterRelease.push(fn);
  }

  private touch(key: string): void {
    this.dirty.add(key);
    this.flush();
  }

  private flush(): void {
    // A listener that changes the view while we emit has its keys picked up by this same loop.
    if (this.holds > 0 || this.flushing) return;
    this.flushing = true;
    try {
      this.emitDirty();
    } finally {
      this.flushing = false;
    }
  }

  private emitDirty(): void {
    for (const key of this.dirty) {
      this.dirty.delete(key);
      const want = key === this.ownKey ? undefined : this.table.get(key);
      const had = this.told.get(key);
      if (want === undefined) {
        if (had !== undefined) {
          this.told.delete(key);
          this.sink.removed(had.lease);
        }
      } else if (had === undefined) {
        this.told.set(key, want);
        this.sink.added(want.lease);
      } else {
        this.told.set(key, want);
        // A renewal rewrites the same JSON under a new etcd lease: not a change for consumers.
        if (had.value !== want.value) this.sink.changed(want.lease, had.lease);
      }
    }
  }
}

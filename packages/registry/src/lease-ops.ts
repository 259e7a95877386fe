// The etcd writes behind a subnet lease, each one transaction guarded by a compare, so we never
// overwrite a key another node holds: create-if-absent, take over our own previous key, move our key
// to a fresh etcd lease (renewal), delete our key.
import { etcdCall } from './etcd-client.js';
import type { EtcdContext } from './etcd-context.js';
import type { StoredLease } from './lease-record.js';
import type { Lease } from './types.js';

/** etcd lease ID '0' means "no lease": a Flannel reservation that never expires. */
export const NO_LEASE = '0';

interface Grant {
  id: string;
  expiresAt: number;
}

async function grant(ctx: EtcdContext, ttlSeconds: number): Promise<Grant> {
  const before = Date.now();
  const res = await etcdCall(ctx, 'lease_grant', () =>
    ctx.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 }),
  );
  return { id: String(res.ID), expiresAt: before + Number(res.TTL) * 1000 };
}

/** Best effort: an unrevoked lease only lingers until its TTL. */
export async function revokeQuietly(ctx: EtcdContext, id: string): Promise<void> {
  if (id === NO_LEASE) return;
  try {
    await etcdCall(ctx, 'lease_revoke', () => ctx.client.leaseClient.leaseRevoke({ ID: id }));
  } catch (err) {
    ctx.logger.debug(
      { leaseId: id, err: (err as Error).message },
      'could not revoke etcd lease; it will expire',
    );
  }
}

function owned(lease: Lease, value: string, leaseId: string, modRevision: string, expiresAt: number | null) {
  return { lease: { ...lease, expiresAt }, leaseId, modRevision, value } satisfies StoredLease;
}

/** Creates `key` only if absent, attached to a new etcd lease. Null when someone else has it. */
export async function createLease(
  ctx: EtcdContext,
  lease: Lease,
  value: string,
  ttlSeconds: number,
): Promise<StoredLease | null> {
  const g = await grant(ctx, ttlSeconds);
  const res = await etcdCall(ctx, 'txn', () =>
    ctx.client
      .if(lease.key, 'Version', '==', 0)
      .then(ctx.client.put(lease.key).value(value).lease(g.id))
      .commit(),
  );
  if (!res.succeeded) {
    await revokeQuietly(ctx, g.id);
    return null;
  }
  return owned(lease, value, g.id, res.header.revision, g.expiresAt);
}

/**
 * Rewrites a key we found under our PublicIP with fresh attributes, if it is still exactly what we read
 * (same mod revision). A reservation (no etcd lease) stays one, as in Flannel.
 */
export async function takeOverLease(
  ctx: EtcdContext,
  found: StoredLease,
  value: string,
  ttlSeconds: number,
): Promise<StoredLease | null> {
  const key = found.lease.key;
  const g = found.leaseId === NO_LEASE ? null : await grant(ctx, ttlSeconds);
  const put = ctx.client.put(key).value(value);
  if (g !== null) put.lease(g.id);
  const res = await etcdCall(ctx, 'txn', () =>
    ctx.client.if(key, 'Mod', '==', found.modRevision).then(put).commit(),
  );
  if (!res.succeeded) {
    if (g !== null) await revokeQuietly(ctx, g.id);
    return null;
  }
  await revokeQuietly(ctx, found.leaseId);
  return owned(found.lease, value, g?.id ?? NO_LEASE, res.header.revision, g?.expiresAt ?? null);
}

/**
 * Renewal: moves our key to a new etcd lease only while it is still attached to our current one
 * (compare Lease in the transaction). Null when the key is gone or belongs to someone else.
 */
export async function renewLease(
  ctx: EtcdContext,
  current: StoredLease,
  ttlSeconds: number,
): Promise<StoredLease | null> {
  if (current.leaseId === NO_LEASE) return current;
  const key = current.lease.key;
  const g = await grant(ctx, ttlSeconds);
  // A txn that fails with a timeout may still have been applied, so its grant is not revoked then
  // (revoking would delete our key); an unused grant simply expires.
  const res = await etcdCall(ctx, 'txn', () =>
    ctx.client
      .if(key, 'Lease', '==', current.leaseId)
      .then(ctx.client.put(key).value(current.value).lease(g.id))
      .commit(),
  );
  if (!res.succeeded) {
    await revokeQuietly(ctx, g.id);
    return null;
  }
  await revokeQuietly(ctx, current.leaseId);
  return owned(current.lease, current.value, g.id, res.header.revision, g.expiresAt);
}

/** Deletes our key if it is still ours (same etcd lease), then revokes the lease. */
export async function releaseLease(ctx: EtcdContext, current: StoredLease): Promise<boolean> {
  const key = current.lease.key;
  const res = await etcdCall(ctx, 'txn', () =>
    ctx.client.if(key, 'Lease', '==', current.leaseId).then(ctx.client.delete().key(key)).commit(),
  );
  await revokeQuietly(ctx, current.leaseId);
  return res.succeeded;
}

/** Deletes a key only if it is unchanged since we read it (stale lease of ours that no longer fits). */
export async function deleteIfUnchanged(ctx: EtcdContext, found: StoredLease): Promise<boolean> {
  const key = found.lease.key;
  const res = await etcdCall(ctx, 'txn', () =>
    ctx.client.if(key, 'Mod', '==', found.modRevision).then(ctx.client.delete().key(key)).commit(),
  );
  return res.succeeded;
}

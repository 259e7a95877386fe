// When to renew: `margin` before expiry (Flannel: 60 min before 24 h), retrying sooner after a failure.

/** Delay until the renewal of a lease expiring at `expiresAt`. */
export function renewDelayMs(expiresAt: number, marginMs: number, now = Date.now()): number {
  return Math.max(0, expiresAt - marginMs - now);
}

/** Delay before retrying a failed renewal: a quarter of the time left, between 200 ms and 60 s. */
export function renewRetryDelayMs(expiresAt: number, now = Date.now()): number {
  return Math.min(60_000, Math.max(200, (expiresAt - now) / 4));
}

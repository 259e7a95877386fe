// Bounded exponential backoff (Flannel's watch uses 100 ms doubling to 5 s) and an abortable delay.

export class Backoff {
  private current: number;

  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 5_000,
  ) {
    this.current = initialMs;
  }

  /** The delay to wait now; the next one doubles, up to the cap. */
  next(): number {
    const delay = this.current;
    this.current = Math.min(this.current * 2, this.maxMs);
    return delay;
  }

  reset(): void {
    this.current = this.initialMs;
  }
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

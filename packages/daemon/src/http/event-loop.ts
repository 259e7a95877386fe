// Liveness of the main thread: a timer that notices when it fires late. If the event loop was blocked
// for longer than the bound within the recent window, the process is not healthy (a scrape or a probe
// that is answered at all proves the loop runs now; this catches it stalling between probes).

export interface EventLoopWatchOptions {
  /** Lag above this fails liveness. Default 5000 ms. */
  maxLagMs?: number;
  /** How long a stall keeps liveness failing. Default 30000 ms. */
  windowMs?: number;
  /** Timer period. Default 500 ms. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface EventLoopStatus {
  ok: boolean;
  /** Lag of the latest timer firing, in ms. */
  lagMs: number;
  /** Lag of the last stall above the bound within the window, in ms (0 = none). */
  stallMs: number;
}

export class EventLoopWatch {
  readonly #maxLagMs: number;
  readonly #windowMs: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #lastTick = 0;
  #lastLag = 0;
  #stallAt: number | null = null;
  #stallLag = 0;

  constructor(options: EventLoopWatchOptions = {}) {
    this.#maxLagMs = options.maxLagMs ?? 5000;
    this.#windowMs = options.windowMs ?? 30_000;
    this.#intervalMs = options.intervalMs ?? 500;
    this.#now = options.now ?? Date.now;
    this.#lastTick = this.#now();
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#lastTick = this.#now();
    this.#timer = setInterval(() => this.tick(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One timer firing; public so tests can drive it with a fake clock. */
  tick(): void {
    const now = this.#now();
    this.#lastLag = Math.max(0, now - this.#lastTick - this.#intervalMs);
    this.#lastTick = now;
    this.#noteStall(this.#lastLag, now);
  }

  status(): EventLoopStatus {
    const now = this.#now();
    // A timer overdue right now is a stall too (a probe may be served before the late timer fires).
    if (this.#timer !== null) this.#noteStall(now - this.#lastTick - this.#intervalMs, now);
    const stalled = this.#stallAt !== null && now - this.#stallAt <= this.#windowMs;
    return { ok: !stalled, lagMs: this.#lastLag, stallMs: stalled ? this.#stallLag : 0 };
  }

  #noteStall(lag: number, now: number): void {
    if (lag <= this.#maxLagMs) return;
    this.#stallAt = now;
    this.#stallLag = lag;
  }
}

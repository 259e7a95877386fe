/**
 * Clock readings for the loops, kept cheap for the first batch after an idle period (the latency path,
 * where nothing is in the CPU caches): Node 20's global `performance` is a lazy accessor, so it is read
 * once here, and the wall clock (last-receive timestamps, seconds) is derived from the monotonic reading
 * the loop takes anyway, re-anchored to Date.now() at most once per second.
 */
const clock = performance;
const REANCHOR_MS = 1000;

let wallMinusMonotonic = 0;
let reanchorAt = Number.NEGATIVE_INFINITY;

/** Monotonic milliseconds (performance.now()). */
export function monotonicMs(): number {
  return clock.now();
}

/** Unix seconds at monotonic time `ms` (a monotonicMs() reading), within a second of Date.now(). */
export function unixSecondsAt(ms: number): number {
  if (ms >= reanchorAt) {
    wallMinusMonotonic = Date.now() - ms;
    reanchorAt = ms + REANCHOR_MS;
  }
  return (wallMinusMonotonic + ms) / 1000;
}

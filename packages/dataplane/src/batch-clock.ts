/**
 * Clock readings for the loops, kept cheap for the first batch after an idle period (the latency path,
 * where nothing is in the CPU caches): Node 20's global `performance` is a lazy accessor, so it is read
 * once here, and the wall clock (last-receive timestamps, seconds) is derived from the monotonic reading
 * the loop takes anyway, re-anchored to Date.now() once per second (and on each of the first calls).
 */
const clock = performance;
const REANCHOR_MS = 1000;
// The first calls re-anchor every time, so the re-anchoring branch has run (and V8 has type feedback for
// it) before the receive loop that inlines this function is optimised: a branch first reached in optimised
// code deoptimises the whole loop (seen: onUnderlayReadable deoptimised a second after a fast warm-up,
// then ran unoptimised for hundreds of batches while 10 ms pings made it hot again).
const WARMUP_CALLS = 64;

let wallMinusMonotonic = 0;
let reanchorAt = Number.NEGATIVE_INFINITY;
let warmupCalls = WARMUP_CALLS;

/** Monotonic milliseconds (performance.now()). */
export function monotonicMs(): number {
  return clock.now();
}

/** Unix seconds at monotonic time `ms` (a monotonicMs() reading), within a second of Date.now(). */
export function unixSecondsAt(ms: number): number {
  if (ms >= reanchorAt || warmupCalls > 0) {
    warmupCalls--;
    wallMinusMonotonic = Date.now() - ms;
    reanchorAt = ms + REANCHOR_MS;
  }
  return (wallMinusMonotonic + ms) / 1000;
}

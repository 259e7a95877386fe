import { afterEach, describe, expect, it, vi } from 'vitest';

/** A fresh copy of the module: its anchor is module state. */
async function freshClock() {
  vi.resetModules();
  return import('./batch-clock.js');
}

describe('batch clock', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('gives Unix seconds close to Date.now() for a real monotonic reading', async () => {
    const { monotonicMs, unixSecondsAt } = await freshClock();
    const seconds = unixSecondsAt(monotonicMs());
    expect(Math.abs(seconds - Date.now() / 1000)).toBeLessThan(0.05);
  });

  it('reads the wall clock at most once a second and follows a step at the next re-anchor', async () => {
    const { unixSecondsAt } = await freshClock();
    const wall = vi.spyOn(Date, 'now').mockReturnValue(1_000_000);
    expect(unixSecondsAt(5_000)).toBe(1_000);
    expect(unixSecondsAt(5_500)).toBe(1_000.5);
    expect(wall).toHaveBeenCalledTimes(1);
    wall.mockReturnValue(2_000_000);
    expect(unixSecondsAt(5_999)).toBe(1_000.999);
    expect(unixSecondsAt(6_000)).toBe(2_000);
    expect(wall).toHaveBeenCalledTimes(2);
  });
});

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

  it('after its first 64 calls reads the wall clock once a second and follows a step then', async () => {
    const { unixSecondsAt } = await freshClock();
    const wall = vi.spyOn(Date, 'now').mockReturnValue(1_000_000);
    for (let i = 0; i < 64; i++) expect(unixSecondsAt(4_000 + i)).toBe(1_000);
    expect(wall).toHaveBeenCalledTimes(64);
    expect(unixSecondsAt(4_100)).toBe(1_000.037);
    expect(wall).toHaveBeenCalledTimes(64);
    wall.mockReturnValue(2_000_000);
    expect(unixSecondsAt(5_062)).toBe(1_000.999);
    expect(wall).toHaveBeenCalledTimes(64);
    expect(unixSecondsAt(5_063)).toBe(2_000);
    expect(unixSecondsAt(5_500)).toBe(2_000.437);
    expect(wall).toHaveBeenCalledTimes(65);
  });
});

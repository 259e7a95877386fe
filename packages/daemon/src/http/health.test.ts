import { describe, expect, it } from 'vitest';
import type { ReadinessReport } from '../state.js';
import { EventLoopWatch } from './event-loop.js';
import { livenessResponse, readinessResponse } from './health.js';

function report(ready: boolean, failing: string[] = []): ReadinessReport {
  const names = ['leaseHeld', 'subnetEnvWritten', 'tunUp', 'iptablesInstalled', 'registrySynced'] as const;
  return {
    ready,
    phase: ready ? 'running' : 'setting-up-host',
    checks: [
      ...names.map((name) => ({ name, ok: !failing.includes(name), required: true })),
      { name: 'registryConnected' as const, ok: false, required: false },
    ],
  };
}

describe('readinessResponse', () => {
  it('is 200 ok when ready, even with etcd disconnected (informational check)', () => {
    expect(readinessResponse(report(true), false)).toEqual({ status: 200, body: 'ok\n' });
  });

  it('is 503 naming the failing checks', () => {
    expect(readinessResponse(report(false, ['tunUp', 'registrySynced']), false)).toEqual({
      status: 503,
      body: 'not ready: tunUp, registrySynced\n',
    });
  });

  it('names the phase when every check passes but the daemon is not running yet', () => {
    expect(readinessResponse({ ...report(false), phase: 'stopping' }, false).body).toBe(
      'not ready: phase stopping\n',
    );
  });

  it('lists every check with ?verbose', () => {
    const { status, body } = readinessResponse(report(false, ['tunUp']), true);
    expect(status).toBe(503);
    expect(body.split('\n')).toEqual([
      '[+]leaseHeld ok',
      '[+]subnetEnvWritten ok',
      '[-]tunUp failed',
      '[+]iptablesInstalled ok',
      '[+]registrySynced ok',
      '[-]registryConnected failed (informational)',
      'phase setting-up-host',
      'readyz check failed',
      '',
    ]);
  });
});

describe('livenessResponse', () => {
  it('is 200 when every check passes and 500 naming the failures otherwise', () => {
    expect(livenessResponse([{ name: 'event-loop', ok: true }], false)).toEqual({
      status: 200,
      body: 'ok\n',
    });
    const failed = livenessResponse(
      [
        { name: 'event-loop', ok: true },
        { name: 'dataplane', ok: false, detail: 'worker exited' },
      ],
      true,
    );
    expect(failed.status).toBe(500);
    expect(failed.body).toBe('[+]event-loop ok\n[-]dataplane failed (worker exited)\nlivez check failed\n');
  });
});

describe('EventLoopWatch', () => {
  function fakeClock() {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  }

  it('stays ok while the timer fires on time', () => {
    const clock = fakeClock();
    const watch = new EventLoopWatch({ now: clock.now, intervalMs: 500, maxLagMs: 1000 });
    for (let i = 0; i < 10; i++) {
      clock.advance(510);
      watch.tick();
    }
    expect(watch.status()).toEqual({ ok: true, lagMs: 10, stallMs: 0 });
  });

  it('fails after a stall above the bound, for the window, then recovers', () => {
    const clock = fakeClock();
    const watch = new EventLoopWatch({ now: clock.now, intervalMs: 500, maxLagMs: 1000, windowMs: 5000 });
    clock.advance(500 + 3000);
    watch.tick();
    expect(watch.status()).toEqual({ ok: false, lagMs: 3000, stallMs: 3000 });
    for (let i = 0; i < 9; i++) {
      clock.advance(500);
      watch.tick();
    }
    expect(watch.status().ok).toBe(false);
    clock.advance(1000);
    watch.tick();
    expect(watch.status().ok).toBe(true);
  });

  it('measures real timers when started', async () => {
    const watch = new EventLoopWatch({ intervalMs: 20, maxLagMs: 5000 });
    watch.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(watch.status().ok).toBe(true);
    } finally {
      watch.stop();
    }
  });
});

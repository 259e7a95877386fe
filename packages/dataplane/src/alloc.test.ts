import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Runs in a fresh `node --expose-gc` against the built dist (pnpm exec tsc -b first).
const script = fileURLToPath(new URL('../scripts/alloc-loop.mjs', import.meta.url));

interface AllocReport {
  delivered: number;
  heapUsedDelta: number;
  arrayBuffersDelta: number;
  gcsDuringLoop: number;
}

function runLoop(...args: string[]): Promise<AllocReport> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', script, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}: ${stderr}`));
        else resolve(JSON.parse(stdout) as AllocReport);
      },
    );
  });
}

describe('hot path allocation', () => {
  it.each(['udp', 'vxlan', 'ipip'])(
    '%s: 1,000,000 packets through encap + decap allocate nothing',
    async (backend) => {
      const report = await runLoop(backend, '1000000', '200');
      expect(report.delivered).toBe(1_000_000);
      // No garbage at all: not one scavenge in the loop, heap and ArrayBuffer memory flat. One buffer
      // per packet would add megabytes; a few KiB come and go with Node's own bookkeeping (3.8 KiB was
      // seen once in CI, with the system tests loading both cores), so the bound is 64 KiB.
      expect(report.gcsDuringLoop).toBe(0);
      expect(report.heapUsedDelta).toBeLessThan(256 * 1024);
      expect(Math.abs(report.arrayBuffersDelta)).toBeLessThan(64 * 1024);
    },
  );

  it('the measurement notices a single small allocation per packet (control)', async () => {
    const report = await runLoop('vxlan', '1000000', '200', 'allocate');
    expect(report.gcsDuringLoop).toBeGreaterThan(0);
  });
});

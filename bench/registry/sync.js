#!/usr/bin/env node
/**
 * Registry benchmark: how fast a felt node learns the cluster from etcd, and what it costs.
 *
 *   node --expose-gc bench/registry/sync.js [--leases 5000] [--streams 1000,5000] [--json]
 *
 * 1. Writes --leases Flannel-format leases to a fresh etcd (transactions of 128 puts, from a child process).
 * 2. First full sync: time from watchPeers() to 'synced' (list + parse + one 'added' per peer), and
 *    the watcher's retained heap (heapUsed after sync minus before, both after a forced GC).
 * 3. Event rate: for each N in --streams, N new leases are written while the watcher runs; reports
 *    'added' events/s from the first to the last event (bounded by how fast etcd takes the writes, 4
 *    transactions of 128 puts in flight), the time from starting the writer, and the watcher process's CPU
 *    per event (etcd and the writer run in other processes, so this is our cost alone).
 * Needs the built package (pnpm exec tsc -b) and etcd + etcdctl on PATH.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SubnetRegistry } from '@felt/registry';
import { startLocalEtcd } from '../lib/etcd.js';
import { installTeardownHandlers, Lab } from '../lib/lab.js';

const WRITER = fileURLToPath(new URL('./writer.js', import.meta.url));

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

/** Writes leases [from, to) from a child process (see writer.js). */
function writeLeases(endpoint, from, to) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [WRITER, endpoint, String(from), String(to)],
      { timeout: 120_000 },
      (err, _out, stderr) =>
        err ? reject(new Error(`lease writer failed: ${stderr || err.message}`)) : resolve(),
    );
  });
}

function heapAfterGc() {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

async function main() {
  const leases = Number(option('leases', '5000'));
  const streams = option('streams', '1000,5000').split(',').map(Number);
  const asJson = process.argv.includes('--json');
  if (globalThis.gc === undefined)
    process.stderr.write('note: run with --expose-gc for exact heap numbers\n');

  installTeardownHandlers((line) => process.stderr.write(`${line}\n`));
  const lab = new Lab('registry');
  const etcd = await startLocalEtcd(lab).catch(async (err) => {
    await lab.dispose();
    throw err;
  });
  const endpoint = etcd.clientUrl;
  const registry = new SubnetRegistry({ endpoints: [endpoint], callTimeoutMs: 30_000 });
  const result = { leases, node: process.version, sync: null, streams: [] };
  try {
    let t = performance.now();
    await writeLeases(endpoint, 0, leases);
    const writeMs = performance.now() - t;

    const heapBefore = heapAfterGc();
    t = performance.now();
    const watcher = registry.watchPeers();
    const peers = await new Promise((resolve) => watcher.once('synced', resolve));
    const syncMs = performance.now() - t;
    const heapDelta = heapAfterGc() - heapBefore;
    if (peers.length !== leases) throw new Error(`synced with ${peers.length} peers, expected ${leases}`);
    result.sync = { writeMs, syncMs, heapDeltaBytes: heapDelta, bytesPerLease: heapDelta / leases };

    let next = leases;
    for (const n of streams) {
      let seen = 0;
      let firstAt = 0;
      let lastAt = 0;
      let done;
      const all = new Promise((resolve) => (done = resolve));
      const onAdded = () => {
        seen++;
        if (seen === 1) firstAt = performance.now();
        if (seen === n) {
          lastAt = performance.now();
          done();
        }
      };
      watcher.on('added', onAdded);
      const cpu = process.cpuUsage();
      t = performance.now();
      await writeLeases(endpoint, next, next + n);
      await all;
      const cpuUs = process.cpuUsage(cpu);
      watcher.off('added', onAdded);
      next += n;
      const totalMs = lastAt - t;
      result.streams.push({
        events: n,
        totalMs,
        deliveryMs: lastAt - firstAt,
        eventsPerSecond: (n - 1) / ((lastAt - firstAt) / 1000),
        cpuUsPerEvent: (cpuUs.user + cpuUs.system) / n,
      });
    }
    result.stats = registry.stats();
  } finally {
    await registry.close();
    await lab.dispose();
  }

  if (asJson) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const s = result.sync;
  const rows = [
    ['leases in etcd (txns of 128 puts)', `${leases} (${s.writeMs.toFixed(0)} ms to write)`],
    ['first full sync (list + parse + emit)', `${s.syncMs.toFixed(0)} ms`],
    [
      'watcher heap after sync (heapUsed delta)',
      `${(s.heapDeltaBytes / 1048576).toFixed(2)} MiB (${s.bytesPerLease.toFixed(0)} B/lease)`,
    ],
  ];
  for (const r of result.streams) {
    rows.push([
      `stream of ${r.events} new leases`,
      `${r.eventsPerSecond.toFixed(0)} events/s (first to last event ${r.deliveryMs.toFixed(0)} ms; ` +
        `${r.totalMs.toFixed(0)} ms from writer start), watcher CPU ${r.cpuUsPerEvent.toFixed(1)} µs/event`,
    ]);
  }
  process.stdout.write(`| registry (${process.version}) | value |\n|---|---|\n`);
  for (const [k, v] of rows) process.stdout.write(`| ${k} | ${v} |\n`);
}

main().catch((err) => {
  process.stderr.write(`registry bench failed: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});

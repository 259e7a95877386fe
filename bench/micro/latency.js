/**
 * Round-trip latency of felt next to a C tunnel, all measured in the same minute: every case is set up
 * at once (each in its own two namespaces, as in the end-to-end benchmark), then pings go round-robin
 * in short bursts, so load from other jobs on a shared machine hits every case alike. Reports p50/p90/p99
 * per case and each case's p50 relative to the first one (quicktun by default).
 *
 *   node bench/micro/latency.js [--json] [--only quicktun,felt-udp,felt-vxlan,felt-udp-plain,...]
 *                               [--rounds N] [--pings N] [--baseline /path/to/other/feltd]
 * felt-udp-plain / felt-vxlan-plain run feltd with --offloads=false (the plain send/receive loops).
 * With --baseline, an id ending in @base (felt-udp@base, felt-udp-plain@base, ...) runs that feltd, so a
 * change can be compared with the code before it in one run. Needs root and a built feltd; BENCH_QUICK=1
 * halves the pings.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { CASES } from '../e2e/index.js';
import { installTeardownHandlers, Lab } from '../lib/lab.js';
import { pingRun, waitForOverlay } from '../lib/measure.js';
import { percentile } from '../lib/stats.js';
import { createTwoHosts } from '../lib/topology.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const JSON_OUTPUT = args.includes('--json');
const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Math.min(50, Math.max(1, Number(option('rounds', QUICK ? 5 : 10))));
const PINGS = Math.min(2000, Math.max(10, Number(option('pings', QUICK ? 100 : 200))));
const ONLY = option('only', 'quicktun,felt-udp,felt-vxlan').split(',').filter(Boolean);
const BASELINE = option('baseline', undefined);
const WARMUP_PINGS = 5000;

const log = (line) => process.stderr.write(`latency: ${line}\n`);

/** felt.js reads BENCH_FELTD when it is loaded: a copy loaded under another URL runs `feltd`. */
async function feltModule(feltd) {
  if (feltd === undefined) return import('../e2e/felt.js');
  const saved = process.env.BENCH_FELTD;
  process.env.BENCH_FELTD = feltd;
  try {
    return await import('../e2e/felt.js?baseline');
  } finally {
    if (saved === undefined) delete process.env.BENCH_FELTD;
    else process.env.BENCH_FELTD = saved;
  }
}

/** A felt case whose feltds run with extra flags (BENCH_FELTD_ARGS is read during setup). */
function feltWithArgs(base, suffix, extraArgs) {
  return {
    ...base,
    id: `${base.id}-${suffix}`,
    label: `${base.label} ${extraArgs}`,
    async setup(lab, hosts) {
      const saved = process.env.BENCH_FELTD_ARGS;
      process.env.BENCH_FELTD_ARGS = `${saved ?? ''} ${extraArgs}`.trim();
      try {
        return await base.setup(lab, hosts);
      } finally {
        if (saved === undefined) delete process.env.BENCH_FELTD_ARGS;
        else process.env.BENCH_FELTD_ARGS = saved;
      }
    },
  };
}

async function caseById(id) {
  const [name, tag] = id.split('@');
  if (tag !== undefined && (tag !== 'base' || BASELINE === undefined)) {
    throw new Error(`case ${id}: only @base, and only with --baseline`);
  }
  const { feltCase } = await feltModule(tag === undefined ? undefined : BASELINE);
  const felt = ['udp', 'vxlan', 'ipip'].map((backend) => feltCase(backend));
  const plain = felt.map((c) => feltWithArgs(c, 'plain', '--offloads=false'));
  const def = [...CASES.filter((c) => c.group !== 'felt'), ...felt, ...plain].find((c) => c.id === name);
  if (!def) throw new Error(`unknown case ${id}`);
  return { ...def, id };
}

/** CPU nanoseconds used so far by each thread of each of `pids`, by "pid/tid" (gone threads are left out). */
function threadCpuNs(pids) {
  const byThread = new Map();
  for (const pid of pids) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const schedstat = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
        byThread.set(`${pid}/${tid}`, Number(schedstat.split(' ')[0]));
      }
    } catch {
      // exited between listing and reading
    }
  }
  return byThread;
}

/** CPU used between two threadCpuNs() readings: in total, and by each process's busiest thread. */
function cpuBetween(before, after, pids) {
  let total = 0;
  const busiest = new Map(pids.map((pid) => [String(pid), 0]));
  for (const [key, ns] of after) {
    const used = ns - (before.get(key) ?? 0);
    total += used;
    const pid = key.split('/')[0];
    busiest.set(pid, Math.max(busiest.get(pid) ?? 0, used));
  }
  return { total, busiest: [...busiest.values()].reduce((s, v) => s + v, 0) };
}

async function main() {
  installTeardownHandlers(log);
  const cases = [];
  for (const id of ONLY) cases.push({ def: await caseById(id), rtts: [], sent: 0, cpuNs: 0, busiestNs: 0 });
  try {
    for (const c of cases) {
      log(`${c.def.id}: setting up`);
      c.lab = new Lab(c.def.id.replace('@', '-'));
      c.hosts = await createTwoHosts(c.lab);
      c.setup = await c.def.setup(c.lab, c.hosts, {});
      await waitForOverlay(c.lab, c.hosts, 30_000, () => {
        for (const p of c.setup.processes) p.assertRunning();
      });
      // Warm up as the end-to-end benchmark does with its iperf runs before the pings (felt's JIT).
      const { a, b } = c.hosts;
      await c.lab.exec(
        a.ns,
        'ping',
        ['-n', '-q', '-f', '-c', String(WARMUP_PINGS), '-W', '1', '-I', a.pod, b.pod],
        {
          allowFail: true,
          timeoutMs: 60_000,
        },
      );
      c.pids = c.setup.processes.map((p) => p.pid);
      log(`${c.def.id}: ready (pids ${c.pids.join(' ')})`);
    }
    const burst = Math.ceil(PINGS / ROUNDS);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of cases) {
        const cpuBefore = threadCpuNs(c.pids);
        const ping = await pingRun(c.lab, c.hosts, burst);
        const used = cpuBetween(cpuBefore, threadCpuNs(c.pids), c.pids);
        c.cpuNs += used.total;
        c.busiestNs += used.busiest;
        c.rtts.push(...ping.rtts);
        c.sent += burst;
      }
      log(`round ${round}/${ROUNDS}: ${cases.map((c) => `${c.def.id} p50 ${p(c.rtts, 50)}`).join(', ')}`);
    }
  } finally {
    for (const c of cases) await c.lab?.dispose();
  }
  const rows = cases.map((c) => ({
    id: c.def.id,
    p50Us: Math.round(percentile(c.rtts, 50)),
    p90Us: Math.round(percentile(c.rtts, 90)),
    p99Us: Math.round(percentile(c.rtts, 99)),
    minUs: Math.round(Math.min(...c.rtts)),
    replies: c.rtts.length,
    lossPercent: (100 * (c.sent - c.rtts.length)) / c.sent,
    // CPU of the tunnel processes (both hosts) per ping sent: all threads, and each process's busiest
    // thread (felt's data-plane worker, without the main thread's timers).
    cpuUsPerPing: c.pids.length > 0 ? c.cpuNs / 1000 / c.sent : null,
    busiestThreadCpuUsPerPing: c.pids.length > 0 ? c.busiestNs / 1000 / c.sent : null,
  }));
  for (const row of rows) row.p50VsFirst = row.p50Us / rows[0].p50Us;
  const result = { rounds: ROUNDS, pingsPerCase: ROUNDS * Math.ceil(PINGS / ROUNDS), cases: rows };
  if (JSON_OUTPUT) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    '| case | p50 µs | p90 µs | p99 µs | min µs | p50 × first | tunnel CPU µs per ping (busiest threads) | replies |\n' +
      '|---|---|---|---|---|---|---|---|\n',
  );
  for (const r of rows) {
    process.stdout.write(
      `| ${r.id} | ${r.p50Us} | ${r.p90Us} | ${r.p99Us} | ${r.minUs} | ${r.p50VsFirst.toFixed(2)} | ` +
        `${r.cpuUsPerPing?.toFixed(0) ?? '–'} (${r.busiestThreadCpuUsPerPing?.toFixed(0) ?? '–'}) | ${r.replies} |\n`,
    );
  }
}

const p = (values, q) => Math.round(percentile(values, q) ?? Number.NaN);

main().catch((err) => {
  log(`failed: ${err.stack ?? err}`);
  process.exitCode = 1;
});

#!/usr/bin/env node
/**
 * `make bench`: felt against bare veth, the kernel's vxlan and the C userspace tunnels, end to end in
 * network namespaces, plus the micro-benchmark scripts; markdown on stdout, progress on stderr, JSON
 * and an SVG chart in bench/results/.
 *
 *   node bench/run.js [--quick] [--rounds N] [--only case,...] [--no-micro]
 *
 * --rounds: how many interleaved rounds (default 3; quick 1). --quick: 1 round of 3 s runs instead of 3 rounds of 10 s (development). --only: run just these end-to-end cases (ids below; add
 * "micro" to include the micro-benchmarks). Full runs write results/<date>.{json,svg} and latest.svg;
 * quick or partial runs write results/<date>-quick.* or <date>-partial.* and leave latest alone.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CASES } from './e2e/index.js';
import { finishCaseRecord, newCaseRecord, runRound } from './lib/case-runner.js';
import { aborting, installTeardownHandlers } from './lib/lab.js';
import { describeMachine } from './lib/machine.js';
import { runMicroBenchmarks } from './lib/micro.js';
import { renderChart } from './report/chart.js';
import { addRatios, evaluateTargets } from './report/ratios.js';
import { markdownReport } from './report/table.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const started = Date.now();
const log = (msg) =>
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);

function parseArgs(argv) {
  const opts = { quick: false, only: null, micro: true, rounds: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--no-micro') opts.micro = false;
    else if (arg === '--rounds' || arg.startsWith('--rounds=')) {
      opts.rounds = Number(arg.includes('=') ? arg.slice(9) : argv[++i]);
      if (!Number.isInteger(opts.rounds) || opts.rounds < 1 || opts.rounds > 20) {
        process.stderr.write('bench: --rounds takes an integer from 1 to 20\n');
        process.exit(2);
      }
    } else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.slice(7) : argv[++i];
      opts.only = (value ?? '').split(',').filter(Boolean);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        `usage: node bench/run.js [--quick] [--rounds N] [--only ${[...CASES.map((c) => c.id), 'micro'].join(',')}] [--no-micro]\n`,
      );
      process.exit(0);
    } else {
      process.stderr.write(`bench: unknown argument ${arg} (try --help)\n`);
      process.exit(2);
    }
  }
  if (opts.only) {
    const known = new Set([...CASES.map((c) => c.id), 'micro']);
    const unknown = opts.only.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      process.stderr.write(`bench: unknown case ${unknown.join(', ')}; known: ${[...known].join(', ')}\n`);
      process.exit(2);
    }
    opts.micro &&= opts.only.includes('micro');
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (network namespaces, tun devices)\n');
    process.exit(2);
  }
  installTeardownHandlers(log);
  const plan = opts.quick
    ? { quick: true, rounds: 1, seconds: 3, warmupSeconds: 1, pings: 200 }
    : { quick: false, rounds: 3, seconds: 10, warmupSeconds: 3, pings: 1000 };
  if (opts.rounds) plan.rounds = opts.rounds;
  const selected = opts.only ? CASES.filter((c) => opts.only.includes(c.id)) : CASES;
  const date = new Date().toISOString().slice(0, 10);
  const machine = await describeMachine(join(BENCH_DIR, '..'));
  log(
    `${selected.length} end-to-end case(s) × ${plan.rounds} round(s): ${plan.seconds} s TCP + ${plan.seconds} s UDP each${opts.micro ? ', then micro-benchmarks' : ''}`,
  );

  const records = selected.map(newCaseRecord);
  for (let round = 1; round <= plan.rounds; round++) {
    for (const [i, def] of selected.entries()) {
      log(`round ${round}/${plan.rounds}, case ${i + 1}/${selected.length}: ${def.label}`);
      const before = records[i].status;
      await runRound(def, records[i], plan, round, log);
      if (aborting()) return;
      if (records[i].status !== before && ['not run', 'failed'].includes(records[i].status)) {
        log(`${def.id}: ${records[i].status}: ${records[i].reason}`);
      }
    }
  }
  const cases = records.map(finishCaseRecord);
  const micro = opts.micro ? await runMicroBenchmarks(BENCH_DIR, { quick: plan.quick, log }) : null;
  if (aborting()) return;

  addRatios(cases);
  machine.loadAverageAtEnd = os.loadavg();
  const report = {
    date,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
    plan: { ...plan, only: opts.only },
    machine,
    cases,
    targets: evaluateTargets(cases),
    micro,
  };

  const resultsDir = join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const suffix = plan.quick ? '-quick' : opts.only ? '-partial' : '';
  const base = join(resultsDir, `${date}${suffix}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.svg`, renderChart(report));
  if (!suffix) copyFileSync(`${base}.svg`, join(resultsDir, 'latest.svg'));
  log(`wrote ${base}.json and ${base}.svg${suffix ? '' : ' (and latest.svg)'}`);
  process.stdout.write(markdownReport(report));
}

main().catch((err) => {
  log(`fatal: ${err.stack ?? err}`);
  process.exitCode = 1;
});

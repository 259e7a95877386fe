/**
 * Runs the micro-benchmark scripts other parts of felt provide (bench/micro/*.js, bench/registry/*.js),
 * each in a fresh Node process with `--json`, and collects what they print. Only files that mention
 * `--json` are benchmark scripts; the others are their helpers and are skipped. A missing folder, a script
 * that fails or prints no JSON becomes a note in the report, never an abort.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from './exec.js';

/** Parses a script's stdout: the whole text, else from its first line opening JSON, else its last line. */
function parseJsonOutput(text) {
  const lines = text.trim().split('\n');
  const first = lines.findIndex((l) => /^[[{]/.test(l));
  const candidates = [lines.join('\n'), first >= 0 ? lines.slice(first).join('\n') : '', lines.at(-1)];
  for (const candidate of candidates) {
    try {
      return JSON.parse(candidate);
    } catch {
      // try the next shape
    }
  }
  return undefined;
}

export async function runMicroBenchmarks(benchDir, { quick, log }) {
  const entries = [];
  for (const folder of ['micro', 'registry']) {
    const dir = join(benchDir, folder);
    const files = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => /\.(m?js)$/.test(f))
          .sort()
      : [];
    if (files.length === 0) {
      entries.push({ file: `bench/${folder}/`, status: 'absent', reason: 'no scripts in this folder yet' });
      continue;
    }
    for (const file of files) {
      const path = join(dir, file);
      const name = `bench/${relative(benchDir, path)}`;
      // A benchmark script takes --json; other files there are its helper modules and child scripts.
      if (!readFileSync(path, 'utf8').includes('--json')) {
        entries.push({ file: name, status: 'helper', reason: 'no --json option: helper module, not run' });
        continue;
      }
      log(`micro: ${name}`);
      const started = Date.now();
      const r = await run(process.execPath, [path, '--json'], {
        allowFail: true,
        timeoutMs: quick ? 180_000 : 900_000,
        env: { ...process.env, BENCH_QUICK: quick ? '1' : '' },
      }).catch((err) => ({ code: 1, stdout: '', stderr: err.message }));
      const seconds = (Date.now() - started) / 1000;
      const data = parseJsonOutput(r.stdout);
      if (r.code !== 0 || data === undefined) {
        const why = r.code !== 0 ? `exit ${r.code}` : 'no JSON on stdout';
        entries.push({
          file: name,
          status: 'failed',
          reason: `${why}: ${r.stderr.trim().slice(-300)}`,
          seconds,
        });
      } else {
        entries.push({ file: name, status: 'ok', seconds, data });
      }
    }
  }
  return entries;
}

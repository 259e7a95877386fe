/**
 * Child processes for the benchmark: one-shot commands (`run`) and long-running ones (`ManagedProcess`),
 * optionally inside a network namespace. Never through a shell; every wait has a deadline.
 */
import { execFile, spawn } from 'node:child_process';

/** Runs `cmd args` (inside `netns` when given) and resolves with its output; rejects on failure. */
export function run(cmd, args, { netns, timeoutMs = 30_000, allowFail = false, input, env } = {}) {
  const [file, argv] = netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: env ?? process.env },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (err && !allowFail) {
          const where = netns ? ` (netns ${netns})` : '';
          const why = err.killed ? `timed out after ${timeoutMs} ms` : err.message.trim().split('\n')[0];
          const error = new Error(`${cmd} ${args.join(' ')}${where}: ${why}: ${stderr.trim().slice(-500)}`);
          error.code = err.killed ? 'BENCH_COMMAND_TIMEOUT' : 'BENCH_COMMAND_FAILED';
          reject(error);
          return;
        }
        resolve({ stdout, stderr, code });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy; throws naming `what` at the deadline. */
export async function waitFor(what, fn, { timeoutMs, intervalMs = 100 }) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (let attempt = 0; attempt < 100_000; attempt++) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      // A process that died will not come back: stop waiting and say so.
      if (err.code === 'BENCH_PROCESS_EXITED') throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const detail = lastError ? ` (last error: ${lastError.message})` : '';
  const error = new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
  error.code = 'BENCH_WAIT_TIMEOUT';
  throw error;
}

/** A started child, stopped by PID. With `ip netns exec` the PID is the command's own (ip execs it). */
export class ManagedProcess {
  constructor(netns, cmd, args, { env, cwd, label } = {}) {
    const [file, argv] = netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
    this.label = label ?? cmd;
    this.text = '';
    this.exitCode = undefined;
    const child = spawn(file, argv, { env: env ?? process.env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = child.pid;
    // Keep the last 256 KiB of output: enough for diagnostics, bounded for chatty daemons.
    const append = (chunk) => {
      this.text = (this.text + chunk.toString()).slice(-256 * 1024);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? `signal ${signal}` : 0);
        resolve(this.exitCode);
      });
      child.on('error', (err) => {
        append(`spawn error: ${err.message}\n`);
        this.exitCode = `spawn error`;
        resolve(this.exitCode);
      });
    });
  }

  get running() {
    return this.exitCode === undefined;
  }

  output() {
    return this.text;
  }

  /** Throws with the tail of the output when the process has already exited. */
  assertRunning() {
    if (!this.running) {
      const tail = this.text.trim().split('\n').slice(-5).join('\n').slice(-800);
      // First line for the table; the output tail after it for the JSON record.
      const error = new Error(`${this.label} exited (${this.exitCode})\nlast output:\n${tail}`);
      error.code = 'BENCH_PROCESS_EXITED';
      throw error;
    }
  }

  waitForOutput(re, timeoutMs) {
    return waitFor(
      `${this.label} to print ${re}`,
      () => {
        const m = this.text.match(re);
        if (m) return m;
        this.assertRunning();
        return null;
      },
      { timeoutMs, intervalMs: 25 },
    );
  }

  kill(signal = 'SIGTERM') {
    if (!this.running || this.pid === undefined) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  /** TERM, then KILL after `timeoutMs`. */
  async stop(timeoutMs = 3_000) {
    if (!this.running) return this.exitCode;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

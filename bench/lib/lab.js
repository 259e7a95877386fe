/**
 * Namespaces, processes and temp files owned by one benchmark case, always removed afterwards.
 *
 * Names start with RUN_ID (unique per bench run). `dispose()` stops processes by PID (TERM, then KILL),
 * kills whatever the kernel still lists inside our namespaces, deletes the namespaces (which removes
 * their veth, tun and vxlan devices) and the temp directory. `disposeAllSync()` does the same without
 * awaiting, for SIGINT/SIGTERM and crashes.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, run } from './exec.js';

/** 'fb' + 4 random base-36 characters: short enough to leave room in 15-character names. */
export const RUN_ID = `fb${parseInt(randomBytes(3).toString('hex'), 16).toString(36).padStart(4, '0').slice(-4)}`;

const liveLabs = new Set();
let bailing = false;
let labCounter = 0;

export class Lab {
  constructor(tag) {
    this.prefix = `${RUN_ID}${(labCounter++ % 36).toString(36)}`;
    this.tag = tag;
    this.namespaces = [];
    this.processes = [];
    this.cleanups = [];
    this.dir = mkdtempSync(join(tmpdir(), `${this.prefix}-${tag}-`));
    this.disposed = false;
    liveLabs.add(this);
  }

  name(short) {
    const full = `${this.prefix}-${short}`;
    if (full.length > 15) throw new Error(`name ${full} is longer than 15 characters`);
    return full;
  }

  async addNetns(short) {
    const ns = this.name(short);
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await run('ip', ['link', 'set', 'lo', 'up'], { netns: ns });
    return ns;
  }

  exec(netns, cmd, args, opts = {}) {
    return run(cmd, args, { ...opts, netns });
  }

  spawn(netns, cmd, args, opts = {}) {
    if (this.disposed) throw new Error('lab already disposed');
    const proc = new ManagedProcess(netns, cmd, args, opts);
    this.processes.push(proc);
    return proc;
  }

  /** Extra cleanup, run first (last registered, first run). */
  track(fn) {
    this.cleanups.push(fn);
  }

  /** Removes everything; never throws. */
  async dispose() {
    if (this.disposed) return;
    this.disposed = true;
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // best effort: keep removing the rest
      }
    }
    await Promise.all(this.processes.map((p) => p.stop(3_000).catch(() => null)));
    for (const ns of this.namespaces.reverse()) {
      const pids = await run('ip', ['netns', 'pids', ns], { allowFail: true, timeoutMs: 5_000 });
      killPids(pids.stdout);
      await run('ip', ['netns', 'del', ns], { allowFail: true, timeoutMs: 10_000 });
    }
    rmSync(this.dir, { recursive: true, force: true });
    liveLabs.delete(this);
  }

  disposeSync() {
    this.disposed = true;
    for (const p of this.processes) p.kill('SIGKILL');
    for (const ns of this.namespaces.reverse()) {
      try {
        killPids(execFileSync('ip', ['netns', 'pids', ns], { timeout: 5_000 }).toString());
      } catch {
        // namespace already gone
      }
      try {
        execFileSync('ip', ['netns', 'del', ns], { timeout: 10_000, stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    liveLabs.delete(this);
  }
}

function killPids(text) {
  for (const pid of text.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** True once a signal or crash started the teardown: the run must not go on or write results. */
export const aborting = () => bailing;

export function disposeAllSync() {
  for (const lab of [...liveLabs]) lab.disposeSync();
}

/** Tears every live lab down on SIGINT/SIGTERM/crash, then exits with a conventional status. */
export function installTeardownHandlers(log) {
  const bail = (why, status) => {
    if (bailing) return;
    bailing = true;
    log(`${why}: tearing down ${liveLabs.size} lab(s)`);
    const exits = [...liveLabs].flatMap((lab) => lab.processes.map((p) => p.exited));
    disposeAllSync();
    // Let Node reap the killed children (bounded) so none is left behind as a zombie.
    const deadline = new Promise((resolve) => setTimeout(resolve, 2_000));
    Promise.race([Promise.all(exits), deadline]).then(() => process.exit(status));
  };
  process.on('SIGINT', () => bail('SIGINT', 130));
  process.on('SIGTERM', () => bail('SIGTERM', 143));
  process.on('SIGHUP', () => bail('SIGHUP', 129));
  process.on('uncaughtException', (err) => bail(`uncaught ${err.stack ?? err}`, 1));
  process.on('unhandledRejection', (err) => bail(`unhandled rejection ${err?.stack ?? err}`, 1));
}

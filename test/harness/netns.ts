/**
 * Test networks on the real kernel, owned and always removed by the test that made them.
 *
 * A `Lab` creates network namespaces, veth pairs and bridges whose names start with RUN_ID (unique to
 * this process), and processes it starts. `dispose()` removes all of it in reverse order: processes by
 * PID (TERM, then KILL), then namespaces, then links left in the root namespace. Only underlay
 * addresses from 198.18.0.0/15 are handed out; overlay addresses belong inside namespaces.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Unique per test process: 'f' + 5 random base-36 characters (namespaces and links carry it). */
export const RUN_ID = `f${BigInt(`0x${randomBytes(4).toString('hex')}`)
  .toString(36)
  .padStart(5, '0')
  .slice(-5)}`;

export interface ShOptions {
  netns?: string;
  input?: string;
  timeoutMs?: number;
  allowFail?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface ShResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command without a shell (argument array), optionally inside a namespace. */
export function sh(cmd: string, args: string[], opts: ShOptions = {}): Promise<ShResult> {
  const [file, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (err && !opts.allowFail) {
          const where = opts.netns ? ` (netns ${opts.netns})` : '';
          reject(
            new Error(`${cmd} ${args.join(' ')}${where} failed (${err.message.trim()}): ${stderr.trim()}`),
          );
          return;
        }
        resolve({ stdout, stderr, code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
}

/** Polls `fn` until it returns a truthy value; throws naming `what` (and the last error) at the deadline. */
export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  { timeoutMs, intervalMs = 50 }: WaitOptions,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; attempt < 1_000_000; attempt++) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const detail = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}

/** A child process started by a Lab; killed by PID on dispose. */
export class ManagedProcess {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  private text = '';
  private exitCode: number | null | undefined;

  constructor(
    child: ChildProcess,
    readonly label: string,
  ) {
    if (child.pid === undefined) throw new Error(`could not start ${label}`);
    this.pid = child.pid;
    const append = (chunk: Buffer) => {
      // Keep the last 1 MiB: enough for assertions, bounded for long runs.
      this.text = (this.text + chunk.toString()).slice(-1024 * 1024);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? null : 0);
        resolve(this.exitCode);
      });
      child.on('error', (err) => {
        append(Buffer.from(`spawn error: ${err.message}\n`));
        this.exitCode = null;
        resolve(null);
      });
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  output(): string {
    return this.text;
  }

  /** Resolves with the first match of `re` in the output so far or to come. */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return waitFor(
      `${this.label} to print ${re}`,
      () => {
        const m = this.text.match(re);
        if (m) return m;
        if (!this.running)
          throw new Error(`${this.label} exited (${this.exitCode}): ${this.text.slice(-2000)}`);
        return null;
      },
      { timeoutMs, intervalMs: 25 },
    );
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  /** TERM, then KILL after `timeoutMs`; resolves with the exit code. */
  async stop(timeoutMs = 5_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  label?: string;
  /** Data written to stdin, which is then closed. */
  input?: string;
}

/** Picks a /24 of 198.18.0.0/15 that no interface on this machine uses yet. */
function pickUnderlay(): string {
  const used = new Set<string>();
  try {
    const out = readFileSync('/proc/net/fib_trie', 'utf8');
    for (const m of out.matchAll(/(198\.1[89]\.\d+)\.\d+/g)) used.add(m[1]!);
  } catch {
    // no fib_trie: fall back to randomness alone
  }
  for (let i = 0; i < 512; i++) {
    const candidate = `198.${18 + (randomBytes(1)[0]! & 1)}.${randomBytes(1)[0]!}`;
    if (!used.has(candidate)) return candidate;
  }
  throw new Error('no free /24 left in 198.18.0.0/15');
}

export class Lab {
  /** Name prefix of everything this lab creates: RUN_ID + a short tag. */
  readonly prefix: string;
  /** A /24 of 198.18.0.0/15 reserved for this lab, e.g. '198.18.37'. */
  readonly underlay: string;
  private readonly namespaces: string[] = [];
  private readonly rootLinks: string[] = [];
  private readonly processes: ManagedProcess[] = [];
  private readonly cleanups: Array<() => unknown> = [];
  private disposed = false;
  private static counter = 0;

  constructor(tag = '') {
    this.prefix = `${RUN_ID}${tag.slice(0, 1)}${(Lab.counter++ % 36).toString(36)}`;
    this.underlay = pickUnderlay();
  }

  /** A name for a namespace or root-namespace link: prefix + short name, within IFNAMSIZ. */
  name(short: string): string {
    const full = `${this.prefix}${short}`;
    if (full.length > 15) throw new Error(`name ${full} is longer than 15 characters`);
    return full;
  }

  async addNetns(short: string): Promise<string> {
    const ns = this.name(short);
    await sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await sh('ip', ['link', 'set', 'lo', 'up'], { netns: ns });
    return ns;
  }

  /**
   * A veth pair; each end goes into a namespace (or stays in the root namespace when null) under the
   * given interface name. Root-namespace ends must be named with `name()` so they carry the prefix.
   */
  async addVeth(nsA: string | null, ifA: string, nsB: string | null, ifB: string): Promise<void> {
    const tmpA = this.name(`va${this.rootLinks.length}${Lab.counter++}`);
    const tmpB = this.name(`vb${this.rootLinks.length}${Lab.counter++}`);
    await sh('ip', ['link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
    this.rootLinks.push(tmpA);
    for (const [tmp, ns, target] of [
      [tmpA, nsA, ifA],
      [tmpB, nsB, ifB],
    ] as const) {
      if (ns) {
        await sh('ip', ['link', 'set', tmp, 'netns', ns]);
        await sh('ip', ['link', 'set', tmp, 'name', target], { netns: ns });
        await sh('ip', ['link', 'set', target, 'up'], { netns: ns });
      } else {
        if (tmp !== target) {
          await sh('ip', ['link', 'set', tmp, 'name', target]);
          this.rootLinks.push(target);
        }
        await sh('ip', ['link', 'set', target, 'up']);
      }
    }
  }

  /** A bridge in the root namespace (named `name(short)`), up, with no address unless given. */
  async addBridge(short: string, address?: string): Promise<string> {
    const br = this.name(short);
    await sh('ip', ['link', 'add', br, 'type', 'bridge']);
    this.rootLinks.push(br);
    await sh('ip', ['link', 'set', br, 'up']);
    if (address) await sh('ip', ['addr', 'add', address, 'dev', br]);
    return br;
  }

  /** Adds a namespace on `bridge` with underlay address `<underlay>.<host>/24` on its `ifname`. */
  async addHost(short: string, bridge: string, host: number, ifname = 'eth0'): Promise<string> {
    const ns = await this.addNetns(short);
    const rootEnd = this.name(`h${short}`);
    await this.addVeth(ns, ifname, null, rootEnd);
    await sh('ip', ['link', 'set', rootEnd, 'master', bridge]);
    await sh('ip', ['addr', 'add', `${this.underlay}.${host}/24`, 'dev', ifname], { netns: ns });
    return ns;
  }

  exec(netns: string | null, cmd: string, args: string[], opts: Omit<ShOptions, 'netns'> = {}) {
    return sh(cmd, args, { ...opts, ...(netns ? { netns } : {}) });
  }

  /** Starts a tracked process (inside `netns` when given); stdout and stderr are captured. */
  spawn(netns: string | null, cmd: string, args: string[], opts: SpawnOptions = {}): ManagedProcess {
    if (this.disposed) throw new Error('lab already disposed');
    const [file, argv] = netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
    const child = spawn(file, argv, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const proc = new ManagedProcess(child, opts.label ?? `${cmd}${netns ? `@${netns}` : ''}`);
    this.processes.push(proc);
    return proc;
  }

  /** Registers extra cleanup, run first (last registered, first run) on dispose. */
  track(cleanup: () => unknown): void {
    this.cleanups.push(cleanup);
  }

  /** Removes everything; never throws, so it is safe in afterAll and finally. */
  async dispose(): Promise<void> {
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
      // Kill anything still running inside (by PID, as reported by the kernel for this namespace).
      const pids = await sh('ip', ['netns', 'pids', ns], { allowFail: true });
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
      await sh('ip', ['netns', 'del', ns], { allowFail: true });
    }
    for (const link of this.rootLinks.reverse()) {
      await sh('ip', ['link', 'del', link], { allowFail: true });
    }
  }
}

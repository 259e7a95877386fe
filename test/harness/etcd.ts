/**
 * A throwaway single-member etcd for tests: free ports, a temp data dir (on tmpfs when available, so
 * fsync is cheap), health-checked start, and always stopped by PID. Works on loopback or on an
 * underlay address of the root namespace (e.g. a Lab bridge's `<underlay>.254`), or inside a netns.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, RUN_ID, sh, waitFor } from './netns.js';

export interface StartEtcdOptions {
  /** Address the client URL listens on. Default '127.0.0.1'. */
  host?: string;
  /** Run etcd inside this network namespace (ports are then picked at random, not probed). */
  netns?: string;
  /** Start deadline. Default 20 s. */
  timeoutMs?: number;
  /** Serve clients over TLS (https URL); with clientCertFile/clientKeyFile, client certificates are required. */
  tls?: EtcdTlsFiles;
}

export interface EtcdTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Given to etcdctl; their presence also turns on --client-cert-auth. */
  clientCertFile?: string;
  clientKeyFile?: string;
}

export interface EtcdServer {
  /** 'http://host:port', for --etcd-endpoints. */
  readonly endpoint: string;
  /** Same as endpoint (kept for readability at call sites that pass URLs). */
  readonly clientUrl: string;
  readonly dataDir: string;
  /** PID of the current etcd process. */
  readonly pid: number;
  /** Runs etcdctl (API v3) against this server; resolves with stdout, rejects on a non-zero exit. */
  etcdctl(...args: string[]): Promise<string>;
  /** SIGKILL by PID, waits for the exit; data dir kept. */
  kill(): Promise<void>;
  /** Starts again on the same ports and data dir (after kill(), or kills first). */
  restart(): Promise<void>;
  /** TERM, then KILL; removes the data dir. Safe to call twice. */
  stop(): Promise<void>;
}

const live = new Set<ManagedProcess>();
/** Data dirs of servers not stopped yet; removed by the exit hook too. */
const dataDirs = new Set<string>();
let exitHookInstalled = false;
let serial = 0;

/** Last resort: the runner is exiting with an etcd still up. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** A port that was free on `host` a moment ago (bind 0, read, release). */
function probeFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function randomHighPort(): number {
  return 20_000 + Math.floor(Math.random() * 30_000);
}

/** etcd 3.4 refuses to start on architectures other than amd64/ppc64le unless told the Go arch name. */
function unsupportedArchEnv(): Record<string, string> {
  const goArch: Record<string, string> = {
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  const arch = goArch[process.arch];
  return arch === undefined ? {} : { ETCD_UNSUPPORTED_ARCH: arch };
}

function dataRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

class EtcdProcess implements EtcdServer {
  readonly endpoint: string;
  readonly clientUrl: string;
  private process: ManagedProcess | null = null;
  private stopped = false;

  constructor(
    host: string,
    clientPort: number,
    private readonly peerPort: number,
    readonly dataDir: string,
    private readonly name: string,
    private readonly netns: string | undefined,
    private readonly timeoutMs: number,
    private readonly tls: EtcdTlsFiles | undefined,
  ) {
    const h = host.includes(':') ? `[${host}]` : host;
    this.endpoint = `${tls ? 'https' : 'http'}://${h}:${clientPort}`;
    this.clientUrl = this.endpoint;
  }

  get pid(): number {
    if (this.process === null) throw new Error('etcd is not running');
    return this.process.pid;
  }

  async start(): Promise<void> {
    const peerUrl = `http://127.0.0.1:${this.peerPort}`;
    // biome-ignore format: one flag and its value per line
    const args = [
      '--name', this.name,
      '--data-dir', this.dataDir,
      '--listen-client-urls', this.endpoint,
      '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `${this.name}=${peerUrl}`,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', this.name,
      '--logger', 'zap',
      '--log-level', 'warn',
      ...this.tlsServerArgs(),
    ];
    const [cmd, argv] = this.netns ? ['ip', ['netns', 'exec', this.netns, 'etcd', ...args]] : ['etcd', args];
    const child = spawn(cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...unsupportedArchEnv() },
    });
    const managed = new ManagedProcess(child, `etcd ${this.endpoint}`);
    this.process = managed;
    live.add(managed);
    void managed.exited.then(() => live.delete(managed));
    await waitFor(
      `etcd at ${this.endpoint} to become healthy`,
      async () => {
        if (!managed.running) throw new Error(`etcd exited: ${managed.output().slice(-1500)}`);
        const r = await this.run(['endpoint', 'health', '--command-timeout=1s', '--dial-timeout=1s'], true);
        return r.code === 0;
      },
      { timeoutMs: this.timeoutMs, intervalMs: 100 },
    );
  }

  private tlsServerArgs(): string[] {
    const t = this.tls;
    if (t === undefined) return [];
    const args = ['--cert-file', t.certFile, '--key-file', t.keyFile, '--trusted-ca-file', t.caFile];
    return t.clientCertFile ? [...args, '--client-cert-auth'] : args;
  }

  private tlsClientArgs(): string[] {
    const t = this.tls;
    if (t === undefined) return [];
    const args = [`--cacert=${t.caFile}`];
    return t.clientCertFile && t.clientKeyFile
      ? [...args, `--cert=${t.clientCertFile}`, `--key=${t.clientKeyFile}`]
      : args;
  }

  private run(args: string[], allowFail: boolean) {
    return sh('etcdctl', [`--endpoints=${this.endpoint}`, ...this.tlsClientArgs(), ...args], {
      netns: this.netns,
      allowFail,
      timeoutMs: 15_000,
      env: { ...process.env, ETCDCTL_API: '3' },
    });
  }

  async etcdctl(...args: string[]): Promise<string> {
    return (await this.run(args, false)).stdout;
  }

  async kill(): Promise<void> {
    const p = this.process;
    if (p === null) return;
    p.kill('SIGKILL');
    await p.exited;
    this.process = null;
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error('etcd was stopped; start a new one');
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const p = this.process;
    this.process = null;
    if (p !== null) await p.stop(3_000);
    rmSync(this.dataDir, { recursive: true, force: true });
    dataDirs.delete(this.dataDir);
  }
}

/** Starts a fresh single-member etcd; retries with other ports if one was taken meanwhile. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const host = options.host ?? '127.0.0.1';
  installExitHook();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const clientPort = options.netns ? randomHighPort() : await probeFreePort(host);
    const peerPort = options.netns ? randomHighPort() : await probeFreePort('127.0.0.1');
    const dataDir = mkdtempSync(join(dataRoot(), `${RUN_ID}-etcd-`));
    dataDirs.add(dataDir);
    const name = `${RUN_ID}-etcd${serial++}`;
    const server = new EtcdProcess(
      host,
      clientPort,
      peerPort,
      dataDir,
      name,
      options.netns,
      options.timeoutMs ?? 20_000,
      options.tls,
    );
    try {
      await server.start();
      return server;
    } catch (err) {
      lastError = err;
      await server.stop();
      if (!/address already in use/i.test(String((err as Error).message))) break;
    }
  }
  throw lastError;
}

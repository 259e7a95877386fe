/**
 * A felt cluster on one machine, for end-to-end tests.
 *
 *   root netns: bridge <underlay>.254/24 ── etcd (listens on .254; no overlay route here)
 *     ├─ node n0 (<underlay>.1, eth0) ── feltd ── cni0 <lease>.1/24 ── pods n0p0 (.2), n0p1 (.3)
 *     ├─ node n1 (<underlay>.2)        ── feltd ── cni0 ── pod n1p0
 *     ├─ ...
 *     └─ outside (<underlay>.200): no route to the pod network
 *
 * Pods are plumbed the way the flannel CNI plugin + bridge plugin would: addresses from the node's lease
 * (read from the subnet.env feltd writes), MTU = FLANNEL_MTU, default route via cni0's .1. Everything
 * lives in a `Lab`, so `dispose()` removes processes (by PID), namespaces and links even after a failure.
 * Node indexes are 0-based; node i has underlay address <underlay>.(i+1).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addCniBridge, addPod } from './cluster/pods.js';
import { MetricsSnapshot } from './cluster/prometheus-text.js';
import { type NodeSubnet, parseSubnetEnv } from './cluster/subnet-env.js';
import { type EtcdServer, startEtcd } from './etcd.js';
import { Lab, type ManagedProcess, type ShOptions, type ShResult, sh, waitFor } from './netns.js';

export type Backend = 'udp' | 'vxlan' | 'ipip';

export const FELTD = fileURLToPath(new URL('../../packages/daemon/bin/feltd', import.meta.url));
/** False until the daemon package ships its executable; cluster tests skip (saying so) without it. */
export const FELTD_PRESENT = existsSync(FELTD);
export const TRAFFIC = fileURLToPath(new URL('./cluster/traffic.mjs', import.meta.url));
export const ETCD_PREFIX = '/coreos.com/network';
export const NETWORK = '10.244.0.0/16';
export const METRICS_PORT = 9465;
export const HEALTHZ_PORT = 8081;

export interface ClusterOptions {
  nodes: number;
  backend: Backend;
  ipMasq?: boolean;
  /** Pods per node; default: 2 on node 0, 1 elsewhere. */
  podsPerNode?: (index: number) => number;
  /** Flags added to every feltd. */
  flags?: string[];
  /** Start feltd on every node (default true); false leaves the nodes bare. */
  start?: boolean;
  /** Network config written to etcd; default Flannel's JSON for `backend`. */
  networkConfig?: string;
}

export interface Pod {
  name: string;
  netns: string;
  node: number;
  ip: string;
}

export interface ClusterNode {
  index: number;
  netns: string;
  /** Underlay address (its lease's PublicIP). */
  address: string;
  subnetFile: string;
  /** Set once feltd has written subnet.env; kept across restarts. */
  subnet: NodeSubnet | null;
  feltd: ManagedProcess | null;
  /** Flags of the last start (beyond the harness's own), reused by restartNode. */
  extraFlags: string[];
  podCount: number;
  pods: Pod[];
}

export interface TransferResult {
  sent: { bytes: number; sha256: string; seconds: number };
  received: { bytes: number; sha256: string };
}

export function networkConfigFor(backend: Backend): string {
  return JSON.stringify({ Network: NETWORK, Backend: { Type: backend } });
}

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  /** The namespace with no route to pods, and its underlay address. */
  outside = '';
  readonly outsideAddress: string;
  private nextPort = 40_000;

  private constructor(
    readonly lab: Lab,
    readonly options: ClusterOptions,
    readonly bridge: string,
    readonly etcd: EtcdServer,
    private readonly stateDir: string,
  ) {
    this.outsideAddress = `${lab.underlay}.200`;
  }

  get underlay(): string {
    return this.lab.underlay;
  }

  get pods(): Pod[] {
    return this.nodes.flatMap((n) => n.pods);
  }

  static async create(options: ClusterOptions): Promise<Cluster> {
    const lab = new Lab('c');
    const stateDir = mkdtempSync(join(tmpdir(), `${lab.prefix}-cluster-`));
    lab.track(() => rmSync(stateDir, { recursive: true, force: true }));
    try {
      const bridge = await lab.addBridge('br', `${lab.underlay}.254/24`);
      const etcd = await startEtcd({ host: `${lab.underlay}.254` });
      lab.track(() => etcd.stop());
      const cluster = new Cluster(lab, options, bridge, etcd, stateDir);
      // Cleanups run last-registered first: daemons stop while etcd is still there to answer them.
      lab.track(() => Promise.all(cluster.nodes.map((n) => n.feltd?.stop(5_000))));
      await cluster.writeNetworkConfig(options.networkConfig ?? networkConfigFor(options.backend));
      cluster.outside = await lab.addHost('out', bridge, 200);
      for (let i = 0; i < options.nodes; i++) await cluster.addNode();
      if (options.start ?? true) {
        await Promise.all(cluster.nodes.map((n) => cluster.startNode(n.index)));
        await cluster.waitForConvergence();
      }
      return cluster;
    } catch (err) {
      await lab.dispose();
      throw err;
    }
  }

  async writeNetworkConfig(json: string): Promise<void> {
    await this.etcd.etcdctl('put', `${ETCD_PREFIX}/config`, json);
  }

  /** Subnet leases in etcd: key suffix (e.g. '10.244.7.0-24') → parsed lease JSON. */
  async leases(): Promise<Map<string, Record<string, unknown>>> {
    const out = await this.etcd.etcdctl('get', '--prefix', `${ETCD_PREFIX}/subnets/`);
    const lines = out.split('\n').filter(Boolean);
    const leases = new Map<string, Record<string, unknown>>();
    for (let i = 0; i + 1 < lines.length; i += 2) {
      leases.set(lines[i]!.slice(`${ETCD_PREFIX}/subnets/`.length), JSON.parse(lines[i + 1]!));
    }
    return leases;
  }

  /** A new node namespace on the underlay (feltd not started). */
  async addNode(podCount?: number): Promise<ClusterNode> {
    const index = this.nodes.length;
    const netns = await this.lab.addHost(`n${index}`, this.bridge, index + 1);
    await sh('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], { netns });
    const node: ClusterNode = {
      index,
      netns,
      address: `${this.underlay}.${index + 1}`,
      subnetFile: join(this.stateDir, `n${index}`, 'subnet.env'),
      subnet: null,
      feltd: null,
      extraFlags: [],
      podCount: podCount ?? this.options.podsPerNode?.(index) ?? (index === 0 ? 2 : 1),
      pods: [],
    };
    this.nodes.push(node);
    return node;
  }

  feltdFlags(node: ClusterNode): string[] {
    return [
      `--etcd-endpoints=${this.etcd.endpoint}`,
      '--iface=eth0',
      `--public-ip=${node.address}`,
      `--subnet-file=${node.subnetFile}`,
      `--metrics-addr=${node.address}:${METRICS_PORT}`,
      `--healthz-ip=${node.address}`,
      `--healthz-port=${HEALTHZ_PORT}`,
      ...(this.options.ipMasq ? ['--ip-masq'] : []),
      ...(this.options.flags ?? []),
    ];
  }

  /** Starts feltd without waiting (for tests of start-up failures). */
  spawnFeltd(index: number, flags: string[]): ManagedProcess {
    const node = this.node(index);
    return this.lab.spawn(node.netns, process.execPath, [FELTD, ...flags], { label: `feltd n${index}` });
  }

  /** Starts feltd on node `index`, waits for /readyz, then plumbs cni0 and the pods (first start only). */
  async startNode(index: number, extraFlags: string[] = [], timeoutMs = 30_000): Promise<ClusterNode> {
    const node = this.node(index);
    if (node.feltd?.running) throw new Error(`feltd on n${index} is already running`);
    node.extraFlags = extraFlags;
    const feltd = this.spawnFeltd(index, [...this.feltdFlags(node), ...extraFlags]);
    node.feltd = feltd;
    await waitFor(
      `feltd on n${index} to be ready`,
      async () => {
        if (!feltd.running)
          throw new Error(`feltd exited (${await feltd.exited}): ${feltd.output().slice(-3000)}`);
        return (await this.readyz(index)) === 200;
      },
      { timeoutMs, intervalMs: 50 },
    );
    const subnet = parseSubnetEnv(readFileSync(node.subnetFile, 'utf8'));
    if (node.subnet && node.subnet.subnet !== subnet.subnet) {
      throw new Error(`n${index} came back with lease ${subnet.subnet}, had ${node.subnet.subnet}`);
    }
    if (!node.subnet) await this.attachPods(index, subnet);
    return node;
  }

  /** Gives node `index` its lease subnet and plumbs cni0 and its pods (done by startNode on first start). */
  async attachPods(index: number, subnet: NodeSubnet): Promise<void> {
    const node = this.node(index);
    node.subnet = subnet;
    await addCniBridge(node.netns, subnet);
    for (let j = 0; j < node.podCount; j++) {
      const short = `n${node.index}p${j}`;
      const { netns, ip } = await addPod(this.lab, node.netns, subnet, { short, host: 2 + j });
      node.pods.push({ name: short, netns, node: node.index, ip });
    }
  }

  /** SIGTERM (then KILL after the timeout); resolves with feltd's exit code. */
  async stopNode(index: number, timeoutMs = 15_000): Promise<number | null> {
    const feltd = this.node(index).feltd;
    return feltd ? feltd.stop(timeoutMs) : null;
  }

  async restartNode(index: number): Promise<ClusterNode> {
    await this.stopNode(index);
    return this.startNode(index, this.node(index).extraFlags);
  }

  node(index: number): ClusterNode {
    const node = this.nodes[index];
    if (!node) throw new Error(`no node ${index} (cluster has ${this.nodes.length})`);
    return node;
  }

  /** HTTP status of the node's /readyz, or 0 when nothing answers. */
  async readyz(index: number): Promise<number> {
    try {
      const res = await fetch(`http://${this.node(index).address}:${HEALTHZ_PORT}/readyz`, {
        signal: AbortSignal.timeout(1_000),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** Body of the node's `/readyz?verbose` (one `[+]check ok` / `[-]check failed` line per check), or ''. */
  async readyzVerbose(index: number): Promise<string> {
    try {
      const res = await fetch(`http://${this.node(index).address}:${HEALTHZ_PORT}/readyz?verbose`, {
        signal: AbortSignal.timeout(1_000),
      });
      return await res.text();
    } catch {
      return '';
    }
  }

  async metricsText(index: number): Promise<string> {
    const res = await fetch(`http://${this.node(index).address}:${METRICS_PORT}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (res.status !== 200) throw new Error(`/metrics on n${index} answered ${res.status}`);
    return res.text();
  }

  async metrics(index: number): Promise<MetricsSnapshot> {
    return new MetricsSnapshot(await this.metricsText(index));
  }

  /** The `peer` label value feltd uses for node `index` (its lease subnet). */
  peerLabel(index: number): string {
    const subnet = this.node(index).subnet;
    if (!subnet) throw new Error(`n${index} has no lease yet`);
    return subnet.subnet;
  }

  execInPod(pod: Pod, cmd: string, args: string[], opts: Omit<ShOptions, 'netns'> = {}): Promise<ShResult> {
    return sh(cmd, args, { ...opts, netns: pod.netns });
  }

  /**
   * True once `count` echo requests in a row from `pod` to `ip` all come back, retrying until `timeoutMs`
   * (ping itself gives up early on an ICMP error, e.g. while a peer is still being programmed).
   */
  async ping(pod: Pod, ip: string, count = 1, timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; attempt < 100; attempt++) {
      const r = await this.execInPod(
        pod,
        'ping',
        ['-n', '-q', '-c', String(count), '-i', '0.05', '-W', '1', ip],
        {
          allowFail: true,
          timeoutMs: count * 1_000 + 2_000,
        },
      );
      if (r.code === 0 && new RegExp(`${count} received`).test(r.stdout)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  /** Waits until every running node has every other running node in its forwarding table. */
  async waitForConvergence(timeoutMs = 10_000): Promise<void> {
    const running = this.nodes.filter((n) => n.feltd?.running);
    await waitFor(
      `all ${running.length} nodes to know each other`,
      async () => {
        const counts = await Promise.all(
          running.map(async (n) => (await this.metrics(n.index)).sum('felt_peers', { family: 'ipv4' })),
        );
        return counts.every((c) => c >= running.length - 1);
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  /** Runs one of traffic.mjs's modes in `netns` as a tracked process. */
  spawnTraffic(netns: string, args: string[], timeoutMs = 60_000): ManagedProcess {
    return this.lab.spawn(netns, process.execPath, [TRAFFIC, ...args, '--timeout-ms', String(timeoutMs)], {
      label: `traffic ${args[0]}@${netns}`,
    });
  }

  /** Runs one of traffic.mjs's modes to completion in `netns`; resolves with its JSON result. */
  async runTraffic<T = unknown>(netns: string, args: string[], timeoutMs = 10_000): Promise<T> {
    const r = await sh(process.execPath, [TRAFFIC, ...args, '--timeout-ms', String(timeoutMs)], {
      netns,
      timeoutMs: timeoutMs + 2_000,
    });
    return lastJson<T>(r.stdout);
  }

  /** A fresh TCP port for a test server (never reused within this cluster). */
  port(): number {
    return this.nextPort++;
  }

  /**
   * Sends `bytes` of deterministic data from `from` to a sink at `to`, returning what each side hashed.
   * `onStarted` runs once the sender is connected (e.g. to restart a daemon mid-transfer).
   */
  async transfer(
    from: Pod,
    to: Pod,
    bytes: number,
    opts: { rateMbps?: number; timeoutMs?: number; onStarted?: () => Promise<void> } = {},
  ): Promise<TransferResult> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const port = this.port();
    const sink = this.spawnTraffic(to.netns, ['sink', String(port)], timeoutMs);
    await sink.waitForOutput(/listening/, 10_000);
    const rate = opts.rateMbps ? ['--rate-mbps', String(opts.rateMbps)] : [];
    const sender = this.spawnTraffic(
      from.netns,
      ['send', to.ip, String(port), String(bytes), ...rate],
      timeoutMs,
    );
    if (opts.onStarted) await opts.onStarted();
    const [senderCode, sinkCode] = await Promise.all([sender.exited, sink.exited]);
    if (senderCode !== 0 || sinkCode !== 0) {
      throw new Error(
        `transfer ${from.name} → ${to.name} failed: sender ${senderCode}: ${sender.output().slice(-500)}; ` +
          `sink ${sinkCode}: ${sink.output().slice(-500)}`,
      );
    }
    return { sent: lastJson(sender.output()), received: lastJson(sink.output()) };
  }

  /** The last `lines` log lines of every node's current feltd, for failure reports. */
  daemonLogs(lines = 30): string {
    return this.nodes
      .filter((n) => n.feltd)
      .map((n) => {
        const tail = n.feltd!.output().trim().split('\n').slice(-lines);
        const state = n.feltd!.running ? 'running' : 'exited';
        return `--- feltd n${n.index} (${state}) ---\n${tail.map((line) => line.slice(0, 400)).join('\n')}`;
      })
      .join('\n');
  }

  async dispose(): Promise<void> {
    await this.lab.dispose();
  }
}

function lastJson<T>(output: string): T {
  const line = output
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON result in: ${output.slice(-500)}`);
  return JSON.parse(line) as T;
}

#!/usr/bin/env node
// `make demo`: a 3-node felt cluster in network namespaces on this machine, with etcd, real feltd
// daemons and one pod per node; pings every pod from every pod, runs a 5 s iperf3 between two nodes,
// prints each node's per-peer counters from /metrics, and removes everything again (also on Ctrl-C).
// Plain JavaScript (make runs it with node directly); the test harness in TypeScript is its big sibling.
// BACKEND=udp|vxlan|ipip picks the backend (default vxlan).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BACKEND = process.env.BACKEND ?? 'vxlan';
const NODES = 3;
const NETWORK = '10.244.0.0/16';
const ETCD_PREFIX = '/coreos.com/network';
const FELTD = fileURLToPath(new URL('../packages/daemon/bin/feltd', import.meta.url));
const RUN = `fd${randomBytes(2).toString('hex')}`;
const started = performance.now();

const owned = { processes: [], namespaces: [], links: [], dirs: [] };

function progress(message) {
  const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(5);
  console.log(`[${seconds}s] ${message}`);
}

/** Commands in flight, so an interrupt can end them by PID instead of waiting for their timeouts. */
const inFlight = new Set();

function execCommand(cmd, args, { netns, timeoutMs = 30_000, allowFail = false } = {}) {
  const [file, argv] = netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        inFlight.delete(child);
        if (err && !allowFail) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
        else resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
    inFlight.add(child);
  });
}

/** The demo's steps run commands through here, so after Ctrl-C the next step stops. */
function run(cmd, args, options) {
  const stopIfInterrupted = () => {
    if (interrupted) throw new Error(`interrupted by ${interrupted}`);
  };
  stopIfInterrupted();
  return execCommand(cmd, args, options).then((result) => {
    stopIfInterrupted();
    return result;
  });
}

/** Polls `check` every 100 ms until it returns a truthy value or `timeoutMs` passes. */
async function waitUntil(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check().catch(() => null);
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function spawnOwned(netns, cmd, args, logFile) {
  const out = openSync(logFile, 'a');
  const child = spawn('ip', ['netns', 'exec', netns, cmd, ...args], { stdio: ['ignore', out, out] });
  const entry = { child, logFile, exited: false };
  child.on('exit', () => {
    entry.exited = true;
  });
  owned.processes.push(entry);
  return entry;
}

function spawnRoot(cmd, args, logFile) {
  const out = openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', out, out] });
  const entry = { child, logFile, exited: false };
  child.on('exit', () => {
    entry.exited = true;
  });
  owned.processes.push(entry);
  return entry;
}

/** Everything this run made, removed in reverse: processes by PID, then namespaces, links, files. */
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    for (const child of inFlight) child.kill('SIGTERM');
    // Daemons first, etcd last: a feltd shutting down may still talk to etcd.
    for (const group of [owned.processes.filter((p) => !p.last), owned.processes.filter((p) => p.last)]) {
      for (const p of group) if (!p.exited) p.child.kill('SIGTERM');
      await waitUntil('processes to exit', async () => group.every((p) => p.exited), 5_000).catch(() => {
        for (const p of group) if (!p.exited) p.child.kill('SIGKILL');
      });
    }
    for (const ns of owned.namespaces.reverse())
      await execCommand('ip', ['netns', 'del', ns], { allowFail: true });
    for (const link of owned.links.reverse())
      await execCommand('ip', ['link', 'del', link], { allowFail: true });
    for (const dir of owned.dirs) rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}

// Ctrl-C: stop at the next step (every command goes through run()) and clean up once.
let interrupted = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = signal;
    console.log(`\n${signal}: stopping and cleaning up`);
    cleanup();
  });
}

function pickUnderlay() {
  const used = readFileSync('/proc/net/fib_trie', 'utf8');
  for (let i = 0; i < 256; i++) {
    const candidate = `198.18.${randomBytes(1)[0]}`;
    if (!used.includes(`${candidate}.`)) return candidate;
  }
  throw new Error('no free /24 in 198.18.0.0/16');
}

async function addNetns(short) {
  const ns = `${RUN}${short}`;
  await run('ip', ['netns', 'add', ns]);
  owned.namespaces.push(ns);
  await run('ip', ['link', 'set', 'lo', 'up'], { netns: ns });
  return ns;
}

/** A veth pair with one end `inner` inside `ns` and the other `outer` in `outerNs` (root when null). */
async function addVeth(ns, inner, outerNs, outer) {
  const tmp = `${RUN}t${owned.links.length}`;
  const rootName = outerNs ? `${RUN}u${owned.links.length}` : outer;
  await run('ip', ['link', 'add', tmp, 'type', 'veth', 'peer', 'name', rootName]);
  owned.links.push(rootName);
  await run('ip', ['link', 'set', tmp, 'netns', ns]);
  await run('ip', ['link', 'set', tmp, 'name', inner, 'up'], { netns: ns });
  if (outerNs) {
    await run('ip', ['link', 'set', rootName, 'netns', outerNs]);
    await run('ip', ['link', 'set', rootName, 'name', outer, 'up'], { netns: outerNs });
  } else {
    await run('ip', ['link', 'set', rootName, 'up']);
  }
}

function parseSubnetEnv(text) {
  const vars = Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => l.split('=')),
  );
  const [gateway] = vars.FLANNEL_SUBNET.split('/');
  const prefix = gateway.split('.').slice(0, 3).join('.');
  return { subnet: `${prefix}.0/24`, prefix, gateway, mtu: Number(vars.FLANNEL_MTU) };
}

/** Sample lines of a Prometheus exposition: [{name, labels, value}]. */
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

function formatBytes(n) {
  const units = ['B', 'kB', 'MB', 'GB'];
  let i = 0;
  for (; n >= 1000 && i < units.length - 1; i++) n /= 1000;
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Text columns (the first `textColumns`) left-aligned, numbers right-aligned. */
function table(rows, textColumns) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const pad = (cell, c) =>
    c < textColumns ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]);
  return rows.map((r) => r.map(pad).join('  ')).join('\n');
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the demo creates network namespaces: run it as root');
  if (!['udp', 'vxlan', 'ipip'].includes(BACKEND))
    throw new Error(`BACKEND must be udp, vxlan or ipip, not ${BACKEND}`);
  if (!existsSync(FELTD)) throw new Error(`${FELTD} is missing: run make build`);
  const dir = mkdtempSync(join(tmpdir(), `${RUN}-demo-`));
  owned.dirs.push(dir);
  const underlay = pickUnderlay();
  progress(`felt demo: ${NODES} nodes, backend ${BACKEND}, underlay ${underlay}.0/24, logs in ${dir}`);

  const bridge = `${RUN}br`;
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  owned.links.push(bridge);
  await run('ip', ['addr', 'add', `${underlay}.254/24`, 'dev', bridge]);
  await run('ip', ['link', 'set', bridge, 'up']);

  const endpoint = `http://${underlay}.254:2379`;
  const etcdDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `${RUN}-etcd-`));
  owned.dirs.push(etcdDir);
  const peerUrl = `http://${underlay}.254:2380`;
  // biome-ignore format: flag/value pairs
  const etcd = spawnRoot('etcd', ['--name', RUN, '--data-dir', etcdDir, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `${RUN}=${peerUrl}`,
    '--log-level', 'warn'], join(dir, 'etcd.log'));
  etcd.last = true;
  const etcdctl = (...args) => run('etcdctl', [`--endpoints=${endpoint}`, ...args]);
  await waitUntil('etcd to answer', async () => (await etcdctl('endpoint', 'health')).code === 0, 20_000);
  const config = JSON.stringify({ Network: NETWORK, Backend: { Type: BACKEND } });
  await etcdctl('put', `${ETCD_PREFIX}/config`, config);
  progress(`etcd up at ${endpoint}; network config ${config}`);

  const nodes = [];
  for (let i = 0; i < NODES; i++) {
    const netns = await addNetns(`n${i}`);
    await addVeth(netns, 'eth0', null, `${RUN}h${i}`);
    await run('ip', ['link', 'set', `${RUN}h${i}`, 'master', bridge]);
    const address = `${underlay}.${i + 1}`;
    await run('ip', ['addr', 'add', `${address}/24`, 'dev', 'eth0'], { netns });
    await run('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], { netns });
    nodes.push({
      index: i,
      netns,
      address,
      subnetFile: join(dir, `n${i}-subnet.env`),
      log: join(dir, `n${i}-feltd.log`),
    });
  }
  progress(`${NODES} node namespaces on the underlay bridge`);

  for (const node of nodes) {
    // biome-ignore format: flag/value pairs
    node.feltd = spawnOwned(node.netns, process.execPath, [FELTD, `--etcd-endpoints=${endpoint}`, '--iface=eth0',
      `--public-ip=${node.address}`, `--subnet-file=${node.subnetFile}`, `--metrics-addr=${node.address}:9465`,
      `--healthz-ip=${node.address}`, '--healthz-port=8081', '--ip-masq'], node.log);
  }
  for (const node of nodes) {
    const outcome = await waitUntil(
      `feltd on n${node.index} to be ready (log: ${node.log})`,
      async () => {
        if (node.feltd.exited) return 'exited';
        const res = await fetch(`http://${node.address}:8081/readyz`, { signal: AbortSignal.timeout(1_000) });
        return res.status === 200 && 'ready';
      },
      30_000,
    );
    if (outcome === 'exited') {
      throw new Error(`feltd on n${node.index} exited:\n${readFileSync(node.log, 'utf8').slice(-2000)}`);
    }
    Object.assign(node, parseSubnetEnv(readFileSync(node.subnetFile, 'utf8')));
    progress(`feltd ready on n${node.index} (${node.address}): lease ${node.subnet}, MTU ${node.mtu}`);
  }

  for (const node of nodes) {
    await run('ip', ['link', 'add', 'cni0', 'type', 'bridge'], { netns: node.netns });
    await run('ip', ['addr', 'add', `${node.gateway}/24`, 'dev', 'cni0'], { netns: node.netns });
    await run('ip', ['link', 'set', 'cni0', 'mtu', String(node.mtu), 'up'], { netns: node.netns });
    node.pod = await addNetns(`p${node.index}`);
    node.podIp = `${node.prefix}.2`;
    await addVeth(node.pod, 'eth0', node.netns, 'veth0');
    await run('ip', ['link', 'set', 'veth0', 'mtu', String(node.mtu), 'master', 'cni0'], {
      netns: node.netns,
    });
    await run('ip', ['link', 'set', 'eth0', 'mtu', String(node.mtu)], { netns: node.pod });
    await run('ip', ['addr', 'add', `${node.podIp}/24`, 'dev', 'eth0'], { netns: node.pod });
    await run('ip', ['route', 'add', 'default', 'via', node.gateway], { netns: node.pod });
  }
  progress(`one pod per node: ${nodes.map((n) => `${n.podIp} on n${n.index}`).join(', ')}`);

  for (const from of nodes) {
    for (const to of nodes.filter((n) => n !== from)) {
      const r = await run('ping', ['-n', '-q', '-c', '3', '-i', '0.2', '-w', '5', to.podIp], {
        netns: from.pod,
        allowFail: true,
      });
      const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout)?.[1];
      const received = /(\d+) received/.exec(r.stdout)?.[1] ?? '0';
      progress(
        `ping pod n${from.index} → pod n${to.index}: ${received}/3 replies${rtt ? `, avg ${rtt} ms` : ''}`,
      );
    }
  }

  const [client, server] = nodes;
  spawnOwned(server.pod, 'iperf3', ['-s', '-1', '-B', server.podIp], join(dir, 'iperf3-server.log'));
  await waitUntil(
    'iperf3 server',
    async () => (await run('ss', ['-ltn'], { netns: server.pod })).stdout.includes(':5201'),
    5_000,
  );
  progress(`iperf3: 5 s TCP from pod n${client.index} to pod n${server.index} ...`);
  const iperf = await run('iperf3', ['-c', server.podIp, '-t', '5', '-C', 'cubic', '-J'], {
    netns: client.pod,
    timeoutMs: 20_000,
  });
  const result = JSON.parse(iperf.stdout);
  const mbits = (result.end.sum_received.bits_per_second / 1e6).toFixed(0);
  progress(`iperf3: ${mbits} Mbit/s received, ${result.end.sum_sent.retransmits ?? 0} retransmits`);

  const rows = [['node', 'peer', 'tx packets', 'tx bytes', 'rx packets', 'rx bytes']];
  const dropRows = [['node', 'reason', 'direction', 'packets']];
  for (const node of nodes) {
    const res = await fetch(`http://${node.address}:9465/metrics`, { signal: AbortSignal.timeout(5_000) });
    const samples = parseMetrics(await res.text());
    const pick = (name, labels) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((t, s) => t + s.value, 0);
    const peers = [
      ...new Set(samples.filter((s) => s.name === 'felt_peer_packets_total').map((s) => s.labels.peer)),
    ];
    for (const peer of peers) {
      rows.push([
        `n${node.index} ${node.subnet}`,
        peer,
        pick('felt_peer_packets_total', { peer, direction: 'tx' }),
        formatBytes(pick('felt_peer_bytes_total', { peer, direction: 'tx' })),
        pick('felt_peer_packets_total', { peer, direction: 'rx' }),
        formatBytes(pick('felt_peer_bytes_total', { peer, direction: 'rx' })),
      ]);
    }
    for (const s of samples.filter((x) => x.name === 'felt_drops_total' && x.value > 0)) {
      dropRows.push([`n${node.index}`, s.labels.reason, s.labels.direction, s.value]);
    }
  }
  console.log(`\nper-peer traffic (felt_peer_packets_total, felt_peer_bytes_total):\n${table(rows, 2)}`);
  console.log(
    dropRows.length > 1
      ? `\ndrops (felt_drops_total):\n${table(dropRows, 3)}`
      : '\ndrops (felt_drops_total): none',
  );
  console.log(
    `\nthroughput pod n${client.index} → pod n${server.index}: ${mbits} Mbit/s (iperf3, 5 s, ${BACKEND})\n`,
  );
}

let status = 0;
try {
  await main();
} catch (err) {
  if (!interrupted) console.error(`demo failed: ${err.message}`);
  status = 1;
} finally {
  if (interrupted) status = 130;
  progress('cleaning up: processes, namespaces, links, files');
  await cleanup();
  progress(status === 0 ? 'done' : interrupted ? 'done (interrupted)' : 'done (with the failure above)');
}
process.exit(status);

/**
 * felt, as a user runs it: a real etcd holding the network config, and one `feltd` per host started
 * with Flannel-style flags. feltd leases its own subnet, so each host's pod address follows the lease
 * written to its subnet file (FLANNEL_SUBNET=<subnet>.1/<len>).
 *
 * BENCH_FELTD_ARGS (space-separated) appends flags to both feltds, for experiments; BENCH_FELTD points
 * at another feltd executable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdctl, startEtcd } from '../lib/etcd.js';
import { waitFor } from '../lib/exec.js';
import { movePod, UNDERLAY_IF } from '../lib/topology.js';

const FELTD =
  process.env.BENCH_FELTD ?? fileURLToPath(new URL('../../packages/daemon/bin/feltd', import.meta.url));
const PREFIX = '/coreos.com/network';
const NETWORK = '10.244.0.0/16';
const METRICS_PORT = 9798;
const HEALTHZ_PORT = 9799;

/** How to start feltd: through this Node when the bin is a Node script, else directly. */
function feltdCommand() {
  if (!existsSync(FELTD)) {
    const error = new Error(`feltd not built (${FELTD} missing)`);
    error.code = 'BENCH_FELTD_MISSING';
    throw error;
  }
  const firstLine = readFileSync(FELTD, 'utf8').split('\n', 1)[0];
  return firstLine.startsWith('#!') && !firstLine.includes('node')
    ? [FELTD, []]
    : [process.execPath, [FELTD]];
}

function parseSubnetFile(text) {
  const m = text.match(/^FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.(\d+)\/(\d+)$/m);
  if (!m) return null;
  return { pod: `${m[1]}.${m[2]}`, podSubnet: `${m[1]}.0/${m[3]}` };
}

/** felt_* samples (no histogram buckets) with a non-zero value from one feltd's /metrics, scraped in its namespace. */
async function scrapeMetrics(lab, host) {
  const script = `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then(r=>r.text()).then(t=>process.stdout.write(t),e=>{console.error(e.message);process.exit(1)})`;
  const r = await lab.exec(host.ns, process.execPath, ['-e', script], { allowFail: true, timeoutMs: 10_000 });
  if (r.code !== 0) return { error: r.stderr.trim().slice(-200) };
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('felt_') && !l.includes('_bucket{') && !/ 0$/.test(l))
    .slice(0, 300);
}

/**
 * `workers` > 0 starts both feltds with --dataplane-workers=N (id felt-<backend>-mq<N>); without it
 * they run the default (auto).
 */
export function feltCase(backend, { workers = 0 } = {}) {
  return {
    id: workers > 0 ? `felt-${backend}-mq${workers}` : `felt-${backend}`,
    label: workers > 0 ? `felt ${backend} ${workers} workers` : `felt ${backend}`,
    group: 'felt',
    requires: ['etcd', 'etcdctl'],
    async setup(lab, hosts) {
      const [cmd, preArgs] = feltdCommand();
      const etcd = await startEtcd(lab, hosts.a);
      const config = { Network: NETWORK, Backend: { Type: backend } };
      await etcdctl(lab, etcd, ['put', `${PREFIX}/config`, JSON.stringify(config)]);
      const extra = (process.env.BENCH_FELTD_ARGS ?? '').split(' ').filter(Boolean);
      const processes = [];
      for (const host of [hosts.a, hosts.b]) {
        const subnetFile = join(lab.dir, `subnet-${host.name}.env`);
        const args = [
          ...preArgs,
          `--etcd-endpoints=${etcd.clientUrl}`,
          `--etcd-prefix=${PREFIX}`,
          `--iface=${UNDERLAY_IF}`,
          `--public-ip=${host.underlay}`,
          `--subnet-file=${subnetFile}`,
          '--tun-name=felt0',
          `--metrics-addr=127.0.0.1:${METRICS_PORT}`,
          `--healthz-port=${HEALTHZ_PORT}`,
          ...(workers > 0 ? [`--dataplane-workers=${workers}`] : []),
          ...extra,
        ];
        const proc = lab.spawn(host.ns, cmd, args, { label: `feltd@${host.name}` });
        processes.push(proc);
        host.subnetFile = subnetFile;
      }
      for (const [i, host] of [hosts.a, hosts.b].entries()) {
        const lease = await waitFor(
          `feltd@${host.name} to write its subnet file`,
          () => {
            processes[i].assertRunning();
            return existsSync(host.subnetFile) && parseSubnetFile(readFileSync(host.subnetFile, 'utf8'));
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        await movePod(lab, host, lease.pod, lease.podSubnet);
      }
      return {
        processes,
        collect: async () => ({ a: await scrapeMetrics(lab, hosts.a), b: await scrapeMetrics(lab, hosts.b) }),
      };
    },
  };
}

/**
 * A throw-away single-member etcd. For the felt cases it runs inside host a's namespace and listens on
 * a's underlay address, so both feltds reach it as they would a real cluster's etcd; a fresh namespace
 * has no other listeners, so the standard ports are free by construction. The registry benchmark runs
 * one on free loopback ports of the root namespace (startLocalEtcd). Stopped by PID with the lab; its
 * data directory lives in the lab's temp directory.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './exec.js';

const CLIENT_PORT = 2379;
const PEER_PORT = 2380;

/**
 * Starts etcd in `host`'s namespace (host.ns null: the root namespace); resolves once it answers, with
 * `clientUrl`.
 */
export async function startEtcd(lab, host, { clientPort = CLIENT_PORT, peerPort = PEER_PORT } = {}) {
  const clientUrl = `http://${host.underlay}:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const proc = lab.spawn(
    host.ns,
    'etcd',
    [
      '--name',
      'bench',
      '--data-dir',
      join(lab.dir, 'etcd'),
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `bench=${peerUrl}`,
      '--log-level',
      'warn',
    ],
    { label: `etcd@${host.name}` },
  );
  const etcd = { proc, clientUrl, host };
  await waitFor(
    'etcd to answer',
    async () => {
      proc.assertRunning();
      const r = await etcdctl(lab, etcd, ['endpoint', 'health'], { allowFail: true });
      return r.code === 0;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  return etcd;
}

export function etcdctl(lab, etcd, args, opts = {}) {
  return lab.exec(etcd.host.ns, 'etcdctl', [`--endpoints=${etcd.clientUrl}`, '--dial-timeout=2s', ...args], {
    timeoutMs: 10_000,
    env: { ...process.env, ETCDCTL_API: '3' },
    ...opts,
  });
}

/** etcd on free loopback ports of the root namespace, for benchmarks run from this process. */
export async function startLocalEtcd(lab) {
  const host = { ns: null, underlay: '127.0.0.1', name: 'loopback' };
  return startEtcd(lab, host, { clientPort: await freePort(), peerPort: await freePort() });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

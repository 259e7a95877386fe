/**
 * A throw-away single-member etcd for the felt cases, run inside host a's namespace and listening on
 * a's underlay address, so both feltds reach it as they would a real cluster's etcd. A fresh namespace
 * has no other listeners, so the standard ports are free by construction. Stopped by PID with the lab;
 * its data directory lives in the lab's temp directory.
 */
import { join } from 'node:path';
import { waitFor } from './exec.js';

const CLIENT_PORT = 2379;
const PEER_PORT = 2380;

/** Starts etcd in `host`'s namespace; resolves with its client URL once it answers. */
export async function startEtcd(lab, host) {
  const clientUrl = `http://${host.underlay}:${CLIENT_PORT}`;
  const peerUrl = `http://127.0.0.1:${PEER_PORT}`;
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

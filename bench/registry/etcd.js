/**
 * A throwaway single-member etcd for the registry benchmark: free loopback ports, data dir on tmpfs
 * when available, health-checked start, stopped by PID (also on Ctrl-C). The tests use the TypeScript
 * harness in test/harness/etcd.ts; this is its small plain-JS sibling so the bench needs no build step.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** Runs etcdctl (API v3); resolves with stdout. `input` goes to stdin (for `txn`). */
export function etcdctl(endpoint, args, input) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'etcdctl',
      [`--endpoints=${endpoint}`, ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 60_000, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`etcdctl ${args[0]}: ${stderr || err.message}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin.end(input);
  });
}

export async function startEtcd({ timeoutMs = 20_000 } = {}) {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'felt-bench-etcd-'));
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const name = `bench${process.pid}`;
  // biome-ignore format: one flag and its value per line
  const args = [
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `${name}=${peerUrl}`,
      '--log-level', 'warn',
      '--logger', 'zap',
  ];
  const child = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'ignore'] });
  let exited = false;
  const exit = new Promise((resolve) =>
    child.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const killNow = () => {
    if (!exited) process.kill(child.pid, 'SIGKILL');
  };
  process.once('exit', killNow);
  const stop = async () => {
    process.removeListener('exit', killNow);
    if (!exited) process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(killNow, 3_000);
    await exit;
    clearTimeout(timer);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1_000; i++) {
    if (exited) throw new Error('etcd exited during start-up');
    try {
      await etcdctl(endpoint, ['endpoint', 'health', '--command-timeout=1s', '--dial-timeout=1s']);
      return { endpoint, pid: child.pid, stop };
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error('etcd did not become healthy');
}

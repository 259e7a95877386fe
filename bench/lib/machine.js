/** What the numbers were measured on: CPU, cores, kernel, OS and the version of every tool involved. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { run } from './exec.js';

async function firstLine(cmd, args) {
  const r = await run(cmd, args, { allowFail: true, timeoutMs: 10_000 }).catch(() => null);
  if (!r) return null;
  const text = `${r.stdout}\n${r.stderr}`.trim();
  return r.code === 0 || text ? text.split('\n')[0].trim() || null : null;
}

async function debianVersion(pkg) {
  // `dpkg-query -W` prints "<package>\t<version>".
  const r = await run('dpkg-query', ['-W', pkg], { allowFail: true, timeoutMs: 10_000 });
  return r.code === 0 ? (r.stdout.trim().split('\t')[1] ?? null) : null;
}

function readOr(path, fallback = null) {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}

export async function describeMachine(repoDir) {
  const cpus = os.cpus();
  const osRelease = readOr('/etc/os-release', '');
  const commit = await run('git', ['-C', repoDir, 'rev-parse', '--short', 'HEAD'], { allowFail: true });
  const dirty = await run('git', ['-C', repoDir, 'status', '--porcelain', '--untracked-files=no'], {
    allowFail: true,
  });
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    os: osRelease.match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] ?? os.type(),
    hostTcpCongestionControl: readOr('/proc/sys/net/ipv4/tcp_congestion_control'),
    loadAverageAtStart: os.loadavg(),
    versions: {
      node: process.version,
      felt: commit.code === 0 ? `${commit.stdout.trim()}${dirty.stdout.trim() ? '+dirty' : ''}` : null,
      iperf3: await firstLine('iperf3', ['--version']),
      etcd: await firstLine('etcd', ['--version']),
      iproute2: await firstLine('ip', ['-V']),
      ping: await firstLine('ping', ['-V']),
      quicktun: await debianVersion('quicktun'),
      tinc: await firstLine('tincd', ['--version']),
      fastd: await firstLine('fastd', ['--version']),
    },
  };
}

/** One line for captions: "AMD EPYC … (2 cores), Linux 6.18, Debian 12". */
export function machineSummary(m) {
  const cpu = m.cpuModel
    .replace(/\s+/g, ' ')
    .replace(/\(R\)|\(TM\)/g, '')
    .trim();
  return `${cpu} (${m.cores} cores), Linux ${m.kernel}, ${m.os}`;
}

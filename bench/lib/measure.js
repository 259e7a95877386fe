/**
 * The measurements, each run from host a's pod to host b's pod through whatever the case set up:
 * iperf3 single TCP stream (cubic), iperf3 UDP with 64-byte payloads at an unlimited rate, and ping RTT.
 */
import { startCpuSample } from './cpu.js';
import { waitFor } from './exec.js';
import { percentile } from './stats.js';

const IPERF_PORT = '5201';

/** Starts the iperf3 server on b's pod address; returns once it listens. */
export async function startIperfServer(lab, { b }) {
  const server = lab.spawn(b.ns, 'iperf3', ['-s', '-B', b.pod, '-p', IPERF_PORT, '--forceflush'], {
    label: 'iperf3 server',
  });
  await server.waitForOutput(/Server listening/, 10_000);
  return server;
}

/** Waits until b's pod answers a ping from a's pod (tunnels may take seconds to connect). */
export async function waitForOverlay(lab, { a, b }, timeoutMs, check = () => {}) {
  await waitFor(
    `${b.pod} to answer ping from ${a.pod}`,
    async () => {
      check();
      const r = await lab.exec(a.ns, 'ping', ['-n', '-c', '1', '-W', '1', '-I', a.pod, b.pod], {
        allowFail: true,
        timeoutMs: 5_000,
      });
      return r.code === 0;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

async function iperfClient(lab, { a, b }, args, seconds) {
  const r = await lab.exec(
    a.ns,
    'iperf3',
    [
      '-c',
      b.pod,
      '-B',
      a.pod,
      '-p',
      IPERF_PORT,
      '-t',
      String(seconds),
      '-J',
      '--connect-timeout',
      '3000',
      ...args,
    ],
    { timeoutMs: (seconds + 30) * 1000, allowFail: true },
  );
  let json;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw codeError('BENCH_IPERF_OUTPUT', `iperf3 printed no JSON (exit ${r.code}): ${r.stderr.slice(-300)}`);
  }
  if (json.error) throw codeError('BENCH_IPERF_FAILED', `iperf3: ${json.error}`);
  return json;
}

/** One TCP run; CPU of `pids` and of the machine is sampled over exactly this run. */
export async function tcpRun(lab, hosts, seconds, pids) {
  const sample = startCpuSample(pids);
  const json = await iperfClient(lab, hosts, ['-C', 'cubic'], seconds);
  const cpu = sample.end();
  const received = json.end.sum_received;
  return {
    gbps: received.bits_per_second / 1e9,
    senderGbps: json.end.sum_sent.bits_per_second / 1e9,
    retransmits: json.end.sum_sent.retransmits ?? null,
    congestion: json.end.sender_tcp_congestion ?? null,
    cpu,
  };
}

/** One UDP run with 64-byte payloads, unlimited rate: packets the receiver got per second, and loss. */
export async function udpRun(lab, hosts, seconds, pids) {
  const sample = startCpuSample(pids);
  const json = await iperfClient(lab, hosts, ['-u', '-l', '64', '-b', '0'], seconds);
  const cpu = sample.end();
  const sum = json.end.sum_received ?? json.end.sum;
  const sent = json.end.sum_sent ?? json.end.sum;
  const received = sum.packets - (sum.lost_packets ?? 0);
  return {
    pps: received / sum.seconds,
    sentPps: sent.packets / sent.seconds,
    lossPercent: sum.packets > 0 ? (100 * (sum.lost_packets ?? 0)) / sum.packets : null,
    cpu,
  };
}

/** `count` pings 10 ms apart; RTT percentiles in microseconds. */
export async function pingRun(lab, { a, b }, count) {
  const r = await lab.exec(
    a.ns,
    'ping',
    ['-n', '-i', '0.01', '-W', '1', '-c', String(count), '-I', a.pod, b.pod],
    {
      timeoutMs: count * 10 + 20_000,
      allowFail: true,
    },
  );
  const rtts = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
  if (rtts.length === 0) throw codeError('BENCH_PING_FAILED', `no ping replies: ${r.stdout.slice(-300)}`);
  return {
    rtts,
    p50Us: percentile(rtts, 50),
    p99Us: percentile(rtts, 99),
    replies: rtts.length,
    lossPercent: (100 * (count - rtts.length)) / count,
  };
}

function codeError(code, message) {
  const error = new Error(message);
  error.code = code;
  return error;
}

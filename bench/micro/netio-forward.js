/**
 * What TUN offloads buy, measured on the smallest data path @felt/netio can build: two namespaces, each
 * with a TUN, joined only by this process (poll → batched read → [split] → batched write). One iperf3
 * TCP stream (cubic) runs from ns A to ns B through it, in three modes, same run:
 *   plain      TUNs without virtio header: 1 read + 1 write per MTU-sized packet;
 *   split      TSO/USO on: reads return up to 64 KiB super-packets, Tun.split makes MTU packets;
 *   coalesced  as split, then Tun.writeCoalesced merges them again: one write per super-packet.
 * (No encapsulation or UDP in between: this isolates the TUN side.) Also reports the CPU cost of
 * Tun.split per segment on a 64 KiB TCP super-packet.
 *
 *   node bench/micro/netio-forward.js [--json]     (BENCH_QUICK=1: 2 s per mode instead of 5 s)
 */
import {
  createPoller,
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_SEGMENT,
  MSG_STRIDE,
  openTun,
  PollEvents,
  TunOffload,
  VNET_HDR_LEN,
} from '@felt/netio';
import { installTeardownHandlers, Lab } from '../lib/lab.js';

const json = process.argv.includes('--json');
const quick = process.env.BENCH_QUICK === '1';
const SECONDS = quick ? 2 : 5;
const log = (line) => process.stderr.write(`${line}\n`);
const OFFLOADS = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6 | TunOffload.USO4 | TunOffload.USO6;

const READ_SLOT = 65_536 + 64;
const READS = 16;
const TARGET_SLOT = 96 * 1024;
const HEADROOM = 16;
const RECORDS = 1024;
const DIRECTION_BYTES = READS * (READ_SLOT + TARGET_SLOT);

/** A forwarder between two TUN handles sharing one region; `mode` as in the header comment. */
function makeForwarder(mode) {
  const memory = new Uint8Array(new SharedArrayBuffer(2 * DIRECTION_BYTES));
  const meta = new Int32Array(2 * RECORDS * MSG_STRIDE);
  const stats = { reads: 0, readCalls: 0, segments: 0, writes: 0, dropped: 0 };
  const offload = mode !== 'plain';

  function forward(from, to, direction) {
    const base = direction * DIRECTION_BYTES;
    const first = direction * (RECORDS / 2);
    const targets = first + READS;
    const writes = targets + READS;
    for (let round = 0; round < 64; round++) {
      for (let r = 0; r < READS; r++) {
        meta[(first + r) * MSG_STRIDE + MSG_OFFSET] = base + r * READ_SLOT + HEADROOM;
        meta[(first + r) * MSG_STRIDE + MSG_LENGTH] = READ_SLOT - HEADROOM;
      }
      const n = from.read(first, READS);
      stats.readCalls++;
      if (n === 0) return;
      stats.reads += n;
      if (!offload) {
        to.write(first, n);
        stats.writes += n;
        continue;
      }
      let out = 0;
      const emit = (start, length) => {
        const plainWrite = mode === 'split';
        if (plainWrite) memory.fill(0, start - VNET_HDR_LEN, start);
        const rec = (writes + out++) * MSG_STRIDE;
        meta[rec + MSG_OFFSET] = plainWrite ? start - VNET_HDR_LEN : start;
        meta[rec + MSG_LENGTH] = plainWrite ? length + VNET_HDR_LEN : length;
      };
      for (let r = 0; r < n; r++) {
        const offset = meta[(first + r) * MSG_STRIDE + MSG_OFFSET];
        const length = meta[(first + r) * MSG_STRIDE + MSG_LENGTH];
        const target = targets + r;
        meta[target * MSG_STRIDE + MSG_OFFSET] = base + READS * READ_SLOT + r * TARGET_SLOT;
        meta[target * MSG_STRIDE + MSG_LENGTH] = TARGET_SLOT;
        const k = length > 0 ? from.split(first + r, target, HEADROOM) : -1;
        if (k < 0) {
          stats.dropped++;
        } else if (k === 0) {
          stats.segments++;
          emit(offset + VNET_HDR_LEN, length - VNET_HDR_LEN);
        } else {
          stats.segments += k;
          const start = meta[target * MSG_STRIDE + MSG_OFFSET];
          const stride = meta[target * MSG_STRIDE + MSG_SEGMENT];
          const total = meta[target * MSG_STRIDE + MSG_LENGTH];
          for (let i = 0; i < k; i++) {
            const at = start + i * stride + HEADROOM;
            emit(at, (i + 1 < k ? start + (i + 1) * stride : start + total) - at);
          }
        }
      }
      if (mode === 'split') {
        to.write(writes, out);
        stats.writes += out;
      } else {
        to.writeCoalesced(writes, out);
        for (let i = 0; i < out; ) {
          stats.writes++;
          i += Math.max(1, meta[(writes + i) * MSG_STRIDE + MSG_SEGMENT]);
        }
      }
    }
  }
  return { memory, meta, stats, forward };
}

async function runMode(mode) {
  const lab = new Lab(`fw${mode[0]}`);
  const pollers = [];
  try {
    const nsA = await lab.addNetns('a');
    const nsB = await lab.addNetns('b');
    const offload = mode !== 'plain';
    const options = offload ? { vnetHeader: true, offloads: OFFLOADS } : {};
    const tunA = openTun({ name: lab.name('ta'), ...options });
    const tunB = openTun({ name: lab.name('tb'), ...options });
    lab.track(() => tunA.close());
    lab.track(() => tunB.close());
    const fw = makeForwarder(mode);
    for (const [tun, ns, local, remote] of [
      [tunA, nsA, '1', '2'],
      [tunB, nsB, '2', '1'],
    ]) {
      tun.attach(fw.memory, fw.meta);
      await lab.exec(null, 'ip', ['link', 'set', tun.name, 'netns', ns]);
      await lab.exec(ns, 'sysctl', ['-qw', `net.ipv6.conf.${tun.name}.disable_ipv6=1`]);
      await lab.exec(ns, 'ip', ['addr', 'add', `10.80.${local}.1/24`, 'dev', tun.name]);
      await lab.exec(ns, 'ip', ['link', 'set', tun.name, 'up']);
      await lab.exec(ns, 'ip', ['route', 'add', `10.80.${remote}.0/24`, 'dev', tun.name]);
    }
    const pollA = createPoller(tunA.fd, () => fw.forward(tunA, tunB, 0));
    const pollB = createPoller(tunB.fd, () => fw.forward(tunB, tunA, 1));
    pollers.push(pollA, pollB);
    pollA.start(PollEvents.READABLE);
    pollB.start(PollEvents.READABLE);

    const server = lab.spawn(nsB, 'iperf3', ['-s', '-1', '-B', '10.80.2.1', '--forceflush']);
    await server.waitForOutput(/Server listening/, 10_000);
    const cpuBefore = process.cpuUsage();
    const client = await lab.exec(
      nsA,
      'iperf3',
      ['-c', '10.80.2.1', '-t', String(SECONDS), '-J', '-C', 'cubic', '--connect-timeout', '3000'],
      { timeoutMs: (SECONDS + 30) * 1000, allowFail: true },
    );
    const cpu = process.cpuUsage(cpuBefore);
    const report = JSON.parse(client.stdout);
    if (report.error) throw new Error(`iperf3: ${report.error}`);
    const gbps = report.end.sum_received.bits_per_second / 1e9;
    const { stats } = fw;
    return {
      mode,
      gbps: +gbps.toFixed(2),
      retransmits: report.end.sum_sent.retransmits ?? null,
      segmentsPerRead: +(stats.segments / Math.max(stats.reads, 1) || 1).toFixed(1),
      packetsPerWrite: +(
        (mode === 'plain' ? stats.reads : stats.segments) / Math.max(stats.writes, 1)
      ).toFixed(1),
      forwarderCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / SECONDS) * 100),
      dropped: stats.dropped,
    };
  } finally {
    for (const p of pollers) p.close();
    await lab.dispose();
  }
}

/** CPU cost of Tun.split per segment: a 64 KiB TCP/IPv4 super-packet (45 × 1448 B), in memory only. */
function benchSplit() {
  const tun = openTun({ vnetHeader: true, offloads: OFFLOADS });
  try {
    const memory = new Uint8Array(new SharedArrayBuffer(256 * 1024));
    const meta = new Int32Array(2 * MSG_STRIDE);
    tun.attach(memory, meta);
    const payload = 45 * 1448;
    const length = VNET_HDR_LEN + 20 + 20 + payload;
    const v = new DataView(memory.buffer);
    v.setUint8(0, 1); // NEEDS_CSUM
    v.setUint8(1, 1); // TCPV4
    v.setUint16(2, 40, true);
    v.setUint16(4, 1448, true);
    v.setUint16(6, 20, true);
    v.setUint16(8, 16, true);
    const ip = VNET_HDR_LEN;
    v.setUint8(ip, 0x45);
    v.setUint16(ip + 2, length - VNET_HDR_LEN);
    v.setUint8(ip + 8, 64);
    v.setUint8(ip + 9, 6);
    v.setUint32(ip + 12, 0x0a500101);
    v.setUint32(ip + 16, 0x0a500201);
    v.setUint8(ip + 32, 5 << 4);
    v.setUint8(ip + 33, 0x10);
    const rounds = quick ? 2000 : 10_000;
    let ns = 0n;
    for (let i = 0; i < rounds + 200; i++) {
      meta.set([0, length], 0);
      meta.set([100_000, 150_000], MSG_STRIDE);
      const t0 = process.hrtime.bigint();
      const k = tun.split(0, 1, 22);
      const t1 = process.hrtime.bigint();
      if (k !== 45) throw new Error(`split returned ${k}`);
      if (i >= 200) ns += t1 - t0;
    }
    return { segments: 45, nsPerSegment: Math.round(Number(ns) / (rounds * 45)) };
  } finally {
    tun.close();
  }
}

async function main() {
  installTeardownHandlers(log);
  const modes = [];
  const notes = [];
  for (const mode of ['plain', 'split', 'coalesced']) {
    log(`netio forward: ${mode}, ${SECONDS} s`);
    try {
      modes.push(await runMode(mode));
    } catch (err) {
      notes.push(`${mode}: ${err.message}`);
    }
  }
  const split = benchSplit();
  const plain = modes.find((m) => m.mode === 'plain');
  for (const m of modes) if (plain && m !== plain) m.vsPlain = +(m.gbps / plain.gbps).toFixed(2);
  const table = [
    `### @felt/netio TUN ⇄ TUN forwarder, one TCP stream (iperf3, ${SECONDS} s per mode)`,
    '',
    '| mode | Gbit/s | × plain | segments per read | packets per write | forwarder CPU | retransmits |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...modes.map(
      (m) =>
        `| ${m.mode} | ${m.gbps} | ${m.vsPlain ?? 1} | ${m.segmentsPerRead} | ${m.packetsPerWrite} | ${m.forwarderCpuPercent} % | ${m.retransmits} |`,
    ),
    '',
    `Tun.split: ${split.nsPerSegment} ns per segment (64 KiB TCP super-packet → 45 × 1448 B, checksums included)`,
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  if (json) {
    process.stderr.write(table);
    process.stdout.write(
      `${JSON.stringify({ benchmark: 'netio-forward', seconds: SECONDS, modes, split, notes }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(table);
  }
}

await main();

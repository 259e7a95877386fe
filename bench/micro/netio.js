/**
 * Micro-benchmark of @felt/netio, all in one run: per-packet cost of
 *   - a batched TUN read (and the batched TUN write that feeds it), 64 × 1,400 B per call;
 *   - a batched UDP send (sendmmsg, 64 × 1,400 B) against Node's dgram.send on a connected socket;
 *   - a batched UDP receive (recvmmsg) and, when the kernel supports it, a UDP_SEGMENT (GSO) send.
 *
 * TUN traffic stays inside a namespace this script creates: the TUN is opened here, moved into the
 * namespace, and packets written into it (10.78.2.x → 10.78.1.x) are forwarded by the namespace's kernel
 * straight back out of the same TUN, where they are read. UDP runs on root-namespace 127.0.0.1.
 *
 *   node bench/micro/netio.js [--json]      (BENCH_QUICK=1 for fewer rounds)
 * Markdown goes to stdout, or to stderr with --json (then stdout is JSON only).
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import {
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_SEGMENT,
  MSG_STRIDE,
  openTun,
  openUdp,
  setRecordPeer,
} from '@felt/netio';
import { installTeardownHandlers, Lab } from '../lib/lab.js';

const json = process.argv.includes('--json');
const quick = process.env.BENCH_QUICK === '1';
const BATCH = 64;
const PACKET = 1400;
const SLOT = 2048;
const ROUNDS = quick ? 300 : 2000;
const WARMUP = 50;
const log = (line) => process.stderr.write(`${line}\n`);

const now = () => process.hrtime.bigint();

function region(records, slot = SLOT) {
  return {
    memory: new Uint8Array(new SharedArrayBuffer(records * slot)),
    meta: new Int32Array(records * MSG_STRIDE),
    slot,
  };
}

/** Points every record at its slot with `length` bytes (or capacity). */
function arm(r, count, length) {
  for (let i = 0; i < count; i++) {
    r.meta[i * MSG_STRIDE + MSG_OFFSET] = i * r.slot;
    r.meta[i * MSG_STRIDE + MSG_LENGTH] = length;
  }
}

function ipv4Checksum(bytes, offset) {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (bytes[offset + i] << 8) | bytes[offset + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A 1,400-byte IPv4/UDP packet 10.78.2.<i> → 10.78.1.<i> (UDP checksum 0: allowed, unchecked when forwarding). */
function writePacket(bytes, offset, i) {
  const v = new DataView(bytes.buffer, offset, PACKET);
  v.setUint8(0, 0x45);
  v.setUint16(2, PACKET);
  v.setUint16(4, i);
  v.setUint8(8, 64);
  v.setUint8(9, 17);
  v.setUint32(12, (10 << 24) | (78 << 16) | (2 << 8) | (1 + (i % 250)));
  v.setUint32(16, (10 << 24) | (78 << 16) | (1 << 8) | (1 + (i % 250)));
  v.setUint16(10, ipv4Checksum(bytes, offset));
  v.setUint16(20, 4000);
  v.setUint16(22, 5000);
  v.setUint16(24, PACKET - 20);
}

function result(id, label, batch, totalNs, packets) {
  const nsPerPacket = Number(totalNs) / packets;
  return {
    id,
    label,
    batch,
    packets,
    nsPerPacket: Math.round(nsPerPacket),
    mpps: +(1000 / nsPerPacket).toFixed(3),
  };
}

async function benchTun(lab) {
  const ns = await lab.addNetns('nio');
  const tun = openTun({ name: lab.name('tun') });
  lab.track(() => tun.close());
  const sh = (args) => lab.exec(ns, args[0], args.slice(1));
  await lab.exec(null, 'ip', ['link', 'set', tun.name, 'netns', ns]);
  for (const key of [
    'net.ipv4.ip_forward=1',
    'net.ipv4.conf.all.rp_filter=0',
    `net.ipv4.conf.${tun.name}.rp_filter=0`,
    'net.ipv4.conf.all.send_redirects=0',
    `net.ipv4.conf.${tun.name}.send_redirects=0`,
    `net.ipv6.conf.${tun.name}.disable_ipv6=1`,
  ]) {
    await sh(['sysctl', '-qw', key]);
  }
  await sh(['ip', 'addr', 'add', '10.78.0.1/24', 'dev', tun.name]);
  await sh(['ip', 'link', 'set', tun.name, 'up', 'txqueuelen', '1000']);
  await sh(['ip', 'route', 'add', '10.78.1.0/24', 'dev', tun.name]);
  await sh(['ip', 'route', 'add', '10.78.2.0/24', 'dev', tun.name]);

  // One handle both ways: records 0..63 are written in, records 64..127 receive what comes back out.
  const both = region(2 * BATCH);
  for (let i = 0; i < BATCH; i++) writePacket(both.memory, i * SLOT, i);
  tun.attach(both.memory, both.meta);
  let writeNs = 0n;
  let readNs = 0n;
  let written = 0;
  let read = 0;
  let lost = 0;
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    arm(both, BATCH, PACKET);
    const t0 = now();
    const w = tun.write(0, BATCH);
    const t1 = now();
    for (let i = 0; i < BATCH; i++) {
      both.meta[(BATCH + i) * MSG_STRIDE + MSG_OFFSET] = (BATCH + i) * SLOT;
      both.meta[(BATCH + i) * MSG_STRIDE + MSG_LENGTH] = SLOT;
    }
    const t2 = now();
    const r = tun.read(BATCH, BATCH);
    const t3 = now();
    // Forwarding ran inside write(): whatever is missing now was dropped by the kernel.
    lost += w - r;
    if (round >= WARMUP) {
      writeNs += t1 - t0;
      readNs += t3 - t2;
      written += w;
      read += r;
    }
  }
  if (read === 0) throw new Error('no packet came back out of the TUN: forwarding setup failed');
  return {
    results: [
      result('tun-read', 'TUN read (batched, non-blocking)', BATCH, readNs, read),
      result(
        'tun-write',
        'TUN write (batched; includes kernel forwarding back to the TUN)',
        BATCH,
        writeNs,
        written,
      ),
    ],
    lost,
  };
}

function drainUdp(socket, r) {
  let total = 0;
  for (let i = 0; i < 10_000; i++) {
    arm(r, BATCH, SLOT);
    const n = socket.recv(0, BATCH);
    total += n;
    if (n === 0) break;
  }
  return total;
}

async function benchUdp() {
  const receiver = openUdp({ family: 4, address: '127.0.0.1', port: 0, recvBufferSize: 64 << 20 });
  const sender = openUdp({ family: 4, address: '127.0.0.1', port: 0, sendBufferSize: 8 << 20 });
  const client = dgram.createSocket('udp4');
  try {
    const out = region(BATCH);
    const inbound = region(BATCH);
    sender.attach(out.memory, out.meta);
    receiver.attach(inbound.memory, inbound.meta);
    arm(out, BATCH, PACKET);
    for (let i = 0; i < BATCH; i++) setRecordPeer(out.meta, i, '127.0.0.1', receiver.localPort);

    let sendNs = 0n;
    let sent = 0;
    let recvNs = 0n;
    let received = 0;
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (let i = 0; i < BATCH; i++) out.meta[i * MSG_STRIDE + MSG_LENGTH] = PACKET;
      const t0 = now();
      const n = sender.send(0, BATCH);
      const t1 = now();
      let got = 0;
      let spent = 0n;
      for (let i = 0; i < 100 && got < n; i++) {
        arm(inbound, BATCH, SLOT);
        const t2 = now();
        const k = receiver.recv(0, BATCH);
        spent += now() - t2;
        got += k;
        if (k === 0) break;
      }
      if (round >= WARMUP) {
        sendNs += t1 - t0;
        sent += n;
        recvNs += spent;
        received += got;
      }
    }

    // Node's dgram on a connected socket, same datagrams, same receiver.
    client.connect(receiver.localPort, '127.0.0.1');
    await once(client, 'connect');
    const payload = Buffer.alloc(PACKET, 7);
    let dgramNs = 0n;
    let dgramSent = 0;
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      const t0 = now();
      const done = new Promise((resolve, reject) => {
        for (let i = 0; i < BATCH - 1; i++) client.send(payload);
        client.send(payload, (err) => (err ? reject(err) : resolve()));
      });
      await done;
      const t1 = now();
      if (round >= WARMUP) {
        dgramNs += t1 - t0;
        dgramSent += BATCH;
      }
      drainUdp(receiver, inbound);
    }

    const results = [
      result('udp-sendmmsg', 'UDP send, felt sendmmsg (batched)', BATCH, sendNs, sent),
      result('udp-dgram', 'UDP send, Node dgram.send (connected)', 1, dgramNs, dgramSent),
      result('udp-recvmmsg', 'UDP receive, felt recvmmsg (batched)', BATCH, recvNs, Math.max(received, 1)),
    ];

    if (sender.gsoSupported) {
      // Two messages of 44 × 1,400 B segments each: the kernel segments, one sendmmsg per batch.
      const SEGMENTS = 44;
      const big = region(2, SEGMENTS * PACKET);
      const gsoSender = openUdp({ family: 4, address: '127.0.0.1', port: 0, sendBufferSize: 8 << 20 });
      try {
        gsoSender.attach(big.memory, big.meta);
        let gsoNs = 0n;
        let segments = 0;
        for (let round = 0; round < WARMUP + ROUNDS; round++) {
          for (let i = 0; i < 2; i++) {
            big.meta[i * MSG_STRIDE + MSG_OFFSET] = i * big.slot;
            big.meta[i * MSG_STRIDE + MSG_LENGTH] = SEGMENTS * PACKET;
            big.meta[i * MSG_STRIDE + MSG_SEGMENT] = PACKET;
            setRecordPeer(big.meta, i, '127.0.0.1', receiver.localPort);
          }
          const t0 = now();
          const n = gsoSender.send(0, 2);
          const t1 = now();
          if (round >= WARMUP) {
            gsoNs += t1 - t0;
            for (let i = 0; i < n; i++) if (big.meta[i * MSG_STRIDE + MSG_LENGTH] > 0) segments += SEGMENTS;
          }
          drainUdp(receiver, inbound);
        }
        if (segments > 0) {
          results.push(
            result(
              'udp-gso',
              'UDP send, felt sendmmsg + UDP_SEGMENT (per segment)',
              2 * SEGMENTS,
              gsoNs,
              segments,
            ),
          );
        }
      } finally {
        gsoSender.close();
      }
    }
    return results;
  } finally {
    client.close();
    sender.close();
    receiver.close();
  }
}

function markdown(results, notes) {
  const lines = [
    `### @felt/netio micro-benchmark (${PACKET} B packets, ${ROUNDS} rounds)`,
    '',
    '| operation | packets per call | ns/packet | Mpps |',
    '|---|---:|---:|---:|',
    ...results.map((r) => `| ${r.label} | ${r.batch} | ${r.nsPerPacket} | ${r.mpps} |`),
  ];
  return [...lines, '', ...notes.map((n) => `- ${n}`), ''].join('\n');
}

async function main() {
  installTeardownHandlers(log);
  const lab = new Lab('netio');
  const notes = [];
  const results = [];
  try {
    log('netio micro: TUN read/write');
    const tun = await benchTun(lab);
    results.push(...tun.results);
    if (tun.lost > 0) notes.push(`${tun.lost} forwarded packets were dropped by the kernel (not read back)`);
  } catch (err) {
    notes.push(`TUN benchmark skipped: ${err.message}`);
  } finally {
    await lab.dispose();
  }
  log('netio micro: UDP send/receive');
  results.push(...(await benchUdp()));
  const mmsg = results.find((r) => r.id === 'udp-sendmmsg');
  const node = results.find((r) => r.id === 'udp-dgram');
  if (mmsg && node)
    notes.push(
      `sendmmsg is ${(node.nsPerPacket / mmsg.nsPerPacket).toFixed(2)}× cheaper per packet than dgram.send`,
    );
  const table = markdown(results, notes);
  if (json) {
    process.stderr.write(table);
    process.stdout.write(
      `${JSON.stringify({ benchmark: 'netio', unit: 'ns/packet', packetBytes: PACKET, rounds: ROUNDS, results, notes }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(table);
  }
}

await main();

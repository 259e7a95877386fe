/**
 * Micro-benchmarks of felt's per-packet work in JS (no system calls): encapsulation with route lookup
 * and decapsulation with validation per backend, 64 B and 1400 B packets, 10 and 5,000 peers; route
 * lookup alone at 10 / 1,000 / 10,000 peers; pool acquire + release. Each case runs in a fresh Node
 * process and also counts garbage collections during its timed loop (0 = it allocated nothing).
 *
 *   node bench/micro/dataplane.js            markdown table
 *   node bench/micro/dataplane.js --json     JSON (BENCH_QUICK=1: fewer iterations)
 * Needs the built dist (pnpm exec tsc -b).
 */
import { execFileSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  BufferPool,
  createForwarderFixture,
  decapsulatePacket,
  encapsulatePacket,
  RouteTableReader,
  RouteTableWriter,
  routeTableLayout,
  writeIpv4Packet,
} from '@felt/dataplane/testing';

const QUICK = process.env.BENCH_QUICK === '1';
const ITERATIONS = QUICK ? 1_000_000 : 5_000_000;
const WARMUP = 300_000;
const ROUNDS = 9;

/** Peer k's subnet base and underlay address in the fixture (k = 0 is node B or A; see forwarder-fixture). */
function fixturePeer(k, self) {
  if (k === 0)
    return self === 'a' ? { base: 0x0a000200, addr: 0xc6120002 } : { base: 0x0a000100, addr: 0xc6120001 };
  const n = k - 1 + 3;
  return { base: (0x0a000000 | (n << 8)) >>> 0, addr: (0xc6130000 | n) >>> 0 };
}

/**
 * Times `body` in ROUNDS rounds after a warm-up. The machine is shared, and noise only ever adds time,
 * so the best round is the figure (the median is reported next to it).
 */
function timed(iterations, body) {
  const gcStarts = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcStarts.push(e.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  body(WARMUP);
  const perRound = Math.ceil(iterations / ROUNDS);
  const rounds = [];
  const loopStart = performance.now();
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    body(perRound);
    rounds.push(Number(process.hrtime.bigint() - t0) / perRound);
  }
  const loopEnd = performance.now();
  rounds.sort((x, y) => x - y);
  return new Promise((resolve) =>
    setTimeout(() => {
      observer.disconnect();
      const gcs = gcStarts.filter((t) => t >= loopStart && t <= loopEnd).length;
      const best = rounds[0];
      resolve({ nsPerOp: best, nsPerOpMedian: rounds[ROUNDS >> 1], mpps: 1e3 / best, gcs });
    }, 50),
  );
}

function encapCase(backend, size, peers) {
  const { a } = createForwarderFixture({ backend, extraPeers: peers - 1 });
  const state = a.state;
  const buf = state.memory;
  const inner = state.pool.packetStart(state.pool.acquire());
  writeIpv4Packet(buf, inner, { source: 0x0a000105, destination: 0x0a000207, length: size, ttl: 64 });
  const checksumHi = buf[inner + 10];
  const checksumLo = buf[inner + 11];
  const destinations = Int32Array.from({ length: peers }, (_, k) => fixturePeer(k, 'a').base + 7);
  return (count) => {
    let sent = 0;
    for (let i = 0; i < count; i++) {
      const dst = destinations[i % peers];
      buf[inner + 8] = 64;
      buf[inner + 10] = checksumHi;
      buf[inner + 11] = checksumLo;
      buf[inner + 16] = dst >>> 24;
      buf[inner + 17] = dst >>> 16;
      buf[inner + 18] = dst >>> 8;
      buf[inner + 19] = dst;
      if (encapsulatePacket(state, inner, size) >= 0) sent++;
    }
    if (sent !== count) throw new Error(`encap dropped ${count - sent} packets`);
  };
}

function decapCase(backend, size, peers) {
  const { a, b } = createForwarderFixture({ backend, extraPeers: peers - 1 });
  const inner = a.state.pool.packetStart(a.state.pool.acquire());
  writeIpv4Packet(a.state.memory, inner, {
    source: 0x0a000105,
    destination: 0x0a000207,
    length: size,
    ttl: 64,
  });
  const start = encapsulatePacket(a.state, inner, size);
  const length = a.state.resultLength;
  const at = b.state.pool.slotStart(b.state.pool.acquire()) + 32;
  b.state.memory.set(a.state.memory.subarray(start, start + length), at);
  const buf = b.state.memory;
  const innerAt = at + (inner - start);
  const senders = Int32Array.from({ length: peers }, (_, k) => fixturePeer(k, 'b').addr | 0);
  const sources = Int32Array.from({ length: peers }, (_, k) => fixturePeer(k, 'b').base + 5);
  return (count) => {
    let delivered = 0;
    for (let i = 0; i < count; i++) {
      const k = i % peers;
      const src = sources[k];
      buf[innerAt + 12] = src >>> 24;
      buf[innerAt + 13] = src >>> 16;
      buf[innerAt + 14] = src >>> 8;
      buf[innerAt + 15] = src;
      if (decapsulatePacket(b.state, at, length, senders[k]) >= 0) delivered++;
    }
    if (delivered !== count) throw new Error(`decap dropped ${count - delivered} packets`);
  };
}

function lookupCase(peers) {
  const layout = routeTableLayout({
    networkBase: 0x0a000000,
    networkPrefix: 8,
    subnetPrefix: 24,
    maxPeers: peers,
  });
  const memory = new SharedArrayBuffer(layout.words * 4);
  const writer = new RouteTableWriter(memory, layout);
  const upserts = [];
  for (let k = 0; k < peers; k++) {
    const base = (0x0a000000 + (k + 1) * 256) >>> 0;
    upserts.push([
      k,
      {
        subnet: { base, prefixLength: 24, mask: 0xffffff00 },
        addr: 0xc6130000 + k,
        port: 8472,
        macHi: 0x0e2a,
        macLo: k,
      },
    ]);
  }
  writer.apply(upserts, []);
  const reader = new RouteTableReader(memory, layout);
  // Random destinations across the cluster network: hits and misses, no cache-friendly order.
  let seed = 12345;
  const destinations = Int32Array.from({ length: 65536 }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) | 0;
    return 0x0a000000 | ((seed >>> 8) & 0xffffff);
  });
  return (count) => {
    let found = 0;
    for (let i = 0; i < count; i++) if (reader.lookup(destinations[i & 65535]) >= 0) found++;
    if (found === 0 && peers > 100) throw new Error('no lookup hit');
  };
}

function poolCase() {
  const pool = new BufferPool({ slots: 256, slotSize: 2048 });
  return (count) => {
    for (let i = 0; i < count; i++) pool.release(pool.acquire());
  };
}

const CASES = [];
for (const op of ['encap', 'decap']) {
  for (const backend of ['udp', 'vxlan', 'ipip']) {
    for (const size of [64, 1400]) {
      for (const peers of [10, 5000]) {
        CASES.push({ id: `${op}:${backend}:${size}:${peers}`, op, backend, size, peers });
      }
    }
  }
}
for (const peers of [10, 1000, 10000]) CASES.push({ id: `lookup:${peers}`, op: 'lookup', peers });
CASES.push({ id: 'pool', op: 'pool' });

async function runCase(id) {
  const c = CASES.find((x) => x.id === id);
  const body =
    c.op === 'encap'
      ? encapCase(c.backend, c.size, c.peers)
      : c.op === 'decap'
        ? decapCase(c.backend, c.size, c.peers)
        : c.op === 'lookup'
          ? lookupCase(c.peers)
          : poolCase();
  return { ...c, ...(await timed(ITERATIONS, body)) };
}

const DESCRIBE = {
  encap: (c) => `encap + route lookup, ${c.backend}, ${c.size} B, ${c.peers} peers`,
  decap: (c) => `decap + validate, ${c.backend}, ${c.size} B, ${c.peers} peers`,
  lookup: (c) => `route lookup, ${c.peers} peers, random destinations`,
  pool: () => 'pool acquire + release',
};

const args = process.argv.slice(2);
const caseIndex = args.indexOf('--case');
if (caseIndex >= 0) {
  console.log(JSON.stringify(await runCase(args[caseIndex + 1])));
} else {
  const self = fileURLToPath(import.meta.url);
  const results = [];
  for (const c of CASES) {
    process.stderr.write(`dataplane micro: ${c.id}\n`);
    const out = execFileSync(process.execPath, [self, '--case', c.id], {
      encoding: 'utf8',
      env: process.env,
    });
    results.push(JSON.parse(out.trim().split('\n').at(-1)));
  }
  if (args.includes('--json')) {
    console.log(
      JSON.stringify(
        { benchmark: 'dataplane-micro', iterations: ITERATIONS, node: process.version, results },
        null,
        2,
      ),
    );
  } else {
    console.log(
      '| case | ns/packet (best round) | median | Mpps (best) | GCs in loop |\n|---|---|---|---|---|',
    );
    for (const r of results) {
      const cells = [
        DESCRIBE[r.op](r),
        r.nsPerOp.toFixed(1),
        r.nsPerOpMedian.toFixed(1),
        r.mpps.toFixed(1),
        r.gcs,
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
  }
}

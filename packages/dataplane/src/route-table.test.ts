import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Cidr, maskOf, parseCidr } from './ipv4.js';
import { RouteTableReader, routeTableLayout } from './route-table.js';
import { type PeerRecord, RouteTableWriter } from './route-table-writer.js';

const NETWORK = parseCidr('10.64.0.0/10')!;
const layout = routeTableLayout({
  networkBase: NETWORK.base,
  networkPrefix: 10,
  subnetPrefix: 24,
  maxPeers: 512,
});

function cidr(base: number, prefixLength: number): Cidr {
  const mask = maskOf(prefixLength);
  return { base: (base & mask) >>> 0, prefixLength, mask };
}

/** The slow reference: a linear scan for the longest matching prefix. */
function slowLookup(routes: Map<number, PeerRecord>, dst: number): number {
  let best = -1;
  let bestLength = -1;
  for (const [peer, record] of routes) {
    if ((dst & record.subnet.mask) >>> 0 === record.subnet.base && record.subnet.prefixLength > bestLength) {
      best = peer;
      bestLength = record.subnet.prefixLength;
    }
  }
  return best;
}

/** Mostly lease-sized subnets inside the network, some longer or shorter ones, some outside it. */
const routeArb = fc.tuple(
  fc.nat(0x3fffff),
  fc.integer({ min: 0, max: 9 }),
  fc.integer({ min: 8, max: 32 }),
  fc.nat(),
);
function routeFrom([offset, kind, length, any]: [number, number, number, number]): Cidr {
  if (kind < 6) return cidr(NETWORK.base + offset * 256, 24);
  if (kind < 8) return cidr(NETWORK.base + offset * 256 + (any & 255), 25 + (length % 8));
  if (kind < 9) return cidr(NETWORK.base + offset * 256, 11 + (length % 13));
  return cidr(any >>> 0, length);
}

function recordFor(peer: number, subnet: Cidr, generation: number): PeerRecord {
  const addr = (0xc6120000 + peer * 16 + generation) >>> 0;
  return { subnet, addr, port: 8472, macHi: 0x0e2a, macLo: (addr ^ 0x5a5a5a5a) | 0 };
}

describe('shared route table', () => {
  it('agrees with a linear longest-prefix scan on 10,000 random lookups while routes change', () => {
    fc.assert(
      fc.property(
        fc.array(routeArb, { minLength: 1, maxLength: 300 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 })), {
          minLength: 10_000,
          maxLength: 10_000,
        }),
        (routeSeeds, probes) => {
          const memory = new SharedArrayBuffer(layout.words * 4);
          const writer = new RouteTableWriter(memory, layout);
          const reader = new RouteTableReader(memory, layout);
          const current = new Map<number, PeerRecord>();
          const subnets = new Set<string>();
          const candidates = routeSeeds.map(routeFrom).filter((c) => {
            const key = `${c.base}/${c.prefixLength}`;
            if (subnets.has(key)) return false;
            subnets.add(key);
            return true;
          });
          let extras = 0;
          candidates.forEach((subnet, peer) => {
            const isExtra = !writer.isDirect(subnet);
            if (isExtra && extras >= 200) return;
            if (isExtra) extras++;
            current.set(peer, recordFor(peer, subnet, 0));
          });
          writer.apply([...current], []);
          const peers = [...current.keys()];
          for (const [i, [seed, mode]] of probes.entries()) {
            // Every 100 lookups: remove a route or put one back (updates interleaved with lookups).
            if (i % 100 === 99 && peers.length > 0) {
              const peer = peers[seed % peers.length];
              if (current.has(peer)) {
                current.delete(peer);
                writer.apply([], [peer]);
              } else {
                const record = recordFor(peer, candidates[peer], i % 7);
                current.set(peer, record);
                writer.apply([[peer, record]], []);
              }
            }
            let dst: number;
            if (mode === 0 || peers.length === 0) dst = seed >>> 0;
            else if (mode === 1) dst = (NETWORK.base + (seed & 0x3fffff)) >>> 0;
            else {
              const subnet = candidates[peers[seed % peers.length]];
              dst = (subnet.base + ((seed >>> 8) & ~subnet.mask)) >>> 0;
            }
            const expected = slowLookup(current, dst);
            reader.beginBatch();
            const got = reader.lookup(dst | 0);
            if (got !== expected)
              throw new Error(`lookup ${dst.toString(16)}: got ${got}, expected ${expected}`);
            if (got >= 0) {
              expect(reader.peerAddr).toBe(current.get(got)!.addr | 0);
              expect(reader.peerBySource(current.get(got)!.addr | 0)).toBe(got);
            }
            reader.endBatch();
          }
        },
      ),
      { numRuns: 5 },
    );
  });

  it('never gives a torn read to a worker looking up while the main thread rewrites peers', async () => {
    // The worker runs the compiled reader (build first: pnpm exec tsc -b).
    const memory = new SharedArrayBuffer(layout.words * 4);
    const writer = new RouteTableWriter(memory, layout);
    const peers = 200;
    const subnetOf = (peer: number): Cidr => cidr(NETWORK.base + peer * 256, 24);
    writer.apply(
      Array.from({ length: peers }, (_, p) => [p, recordFor(p, subnetOf(p), 0)] as const),
      [],
    );
    const control = new Int32Array(new SharedArrayBuffer(16));
    const readerUrl = new URL('../dist/route-table.js', import.meta.url).href;
    const worker = new Worker(
      `const { workerData: d, parentPort } = require('node:worker_threads');
       import(d.readerUrl).then(({ RouteTableReader }) => {
         const reader = new RouteTableReader(d.memory, d.layout);
         const control = new Int32Array(d.control);
         let lookups = 0, torn = 0, missing = 0;
         for (let i = 0; i < 50_000_000 && Atomics.load(control, 0) === 0; i++) {
           if (i % 64 === 0) reader.beginBatch();
           const dst = (d.base + (i % ${peers}) * 256 + 7) | 0;
           const peer = reader.lookup(dst);
           lookups++;
           if (peer < 0) missing++;
           else if ((reader.peerMacLo ^ 0x5a5a5a5a) !== reader.peerAddr || (dst & reader.peerSubnetMask) !== reader.peerSubnetBase) torn++;
           if (i % 64 === 63) reader.endBatch();
         }
         parentPort.postMessage({ lookups, torn, missing });
       });`,
      { eval: true, workerData: { memory, layout, control: control.buffer, readerUrl, base: NETWORK.base } },
    );
    const result = new Promise<{ lookups: number; torn: number; missing: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    // Rewrite every peer back to back for 1.5 s.
    const deadline = performance.now() + 1500;
    let writes = 0;
    for (let generation = 1; performance.now() < deadline; generation++) {
      writer.apply(
        Array.from({ length: peers }, (_, p) => [p, recordFor(p, subnetOf(p), generation % 16)] as const),
        [],
      );
      writes++;
    }
    expect(writes).toBeGreaterThan(50);
    Atomics.store(control, 0, 1);
    const { lookups, torn, missing } = await result;
    await worker.terminate();
    expect(lookups).toBeGreaterThan(10_000);
    expect(torn).toBe(0);
    expect(missing).toBe(0);
  });
});

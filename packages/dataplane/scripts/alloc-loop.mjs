// Runs packets through encapsulation (node A) and decapsulation (node B) in a loop and reports what
// the heap did, as JSON. Run with --expose-gc (alloc.test.ts does). argv: backend, packets, length,
// and 'allocate' to add one small allocation per packet (the control that shows the method works).
import { PerformanceObserver } from 'node:perf_hooks';
import {
  createForwarderFixture,
  decapsulatePacket,
  encapsulatePacket,
  writeIpv4Packet,
} from '@felt/dataplane/testing';

const [backend = 'vxlan', packetsText = '1000000', lengthText = '200', control] = process.argv.slice(2);
const allocate = control === 'allocate';
let kept;
const packets = Number(packetsText);
const length = Number(lengthText);
const { a, b } = createForwarderFixture({ backend, extraPeers: 100 });
const inner = a.state.pool.packetStart(a.state.pool.acquire());
const landing = b.state.pool.slotStart(b.state.pool.acquire()) + 32;
writeIpv4Packet(a.state.memory, inner, { source: 0x0a000105, destination: 0x0a000207, length, ttl: 64 });
const header = a.state.memory.slice(inner, inner + 20);

function run(count) {
  const src = a.state.memory;
  const dst = b.state.memory;
  let delivered = 0;
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < 20; j++) src[inner + j] = header[j];
    const start = encapsulatePacket(a.state, inner, length);
    const wireLength = a.state.resultLength;
    for (let j = 0; j < wireLength; j++) dst[landing + j] = src[start + j];
    if (decapsulatePacket(b.state, landing, wireLength, a.underlay) >= 0) delivered++;
    if (allocate) kept = [i];
  }
  return delivered;
}

run(100_000);
// GC entries arrive asynchronously: keep them all and count those that started inside the loop.
const gcStarts = [];
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcStarts.push(entry.startTime);
});
observer.observe({ entryTypes: ['gc'] });
globalThis.gc();
const before = process.memoryUsage();
const loopStart = performance.now();
const delivered = run(packets);
const loopEnd = performance.now();
globalThis.gc();
const after = process.memoryUsage();
setTimeout(() => {
  observer.disconnect();
  const gcsDuring = gcStarts.filter((t) => t >= loopStart && t <= loopEnd).length;
  console.log(
    JSON.stringify({
      delivered,
      heapUsedDelta: after.heapUsed - before.heapUsed,
      arrayBuffersDelta: after.arrayBuffers - before.arrayBuffers,
      gcsDuringLoop: gcsDuring,
      gcsObserved: gcStarts.length,
      kept: kept?.length ?? 0,
    }),
  );
}, 100);

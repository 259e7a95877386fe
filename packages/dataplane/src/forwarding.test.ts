import { MSG_LENGTH, MSG_OFFSET, MSG_STRIDE } from '@felt/netio';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BackendType, DROP_REASONS, type DropReason } from './api.js';
import { CounterReader } from './counters.js';
import { DIRECTION_RX, DIRECTION_TX } from './drops.js';
import type { ForwarderState } from './forwarder-state.js';
import { internetChecksum, parseIpv4 } from './ipv4.js';
import { decapsulatePacket } from './receive.js';
import { encapsulatePacket } from './send.js';
import { createForwarderFixture, writeIpv4Packet } from './testing/forwarder-fixture.js';

const BACKENDS: BackendType[] = ['udp', 'vxlan', 'ipip'];
const A_HOST = parseIpv4('10.0.1.5');
const B_HOST = parseIpv4('10.0.2.7');

function drops(state: ForwarderState, reason: DropReason, direction: number): number {
  return new CounterReader(state.counters.slots.buffer as SharedArrayBuffer).drop(
    DROP_REASONS.indexOf(reason),
    direction,
  ).packets;
}

function totalDrops(state: ForwarderState): number {
  const reader = new CounterReader(state.counters.slots.buffer as SharedArrayBuffer);
  let sum = 0;
  for (let r = 0; r < DROP_REASONS.length; r++) sum += reader.drop(r, DIRECTION_RX).packets;
  return sum;
}

/** The queued ICMP error of `state` (its bytes), asserting there is exactly one. */
function icmpError(state: ForwarderState): Uint8Array {
  expect(state.icmpCount).toBe(1);
  const record = state.icmpFirst * MSG_STRIDE;
  const at = state.meta[record + MSG_OFFSET];
  return state.memory.slice(at, at + state.meta[record + MSG_LENGTH]);
}

describe.each(BACKENDS)('%s forwarding between two in-memory nodes', (backend) => {
  it('delivers random packets intact, TTL decremented with a valid header checksum, counted per peer', () => {
    const { a, b } = createForwarderFixture({ backend, extraPeers: 3 });
    const slotA = a.state.pool.acquire();
    const slotB = b.state.pool.acquire();
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 1400 }),
        fc.integer({ min: 2, max: 255 }),
        fc.nat(255),
        (length, ttl, seed) => {
          const inner = a.state.pool.packetStart(slotA);
          writeIpv4Packet(a.state.memory, inner, { source: A_HOST, destination: B_HOST, length, ttl, seed });
          const original = a.state.memory.slice(inner, inner + length);
          const start = encapsulatePacket(a.state, inner, length);
          expect(start).toBeGreaterThanOrEqual(0);
          expect(a.state.routes.peerAddr).toBe(b.underlay);
          const wire = a.state.memory.slice(start, start + a.state.resultLength);

          // The wire bytes land in B's receive slot as the kernel would deliver them.
          const at = b.state.pool.slotStart(slotB) + 32;
          b.state.memory.set(wire, at);
          const got = decapsulatePacket(b.state, at, wire.length, a.underlay);
          expect(got).toBeGreaterThanOrEqual(0);
          const delivered = b.state.memory.slice(got, got + b.state.resultLength);
          expect(delivered.length).toBe(length);
          expect(delivered[8]).toBe(ttl - 1);
          expect(internetChecksum(delivered, 0, 20)).toBe(0);
          delivered[8] = original[8];
          delivered[10] = original[10];
          delivered[11] = original[11];
          expect(delivered).toEqual(original);
        },
      ),
      { numRuns: 300 },
    );
    const sent = new CounterReader(a.state.counters.slots.buffer as SharedArrayBuffer);
    expect(sent.peer(0, 0)).toBe(300);
    const received = new CounterReader(b.state.counters.slots.buffer as SharedArrayBuffer);
    expect(received.peer(0, 2)).toBe(300);
  });

  it('drops packets for our own subnet without touching the wire', () => {
    const { a } = createForwarderFixture({ backend });
    const inner = a.state.pool.packetStart(a.state.pool.acquire());
    writeIpv4Packet(a.state.memory, inner, {
      source: A_HOST,
      destination: parseIpv4('10.0.1.9'),
      length: 60,
    });
    expect(encapsulatePacket(a.state, inner, 60)).toBeLessThan(0);
    expect(drops(a.state, 'own_subnet', DIRECTION_TX)).toBe(1);
    expect(a.state.icmpCount).toBe(0);
  });

  it('answers no route with ICMP net unreachable (from the network address) and TTL 1 with ICMP time exceeded (from the peer tunnel address)', () => {
    const { a } = createForwarderFixture({ backend });
    const inner = a.state.pool.packetStart(a.state.pool.acquire());
    writeIpv4Packet(a.state.memory, inner, {
      source: A_HOST,
      destination: parseIpv4('10.9.9.9'),
      length: 84,
    });
    expect(encapsulatePacket(a.state, inner, 84)).toBeLessThan(0);
    let icmp = icmpError(a.state);
    expect(drops(a.state, 'no_route', DIRECTION_TX)).toBe(1);
    expect([icmp[9], icmp[20], icmp[21]]).toEqual([1, 3, 0]);
    expect([...icmp.subarray(12, 20)]).toEqual([10, 0, 0, 0, 10, 0, 1, 5]);
    expect(internetChecksum(icmp, 0, 20)).toBe(0);
    expect(internetChecksum(icmp, 20, icmp.length - 20)).toBe(0);
    expect(icmp.length).toBe(20 + 8 + 28);
    a.state.flushIcmp({ write: () => 1 });

    writeIpv4Packet(a.state.memory, inner, { source: A_HOST, destination: B_HOST, length: 84, ttl: 1 });
    expect(encapsulatePacket(a.state, inner, 84)).toBeLessThan(0);
    icmp = icmpError(a.state);
    expect(drops(a.state, 'ttl_exceeded', DIRECTION_TX)).toBe(1);
    expect([icmp[20], icmp[21]]).toEqual([11, 0]);
    expect([...icmp.subarray(12, 16)]).toEqual([10, 0, 2, 0]);
    a.state.flushIcmp({ write: () => 1 });
    expect(a.state.pool.free).toBe(a.state.pool.slots - 1);
  });

  it('too big: ICMP fragmentation needed with the tunnel MTU when DF is set, a silent drop otherwise', () => {
    const { a } = createForwarderFixture({ backend, tunMtu: 1000 });
    const inner = a.state.pool.packetStart(a.state.pool.acquire());
    writeIpv4Packet(a.state.memory, inner, {
      source: A_HOST,
      destination: B_HOST,
      length: 1200,
      dontFragment: true,
    });
    expect(encapsulatePacket(a.state, inner, 1200)).toBeLessThan(0);
    const icmp = icmpError(a.state);
    expect([icmp[20], icmp[21], (icmp[26] << 8) | icmp[27]]).toEqual([3, 4, 1000]);
    expect([...icmp.subarray(12, 16)]).toEqual([10, 0, 2, 0]);
    a.state.flushIcmp({ write: () => 1 });
    writeIpv4Packet(a.state.memory, inner, { source: A_HOST, destination: B_HOST, length: 1200 });
    expect(encapsulatePacket(a.state, inner, 1200)).toBeLessThan(0);
    expect(a.state.icmpCount).toBe(0);
    expect(drops(a.state, 'too_big', DIRECTION_TX)).toBe(2);
  });

  it('never answers an ICMP error with an ICMP error', () => {
    const { a } = createForwarderFixture({ backend });
    const inner = a.state.pool.packetStart(a.state.pool.acquire());
    writeIpv4Packet(a.state.memory, inner, {
      source: A_HOST,
      destination: parseIpv4('10.9.9.9'),
      length: 56,
      protocol: 1,
    });
    a.state.memory[inner + 20] = 3;
    expect(encapsulatePacket(a.state, inner, 56)).toBeLessThan(0);
    expect(a.state.icmpCount).toBe(0);
  });

  it('drops a spoofed inner source and an unknown sender on receive', () => {
    const { a, b } = createForwarderFixture({ backend, extraPeers: 2 });
    const inner = a.state.pool.packetStart(a.state.pool.acquire());
    // A claims a source in the third peer's subnet.
    writeIpv4Packet(a.state.memory, inner, {
      source: parseIpv4('10.0.3.1'),
      destination: B_HOST,
      length: 100,
    });
    const start = encapsulatePacket(a.state, inner, 100);
    const length = a.state.resultLength;
    const at = b.state.pool.slotStart(b.state.pool.acquire());
    b.state.memory.set(a.state.memory.subarray(start, start + length), at);
    expect(decapsulatePacket(b.state, at, length, a.underlay)).toBeLessThan(0);
    expect(drops(b.state, 'spoofed_source', DIRECTION_RX)).toBe(1);
    // Valid inner packet, but sent from an address that is no peer.
    expect(decapsulatePacket(b.state, at, length, parseIpv4('198.18.9.9') | 0)).toBeLessThan(0);
    expect(drops(b.state, 'unknown_peer', DIRECTION_RX)).toBe(1);
  });

  it('random datagrams from a known peer never throw and every rejection is a counted drop', () => {
    const { a, b } = createForwarderFixture({ backend });
    const at = b.state.pool.packetStart(b.state.pool.acquire()) - 32;
    let rejected = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        b.state.memory.set(bytes, at);
        const r = decapsulatePacket(b.state, at, bytes.length, a.underlay);
        expect(Number.isInteger(r)).toBe(true);
        if (r < 0) rejected++;
        expect(totalDrops(b.state)).toBe(rejected);
      }),
      { numRuns: 2000 },
    );
    expect(rejected).toBeGreaterThan(0);
  });
});

describe('vxlan receive checks', () => {
  it('drops a wrong VNI and counts it', () => {
    const { a } = createForwarderFixture({ backend: 'vxlan', vni: 1 });
    const { b } = createForwarderFixture({ backend: 'vxlan', vni: 2 });
    const inner = a.state.pool.packetStart(a.state.pool.acquire());
    writeIpv4Packet(a.state.memory, inner, { source: A_HOST, destination: B_HOST, length: 100 });
    const start = encapsulatePacket(a.state, inner, 100);
    const wire = a.state.memory.slice(start, start + a.state.resultLength);
    const at = b.state.pool.slotStart(b.state.pool.acquire());
    b.state.memory.set(wire, at);
    expect(decapsulatePacket(b.state, at, wire.length, a.underlay)).toBeLessThan(0);
    expect(drops(b.state, 'wrong_vni', DIRECTION_RX)).toBe(1);
  });
});

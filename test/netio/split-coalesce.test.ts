/**
 * Tun.split then Tun.coalesceInto (what writeCoalesced writes, into memory): random TCP and UDP
 * super-packets, IPv4 and IPv6, any segment size and tunnel headroom, come back as the same bytes.
 * A run of 2..64 segments becomes exactly the original super-packet (virtio header included); longer
 * runs become several super-packets carrying the same payload in order.
 */
import {
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_SEGMENT,
  MSG_STRIDE,
  openTun,
  type Tun,
  TunOffload,
  VNET_HDR_LEN,
} from '@felt/netio';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../harness/netns.js';
import { buildSuperPacket, parseSegment } from './gso-packets.js';

const OFFLOADS = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6 | TunOffload.USO4 | TunOffload.USO6;
const TARGET = 1 << 20;
const OUT = 4 << 20;
const SEGMENTS_AT = 2;

describe('Tun.split and Tun.coalesceInto round trip', () => {
  const lab = new Lab('r');
  const memory = new Uint8Array(new SharedArrayBuffer(8 << 20));
  const meta = new Int32Array(2048 * MSG_STRIDE);
  let tun: Tun;

  beforeAll(() => {
    tun = openTun({ name: lab.name('rt'), vnetHeader: true, offloads: OFFLOADS });
    tun.attach(memory, meta);
  });
  afterAll(async () => {
    tun?.close();
    await lab.dispose();
  });

  const setRecord = (index: number, offset: number, length: number) => {
    meta[index * MSG_STRIDE + MSG_OFFSET] = offset;
    meta[index * MSG_STRIDE + MSG_LENGTH] = length;
  };

  /** Splits `packet` with `headroom`, coalesces the segments; returns segment count and the writes. */
  function roundTrip(packet: Uint8Array, headroom: number): { segments: number; writes: Uint8Array[] } {
    memory.set(packet, 0);
    setRecord(0, 0, packet.length);
    setRecord(1, TARGET, 3 << 20);
    const n = tun.split(0, 1, headroom);
    expect(n).toBeGreaterThan(0);
    const stride = meta[MSG_STRIDE + MSG_SEGMENT];
    const total = meta[MSG_STRIDE + MSG_LENGTH];
    for (let i = 0; i < n; i++) {
      const start = TARGET + i * stride + headroom;
      const end = i + 1 < n ? TARGET + (i + 1) * stride : TARGET + total;
      setRecord(SEGMENTS_AT + i, start, end - start);
    }
    setRecord(0, OUT, 3 << 20);
    expect(tun.coalesceInto(SEGMENTS_AT, n, 0)).toBe(n);
    const used = meta[MSG_LENGTH];
    const writes: Uint8Array[] = [];
    for (let at = OUT; at < OUT + used; ) {
      const ip = at + VNET_HDR_LEN;
      const ipLength =
        memory[ip] >> 4 === 4
          ? (memory[ip + 2] << 8) | memory[ip + 3]
          : ((memory[ip + 4] << 8) | memory[ip + 5]) + 40;
      writes.push(memory.slice(at, ip + ipLength));
      at = ip + ipLength;
    }
    expect(writes.length).toBe(meta[MSG_SEGMENT]);
    return { segments: n, writes };
  }

  /** The payload of one write: the segments of a GSO write, or a lone packet's. */
  const payloadOf = (write: Uint8Array) => {
    const ip = write.subarray(VNET_HDR_LEN);
    if (write[1] === 0) return parseSegment(ip).payload;
    const headers = write[2] | (write[3] << 8);
    return ip.slice(headers);
  };

  it('gives back the original super-packet byte for byte, or its payload in order', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4 as const, 6 as const),
        fc.constantFrom('tcp' as const, 'udp' as const),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 200, max: 9000 }),
        fc.constantFrom(0, 22, 20),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (family, l4, length, gsoSize, headroom, seq, ipId) => {
          const payload = Uint8Array.from({ length }, (_, i) => (i * 131 + seq) & 255);
          const packet = buildSuperPacket({ family, l4, payload, gsoSize, seq, ipId });
          const { segments, writes } = roundTrip(packet, headroom);
          expect(segments).toBe(Math.ceil(length / gsoSize));
          if (segments >= 2 && segments <= 64) {
            expect(writes).toHaveLength(1);
            expect(Buffer.from(writes[0]).equals(Buffer.from(packet))).toBe(true);
          } else {
            expect(writes.length).toBe(Math.ceil(segments / 64));
          }
          expect(Buffer.concat(writes.map(payloadOf)).equals(Buffer.from(payload))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never reorders: out-of-sequence segments of one flow stay separate writes', () => {
    const a = buildSuperPacket({
      family: 4,
      l4: 'tcp',
      payload: new Uint8Array(4000).fill(1),
      gsoSize: 1000,
    });
    memory.set(a, 0);
    setRecord(0, 0, a.length);
    setRecord(1, TARGET, 1 << 20);
    const n = tun.split(0, 1, 0);
    const stride = meta[MSG_STRIDE + MSG_SEGMENT];
    const total = meta[MSG_STRIDE + MSG_LENGTH];
    expect(n).toBe(4);
    // Segments 0, 2, 1, 3: no two neighbours continue each other's sequence.
    [0, 2, 1, 3].forEach((segment, i) => {
      const start = TARGET + segment * stride;
      setRecord(SEGMENTS_AT + i, start, segment + 1 < n ? stride : total - segment * stride);
    });
    setRecord(0, OUT, 1 << 20);
    expect(tun.coalesceInto(SEGMENTS_AT, 4, 0)).toBe(4);
    expect(meta[MSG_SEGMENT]).toBe(4);
    expect([0, 1, 2, 3].map((i) => meta[(SEGMENTS_AT + i) * MSG_STRIDE + MSG_SEGMENT])).toEqual([1, 1, 1, 1]);
  });
});

/**
 * Tun.completeChecksums: inner TCP/UDP checksums of packets from a tunnel. Partial ones (pseudo-header sum
 * only, as a kernel vxlan peer sends them across a veth) are completed in place; valid ones are left
 * alone; anything else is reported bad.
 */
import {
  InnerChecksum,
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_SEGMENT,
  MSG_STRIDE,
  openTun,
  type Tun,
} from '@felt/netio';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../harness/netns.js';
import { buildSuperPacket, parseSegment } from './gso-packets.js';

describe('Tun.completeChecksums', () => {
  const lab = new Lab('c');
  const memory = new Uint8Array(new SharedArrayBuffer(1 << 20));
  const meta = new Int32Array(64 * MSG_STRIDE);
  let tun: Tun;

  beforeAll(() => {
    tun = openTun({ name: lab.name('ck') });
    tun.attach(memory, meta);
  });
  afterAll(async () => {
    tun?.close();
    await lab.dispose();
  });

  /** An IP packet whose L4 checksum field holds the pseudo-header sum only (CHECKSUM_PARTIAL). */
  function partialPacket(family: 4 | 6, l4: 'tcp' | 'udp', payload: Uint8Array): Uint8Array {
    return buildSuperPacket({ family, l4, payload, gsoSize: 0 }).slice(10);
  }

  /** Runs completeChecksums over `packets` (records 0..n-1); returns results and the packets after. */
  function complete(packets: Uint8Array[]): { flagged: number; results: number[]; after: Uint8Array[] } {
    let at = 0;
    packets.forEach((p, i) => {
      memory.set(p, at);
      meta[i * MSG_STRIDE + MSG_OFFSET] = at;
      meta[i * MSG_STRIDE + MSG_LENGTH] = p.length;
      at += p.length + 7;
    });
    const flagged = tun.completeChecksums(0, packets.length);
    const results = packets.map((_, i) => meta[i * MSG_STRIDE + MSG_SEGMENT]);
    const after = packets.map((p, i) =>
      memory.slice(meta[i * MSG_STRIDE + MSG_OFFSET], meta[i * MSG_STRIDE + MSG_OFFSET] + p.length),
    );
    return { flagged, results, after };
  }

  for (const family of [4, 6] as const) {
    for (const l4 of ['tcp', 'udp'] as const) {
      it(`completes a partial IPv${family} ${l4.toUpperCase()} checksum and leaves the completed one alone`, () => {
        const packet = partialPacket(
          family,
          l4,
          Uint8Array.from({ length: 1001 }, (_, i) => i * 7),
        );
        expect(parseSegment(packet).l4Ok).toBe(false);
        const first = complete([packet]);
        expect(first.flagged).toBe(1);
        expect(first.results).toEqual([InnerChecksum.COMPLETED]);
        expect(parseSegment(first.after[0]).l4Ok).toBe(true);
        const again = complete([first.after[0]]);
        expect(again).toMatchObject({ flagged: 0, results: [InnerChecksum.VALID] });
        expect(again.after[0]).toEqual(first.after[0]);
      });
    }
  }

  it('reports a corrupted packet bad, and skips fragments and non-TCP/UDP packets', () => {
    const good = complete([partialPacket(4, 'tcp', new Uint8Array(200).fill(3))]).after[0];
    const corrupted = good.slice();
    corrupted[good.length - 1] ^= 0x40;
    const fragment = corrupted.slice();
    fragment[6] = 0x20; // MF
    fragment[10] = fragment[11] = 0; // header checksum is not looked at
    const icmp = corrupted.slice();
    icmp[9] = 1;
    const r = complete([corrupted, fragment, icmp, good]);
    expect(r.results).toEqual([
      InnerChecksum.BAD,
      InnerChecksum.VALID,
      InnerChecksum.VALID,
      InnerChecksum.VALID,
    ]);
    expect(r.flagged).toBe(1);
    expect(r.after[0]).toEqual(corrupted);
  });

  it('random partial packets become valid and carry the same bytes otherwise', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4 as const, 6 as const),
        fc.constantFrom('tcp' as const, 'udp' as const),
        fc.uint8Array({ minLength: 0, maxLength: 3000 }),
        (family, l4, payload) => {
          const packet = partialPacket(family, l4, payload);
          const { results, after } = complete([packet]);
          const checksumAt = (family === 4 ? 20 : 40) + (l4 === 'tcp' ? 16 : 6);
          expect([InnerChecksum.COMPLETED, InnerChecksum.VALID]).toContain(results[0]);
          expect(parseSegment(after[0]).l4Ok).toBe(true);
          const strip = (b: Uint8Array) => [...b.slice(0, checksumAt), ...b.slice(checksumAt + 2)];
          expect(strip(after[0])).toEqual(strip(packet));
        },
      ),
      { numRuns: 200 },
    );
  });
});

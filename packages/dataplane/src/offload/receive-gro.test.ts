/**
 * GroReceiveLoop against fake TUN and socket handles: a batch of GRO datagrams holding more inner
 * packets than there are write records goes out in several writes, in order, without drops, also when
 * the TUN blocks in between (then the socket is not read until the rest is written).
 */
import {
  Inbound,
  MSG_ADDR,
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_SEGMENT,
  MSG_STRIDE,
  type Tun,
  type UdpSocket,
} from '@felt/netio';
import { describe, expect, it } from 'vitest';
import { VXLAN_OVERHEAD } from '../codec/vxlan.js';
import { CounterReader, OFFLOAD_GRO_SEGMENTS, OFFLOAD_TUN_WRITES } from '../counters.js';
import { DIRECTION_RX, DROP_QUEUE_FULL } from '../drops.js';
import { parseIpv4 } from '../ipv4.js';
import { createForwarderFixture, writeIpv4Packet } from '../testing/forwarder-fixture.js';
import { OFFLOAD_OUT_RECORDS, OFFLOAD_READS, offloadRecordCount } from './layout.js';
import { GroReceiveLoop } from './receive-gro.js';

const INNER = 92; // a 64-byte UDP payload
// Enough segments per datagram for a full batch to hold twice as many inner packets as write records.
const SEGMENTS = Math.ceil((2 * OFFLOAD_OUT_RECORDS) / OFFLOAD_READS);
const VXLAN_A_TO_B = Uint8Array.of(
  8,
  0,
  0,
  0,
  0,
  0,
  1,
  0,
  0x0e,
  0x2a,
  0,
  0,
  0,
  2,
  0x0e,
  0x2a,
  0,
  0,
  0,
  1,
  8,
  0,
);

describe('GroReceiveLoop with more inner packets than write records', () => {
  it('writes them all in order over several writes, waiting for the TUN when it blocks', () => {
    const { b } = createForwarderFixture({ backend: 'vxlan' });
    const meta = new Int32Array(offloadRecordCount(b.state.settings.batchSize) * MSG_STRIDE);
    const memory = b.state.memory;
    const seeds: number[] = [];
    const calls: number[] = [];
    let budget = Number.POSITIVE_INFINITY;
    const tun = {
      writeInbound(first: number, count: number): number {
        const taken = Math.min(count, budget);
        budget -= taken;
        calls.push(taken);
        for (let i = 0; i < taken; i++) {
          const record = (first + i) * MSG_STRIDE;
          expect(meta[record + MSG_SEGMENT]).toBe(Inbound.COVERED);
          expect(meta[record + MSG_LENGTH]).toBe(INNER);
          seeds.push((memory[meta[record + MSG_OFFSET] + 20] - 20) & 0xff); // the fixture writes seed + offset
          meta[record + MSG_SEGMENT] = 1;
          meta[record + MSG_ADDR] = 0;
        }
        return taken;
      },
    };
    let received = 0;
    const udp = {
      recv(first: number, count: number): number {
        // Every datagram a GRO run of SEGMENTS segments; inner packet n carries seed n % 256.
        for (let r = 0; r < count; r++) {
          const record = (first + r) * MSG_STRIDE;
          const start = meta[record + MSG_OFFSET];
          for (let s = 0; s < SEGMENTS; s++) {
            const at = start + s * (VXLAN_OVERHEAD + INNER);
            memory.set(VXLAN_A_TO_B, at);
            writeIpv4Packet(memory, at + VXLAN_OVERHEAD, {
              source: parseIpv4('10.0.1.5'),
              destination: parseIpv4('10.0.2.7'),
              length: INNER,
              seed: (received + r * SEGMENTS + s) % 256,
            });
          }
          const sender = parseIpv4('198.18.0.1') | 0;
          const length = SEGMENTS * (VXLAN_OVERHEAD + INNER);
          meta.set([start, length, sender, 0, 0, 0, 8472, VXLAN_OVERHEAD + INNER], record);
        }
        received += count * SEGMENTS;
        return count;
      },
    };
    const loop = new GroReceiveLoop(b.state, tun as unknown as Tun, meta);
    // The TUN takes 1500 packets, then blocks.
    budget = 1500;
    expect(loop.onUnderlayReadable(udp as unknown as UdpSocket)).toBe(OFFLOAD_READS);
    const total = OFFLOAD_READS * SEGMENTS;
    expect(total).toBeGreaterThan(OFFLOAD_OUT_RECORDS);
    expect(loop.blocked).toBe(true);
    expect(loop.onUnderlayReadable(udp as unknown as UdpSocket)).toBe(0);
    budget = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 10 && loop.blocked; i++) loop.onTunWritable();
    expect(loop.blocked).toBe(false);
    expect(seeds).toEqual(Array.from({ length: total }, (_, n) => n % 256));
    expect(calls.every((n) => n <= OFFLOAD_OUT_RECORDS)).toBe(true);
    const counters = new CounterReader(b.state.counters.slots.buffer as SharedArrayBuffer);
    expect(counters.drop(DROP_QUEUE_FULL, DIRECTION_RX).packets).toBe(0);
    expect(counters.offload(OFFLOAD_GRO_SEGMENTS)).toBe(total);
    expect(counters.offload(OFFLOAD_TUN_WRITES)).toBe(total);
    loop.releaseSlots();
  });
});

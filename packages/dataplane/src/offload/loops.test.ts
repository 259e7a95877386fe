/**
 * The offload loops against fake TUN and socket handles (netio's native split/coalesce are tested in
 * test/netio): message layout of GSO runs, the fallback when the kernel refuses GSO, and the split of
 * GRO datagrams.
 */
import {
  Inbound,
  InnerChecksum,
  MSG_ADDR,
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_SEGMENT,
  MSG_STRIDE,
  type Tun,
  type UdpSocket,
  VNET_HDR_LEN,
} from '@felt/netio';
import { describe, expect, it } from 'vitest';
import { VXLAN_OVERHEAD } from '../codec/vxlan.js';
import {
  CounterReader,
  INNER_CHECKSUMS_COMPLETED,
  OFFLOAD_GRO_DATAGRAMS,
  OFFLOAD_GRO_SEGMENTS,
  OFFLOAD_GSO_FALLBACKS,
  OFFLOAD_TUN_MERGED_PACKETS,
  OFFLOAD_TUN_WRITES,
} from '../counters.js';
import { DIRECTION_RX, DROP_BAD_INNER_CHECKSUM, DROP_MALFORMED } from '../drops.js';
import type { ForwarderState } from '../forwarder-state.js';
import { parseIpv4 } from '../ipv4.js';
import { createForwarderFixture, writeIpv4Packet } from '../testing/forwarder-fixture.js';
import { offloadRecordCount } from './layout.js';
import { GroReceiveLoop } from './receive-gro.js';
import { GsoSendLoop } from './send-gso.js';

const EIO = 5;
const HEADERS = 40; // IPv4 + TCP without options
const GSO_SIZE = 1000;
const PAYLOAD = 45_500; // 46 segments

/** A TUN whose reads return one TCP super-packet to 10.0.2.7, and whose split lays out the segments. */
function fakeTun(state: ForwarderState, meta: Int32Array) {
  const tun = {
    reads: 1,
    read(first: number): number {
      if (tun.reads === 0) return 0;
      tun.reads--;
      const at = meta[first * MSG_STRIDE + MSG_OFFSET];
      state.memory.fill(0, at, at + VNET_HDR_LEN);
      state.memory[at] = 1; // NEEDS_CSUM
      state.memory[at + 1] = 1; // GSO TCPv4
      state.memory[at + 4] = GSO_SIZE & 255;
      state.memory[at + 5] = GSO_SIZE >> 8;
      const length = writeIpv4Packet(state.memory, at + VNET_HDR_LEN, {
        source: parseIpv4('10.0.1.5'),
        destination: parseIpv4('10.0.2.7'),
        length: HEADERS + PAYLOAD,
        protocol: 6,
      });
      meta[first * MSG_STRIDE + MSG_LENGTH] = VNET_HDR_LEN + length;
      return 1;
    },
    split(_source: number, target: number, headroom: number): number {
      const segments = Math.ceil(PAYLOAD / GSO_SIZE);
      const stride = headroom + HEADERS + GSO_SIZE;
      const last = PAYLOAD - (segments - 1) * GSO_SIZE;
      meta[target * MSG_STRIDE + MSG_LENGTH] = (segments - 1) * stride + headroom + HEADERS + last;
      meta[target * MSG_STRIDE + MSG_SEGMENT] = stride;
      return segments;
    },
    writeCoalesced: (_first: number, count: number) => count,
  };
  return tun;
}

/** A socket that records messages and refuses GSO messages with EIO. */
function refusingSocket(meta: Int32Array) {
  const sent: Array<{ length: number; segment: number; addr: number }> = [];
  const udp = {
    gsoSupported: true,
    send(first: number, count: number): number {
      for (let i = 0; i < count; i++) {
        const r = (first + i) * MSG_STRIDE;
        sent.push({ length: meta[r + MSG_LENGTH], segment: meta[r + MSG_SEGMENT], addr: meta[r + MSG_ADDR] });
        if (meta[r + MSG_SEGMENT] > 0) meta[r + MSG_LENGTH] = -EIO;
      }
      return count;
    },
  };
  return { udp, sent };
}

describe('GsoSendLoop', () => {
  it('sends a super-packet as GSO runs; when the kernel refuses GSO, resends single datagrams, counts it once, and stays unsegmented', () => {
    const { a } = createForwarderFixture({ backend: 'vxlan' });
    const meta = new Int32Array(offloadRecordCount(a.state.settings.batchSize) * MSG_STRIDE);
    const tun = fakeTun(a.state, meta);
    const { udp, sent } = refusingSocket(meta);
    const loop = new GsoSendLoop(a.state, tun as unknown as Tun, udp as unknown as UdpSocket, meta);
    const segments = Math.ceil(PAYLOAD / GSO_SIZE);
    const stride = VXLAN_OVERHEAD + HEADERS + GSO_SIZE;
    const lastLength = VXLAN_OVERHEAD + HEADERS + PAYLOAD - (segments - 1) * GSO_SIZE;

    expect(loop.onTunReadable()).toBe(1);
    const gso = sent.filter((m) => m.segment > 0);
    const single = sent.filter((m) => m.segment === 0);
    // 65,507 / 1,062 = 61 segments fit one message: the whole run is one GSO message.
    expect(gso).toEqual([
      { length: (segments - 1) * stride + lastLength, segment: stride, addr: parseIpv4('198.18.0.2') | 0 },
    ]);
    expect(single.map((m) => m.length)).toEqual([...Array(segments - 1).fill(stride), lastLength]);
    const counters = new CounterReader(a.state.counters.slots.buffer as SharedArrayBuffer);
    expect(counters.offload(OFFLOAD_GSO_FALLBACKS)).toBe(1);
    expect(loop.blocked).toBe(false);

    sent.length = 0;
    tun.reads = 1;
    loop.onTunReadable();
    expect(sent).toHaveLength(segments);
    expect(sent.every((m) => m.segment === 0)).toBe(true);
    expect(counters.offload(OFFLOAD_GSO_FALLBACKS)).toBe(1);
    loop.releaseSlots();
  });
});

describe('GroReceiveLoop', () => {
  it('splits a GRO datagram into its segments, decapsulates each, and counts an empty datagram as a drop', () => {
    const { b } = createForwarderFixture({ backend: 'vxlan' });
    const meta = new Int32Array(offloadRecordCount(b.state.settings.batchSize) * MSG_STRIDE);
    const memory = b.state.memory;
    const written: number[] = [];
    const integrity: number[] = [];
    const tun = {
      writeInbound(first: number, count: number): number {
        for (let i = 0; i < count; i++) {
          written.push(meta[(first + i) * MSG_STRIDE + MSG_LENGTH]);
          integrity.push(meta[(first + i) * MSG_STRIDE + MSG_SEGMENT]);
          meta[(first + i) * MSG_STRIDE + MSG_SEGMENT] = 1;
        }
        return count;
      },
    };
    const sizes = [1200, 1200, 700];
    const segment = VXLAN_OVERHEAD + 1200;
    let calls = 0;
    const udp = {
      recv(first: number): number {
        if (calls++ > 0) return 0;
        // Record first: three VXLAN datagrams back to back (as GRO delivers them); first+1: empty.
        let at = meta[first * MSG_STRIDE + MSG_OFFSET];
        const start = at;
        for (const size of sizes) {
          const inner = at + VXLAN_OVERHEAD;
          writeIpv4Packet(memory, inner, {
            source: parseIpv4('10.0.1.5'),
            destination: parseIpv4('10.0.2.7'),
            length: size,
          });
          // a's VXLAN header to b: flags, VNI 1, b's MAC, a's MAC, IPv4.
          memory.set(
            Uint8Array.of(8, 0, 0, 0, 0, 0, 1, 0, 0x0e, 0x2a, 0, 0, 0, 2, 0x0e, 0x2a, 0, 0, 0, 1, 8, 0),
            at,
          );
          at += VXLAN_OVERHEAD + size;
        }
        const sender = parseIpv4('198.18.0.1') | 0;
        meta.set([start, at - start, sender, 0, 0, 0, 8472, segment], first * MSG_STRIDE);
        meta.set([meta[(first + 1) * MSG_STRIDE], 0, sender, 0, 0, 0, 8472, 0], (first + 1) * MSG_STRIDE);
        return 2;
      },
    };
    const loop = new GroReceiveLoop(b.state, tun as unknown as Tun, meta);
    expect(loop.onUnderlayReadable(udp as unknown as UdpSocket)).toBe(2);
    expect(written).toEqual(sizes);
    // A datagram with a GRO segment size passed the kernel's outer checksum check: not summed again.
    expect(integrity).toEqual(sizes.map(() => Inbound.COVERED));
    const counters = new CounterReader(b.state.counters.slots.buffer as SharedArrayBuffer);
    expect(counters.offload(OFFLOAD_GRO_DATAGRAMS)).toBe(1);
    expect(counters.offload(OFFLOAD_GRO_SEGMENTS)).toBe(3);
    expect(counters.drop(DROP_MALFORMED, DIRECTION_RX).packets).toBe(1);
    loop.releaseSlots();
  });

  it('has plain datagrams checked in C and counts what writeInbound reports: bad, completed, merged', () => {
    const { b } = createForwarderFixture({ backend: 'vxlan' });
    const meta = new Int32Array(offloadRecordCount(b.state.settings.batchSize) * MSG_STRIDE);
    const memory = b.state.memory;
    const integrity: number[] = [];
    const tun = {
      // Record 0 bad (not written), 1 completed and merged with 2 into one write, 3 alone.
      writeInbound(first: number, count: number): number {
        const results = [
          [InnerChecksum.BAD, 0],
          [InnerChecksum.COMPLETED, 2],
          [InnerChecksum.VALID, 2],
          [InnerChecksum.VALID, 1],
        ];
        for (let i = 0; i < count; i++) {
          const record = (first + i) * MSG_STRIDE;
          integrity.push(meta[record + MSG_SEGMENT]);
          [meta[record + MSG_ADDR], meta[record + MSG_SEGMENT]] = results[i];
        }
        return count;
      },
    };
    let calls = 0;
    const udp = {
      recv(first: number): number {
        if (calls++ > 0) return 0;
        for (let r = 0; r < 4; r++) {
          const at = meta[(first + r) * MSG_STRIDE + MSG_OFFSET];
          writeIpv4Packet(memory, at + VXLAN_OVERHEAD, {
            source: parseIpv4('10.0.1.5'),
            destination: parseIpv4('10.0.2.7'),
            length: 500,
          });
          memory.set(
            Uint8Array.of(8, 0, 0, 0, 0, 0, 1, 0, 0x0e, 0x2a, 0, 0, 0, 2, 0x0e, 0x2a, 0, 0, 0, 1, 8, 0),
            at,
          );
          const sender = parseIpv4('198.18.0.1') | 0;
          meta.set([at, VXLAN_OVERHEAD + 500, sender, 0, 0, 0, 8472, 0], (first + r) * MSG_STRIDE);
        }
        return 4;
      },
    };
    const loop = new GroReceiveLoop(b.state, tun as unknown as Tun, meta);
    expect(loop.onUnderlayReadable(udp as unknown as UdpSocket)).toBe(4);
    expect(integrity).toEqual([Inbound.CHECK, Inbound.CHECK, Inbound.CHECK, Inbound.CHECK]);
    const counters = new CounterReader(b.state.counters.slots.buffer as SharedArrayBuffer);
    expect(counters.drop(DROP_BAD_INNER_CHECKSUM, DIRECTION_RX)).toEqual({ packets: 1, bytes: 500 });
    expect(counters.offload(INNER_CHECKSUMS_COMPLETED)).toBe(1);
    expect(counters.offload(OFFLOAD_TUN_WRITES)).toBe(2);
    expect(counters.offload(OFFLOAD_TUN_MERGED_PACKETS)).toBe(2);
    loop.releaseSlots();
  });
});

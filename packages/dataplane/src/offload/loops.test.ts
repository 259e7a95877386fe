/**
 * The offload loops against fake TUN and socket handles (netio's native split/coalesce are tested in
 * test/netio): message layout of GSO runs, small packets gathered into GSO messages, the fallback when
 * the kernel refuses GSO, and the split of GRO datagrams.
 */
import {
  Inbound,
  InnerChecksum,
  MSG_ADDR,
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_SEGMENT,
  MSG_STRIDE,
  SEND_CONTINUES,
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
  OFFLOAD_GSO_SEGMENTS,
  OFFLOAD_GSO_SENDS,
  OFFLOAD_TUN_MERGED_PACKETS,
  OFFLOAD_TUN_WRITES,
} from '../counters.js';
import { DIRECTION_RX, DROP_BAD_INNER_CHECKSUM, DROP_MALFORMED } from '../drops.js';
import type { ForwarderState } from '../forwarder-state.js';
import { parseIpv4 } from '../ipv4.js';
import { createForwarderFixture, writeIpv4Packet } from '../testing/forwarder-fixture.js';
import { OFFLOAD_BATCH_READS, OFFLOAD_READS, offloadRecordCount } from './layout.js';
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

interface SmallPacket {
  destination: string;
  length: number;
  /** A partial UDP checksum (virtio NEEDS_CSUM); csumOffset defaults to UDP's. */
  needsCsum?: boolean;
  csumOffset?: number;
}

/**
 * A TUN whose reads return plain (not GSO) IPv4 UDP packets from `pending` (consumed), the n-th packet
 * ever read seeded with n. Each read checks that its record has room for a 64 KiB super-packet.
 * completeChecksums reports BAD for packets listed in `bad` (by seed); split calls are recorded.
 */
function smallPacketTun(state: ForwarderState, meta: Int32Array) {
  const tun = {
    pending: [] as SmallPacket[],
    readCalls: 0,
    sequence: 0,
    bad: new Set<number>(),
    checksumCalls: [] as number[][],
    splitSeeds: [] as number[],
    read(first: number, count: number): number {
      tun.readCalls++;
      let done = 0;
      for (; done < count && tun.pending.length > 0; done++) {
        const packet = tun.pending.shift() as SmallPacket;
        const record = (first + done) * MSG_STRIDE;
        const at = meta[record + MSG_OFFSET];
        expect(meta[record + MSG_LENGTH]).toBeGreaterThanOrEqual(65_536 + VNET_HDR_LEN);
        state.memory.fill(0, at, at + VNET_HDR_LEN);
        if (packet.needsCsum) {
          state.memory[at] = 1;
          state.memory[at + 6] = 20;
          state.memory[at + 8] = packet.csumOffset ?? 6;
        }
        const length = writeIpv4Packet(state.memory, at + VNET_HDR_LEN, {
          source: parseIpv4('10.0.1.5'),
          destination: parseIpv4(packet.destination),
          length: packet.length,
          seed: tun.sequence++,
        });
        meta[record + MSG_LENGTH] = VNET_HDR_LEN + length;
      }
      return done;
    },
    completeChecksums(first: number, count: number): number {
      const seeds: number[] = [];
      let notValid = 0;
      for (let i = 0; i < count; i++) {
        const record = (first + i) * MSG_STRIDE;
        const seed = seedAt(state, meta[record + MSG_OFFSET]);
        seeds.push(seed);
        // The record is the IP packet alone: its length is the IP total length.
        const ip = meta[record + MSG_OFFSET];
        expect(meta[record + MSG_LENGTH]).toBe((state.memory[ip + 2] << 8) | state.memory[ip + 3]);
        const bad = tun.bad.has(seed);
        meta[record + MSG_SEGMENT] = bad ? InnerChecksum.BAD : InnerChecksum.COMPLETED;
        notValid++;
      }
      tun.checksumCalls.push(seeds);
      return notValid;
    },
    split(source: number): number {
      tun.splitSeeds.push(seedAt(state, meta[source * MSG_STRIDE + MSG_OFFSET] + VNET_HDR_LEN));
      return 0;
    },
    writeCoalesced: (_first: number, count: number) => count,
  };
  return tun;
}

/** The seed of the test packet whose IP header is at `ip` (payload byte 20 holds seed + 20). */
const seedAt = (state: ForwarderState, ip: number) => (state.memory[ip + 20] - 20) & 255;

interface SentRecord {
  length: number;
  segment: number;
  addr: number;
  /** The inner packet's seed (its index in the TUN queue), read behind the tunnel header. */
  seed: number;
  offset: number;
}

/** A socket that records every record it sends; `refuseGso` fails every record of a GSO message with EIO. */
function recordingSocket(state: ForwarderState, meta: Int32Array, refuseGso: boolean) {
  const sent: SentRecord[] = [];
  const udp = {
    gsoSupported: true,
    send(first: number, count: number): number {
      let refused = false;
      for (let i = 0; i < count; i++) {
        const r = (first + i) * MSG_STRIDE;
        const segment = meta[r + MSG_SEGMENT];
        if (segment !== SEND_CONTINUES) refused = refuseGso && segment > 0;
        const seed = seedAt(state, meta[r + MSG_OFFSET] + VXLAN_OVERHEAD);
        const offset = meta[r + MSG_OFFSET];
        sent.push({ length: meta[r + MSG_LENGTH], segment, addr: meta[r + MSG_ADDR], seed, offset });
        if (refused) meta[r + MSG_LENGTH] = -EIO;
      }
      return count;
    },
  };
  return { udp, sent };
}

describe('GsoSendLoop with small packets', () => {
  const peerB = parseIpv4('198.18.0.2') | 0;
  // Encapsulated sizes: inner length + 22.
  const queue: SmallPacket[] = [
    ...Array.from({ length: 4 }, () => ({ destination: '10.0.2.7', length: 64 })),
    { destination: '10.0.2.7', length: 40 }, // shorter: ends the gather
    { destination: '10.0.2.7', length: 64 },
    { destination: '10.0.2.7', length: 64 },
    { destination: '10.0.3.9', length: 64 }, // another peer: a message of its own
    { destination: '10.0.2.7', length: 64 },
    { destination: '10.0.2.7', length: 200 }, // longer: cannot join
    { destination: '10.0.2.7', length: 64 },
    { destination: '10.0.2.7', length: 64 }, // the gather closed with the shorter one before
  ];

  it('gathers consecutive packets to one peer into UDP_SEGMENT messages, in order', () => {
    const { a } = createForwarderFixture({ backend: 'vxlan', extraPeers: 1 });
    const meta = new Int32Array(offloadRecordCount(a.state.settings.batchSize) * MSG_STRIDE);
    const tun = smallPacketTun(a.state, meta);
    tun.pending.push(...queue);
    const { udp, sent } = recordingSocket(a.state, meta, false);
    const loop = new GsoSendLoop(a.state, tun as unknown as Tun, udp as unknown as UdpSocket, meta);
    expect(loop.onTunReadable()).toBe(queue.length);
    const peerC = parseIpv4('198.19.0.3') | 0;
    const C = SEND_CONTINUES;
    expect(sent.map((m) => [m.length, m.segment, m.addr])).toEqual([
      [86, 86, peerB],
      [86, C, peerB],
      [86, C, peerB],
      [86, C, peerB],
      [62, C, peerB],
      [86, 86, peerB],
      [86, C, peerB],
      [86, 0, peerC],
      [86, 0, peerB],
      [222, 222, peerB],
      [86, C, peerB],
      [86, 0, peerB],
    ]);
    expect(sent.map((m) => m.seed)).toEqual(queue.map((_, i) => i));
    const counters = new CounterReader(a.state.counters.slots.buffer as SharedArrayBuffer);
    expect(counters.offload(OFFLOAD_GSO_SENDS)).toBe(3);
    expect(counters.offload(OFFLOAD_GSO_SEGMENTS)).toBe(9);
    expect(counters.offload(OFFLOAD_GSO_FALLBACKS)).toBe(0);
    loop.releaseSlots();
  });

  it('resends a refused gathered message as single datagrams in order, counts it once, and stops gathering', () => {
    const { a } = createForwarderFixture({ backend: 'vxlan', extraPeers: 1 });
    const meta = new Int32Array(offloadRecordCount(a.state.settings.batchSize) * MSG_STRIDE);
    const tun = smallPacketTun(a.state, meta);
    tun.pending.push(...queue);
    const { udp, sent } = recordingSocket(a.state, meta, true);
    const loop = new GsoSendLoop(a.state, tun as unknown as Tun, udp as unknown as UdpSocket, meta);
    expect(loop.onTunReadable()).toBe(queue.length);
    // Every refused record comes back once as a datagram of its own, in the original order.
    const resent = sent.slice(queue.length);
    const refused = sent.slice(0, queue.length).filter((_, i, all) => {
      let head = i;
      while (all[head].segment === SEND_CONTINUES) head--;
      return all[head].segment > 0;
    });
    expect(resent.map((m) => [m.length, m.segment, m.addr, m.seed])).toEqual(
      refused.map((m) => [m.length, 0, peerB, m.seed]),
    );
    const counters = new CounterReader(a.state.counters.slots.buffer as SharedArrayBuffer);
    expect(counters.offload(OFFLOAD_GSO_FALLBACKS)).toBe(1);
    expect(counters.offload(OFFLOAD_GSO_SENDS)).toBe(0);

    sent.length = 0;
    tun.pending.push(...queue);
    expect(loop.onTunReadable()).toBe(queue.length);
    expect(sent.map((m) => m.segment)).toEqual(queue.map(() => 0));
    expect(counters.offload(OFFLOAD_GSO_FALLBACKS)).toBe(1);
    loop.releaseSlots();
  });

  it('reads small packets back to back into its slots, up to OFFLOAD_BATCH_READS per batch, intact and in order', () => {
    const { a } = createForwarderFixture({ backend: 'vxlan' });
    const meta = new Int32Array(offloadRecordCount(a.state.settings.batchSize) * MSG_STRIDE);
    const tun = smallPacketTun(a.state, meta);
    const total = OFFLOAD_BATCH_READS + 36;
    tun.pending.push(...Array.from({ length: total }, () => ({ destination: '10.0.2.7', length: 92 })));
    const { udp, sent } = recordingSocket(a.state, meta, false);
    const loop = new GsoSendLoop(a.state, tun as unknown as Tun, udp as unknown as UdpSocket, meta);

    // 16 reads, one per slot, then rounds of 16 behind them until the batch is full.
    expect(loop.onTunReadable()).toBe(OFFLOAD_BATCH_READS);
    expect(tun.readCalls).toBe(OFFLOAD_BATCH_READS / OFFLOAD_READS);
    // No two packets of a batch share bytes: the encapsulated ranges are disjoint.
    const ranges = sent.map((m) => [m.offset, m.offset + m.length]).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][1]);
    // The rest: a round that comes back short ends the batch (the TUN is drained).
    expect(loop.onTunReadable()).toBe(36);
    // Every packet went out once, in order, with its bytes intact, in messages of up to 64 segments.
    expect(sent.map((m) => m.seed)).toEqual(Array.from({ length: total }, (_, i) => i & 255));
    expect(sent.every((m) => m.length === 92 + VXLAN_OVERHEAD)).toBe(true);
    expect(sent.filter((m) => m.segment !== SEND_CONTINUES).map((m) => m.segment)).toEqual([114, 114]);
    loop.releaseSlots();
  });

  it('finishes the partial checksums of a batch in one completeChecksums call, and any it cannot alone', () => {
    const { a } = createForwarderFixture({ backend: 'vxlan' });
    const meta = new Int32Array(offloadRecordCount(a.state.settings.batchSize) * MSG_STRIDE);
    const tun = smallPacketTun(a.state, meta);
    tun.bad.add(2);
    tun.pending.push(
      { destination: '10.0.2.7', length: 92, needsCsum: true },
      { destination: '10.0.2.7', length: 92 }, // complete already: not passed
      { destination: '10.0.2.7', length: 92, needsCsum: true }, // BAD: finished by split
      { destination: '10.0.2.7', length: 92, needsCsum: true, csumOffset: 16 }, // not UDP's field: split
      { destination: '10.0.2.7', length: 92, needsCsum: true },
    );
    const { udp, sent } = recordingSocket(a.state, meta, false);
    const loop = new GsoSendLoop(a.state, tun as unknown as Tun, udp as unknown as UdpSocket, meta);
    expect(loop.onTunReadable()).toBe(5);
    expect(tun.checksumCalls).toEqual([[0, 2, 4]]);
    expect(tun.splitSeeds).toEqual([2, 3]);
    expect(sent.map((m) => m.seed)).toEqual([0, 1, 2, 3, 4]);
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

/**
 * TUN offloads (IFF_VNET_HDR + TSO/USO): Tun.split turns GSO super-packets into valid packets.
 * 1. Hand-built super-packets (TCP/UDP, IPv4/IPv6), including random ones (fast-check).
 * 2. Against the kernel: two namespaces, each with an offloading TUN, joined only by this process,
 *    which reads super-packets from one TUN, splits them and writes plain packets (zero vnet header,
 *    so the receiving kernel verifies every checksum) into the other. TCP transfers of 4 MiB must
 *    arrive with the same sha256; a UDP GSO send must arrive as its datagrams.
 *
 *   python3 client ─ ns A: tunA 10.79.1.1 ══ this process (read → split → write) ══ tunB 10.79.2.1: ns B ─ server
 */
import {
  createPoller,
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_SEGMENT,
  MSG_STRIDE,
  openTun,
  PollEvents,
  type Tun,
  TunOffload,
  VNET_HDR_LEN,
} from '@felt/netio';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, sh } from '../harness/netns.js';
import { buildSuperPacket, parseSegment, TCP_ACK, TCP_FIN, TCP_PSH } from './gso-packets.js';

const OFFLOADS = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6 | TunOffload.USO4 | TunOffload.USO6;

describe('Tun.split on hand-built super-packets', () => {
  const lab = new Lab('s');
  const memory = new Uint8Array(new SharedArrayBuffer(4 << 20));
  const meta = new Int32Array(4 * MSG_STRIDE);
  const TARGET = 1 << 20;
  let tun: Tun;

  beforeAll(() => {
    tun = openTun({ name: lab.name('sp'), vnetHeader: true, offloads: OFFLOADS });
    tun.attach(memory, meta);
  });
  afterAll(async () => {
    tun?.close();
    await lab.dispose();
  });

  /** Puts `packet` in record 0 and splits it into record 1; returns the result and the segments. */
  function split(packet: Uint8Array, headroom: number, capacity = 3 << 20) {
    memory.set(packet, 0);
    meta.set([0, packet.length], 0);
    meta.set([TARGET, capacity, 0, 0, 0, 0, 0, 0], MSG_STRIDE);
    const n = tun.split(0, 1, headroom);
    const stride = meta[MSG_STRIDE + MSG_SEGMENT];
    const total = meta[MSG_STRIDE + MSG_LENGTH];
    const segments = [];
    for (let i = 0; i < n; i++) {
      const start = TARGET + i * stride + headroom;
      const end = i + 1 < n ? TARGET + (i + 1) * stride : TARGET + total;
      segments.push(parseSegment(memory.slice(start, end)));
    }
    return { n, stride, total, segments };
  }

  const payloadOf = (length: number, seed: number) =>
    Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 255);

  for (const family of [4, 6] as const) {
    for (const l4 of ['tcp', 'udp'] as const) {
      it(`splits an IPv${family} ${l4.toUpperCase()} super-packet into valid segments`, () => {
        const payload = payloadOf(10_000, family);
        const packet = buildSuperPacket({
          family,
          l4,
          payload,
          gsoSize: 1448,
          seq: 0xfffff000,
          ipId: 0xfffe,
          tcpFlags: TCP_ACK | TCP_PSH | TCP_FIN,
        });
        const { n, stride, segments } = split(packet, 22);
        expect(n).toBe(7);
        expect(stride).toBe(22 + (family === 4 ? 20 : 40) + (l4 === 'tcp' ? 32 : 8) + 1448);
        expect(Buffer.concat(segments.map((s) => s.payload)).equals(Buffer.from(payload))).toBe(true);
        segments.forEach((s, i) => {
          expect(s).toMatchObject({ family, l4, ipOk: true, l4Ok: true });
          expect(s.payload.length).toBe(i < 6 ? 1448 : 10_000 - 6 * 1448);
          if (family === 4) expect(s.ipId).toBe((0xfffe + i) & 0xffff);
          if (l4 === 'tcp') {
            expect(s.seq).toBe((0xfffff000 + i * 1448) >>> 0); // wraps past 2^32
            expect(s.tcpFlags).toBe(i < 6 ? TCP_ACK : TCP_ACK | TCP_PSH | TCP_FIN);
          }
        });
      });
    }
  }

  it('random super-packets split into segments that carry the same bytes with valid checksums', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4 as const, 6 as const),
        fc.constantFrom('tcp' as const, 'udp' as const),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 64, max: 9000 }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (family, l4, length, gsoSize, headroom, seq) => {
          const payload = payloadOf(length, seq & 255);
          const { n, segments } = split(buildSuperPacket({ family, l4, payload, gsoSize, seq }), headroom);
          expect(n).toBe(Math.ceil(length / gsoSize));
          expect(segments.every((s) => s.ipOk && s.l4Ok)).toBe(true);
          expect(Buffer.concat(segments.map((s) => s.payload)).equals(Buffer.from(payload))).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('completes the checksum of a non-GSO NEEDS_CSUM packet in place and returns 0', () => {
    const packet = buildSuperPacket({ family: 4, l4: 'udp', payload: payloadOf(333, 1), gsoSize: 0 });
    packet[1] = 0; // GSO_NONE
    expect(parseSegment(packet.subarray(VNET_HDR_LEN)).l4Ok).toBe(false); // partial sum only
    const { n } = split(packet, 0);
    expect(n).toBe(0);
    const inPlace = parseSegment(memory.slice(VNET_HDR_LEN, packet.length));
    expect(inPlace.l4Ok).toBe(true);
    expect(Buffer.from(inPlace.payload).equals(Buffer.from(payloadOf(333, 1)))).toBe(true);
  });

  it('reports -ENOBUFS for a small target and -EINVAL for malformed packets, without writing', () => {
    const packet = buildSuperPacket({ family: 4, l4: 'tcp', payload: payloadOf(5000, 2), gsoSize: 1000 });
    memory.fill(0xee, TARGET, TARGET + 8192);
    expect(split(packet, 0, 4000).n).toBe(-105);
    expect(memory.subarray(TARGET, TARGET + 8192).every((b) => b === 0xee)).toBe(true);
    const ufo = packet.slice();
    ufo[1] = 3; // legacy UFO: unsupported
    expect(split(ufo, 0).n).toBe(-22);
    const mismatched = packet.slice();
    mismatched[1] = 4; // TCPV6 on an IPv4 packet
    expect(split(mismatched, 0).n).toBe(-22);
    const truncated = packet.slice(0, 40);
    expect(split(truncated, 0).n).toBe(-22);
    expect(split(packet.slice(0, 4), 0).n).toBe(-22);
  });

  it('rejects out-of-range records and overlapping ranges with NETIO_BAD_ARGUMENT', () => {
    const bad = expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' });
    expect(() => tun.split(0, 4, 0)).toThrow(bad);
    expect(() => tun.split(-1, 1, 0)).toThrow(bad);
    meta.set([0, 100], 0);
    meta.set([50, 100], MSG_STRIDE);
    expect(() => tun.split(0, 1, 0)).toThrow(bad);
    meta.set([memory.length - 10, 100], MSG_STRIDE);
    expect(() => tun.split(0, 1, 0)).toThrow(bad);
    meta.set([TARGET, 100], MSG_STRIDE);
    expect(() => tun.split(0, 1, 5000)).toThrow(bad);
  });
});

describe('offloading TUNs joined by read → split → write (real kernel)', () => {
  const lab = new Lab('o');
  const READ_SLOT = 65_536 + 64;
  const READS = 8;
  const TARGET_SLOT = 96 * 1024;
  const HEADROOM = 16; // ≥ VNET_HDR_LEN: room for the zeroed virtio header of a plain write
  const RECORDS_PER_DIRECTION = 512;
  const DIRECTION_BYTES = READS * (READ_SLOT + TARGET_SLOT);
  const memory = new Uint8Array(new SharedArrayBuffer(3 * DIRECTION_BYTES));
  const meta = new Int32Array(3 * RECORDS_PER_DIRECTION * MSG_STRIDE);
  const stats = { superPackets: 0, segments: 0, plain: 0, dropped: 0, writes: 0, merged: 0 };
  /** 'plain': every packet written alone (zero virtio header); 'coalesced': through writeCoalesced. */
  let mode: 'plain' | 'coalesced' = 'plain';
  let nsA: string;
  let nsB: string;
  let tunA: Tun;
  let tunB: Tun;

  /** Moves everything readable on `from` into `to`; bounded rounds per readiness event. */
  function forward(from: Tun, to: Tun, direction: number) {
    const base = direction * DIRECTION_BYTES;
    const first = direction * RECORDS_PER_DIRECTION;
    const targets = first + READS;
    const writes = targets + READS;
    for (let round = 0; round < 64; round++) {
      for (let r = 0; r < READS; r++) meta.set([base + r * READ_SLOT, READ_SLOT], (first + r) * MSG_STRIDE);
      const n = from.read(first, READS);
      if (n === 0) return;
      let out = 0;
      const emit = (start: number, length: number) => {
        if (mode === 'plain') memory.fill(0, start - VNET_HDR_LEN, start);
        const [at, size] = mode === 'plain' ? [start - VNET_HDR_LEN, length + VNET_HDR_LEN] : [start, length];
        meta.set([at, size, 0, 0, 0, 0, 0, 0], (writes + out++) * MSG_STRIDE);
      };
      for (let r = 0; r < n; r++) {
        const offset = meta[(first + r) * MSG_STRIDE + MSG_OFFSET];
        const length = meta[(first + r) * MSG_STRIDE + MSG_LENGTH];
        const target = targets + r;
        meta.set([base + READS * READ_SLOT + r * TARGET_SLOT, TARGET_SLOT], target * MSG_STRIDE);
        const k = length > 0 ? from.split(first + r, target, HEADROOM) : -1;
        if (k < 0) {
          stats.dropped++;
        } else if (k === 0) {
          stats.plain++;
          emit(offset + VNET_HDR_LEN, length - VNET_HDR_LEN);
        } else {
          stats.superPackets++;
          stats.segments += k;
          const start = meta[target * MSG_STRIDE + MSG_OFFSET];
          const stride = meta[target * MSG_STRIDE + MSG_SEGMENT];
          const total = meta[target * MSG_STRIDE + MSG_LENGTH];
          for (let i = 0; i < k; i++) {
            const at = start + i * stride + HEADROOM;
            emit(at, (i + 1 < k ? start + (i + 1) * stride : start + total) - at);
          }
        }
      }
      if (mode === 'plain') {
        to.write(writes, out);
        stats.writes += out;
      } else {
        to.writeCoalesced(writes, out);
        for (let i = 0; i < out; ) {
          const group = Math.max(1, meta[(writes + i) * MSG_STRIDE + MSG_SEGMENT]);
          stats.writes++;
          if (group > 1) stats.merged += group;
          i += group;
        }
      }
    }
  }

  beforeAll(async () => {
    nsA = await lab.addNetns('a');
    nsB = await lab.addNetns('b');
    tunA = openTun({ name: lab.name('ta'), vnetHeader: true, offloads: OFFLOADS });
    tunB = openTun({ name: lab.name('tb'), vnetHeader: true, offloads: OFFLOADS });
    lab.track(() => tunA.close());
    lab.track(() => tunB.close());
    for (const [tun, ns, local, remote] of [
      [tunA, nsA, '1', '2'],
      [tunB, nsB, '2', '1'],
    ] as const) {
      tun.attach(memory, meta);
      expect(tun.offloads & OFFLOADS).toBe(tun.offloads);
      await sh('ip', ['link', 'set', tun.name, 'netns', ns]);
      await sh('ip', ['addr', 'add', `10.79.${local}.1/24`, 'dev', tun.name], { netns: ns });
      await sh('ip', ['addr', 'add', `fd00:79:${local}::1/64`, 'dev', tun.name, 'nodad'], { netns: ns });
      await sh('ip', ['link', 'set', tun.name, 'up'], { netns: ns });
      await sh('ip', ['route', 'add', `10.79.${remote}.0/24`, 'dev', tun.name], { netns: ns });
      await sh('ip', ['route', 'add', `fd00:79:${remote}::/64`, 'dev', tun.name], { netns: ns });
    }
    const pollA = createPoller(tunA.fd, () => forward(tunA, tunB, 0));
    const pollB = createPoller(tunB.fd, () => forward(tunB, tunA, 1));
    lab.track(() => pollA.close());
    lab.track(() => pollB.close());
    pollA.start(PollEvents.READABLE);
    pollB.start(PollEvents.READABLE);
  });
  afterAll(() => lab.dispose());

  const SERVER = [
    'import socket, hashlib, sys',
    's = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)',
    's.bind((sys.argv[1], 5201)); s.listen(1); s.settimeout(30)',
    'print("ready", flush=True)',
    'c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0',
    'while True:',
    '    d = c.recv(1 << 20)',
    '    if not d: break',
    '    h.update(d); n += len(d)',
    'print("received", n, h.hexdigest(), flush=True)',
  ].join('\n');
  const CLIENT = [
    'import socket, hashlib, random, sys',
    'random.seed(7); data = random.randbytes(4 << 20)',
    'print("sent", len(data), hashlib.sha256(data).hexdigest(), flush=True)',
    's = socket.create_connection((sys.argv[1], 5201), timeout=30); s.sendall(data); s.close()',
  ].join('\n');

  for (const writeMode of ['plain', 'coalesced'] as const) {
    for (const [family, server] of [
      [4, '10.79.2.1'],
      [6, 'fd00:79:2::1'],
    ] as const) {
      it(`a 4 MiB IPv${family} TCP transfer arrives intact (sha256): TSO split, ${writeMode} writes`, async () => {
        mode = writeMode;
        const before = { ...stats };
        const receiver = lab.spawn(nsB, 'python3', ['-c', SERVER, server]);
        await receiver.waitForOutput(/ready/, 10_000);
        const sender = await sh('python3', ['-c', CLIENT, server], { netns: nsA, timeoutMs: 60_000 });
        const [, sentBytes, sentHash] = sender.stdout.match(/sent (\d+) ([0-9a-f]{64})/)!;
        const [, gotBytes, gotHash] = await receiver.waitForOutput(/received (\d+) ([0-9a-f]{64})/, 60_000);
        expect(Number(gotBytes)).toBe(Number(sentBytes));
        expect(gotHash).toBe(sentHash);
        // The kernel did hand over super-packets, and they were split (not just plain packets).
        expect(stats.superPackets).toBeGreaterThan(before.superPackets);
        expect(stats.segments - before.segments).toBeGreaterThan(stats.superPackets - before.superPackets);
        if (writeMode === 'coalesced') {
          // Most segments went back into the kernel as super-packets: far fewer writes than segments.
          expect(stats.merged - before.merged).toBeGreaterThan((stats.segments - before.segments) / 2);
          expect(stats.writes - before.writes).toBeLessThan((stats.segments - before.segments) / 4);
        }
      });
    }
  }

  it('a UDP GSO send (USO on the TUN) arrives as its individual datagrams', async () => {
    const receiver = lab.spawn(nsB, 'python3', [
      '-c',
      [
        'import socket',
        's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.79.2.1", 5300)); s.settimeout(20)',
        'print("ready", flush=True)',
        'for i in range(10):',
        '    d, a = s.recvfrom(65535); print("got", len(d), d[:1].hex(), d[-1:].hex(), flush=True)',
      ].join('\n'),
    ]);
    await receiver.waitForOutput(/ready/, 10_000);
    await sh(
      'python3',
      [
        '-c',
        [
          'import socket',
          's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
          's.setsockopt(socket.SOL_UDP, 103, 1000)  # UDP_SEGMENT',
          'data = b"".join(bytes([i]) * 1000 for i in range(9)) + bytes([9]) * 500',
          's.sendto(data, ("10.79.2.1", 5300))',
        ].join('\n'),
      ],
      { netns: nsA },
    );
    await receiver.waitForOutput(/(got .*\n){10}/, 20_000);
    const lines = receiver.output().match(/^got .*$/gm)!;
    const expected = Array.from({ length: 10 }, (_, i) => {
      const b = i.toString(16).padStart(2, '0');
      return `got ${i < 9 ? 1000 : 500} ${b} ${b}`;
    });
    expect(lines.sort()).toEqual(expected.sort());
  });

  it('writeCoalesced merges equal UDP datagrams (USO) around a corrupted one, which goes alone and is dropped', async () => {
    if ((tunB.offloads & TunOffload.USO4) === 0) return; // kernel without USO: UDP is never merged
    mode = 'plain';
    const receiver = lab.spawn(nsB, 'python3', [
      '-c',
      [
        'import socket',
        's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.79.2.1", 5201)); s.settimeout(20)',
        'print("ready", flush=True)',
        'for i in range(9):',
        '    d, a = s.recvfrom(65535); print("got", len(d), d[:2].hex(), flush=True)',
      ].join('\n'),
    ]);
    await receiver.waitForOutput(/ready/, 10_000);
    // A hand-built USO super-packet (10.79.1.1 → 10.79.2.1:5201), split into 10 datagrams in the third range.
    const base = 2 * DIRECTION_BYTES;
    const first = 2 * RECORDS_PER_DIRECTION;
    const payload = Uint8Array.from({ length: 9500 }, (_, i) => Math.floor(i / 1000) * 16 + (i % 7));
    const packet = buildSuperPacket({ family: 4, l4: 'udp', payload, gsoSize: 1000 });
    memory.set(packet, base);
    meta.set([base, packet.length], first * MSG_STRIDE);
    meta.set([base + 65_536, 32_768], (first + 1) * MSG_STRIDE);
    expect(tunB.split(first, first + 1, 0)).toBe(10);
    const stride = meta[(first + 1) * MSG_STRIDE + MSG_SEGMENT];
    for (let i = 0; i < 10; i++) {
      meta.set(
        [base + 65_536 + i * stride, i < 9 ? stride : 20 + 8 + 500, 0, 0, 0, 0, 0, 0],
        (first + 2 + i) * MSG_STRIDE,
      );
    }
    memory[base + 65_536 + 5 * stride + 100] ^= 0xff; // datagram 5 now fails its UDP checksum
    expect(tunB.writeCoalesced(first + 2, 10)).toBe(10);
    const groups = Array.from({ length: 10 }, (_, i) => meta[(first + 2 + i) * MSG_STRIDE + MSG_SEGMENT]);
    expect(groups).toEqual([5, 5, 5, 5, 5, 1, 4, 4, 4, 4]);
    await receiver.waitForOutput(/(got .*\n){9}/, 20_000);
    const lines = receiver.output().match(/^got .*$/gm)!;
    const expected = [0, 1, 2, 3, 4, 6, 7, 8, 9].map(
      (i) =>
        `got ${i < 9 ? 1000 : 500} ${Buffer.from(payload.subarray(i * 1000, i * 1000 + 2)).toString('hex')}`,
    );
    expect(lines.sort()).toEqual(expected.sort());
  });
});

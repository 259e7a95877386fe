/**
 * Tun.writeInbound on the real kernel: the receive path's checksums and TUN writes in one call. The TUN
 * (offloads on) is opened here and moved into a fresh namespace; a python3 socket there receives.
 *
 * - COVERED packets (their datagram's outer UDP checksum was verified) are not summed: a run goes in as
 *   one USO write, a lone one with NEEDS_CSUM, so the kernel does not sum it either; that is also why a
 *   kernel peer's partial checksum needs no completing there.
 * - CHECK packets are verified first: a partial checksum is completed, a bad packet never reaches the
 *   kernel (reported BAD), good ones are delivered.
 */
import {
  Inbound,
  InnerChecksum,
  ipv4ToInt,
  MSG_ADDR,
  MSG_LENGTH,
  MSG_SEGMENT,
  MSG_STRIDE,
  openTun,
  type Tun,
  TunOffload,
} from '@felt/netio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, sh, waitFor } from '../harness/netns.js';
import { buildSuperPacket, TCP_ACK } from './gso-packets.js';
import { buildIpv4Udp } from './packets.js';
import { armSlots, fillRecord, makeRegion, PY_RECEIVER, recordBytes, tunInNetns } from './tun-setup.js';

const LOCAL = '10.78.0.1';
const REMOTE = '10.78.1.5';
const OFFLOADS = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6 | TunOffload.USO4 | TunOffload.USO6;
const UDP_CHECKSUM = 26;

describe('Tun.writeInbound', () => {
  const lab = new Lab('i');
  const region = makeRegion(64);
  let ns: string;
  let tun: Tun;

  beforeAll(async () => {
    ns = await lab.addNetns('ns');
    tun = openTun({ name: lab.name('tun'), vnetHeader: true, offloads: OFFLOADS });
    lab.track(() => tun.close());
    tun.attach(region.memory, region.meta);
    await tunInNetns(tun, ns, LOCAL, '10.78.1.0/24');
    // gso-packets' TCP segments go from 10.79.1.1:40000 to 10.79.2.1:5201 (nobody listens: RST).
    await sh('ip', ['addr', 'add', '10.79.2.1/24', 'dev', tun.name], { netns: ns });
    await sh('ip', ['route', 'add', '10.79.1.0/24', 'dev', tun.name], { netns: ns });
  });
  afterAll(() => lab.dispose());

  /** A UDP packet from REMOTE:srcPort to LOCAL:port with an ASCII payload (valid checksums). */
  const udp = (port: number, payload: string, srcPort = 4321) =>
    buildIpv4Udp({ src: REMOTE, dst: LOCAL, srcPort, dstPort: port, payload: Buffer.from(payload) });

  /** Replaces the UDP checksum with the pseudo-header sum only (CHECKSUM_PARTIAL, as a kernel peer's). */
  function partial(packet: Uint8Array): Uint8Array {
    const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const src = ipv4ToInt(REMOTE);
    const dst = ipv4ToInt(LOCAL);
    let sum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 17 + (packet.length - 20);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    view.setUint16(UDP_CHECKSUM, sum);
    return packet;
  }

  /** Flips a payload byte without fixing the checksum. */
  function corrupt(packet: Uint8Array): Uint8Array {
    packet[packet.length - 1] ^= 0x01;
    return packet;
  }

  /** Stages `packets` as records 0..n-1 with the given integrity; writes them; returns per-record results. */
  function writeInbound(packets: Uint8Array[], integrity: number[]) {
    packets.forEach((p, r) => {
      fillRecord(region, r, p);
      region.meta[r * MSG_STRIDE + MSG_SEGMENT] = integrity[r];
      region.meta[r * MSG_STRIDE + MSG_ADDR] = 0;
    });
    const consumed = tun.writeInbound(0, packets.length, 1450);
    const field = (r: number, word: number) => region.meta[r * MSG_STRIDE + word];
    return {
      consumed,
      lengths: packets.map((_, r) => field(r, MSG_LENGTH)),
      writes: packets.map((_, r) => field(r, MSG_SEGMENT)),
      checksums: packets.map((_, r) => field(r, MSG_ADDR)),
    };
  }

  async function receive(port: number, want: number, send: () => void): Promise<string[]> {
    const receiver = lab.spawn(ns, 'python3', ['-c', PY_RECEIVER, String(port), String(want)]);
    await receiver.waitForOutput(/ready/, 10_000);
    send();
    await waitFor(
      `${want} datagrams on port ${port}`,
      () => receiver.output().match(/^got .*$/gm)?.length === want,
      {
        timeoutMs: 10_000,
        intervalMs: 20,
      },
    );
    await receiver.exited;
    return (receiver.output().match(/^got .*$/gm) ?? []).map((line) => line.split(' ')[3]);
  }

  it('writes COVERED packets unsummed: a run as one USO write, lone ones with NEEDS_CSUM (even a partial checksum)', async () => {
    const run = Array.from({ length: 8 }, (_, i) => udp(5200, `run-${i}`.padEnd(12, '.')));
    const lone = partial(udp(5200, 'lone-partial', 4322));
    const packets = [...run, lone];
    let result: ReturnType<typeof writeInbound> | undefined;
    const payloads = await receive(5200, packets.length, () => {
      result = writeInbound(
        packets,
        packets.map(() => Inbound.COVERED),
      );
    });
    expect(result?.consumed).toBe(packets.length);
    expect(result?.writes).toEqual([...run.map(() => 8), 1]);
    expect(result?.lengths).toEqual(packets.map((p) => p.length));
    expect(result?.checksums).toEqual(packets.map(() => InnerChecksum.VALID));
    expect(payloads).toEqual([...run.map((_, i) => `run-${i}`.padEnd(12, '.')), 'lone-partial']);
  });

  it('CHECKs the others: completes a partial checksum, consumes a bad packet unwritten, delivers the good ones', async () => {
    const packets = [udp(5201, 'good-0'), corrupt(udp(5201, 'bad-1')), partial(udp(5201, 'partial-2'))];
    let result: ReturnType<typeof writeInbound> | undefined;
    const payloads = await receive(5201, 2, () => {
      result = writeInbound(
        packets,
        packets.map(() => Inbound.CHECK),
      );
    });
    expect(result?.consumed).toBe(3);
    expect(result?.checksums).toEqual([InnerChecksum.VALID, InnerChecksum.BAD, InnerChecksum.COMPLETED]);
    expect(result?.writes).toEqual([1, 0, 1]);
    expect(result?.lengths).toEqual(packets.map((p) => p.length));
    expect(payloads).toEqual(['good-0', 'partial-2']);
  });

  it('never merges across a bad packet and keeps the order of what it writes', async () => {
    const packets = [0, 1, 2, 3, 4].map((i) => udp(5202, `seq-${i}`));
    corrupt(packets[2]);
    let result: ReturnType<typeof writeInbound> | undefined;
    const payloads = await receive(5202, 4, () => {
      result = writeInbound(
        packets,
        packets.map(() => Inbound.CHECK),
      );
    });
    expect(result?.writes).toEqual([2, 2, 0, 2, 2]);
    expect(payloads).toEqual(['seq-0', 'seq-1', 'seq-3', 'seq-4']);
  });

  it('writes a lone COVERED TCP segment with NEEDS_CSUM: the kernel takes it unsummed (its RST comes back)', async () => {
    const TCP_SYN = 0x02;
    const TCP_RST = 0x04;
    // Checksum field = pseudo-header sum only: invalid unless the kernel takes it as partial.
    const syn = buildSuperPacket({
      family: 4,
      l4: 'tcp',
      payload: new Uint8Array(0),
      gsoSize: 0,
      tcpFlags: TCP_SYN,
    });
    const result = writeInbound([syn.slice(10)], [Inbound.COVERED]);
    expect(result).toMatchObject({ consumed: 1, writes: [1], checksums: [InnerChecksum.VALID] });
    const reply = await waitFor(
      'the RST for the SYN from the TUN',
      () => {
        armSlots(region, 0, 8);
        const n = tun.read(0, 8);
        for (let r = 0; r < n; r++) {
          const ip = recordBytes(region, r).subarray(10);
          if (ip[0] >> 4 === 4 && ip[9] === 6 && (ip[20 + 13] & TCP_RST) !== 0) return ip;
        }
        return undefined;
      },
      { timeoutMs: 10_000, intervalMs: 10 },
    );
    expect(Array.from(reply.subarray(12, 20))).toEqual([10, 79, 2, 1, 10, 79, 1, 1]);
    // A TCP segment with a wrong checksum, CHECKed: reported bad, never written.
    const again = buildSuperPacket({
      family: 4,
      l4: 'tcp',
      payload: new Uint8Array(8),
      gsoSize: 0,
      tcpFlags: TCP_ACK,
    });
    const ip = again.slice(10);
    ip[20 + 16] ^= 0xff; // the checksum field: neither valid nor the partial sum
    expect(writeInbound([ip], [Inbound.CHECK])).toMatchObject({
      writes: [0],
      checksums: [InnerChecksum.BAD],
    });
  });
});

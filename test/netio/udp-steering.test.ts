/**
 * UdpOptions.reusePortSteering on root-namespace loopback (127.0.0.1 only): an SO_REUSEPORT group whose
 * program picks the receiving socket by the inner flow of each datagram. Every datagram comes from ONE
 * source port (as from a felt peer), so without the program the kernel would give them all to one socket.
 * Checked against the documented formula (steeringIndex below): each datagram lands on the socket it
 * names, both directions of a flow on the same one, fragments without ports, non-IPv4 and short
 * datagrams on socket 0, and an index the group does not have yet falls back to the kernel's hash.
 */
import { createSocket, type Socket } from 'node:dgram';
import { MSG_LENGTH, MSG_OFFSET, MSG_STRIDE, openUdp, type UdpSocket } from '@felt/netio';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/netns.js';

const SLOT = 2048;
const RECORDS = 64;
const TCP = 6;
const UDP = 17;
/** IPv4 flags/fragment-offset word of a fragment that is not the first (offset 185 * 8 bytes). */
const LATER_FRAGMENT = 185;

const K = 0x9e3779b1;
const ascending = (a: number, b: number) => (a > b ? [b, a] : [a, b]);

/** The socket index reusePortSteering documents (src/types.ts ReusePortSteering), for whole datagrams. */
function steeringIndex(datagram: Buffer, innerOffset: number, groupSize: number): number {
  const o = innerOffset;
  if (datagram.length < o + 20 || (datagram[o] & 0xf0) !== 0x40) return 0;
  const [lo, hi] = ascending(datagram.readUInt32BE(o + 12), datagram.readUInt32BE(o + 16));
  let h = (Math.imul(lo, K) + hi) >>> 0;
  const protocol = datagram[o + 9];
  if ((protocol === TCP || protocol === UDP) && (datagram.readUInt16BE(o + 6) & 0x3fff) === 0) {
    const l4 = o + (datagram[o] & 0x0f) * 4;
    const [low, high] = ascending(datagram.readUInt16BE(l4), datagram.readUInt16BE(l4 + 2));
    h = (h ^ ((low << 16) | high)) >>> 0;
  }
  return (Math.imul(h, K) >>> 16) % groupSize;
}

interface InnerPacket {
  source: string;
  destination: string;
  protocol: number;
  sourcePort: number;
  destinationPort: number;
  fragment?: number;
}

const addressBytes = (address: string) => address.split('.').map(Number);

/** A tunnel datagram: `innerOffset` bytes of outer header, an inner IPv4 header, ports, then `id`. */
function datagram(innerOffset: number, p: InnerPacket, id: number): Buffer {
  const out = Buffer.alloc(innerOffset + 20 + 8 + 4);
  if (innerOffset >= 14) out.writeUInt16BE(0x0800, innerOffset - 2); // the inner Ethernet type
  const ip = innerOffset;
  out[ip] = 0x45;
  out.writeUInt16BE(out.length - innerOffset, ip + 2);
  out.writeUInt16BE(p.fragment ?? 0, ip + 6);
  out[ip + 8] = 64;
  out[ip + 9] = p.protocol;
  out.set(addressBytes(p.source), ip + 12);
  out.set(addressBytes(p.destination), ip + 16);
  out.writeUInt16BE(p.sourcePort, ip + 20);
  out.writeUInt16BE(p.destinationPort, ip + 22);
  out.writeUInt32BE(id, out.length - 4);
  return out;
}

const reversed = (p: InnerPacket): InnerPacket => ({
  ...p,
  source: p.destination,
  destination: p.source,
  sourcePort: p.destinationPort,
  destinationPort: p.sourcePort,
});

/** Pod address pairs and ports as between two felt nodes' leases. */
const flows: InnerPacket[] = Array.from({ length: 16 }, (_, i) => ({
  source: `10.244.1.${2 + i}`,
  destination: `10.244.2.${2 + ((i * 7) % 13)}`,
  protocol: i % 3 === 2 ? UDP : TCP,
  sourcePort: 40_000 + i * 101,
  destinationPort: 5201 + (i % 4),
}));

describe('reusePortSteering: inner-flow selection in an SO_REUSEPORT group', () => {
  const open: { close(): void }[] = [];
  afterEach(() => {
    for (const handle of open.splice(0)) handle.close();
  });

  /** Opens `count` steered sockets for a group of groupSize on one loopback port, in bind order. */
  function openGroup(innerOffset: number, groupSize: number, count = groupSize): UdpSocket[] {
    const group: UdpSocket[] = [];
    for (let i = 0; i < count; i++) group.push(openSteered(group[0]?.localPort ?? 0, innerOffset, groupSize));
    return group;
  }

  const regions = new Map<UdpSocket, { memory: Uint8Array; meta: Int32Array }>();

  function openSteered(port: number, innerOffset: number, groupSize: number): UdpSocket {
    const socket = openUdp({
      family: 4,
      address: '127.0.0.1',
      port,
      reusePort: true,
      reusePortSteering: { innerOffset, groupSize },
    });
    open.push(socket);
    // This kernel takes the program; were it refused, the group would spread by the kernel's hash.
    expect(socket.steered).toBe(true);
    const region = {
      memory: new Uint8Array(new SharedArrayBuffer(SLOT * RECORDS)),
      meta: new Int32Array(RECORDS * MSG_STRIDE),
    };
    socket.attach(region.memory, region.meta);
    regions.set(socket, region);
    return socket;
  }

  /** Sends each datagram from one socket, so all share the outer source address and port. */
  async function sendAll(port: number, datagrams: Buffer[]): Promise<void> {
    const sender: Socket = createSocket('udp4');
    open.push({ close: () => sender.close() });
    await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
    for (const d of datagrams) {
      await new Promise<void>((resolve, reject) =>
        sender.send(d, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    }
  }

  /** Receives on every socket of the group until all of `sent` arrived; returns the socket index of each. */
  async function receiveAll(group: UdpSocket[], sent: Buffer[]): Promise<number[]> {
    const idOf = new Map(sent.map((d, id) => [d.toString('hex'), id]));
    const landed: number[] = [];
    let received = 0;
    await waitFor(
      `${sent.length} datagrams over the group`,
      () => {
        group.forEach((socket, index) => {
          const { memory, meta } = regions.get(socket)!;
          for (let r = 0; r < RECORDS; r++) {
            meta[r * MSG_STRIDE + MSG_OFFSET] = r * SLOT;
            meta[r * MSG_STRIDE + MSG_LENGTH] = SLOT;
          }
          const n = socket.recv(0, RECORDS);
          for (let r = 0; r < n; r++) {
            const length = meta[r * MSG_STRIDE + MSG_LENGTH];
            const id = idOf.get(Buffer.from(memory.subarray(r * SLOT, r * SLOT + length)).toString('hex'));
            expect(id).toBeDefined();
            expect(landed[id!]).toBeUndefined();
            landed[id!] = index;
            received++;
          }
        });
        return received >= sent.length;
      },
      { timeoutMs: 10_000, intervalMs: 5 },
    );
    return landed;
  }

  describe.each([
    { backend: 'vxlan', innerOffset: 22, groupSize: 2 },
    { backend: 'udp', innerOffset: 0, groupSize: 3 },
  ])('$backend (inner IP at $innerOffset), $groupSize sockets', ({ innerOffset, groupSize }) => {
    it('puts each datagram on the socket its inner flow names, both directions of a flow on the same one', async () => {
      const group = openGroup(innerOffset, groupSize);
      const sent = flows.flatMap((flow, i) => [
        datagram(innerOffset, flow, 2 * i),
        datagram(innerOffset, reversed(flow), 2 * i + 1),
      ]);
      const predicted = sent.map((d) => steeringIndex(d, innerOffset, groupSize));
      // The fixed flows do spread: every socket is named by some flow, so a pass is not one-socket luck.
      expect(new Set(predicted).size).toBe(groupSize);
      await sendAll(group[0].localPort, sent);
      const landed = await receiveAll(group, sent);
      expect(landed).toEqual(predicted);
      for (let i = 0; i < flows.length; i++) expect(landed[2 * i + 1]).toBe(landed[2 * i]);
    });

    it('hashes fragments by addresses only; non-IPv4 and short datagrams go to socket 0', async () => {
      const group = openGroup(innerOffset, groupSize);
      const sent = flows.flatMap((flow, i) => [
        // A first fragment (more-fragments flag) and a later one of the same datagram hash alike.
        datagram(innerOffset, { ...flow, fragment: 0x2000 }, 2 * i),
        datagram(innerOffset, { ...flow, fragment: LATER_FRAGMENT, sourcePort: 1 }, 2 * i + 1),
      ]);
      const fragments = sent.map((d) => steeringIndex(d, innerOffset, groupSize));
      for (let i = 0; i < flows.length; i++) expect(fragments[2 * i + 1]).toBe(fragments[2 * i]);
      expect(new Set(fragments).size).toBe(groupSize);
      // A flow not on socket 0, sent as an IPv6 packet and cut short inside the destination address.
      const flow = flows.find(
        (f) => steeringIndex(datagram(innerOffset, f, 0), innerOffset, groupSize) !== 0,
      )!;
      const ipv6 = datagram(innerOffset, flow, sent.length);
      ipv6[innerOffset] = 0x60;
      const short = datagram(innerOffset, flow, sent.length + 1).subarray(0, innerOffset + 18);
      sent.push(ipv6, short);
      await sendAll(group[0].localPort, sent);
      const landed = await receiveAll(group, sent);
      expect(landed).toEqual([...fragments, 0, 0]);
    });
  });

  it('falls back to the kernel hash for an index the group does not have yet, then uses it once bound', async () => {
    const innerOffset = 22;
    const [first] = openGroup(innerOffset, 2, 1);
    const sent = flows.map((flow, id) => datagram(innerOffset, flow, id));
    const predicted = sent.map((d) => steeringIndex(d, innerOffset, 2));
    expect(predicted).toContain(1);
    await sendAll(first.localPort, sent);
    const alone = await receiveAll([first], sent); // nothing lost for the missing socket 1
    expect(alone.every((index) => index === 0)).toBe(true);

    const second = openSteered(first.localPort, innerOffset, 2);
    const again = flows.map((flow, id) => datagram(innerOffset, flow, 100 + id));
    await sendAll(first.localPort, again);
    expect(await receiveAll([first, second], again)).toEqual(predicted);
  });

  it('rejects steering without reusePort or with a bad offset or group size (NETIO_BAD_ARGUMENT)', () => {
    const bad = expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' });
    const base = { family: 4 as const, address: '127.0.0.1', port: 0 };
    expect(() => openUdp({ ...base, reusePortSteering: { innerOffset: 22, groupSize: 2 } })).toThrow(bad);
    for (const steering of [
      { innerOffset: -1, groupSize: 2 },
      { innerOffset: 22, groupSize: 0 },
      { innerOffset: 22, groupSize: 1.5 },
      { innerOffset: 70_000, groupSize: 2 },
    ]) {
      expect(() => openUdp({ ...base, reusePort: true, reusePortSteering: steering })).toThrow(bad);
    }
    const plain = openUdp({ ...base, reusePort: true });
    open.push(plain);
    expect(plain.steered).toBe(false);
  });
});

/**
 * @felt/netio batched UDP sockets on root-namespace loopback (127.0.0.1 and ::1 only): sendmmsg/recvmmsg
 * over the record convention, UDP GSO/GRO, per-message failures, and every error path.
 */
import { readFileSync } from 'node:fs';
import {
  createPoller,
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_SEGMENT,
  MSG_STRIDE,
  openUdp,
  PollEvents,
  recordPeerAddress,
  setRecordPeer,
  type UdpSocket,
} from '@felt/netio';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/netns.js';

const SLOT = 65536;
const RECORDS = 64;

interface Region {
  memory: Uint8Array;
  meta: Int32Array;
}

const makeRegion = (records = RECORDS): Region => ({
  memory: new Uint8Array(new SharedArrayBuffer(SLOT * records)),
  meta: new Int32Array(records * MSG_STRIDE),
});

const hasIpv6Loopback = (() => {
  try {
    return /^0{31}1 .* lo$/m.test(readFileSync('/proc/net/if_inet6', 'utf8'));
  } catch {
    return false;
  }
})();

/** Fills record r with `bytes` at slot r, addressed to address:port, with an optional GSO size. */
function stage(region: Region, r: number, bytes: Uint8Array, address: string, port: number, segment = 0) {
  region.memory.set(bytes, r * SLOT);
  const base = r * MSG_STRIDE;
  region.meta[base + MSG_OFFSET] = r * SLOT;
  region.meta[base + MSG_LENGTH] = bytes.length;
  region.meta[base + MSG_SEGMENT] = segment;
  setRecordPeer(region.meta, r, address, port);
}

interface Datagram {
  payload: Buffer;
  address: string;
  port: number;
  segment: number;
  length: number;
}

/** Receives until `want` datagrams (or records) arrived, bounded by a deadline. */
async function receive(socket: UdpSocket, region: Region, want: number): Promise<Datagram[]> {
  const got: Datagram[] = [];
  await waitFor(
    `${want} datagrams on port ${socket.localPort}`,
    () => {
      for (let r = 0; r < RECORDS; r++) {
        region.meta[r * MSG_STRIDE + MSG_OFFSET] = r * SLOT;
        region.meta[r * MSG_STRIDE + MSG_LENGTH] = SLOT;
      }
      const n = socket.recv(0, RECORDS);
      for (let r = 0; r < n; r++) {
        const base = r * MSG_STRIDE;
        const length = region.meta[base + MSG_LENGTH];
        got.push({
          length,
          payload: Buffer.from(region.memory.subarray(r * SLOT, r * SLOT + Math.max(length, 0))),
          address: recordPeerAddress(region.meta, r, socket.family),
          port: region.meta[base + 6],
          segment: region.meta[base + MSG_SEGMENT],
        });
      }
      return got.length >= want;
    },
    { timeoutMs: 10_000, intervalMs: 5 },
  );
  return got;
}

const payloadFor = (i: number) => Buffer.alloc(100 + ((i * 37) % 1300), `dgram-${i}-`);

describe('batched UDP on loopback', () => {
  const open: UdpSocket[] = [];
  const openSocket = (options: Parameters<typeof openUdp>[0]) => {
    const socket = openUdp(options);
    open.push(socket);
    return socket;
  };
  afterEach(() => {
    for (const socket of open.splice(0)) socket.close();
  });

  for (const family of [4, 6] as const) {
    const loopback = family === 4 ? '127.0.0.1' : '::1';
    it.skipIf(family === 6 && !hasIpv6Loopback)(
      `IPv${family}: sendmmsg of 64 datagrams reaches recvmmsg with every payload, source address and port`,
      async () => {
        const receiver = openSocket({ family, address: loopback, port: 0 });
        const sender = openSocket({ family, address: loopback, port: 0 });
        expect(receiver.localPort).toBeGreaterThan(0);
        const out = makeRegion();
        const inbound = makeRegion();
        sender.attach(out.memory, out.meta);
        receiver.attach(inbound.memory, inbound.meta);
        for (let i = 0; i < 64; i++) stage(out, i, payloadFor(i), loopback, receiver.localPort);
        expect(sender.send(0, 64)).toBe(64);
        for (let i = 0; i < 64; i++) expect(out.meta[i * MSG_STRIDE + MSG_LENGTH]).toBe(payloadFor(i).length);
        const got = await receive(receiver, inbound, 64);
        expect(got).toHaveLength(64);
        got.forEach((d, i) => {
          expect(d.payload.equals(payloadFor(i))).toBe(true);
          expect(d).toMatchObject({ address: loopback, port: sender.localPort, segment: 0 });
        });
        // Drained: the next recv finds nothing (EAGAIN → 0).
        expect(receiver.recv(0, RECORDS)).toBe(0);
      },
    );
  }

  it('a too-large message fails alone (-EMSGSIZE in its record) and the rest of the batch is sent', async () => {
    const receiver = openSocket({ family: 4, address: '127.0.0.1', port: 0 });
    const sender = openSocket({ family: 4, address: '127.0.0.1', port: 0 });
    const out = makeRegion(4);
    const inbound = makeRegion();
    sender.attach(out.memory, out.meta);
    receiver.attach(inbound.memory, inbound.meta);
    stage(out, 0, Buffer.from('before'), '127.0.0.1', receiver.localPort);
    stage(out, 1, Buffer.alloc(65_530), '127.0.0.1', receiver.localPort); // > 65,507 bytes of UDP payload
    stage(out, 2, Buffer.from('after'), '127.0.0.1', receiver.localPort);
    expect(sender.send(0, 3)).toBe(3);
    expect(out.meta[MSG_LENGTH]).toBe(6);
    expect(out.meta[MSG_STRIDE + MSG_LENGTH]).toBe(-90); // EMSGSIZE
    expect(out.meta[2 * MSG_STRIDE + MSG_LENGTH]).toBe(5);
    const got = await receive(receiver, inbound, 2);
    expect(got.map((d) => d.payload.toString())).toEqual(['before', 'after']);
  });

  it('UDP_SEGMENT: one GSO send arrives as N datagrams at a plain receiver and coalesced at a GRO receiver', async () => {
    const sender = openSocket({ family: 4, address: '127.0.0.1', port: 0 });
    const plain = openSocket({ family: 4, address: '127.0.0.1', port: 0 });
    const gro = openSocket({ family: 4, address: '127.0.0.1', port: 0, gro: true });
    const out = makeRegion(2);
    sender.attach(out.memory, out.meta);
    const message = Buffer.alloc(5 * 1400 + 100);
    for (let i = 0; i < message.length; i++) message[i] = i % 251;
    stage(out, 0, message, '127.0.0.1', plain.localPort, 1400);
    stage(out, 1, message, '127.0.0.1', gro.localPort, 1400);
    if (!sender.gsoSupported) {
      // Without kernel GSO support the segmented send fails per message, and the handle says so.
      expect(sender.send(0, 1)).toBe(1);
      expect(out.meta[MSG_LENGTH]).toBeLessThan(0);
      return;
    }
    expect(sender.send(0, 2)).toBe(2);
    expect(out.meta[MSG_LENGTH]).toBe(message.length);

    const plainRegion = makeRegion();
    plain.attach(plainRegion.memory, plainRegion.meta);
    const segments = await receive(plain, plainRegion, 6);
    expect(segments.map((d) => d.length)).toEqual([1400, 1400, 1400, 1400, 1400, 100]);
    expect(Buffer.concat(segments.map((d) => d.payload)).equals(message)).toBe(true);
    expect(segments.every((d) => d.segment === 0)).toBe(true);

    expect(gro.gro).toBe(true);
    const groRegion = makeRegion();
    gro.attach(groRegion.memory, groRegion.meta);
    const coalesced: Datagram[] = [];
    await waitFor(
      'all GSO bytes at the GRO receiver',
      async () => {
        coalesced.push(...(await receive(gro, groRegion, 1)));
        return coalesced.reduce((sum, d) => sum + d.length, 0) >= message.length;
      },
      { timeoutMs: 10_000 },
    );
    expect(Buffer.concat(coalesced.map((d) => d.payload)).equals(message)).toBe(true);
    // At least one record is a coalesced super-datagram carrying the segment size.
    expect(coalesced.some((d) => d.length > 1400 && d.segment === 1400)).toBe(true);
  });

  it('sets socket buffer sizes past the sysctl limit as root (FORCE variants)', () => {
    const socket = openSocket({
      family: 4,
      address: '127.0.0.1',
      port: 0,
      recvBufferSize: 4 << 20,
      sendBufferSize: 4 << 20,
    });
    // The kernel doubles the request for bookkeeping overhead.
    expect(socket.recvBufferSize).toBeGreaterThanOrEqual(4 << 20);
    expect(socket.sendBufferSize).toBeGreaterThanOrEqual(4 << 20);
  });

  it('the poller fires when a datagram arrives and recv drains the socket', async () => {
    const receiver = openSocket({ family: 4, address: '127.0.0.1', port: 0 });
    const sender = openSocket({ family: 4, address: '127.0.0.1', port: 0 });
    const out = makeRegion(8);
    const inbound = makeRegion(8);
    sender.attach(out.memory, out.meta);
    receiver.attach(inbound.memory, inbound.meta);
    let received = 0;
    const poller = createPoller(receiver.fd, () => {
      for (let r = 0; r < 8; r++) {
        inbound.meta[r * MSG_STRIDE + MSG_OFFSET] = r * SLOT;
        inbound.meta[r * MSG_STRIDE + MSG_LENGTH] = SLOT;
      }
      received += receiver.recv(0, 8);
    });
    poller.start(PollEvents.READABLE);
    expect(() => createPoller(receiver.fd, () => {})).toThrow(
      expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' }),
    );
    expect(() => createPoller(1_000_000, () => {})).toThrow(
      expect.objectContaining({ code: 'NETIO_SYSCALL', syscall: 'uv_poll_init' }),
    );
    for (let i = 0; i < 5; i++) stage(out, i, payloadFor(i), '127.0.0.1', receiver.localPort);
    expect(sender.send(0, 5)).toBe(5);
    await waitFor('5 datagrams via the poller', () => received === 5, { timeoutMs: 5_000 });
    receiver.close(); // closes the poller on its fd first
    expect(() => poller.stop()).toThrow(expect.objectContaining({ code: 'NETIO_CLOSED' }));
  });

  it('reusePort lets two sockets share a port; without it the bind is NETIO_ADDRESS_IN_USE', () => {
    const first = openSocket({ family: 4, address: '127.0.0.1', port: 0, reusePort: true });
    const second = openSocket({ family: 4, address: '127.0.0.1', port: first.localPort, reusePort: true });
    expect(second.localPort).toBe(first.localPort);
    const plain = openSocket({ family: 4, address: '127.0.0.1', port: 0 });
    expect(() => openUdp({ family: 4, address: '127.0.0.1', port: plain.localPort })).toThrow(
      expect.objectContaining({
        name: 'NetioError',
        code: 'NETIO_ADDRESS_IN_USE',
        errno: 98,
        syscall: 'bind',
        message: expect.stringMatching(/choose another port/),
      }),
    );
  });

  it('bad arguments are NETIO_BAD_ARGUMENT, send nothing, and the socket keeps working', async () => {
    const bad = expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' });
    expect(() => openUdp({ family: 5 as 4, address: '127.0.0.1', port: 0 })).toThrow(bad);
    expect(() => openUdp({ family: 4, address: '::1', port: 0 })).toThrow(bad);
    expect(() => openUdp({ family: 4, address: '127.0.0.1', port: 70_000 })).toThrow(bad);
    const receiver = openSocket({ family: 4, address: '127.0.0.1', port: 0 });
    const sender = openSocket({ family: 4, address: '127.0.0.1', port: 0 });
    expect(() => sender.send(0, 1)).toThrow(bad); // not attached yet
    const out = makeRegion(4);
    const inbound = makeRegion();
    sender.attach(out.memory, out.meta);
    receiver.attach(inbound.memory, inbound.meta);
    stage(out, 0, Buffer.from('one'), '127.0.0.1', receiver.localPort);
    stage(out, 1, Buffer.from('two'), '127.0.0.1', 70_000); // bad port in the second record
    expect(() => sender.send(0, 2)).toThrow(bad);
    stage(out, 1, Buffer.from('two'), '127.0.0.1', receiver.localPort);
    out.meta[MSG_STRIDE + MSG_OFFSET] = out.memory.length - 1; // runs past the end
    expect(() => sender.send(0, 2)).toThrow(bad);
    out.meta[MSG_STRIDE + MSG_LENGTH] = -5;
    expect(() => sender.send(1, 1)).toThrow(bad);
    out.meta[MSG_STRIDE + MSG_SEGMENT] = 70_000;
    expect(() => sender.send(1, 1)).toThrow(bad);
    expect(() => sender.send(3, 2)).toThrow(bad);
    expect(() => receiver.recv(0, RECORDS + 1)).toThrow(bad);
    inbound.meta[MSG_LENGTH] = 0;
    expect(() => receiver.recv(0, 1)).toThrow(bad);
    const Growable = SharedArrayBuffer as unknown as new (n: number, o: object) => SharedArrayBuffer;
    const growable = new Int32Array(new Growable(8, { maxByteLength: 64 }));
    expect(() => receiver.attach(new Uint8Array(4), growable)).toThrow(bad);
    // Nothing left the sender: the first datagram the receiver sees is the one sent now.
    stage(out, 1, Buffer.from('three'), '127.0.0.1', receiver.localPort);
    expect(sender.send(1, 1)).toBe(1);
    const [first] = await receive(receiver, inbound, 1);
    expect(first.payload.toString()).toBe('three');
  });

  it('memory on a plain ArrayBuffer that was transferred away (detached) is refused, not used', () => {
    const socket = openSocket({ family: 4, address: '127.0.0.1', port: 0 });
    const buffer = new ArrayBuffer(4096);
    const meta = new Int32Array(MSG_STRIDE);
    socket.attach(new Uint8Array(buffer), meta);
    meta[MSG_LENGTH] = 100;
    expect(socket.recv(0, 1)).toBe(0);
    structuredClone(buffer, { transfer: [buffer] });
    expect(buffer.byteLength).toBe(0);
    expect(() => socket.recv(0, 1)).toThrow(expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' }));
    expect(() => socket.send(0, 1)).toThrow(expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' }));
  });

  it('a closed socket throws NETIO_CLOSED and close() is idempotent', () => {
    const socket = openUdp({ family: 4, address: '127.0.0.1', port: 0 });
    const region = makeRegion(1);
    socket.attach(region.memory, region.meta);
    socket.close();
    socket.close();
    const closed = expect.objectContaining({ code: 'NETIO_CLOSED' });
    expect(() => socket.send(0, 1)).toThrow(closed);
    expect(() => socket.recv(0, 1)).toThrow(closed);
    expect(() => socket.attach(region.memory, region.meta)).toThrow(closed);
  });
});

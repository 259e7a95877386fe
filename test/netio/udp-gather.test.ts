/**
 * @felt/netio UdpSocket.send scatter-gather on root-namespace loopback (127.0.0.1 only): messages that span
 * several records (SEND_CONTINUES), with and without UDP_SEGMENT, as plain and GRO receivers see them;
 * per-record results; a refused message in the middle of a batch; bad arguments.
 */
import {
  MSG_LENGTH,
  MSG_OFFSET,
  MSG_SEGMENT,
  MSG_STRIDE,
  openUdp,
  SEND_CONTINUES,
  setRecordPeer,
  type UdpSocket,
} from '@felt/netio';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/netns.js';

const LOOPBACK = '127.0.0.1';
/** Records are spread over the region at this distance, so no two pieces are adjacent in memory. */
const SPACING = 4096;
const RECEIVE_SLOT = 65_536;
const RECEIVE_RECORDS = 64;

interface Region {
  memory: Uint8Array;
  meta: Int32Array;
}

const makeRegion = (records: number, slot: number): Region => ({
  memory: new Uint8Array(new SharedArrayBuffer(slot * records)),
  meta: new Int32Array(records * MSG_STRIDE),
});

/** Record r: `bytes` at r * SPACING, to `port`, with MSG_SEGMENT `segment` (a size, 0, or SEND_CONTINUES). */
function stage(region: Region, r: number, bytes: Uint8Array, port: number, segment: number): void {
  region.memory.set(bytes, r * SPACING);
  const base = r * MSG_STRIDE;
  region.meta[base + MSG_OFFSET] = r * SPACING;
  region.meta[base + MSG_LENGTH] = bytes.length;
  region.meta[base + MSG_SEGMENT] = segment;
  setRecordPeer(region.meta, r, LOOPBACK, port);
}

/** `count` distinct packets of `size` bytes (the last `lastSize`), each filled with its own pattern. */
function packets(tag: number, count: number, size: number, lastSize = size): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const packet = Buffer.alloc(i === count - 1 ? lastSize : size);
    for (let j = 0; j < packet.length; j++) packet[j] = (tag * 31 + i * 7 + j) & 255;
    return packet;
  });
}

/** Stages `pieces` as one message starting at record `first`: the head carries `segment`. */
function stageMessage(
  region: Region,
  first: number,
  pieces: Buffer[],
  port: number,
  segment: number,
): number {
  pieces.forEach((piece, i) => {
    stage(region, first + i, piece, port, i === 0 ? segment : SEND_CONTINUES);
  });
  return first + pieces.length;
}

interface Datagram {
  payload: Buffer;
  segment: number;
}

/** Receives until `bytes` payload bytes arrived, bounded by a deadline. */
async function receiveBytes(socket: UdpSocket, bytes: number): Promise<Datagram[]> {
  const region = makeRegion(RECEIVE_RECORDS, RECEIVE_SLOT);
  socket.attach(region.memory, region.meta);
  const got: Datagram[] = [];
  let total = 0;
  await waitFor(
    `${bytes} bytes on port ${socket.localPort}`,
    () => {
      for (let r = 0; r < RECEIVE_RECORDS; r++) {
        region.meta[r * MSG_STRIDE + MSG_OFFSET] = r * RECEIVE_SLOT;
        region.meta[r * MSG_STRIDE + MSG_LENGTH] = RECEIVE_SLOT;
      }
      const n = socket.recv(0, RECEIVE_RECORDS);
      for (let r = 0; r < n; r++) {
        const length = region.meta[r * MSG_STRIDE + MSG_LENGTH];
        expect(length).toBeGreaterThanOrEqual(0);
        const payload = Buffer.from(region.memory.subarray(r * RECEIVE_SLOT, r * RECEIVE_SLOT + length));
        got.push({ payload, segment: region.meta[r * MSG_STRIDE + MSG_SEGMENT] });
        total += length;
      }
      return total >= bytes;
    },
    { timeoutMs: 10_000, intervalMs: 5 },
  );
  expect(total).toBe(bytes);
  return got;
}

/** Cuts a GRO receiver's datagrams back into packets by their reported segment size. */
function splitBySegment(datagrams: Datagram[]): Buffer[] {
  const out: Buffer[] = [];
  for (const { payload, segment } of datagrams) {
    const step = segment > 0 ? segment : payload.length;
    for (let at = 0; at < payload.length; at += step) out.push(payload.subarray(at, at + step));
  }
  return out;
}

const lengths = (region: Region, count: number) =>
  Array.from({ length: count }, (_, r) => region.meta[r * MSG_STRIDE + MSG_LENGTH]);

describe('UdpSocket.send scatter-gather', () => {
  const open: UdpSocket[] = [];
  const openSocket = (gro = false) => {
    const socket = openUdp({ family: 4, address: LOOPBACK, port: 0, gro });
    open.push(socket);
    return socket;
  };
  afterEach(() => {
    for (const socket of open.splice(0)) socket.close();
  });

  for (const gro of [false, true]) {
    it(`separate equal packets as one UDP_SEGMENT message arrive intact and in order (${gro ? 'GRO' : 'plain'} receiver)`, async () => {
      const sender = openSocket();
      const receiver = openSocket(gro);
      expect(sender.gsoSupported).toBe(true);
      expect(receiver.gro).toBe(gro);
      const out = makeRegion(64, SPACING);
      sender.attach(out.memory, out.meta);
      // A lone datagram, a 20-packet gathered message ending in a shorter packet, another lone datagram,
      // and a 2-packet gathered message: order across and within messages must hold.
      const first = packets(1, 1, 90);
      const run = packets(2, 20, 86, 50);
      const middle = packets(3, 1, 300);
      const pair = packets(4, 2, 86);
      let r = stageMessage(out, 0, first, receiver.localPort, 0);
      r = stageMessage(out, r, run, receiver.localPort, 86);
      r = stageMessage(out, r, middle, receiver.localPort, 0);
      r = stageMessage(out, r, pair, receiver.localPort, 86);
      const all = [...first, ...run, ...middle, ...pair];
      expect(sender.send(0, r)).toBe(r);
      // Every record reports its own length.
      expect(lengths(out, r)).toEqual(all.map((p) => p.length));

      const got = await receiveBytes(receiver, Buffer.concat(all).length);
      if (gro) {
        // The run arrives coalesced (the kernel reports the segment size) and cuts back into the packets.
        expect(got.some((d) => d.segment === 86 && d.payload.length > 86)).toBe(true);
        expect(splitBySegment(got)).toEqual(all);
      } else {
        expect(got.map((d) => d.payload)).toEqual(all);
        expect(got.every((d) => d.segment === 0)).toBe(true);
      }
    });
  }

  it('without UDP_SEGMENT the pieces of a message form one datagram', async () => {
    const sender = openSocket();
    const receiver = openSocket();
    const out = makeRegion(8, SPACING);
    sender.attach(out.memory, out.meta);
    const pieces = [Buffer.from('head-'), Buffer.from('middle-'), Buffer.from('tail')];
    const r = stageMessage(out, 0, pieces, receiver.localPort, 0);
    expect(sender.send(0, r)).toBe(3);
    expect(lengths(out, 3)).toEqual([5, 7, 4]);
    const got = await receiveBytes(receiver, 16);
    expect(got.map((d) => d.payload.toString())).toEqual(['head-middle-tail']);
  });

  it('a refused gathered message reports its -errno in each of its records; the messages around it go out', async () => {
    const sender = openSocket();
    const receiver = openSocket();
    const out = makeRegion(160, SPACING);
    sender.attach(out.memory, out.meta);
    // 140 segments of 2 bytes: more than UDP_MAX_SEGMENTS (64 or 128), which the kernel refuses (EINVAL).
    const before = packets(5, 1, 40);
    const refused = packets(6, 140, 2);
    const after = packets(7, 3, 40);
    let r = stageMessage(out, 0, before, receiver.localPort, 0);
    r = stageMessage(out, r, refused, receiver.localPort, 2);
    r = stageMessage(out, r, after, receiver.localPort, 40);
    expect(sender.send(0, r)).toBe(r);
    expect(lengths(out, r)).toEqual([40, ...Array(140).fill(-22), 40, 40, 40]);
    const got = await receiveBytes(receiver, 160);
    expect(got.map((d) => d.payload)).toEqual([...before, ...after]);
  });

  it('a batch that starts inside a message is a bad argument, and nothing is sent', () => {
    const sender = openSocket();
    const receiver = openSocket();
    const out = makeRegion(4, SPACING);
    sender.attach(out.memory, out.meta);
    const r = stageMessage(out, 0, packets(8, 3, 20), receiver.localPort, 20);
    expect(() => sender.send(1, r - 1)).toThrow(expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' }));
    const inbound = makeRegion(1, RECEIVE_SLOT);
    receiver.attach(inbound.memory, inbound.meta);
    inbound.meta[MSG_LENGTH] = RECEIVE_SLOT;
    expect(receiver.recv(0, 1)).toBe(0);
  });
});

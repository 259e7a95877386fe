/**
 * @felt/netio TUN devices on the real kernel. The TUN is opened in this (root-namespace) process and then
 * moved into a fresh namespace: the fd keeps working, and all traffic stays inside that namespace.
 *
 *   test process ── fd ── [tun in ns: 10.77.0.1/24, route 10.77.1.0/24 dev tun] ── python3 peers in ns
 */
import {
  createPoller,
  MSG_LENGTH,
  MSG_STRIDE,
  openTun,
  PollEvents,
  type Poller,
  type Tun,
  TunOffload,
} from '@felt/netio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, sh, waitFor } from '../harness/netns.js';
import { buildIpv4Udp, type ParsedUdpPacket, parseIpv4Udp } from './packets.js';
import {
  armSlots,
  fillRecord,
  HEADROOM,
  HEADROOM_SENTINEL,
  makeRegion,
  PY_RECEIVER,
  PY_SENDER,
  recordBytes,
  SLOT,
  tunInNetns,
} from './tun-setup.js';

const LOCAL = '10.77.0.1';
const REMOTE = '10.77.1.5';
const RECORDS = 128;

/** Lets the event loop run two full turns (so at least one poll phase) without waiting on time. */
const twoLoopTurns = () => new Promise<void>((r) => setImmediate(() => setImmediate(r)));

describe('TUN device moved into a namespace', () => {
  const lab = new Lab('t');
  const region = makeRegion(RECORDS);
  let ns: string;
  let tun: Tun;

  /** Reads until `want` UDP packets to `port` arrived (others are ignored), bounded by a deadline. */
  async function readUdp(want: number, port: number): Promise<ParsedUdpPacket[]> {
    const got: ParsedUdpPacket[] = [];
    await waitFor(
      `${want} packets to port ${port} from the TUN`,
      () => {
        armSlots(region, 0, 64);
        const n = tun.read(0, 64);
        for (let r = 0; r < n; r++) {
          const packet = parseIpv4Udp(recordBytes(region, r));
          if (packet?.dstPort === port) got.push(packet);
        }
        return got.length >= want;
      },
      { timeoutMs: 10_000, intervalMs: 10 },
    );
    return got;
  }

  function drain(): number {
    let total = 0;
    for (let i = 0; i < 100; i++) {
      armSlots(region, 0, 64);
      const n = tun.read(0, 64);
      total += n;
      if (n === 0) break;
    }
    return total;
  }

  const send = (count: number, port: number) =>
    sh('python3', ['-c', PY_SENDER, LOCAL, REMOTE, String(port), String(count)], { netns: ns });

  beforeAll(async () => {
    ns = await lab.addNetns('ns');
    tun = openTun({ name: lab.name('tun') });
    lab.track(() => tun.close());
    tun.attach(region.memory, region.meta);
    await tunInNetns(tun, ns, LOCAL, '10.77.1.0/24');
  });

  afterAll(() => lab.dispose());

  it('reports the name it got and moved into the namespace with its fd still open', async () => {
    expect(tun.name).toBe(lab.name('tun'));
    expect(tun.fd).toBeGreaterThan(2);
    expect(tun.vnetHeader).toBe(false);
    expect(tun.offloads).toBe(0);
    const link = await sh('ip', ['-d', 'link', 'show', tun.name], { netns: ns });
    expect(link.stdout).toMatch(/tun type tun/);
  });

  it('reads a datagram sent inside the namespace with its IPv4 header and payload, after the headroom', async () => {
    drain();
    await send(1, 5000);
    const [packet] = await readUdp(1, 5000);
    expect(packet).toMatchObject({ src: LOCAL, dst: REMOTE, srcPort: 4000, dstPort: 5000, ttl: 64 });
    expect(Buffer.from(packet.payload).toString()).toBe('msg-0');
    expect(packet.ipChecksumOk).toBe(true);
    expect(packet.udpChecksumOk).toBe(true);
    // The read went to offset + HEADROOM: the headroom in front is untouched.
    expect(region.memory.subarray(0, HEADROOM).every((b) => b === HEADROOM_SENTINEL)).toBe(true);
  });

  it('reads a batch of 64 in one call, then drains: fewer than asked, then 0 (EAGAIN)', async () => {
    drain();
    await send(64, 5001); // the sender has exited: all 64 are queued on the TUN
    armSlots(region, 0, RECORDS);
    const first = tun.read(0, RECORDS);
    expect(first).toBe(64);
    const payloads = Array.from({ length: first }, (_, r) => {
      const packet = parseIpv4Udp(recordBytes(region, r));
      expect(packet?.dstPort).toBe(5001);
      return Buffer.from(packet!.payload).toString();
    });
    expect(payloads).toEqual(Array.from({ length: 64 }, (_, i) => `msg-${i}`));
    armSlots(region, 0, RECORDS);
    expect(tun.read(0, RECORDS)).toBe(0);
  });

  it('writes a batch of 64 crafted packets that arrive at a socket in the namespace', async () => {
    const receiver = lab.spawn(ns, 'python3', ['-c', PY_RECEIVER, '5100', '64']);
    await receiver.waitForOutput(/ready/, 10_000);
    for (let r = 0; r < 64; r++) {
      const payload = Buffer.from(`crafted-${r}`);
      fillRecord(
        region,
        r,
        buildIpv4Udp({ src: REMOTE, dst: LOCAL, srcPort: 4321, dstPort: 5100, payload }, r),
      );
    }
    const lengths = Array.from({ length: 64 }, (_, r) => region.meta[r * MSG_STRIDE + MSG_LENGTH]);
    expect(tun.write(0, 64)).toBe(64);
    expect(Array.from({ length: 64 }, (_, r) => region.meta[r * MSG_STRIDE + MSG_LENGTH])).toEqual(lengths);
    await waitFor(
      '64 datagrams at the receiver',
      () => (receiver.output().match(/^got /gm) ?? []).length >= 64,
      {
        timeoutMs: 10_000,
      },
    );
    const lines = receiver.output().match(/^got .*$/gm)!;
    expect(new Set(lines)).toEqual(
      new Set(Array.from({ length: 64 }, (_, r) => `got ${REMOTE} 4321 crafted-${r}`)),
    );
    expect(await receiver.exited).toBe(0);
  });

  it('stores -EINVAL for one malformed packet and still writes the rest of the batch', async () => {
    const receiver = lab.spawn(ns, 'python3', ['-c', PY_RECEIVER, '5101', '1']);
    await receiver.waitForOutput(/ready/, 10_000);
    fillRecord(region, 0, new Uint8Array(40)); // IP version 0: the TUN rejects it
    const payload = Buffer.from('after-bad');
    fillRecord(region, 1, buildIpv4Udp({ src: REMOTE, dst: LOCAL, srcPort: 4321, dstPort: 5101, payload }));
    expect(tun.write(0, 2)).toBe(2);
    expect(region.meta[MSG_LENGTH]).toBe(-22);
    expect(region.meta[MSG_STRIDE + MSG_LENGTH]).toBeGreaterThan(28);
    await receiver.waitForOutput(/got 10\.77\.1\.5 4321 after-bad/, 10_000);
  });

  it('fires the poller when readable; stop() pauses callbacks and start() resumes them', async () => {
    drain();
    const seen: number[] = [];
    let readInCallbacks = 0;
    const poller: Poller = createPoller(tun.fd, (events) => {
      seen.push(events);
      armSlots(region, 0, 64);
      readInCallbacks += tun.read(0, 64);
    });
    lab.track(() => poller.close());
    poller.start(PollEvents.READABLE);
    await send(3, 5002);
    await waitFor('the poller to drain 3 packets', () => readInCallbacks >= 3, { timeoutMs: 10_000 });
    expect(seen.every((e) => e === PollEvents.READABLE)).toBe(true);

    poller.stop();
    const callbacksWhenStopped = seen.length;
    await send(2, 5002);
    await twoLoopTurns();
    await twoLoopTurns();
    expect(seen.length).toBe(callbacksWhenStopped);

    poller.start(PollEvents.READABLE);
    await waitFor('the poller to resume and read the 2 held packets', () => readInCallbacks >= 5, {
      timeoutMs: 10_000,
    });
    poller.close();
    poller.close(); // idempotent
    expect(() => poller.start(PollEvents.READABLE)).toThrow(
      expect.objectContaining({ code: 'NETIO_CLOSED' }),
    );
  });

  it('rejects out-of-range batches with NETIO_BAD_ARGUMENT, touches nothing, and keeps working', () => {
    drain();
    const bad = expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT', name: 'NetioError' });
    armSlots(region, 0, RECORDS);
    const before = region.meta.slice();
    expect(() => tun.read(RECORDS - 1, 2)).toThrow(bad);
    expect(() => tun.read(-1, 1)).toThrow(bad);
    expect(() => tun.read(0, 1025)).toThrow(bad);
    expect(() => tun.read(0.5, 1)).toThrow(bad);
    expect(() => tun.read(Number.NaN, 1)).toThrow(bad);
    expect(() => tun.write('0' as unknown as number, 1)).toThrow(bad);
    region.meta[5 * MSG_STRIDE] = region.memory.length - 10; // record 5 runs past the end of memory
    expect(() => tun.read(0, 8)).toThrow(bad);
    expect(() => tun.write(0, 8)).toThrow(bad);
    region.meta[5 * MSG_STRIDE] = -1;
    expect(() => tun.write(5, 1)).toThrow(bad);
    region.meta[5 * MSG_STRIDE] = 5 * SLOT + HEADROOM;
    region.meta[6 * MSG_STRIDE + MSG_LENGTH] = 0;
    expect(() => tun.read(6, 1)).toThrow(bad);
    region.meta[6 * MSG_STRIDE + MSG_LENGTH] = 0x7fffffff;
    expect(() => tun.write(6, 1)).toThrow(bad);
    region.meta[6 * MSG_STRIDE + MSG_LENGTH] = SLOT - HEADROOM;
    // Nothing was written into the records by the rejected calls.
    expect(region.meta).toEqual(before);
    expect(() =>
      tun.attach(new Uint8Array(8) as unknown as Uint8Array, new Float64Array(8) as unknown as Int32Array),
    ).toThrow(bad);
    expect(() => tun.attach(new Int32Array(8) as unknown as Uint8Array, new Int32Array(8))).toThrow(bad);
    const resizable = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(64, {
      maxByteLength: 128,
    });
    expect(() => tun.attach(new Uint8Array(resizable), new Int32Array(8))).toThrow(bad);
    // The handle still works.
    expect(tun.read(0, 64)).toBe(0);
  });

  it('refuses calls before attach()', () => {
    const fresh = openTun();
    try {
      expect(fresh.name).toMatch(/^tun\d+$/);
      expect(() => fresh.read(0, 1)).toThrow(expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' }));
    } finally {
      fresh.close();
    }
  });
});

describe('TUN device lifetime (root namespace, no traffic)', () => {
  const lab = new Lab('l');
  afterAll(() => lab.dispose());
  const linkExists = async (name: string) =>
    (await sh('ip', ['link', 'show', name], { allowFail: true })).code === 0;

  it('close() frees the name: the device disappears and the same name opens again', async () => {
    const name = lab.name('re');
    lab.track(() => sh('ip', ['link', 'del', name], { allowFail: true }));
    const first = openTun({ name });
    expect(await linkExists(name)).toBe(true);
    first.close();
    first.close(); // idempotent
    expect(await linkExists(name)).toBe(false);
    const again = openTun({ name });
    expect(again.name).toBe(name);
    again.close();
  });

  it('a second open of a non-multiqueue name is NETIO_DEVICE_BUSY; multiQueue queues share a name', async () => {
    const name = lab.name('mq');
    lab.track(() => sh('ip', ['link', 'del', name], { allowFail: true }));
    const owner = openTun({ name });
    try {
      expect(() => openTun({ name })).toThrow(
        expect.objectContaining({ code: 'NETIO_DEVICE_BUSY', errno: 16 }),
      );
    } finally {
      owner.close();
    }
    const queues = [openTun({ name, multiQueue: true }), openTun({ name, multiQueue: true })];
    expect(queues.map((q) => q.name)).toEqual([name, name]);
    // A non-TUN device's name is refused the same way.
    expect(() => openTun({ name: 'lo' })).toThrow(expect.objectContaining({ code: 'NETIO_DEVICE_BUSY' }));
    for (const q of queues) q.close();
    expect(await linkExists(name)).toBe(false);
  });

  it('a persistent device survives close, a new handle re-attaches, and setPersist(false) lets it go', async () => {
    const name = lab.name('ps');
    lab.track(() => sh('ip', ['link', 'del', name], { allowFail: true }));
    const first = openTun({ name, persist: true });
    first.close();
    expect(await linkExists(name)).toBe(true);
    const second = openTun({ name });
    expect(second.name).toBe(name);
    second.setPersist(false);
    second.close();
    expect(await linkExists(name)).toBe(false);
    expect(() => second.setPersist(true)).toThrow(expect.objectContaining({ code: 'NETIO_CLOSED' }));
  });

  it('vnetHeader with offloads reports what the kernel accepted; offloads need vnetHeader', () => {
    const wanted = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6 | TunOffload.USO4 | TunOffload.USO6;
    const tun = openTun({ name: lab.name('vh'), vnetHeader: true, offloads: wanted });
    try {
      expect(tun.vnetHeader).toBe(true);
      const base = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6;
      expect([base, wanted]).toContain(tun.offloads);
    } finally {
      tun.close();
    }
    expect(() => openTun({ offloads: TunOffload.CSUM })).toThrow(
      expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' }),
    );
    expect(() => openTun({ name: 'x'.repeat(16) })).toThrow(
      expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' }),
    );
  });

  it('a TUN deleted under its handle: read/write throw NETIO_DEVICE_GONE, the poller reports ERROR', async () => {
    const name = lab.name('gn');
    lab.track(() => sh('ip', ['link', 'del', name], { allowFail: true }));
    const tun = openTun({ name });
    const region = makeRegion(4);
    tun.attach(region.memory, region.meta);
    const events: number[] = [];
    const poller = createPoller(tun.fd, (e) => events.push(e));
    lab.track(() => tun.close());
    poller.start(PollEvents.READABLE);
    await sh('ip', ['link', 'del', name]);
    armSlots(region, 0, 4);
    const gone = expect.objectContaining({ code: 'NETIO_DEVICE_GONE', errno: 77, syscall: 'read' });
    expect(() => tun.read(0, 4)).toThrow(gone);
    fillRecord(
      region,
      0,
      buildIpv4Udp({ src: REMOTE, dst: LOCAL, srcPort: 1, dstPort: 2, payload: new Uint8Array(4) }),
    );
    expect(() => tun.write(0, 1)).toThrow(
      expect.objectContaining({ code: 'NETIO_DEVICE_GONE', syscall: 'write' }),
    );
    await waitFor('the poller to report ERROR', () => events.includes(PollEvents.ERROR), {
      timeoutMs: 5_000,
    });
    tun.close(); // also closes the poller
    expect(() => poller.start(PollEvents.READABLE)).toThrow(
      expect.objectContaining({ code: 'NETIO_CLOSED' }),
    );
    expect(() => tun.read(0, 1)).toThrow(expect.objectContaining({ code: 'NETIO_CLOSED' }));
  });
});

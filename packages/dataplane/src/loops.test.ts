import { MSG_ADDR, MSG_LENGTH, MSG_OFFSET, MSG_STRIDE, type Tun, type UdpSocket } from '@felt/netio';
import { describe, expect, it } from 'vitest';
import type { ForwarderState } from './forwarder-state.js';
import { parseIpv4 } from './ipv4.js';
import { ReceiveLoop } from './receive.js';
import { SendLoop, type Underlay } from './send.js';
import { createForwarderFixture, writeIpv4Packet } from './testing/forwarder-fixture.js';

const A_HOST = parseIpv4('10.0.1.5');
const B_HOST = parseIpv4('10.0.2.7');

/** A TUN that yields `pending` packets on read and accepts at most `room` writes. */
function fakeTun(state: ForwarderState, options: { pending: number; room: number }) {
  const written: Uint8Array[] = [];
  const tun = {
    read(first: number, count: number): number {
      const n = Math.min(count, options.pending);
      for (let i = 0; i < n; i++) {
        const record = (first + i) * MSG_STRIDE;
        const length = writeIpv4Packet(state.memory, state.meta[record + MSG_OFFSET], {
          source: A_HOST,
          destination: B_HOST,
          length: 100,
          seed: i,
        });
        state.meta[record + MSG_LENGTH] = length;
      }
      options.pending -= n;
      return n;
    },
    write(first: number, count: number): number {
      const n = Math.min(count, options.room);
      for (let i = 0; i < n; i++) {
        const record = (first + i) * MSG_STRIDE;
        const at = state.meta[record + MSG_OFFSET];
        written.push(state.memory.slice(at, at + state.meta[record + MSG_LENGTH]));
      }
      options.room -= n;
      return n;
    },
  };
  return { tun: tun as unknown as Tun, written };
}

describe('send loop back-pressure', () => {
  it('stops reading the TUN while the socket would block, resumes when it drains, leaks no slot', () => {
    const { a } = createForwarderFixture({ backend: 'vxlan', batchSize: 8 });
    const state = a.state;
    const free = state.pool.free;
    const source = { pending: 100, room: 0 };
    const { tun } = fakeTun(state, source);
    let socketRoom = 3;
    const sent: number[] = [];
    const underlay: Underlay = {
      send(first, count) {
        const n = Math.min(count, socketRoom);
        socketRoom -= n;
        for (let i = 0; i < n; i++) sent.push(state.meta[(first + i) * MSG_STRIDE + MSG_ADDR]);
        return n;
      },
    };
    const loop = new SendLoop(state, tun, underlay);
    expect(loop.onTunReadable()).toBe(8);
    expect(sent.length).toBe(3);
    expect(loop.blocked).toBe(true);
    expect(loop.onTunReadable()).toBe(0);
    expect(source.pending).toBe(92);
    socketRoom = 100;
    loop.onUnderlayWritable();
    expect(loop.blocked).toBe(false);
    expect(sent.length).toBe(8);
    expect(sent.every((addr) => addr === (parseIpv4('198.18.0.2') | 0))).toBe(true);
    expect(loop.onTunReadable()).toBe(8);
    loop.releaseSlots();
    expect(state.pool.free).toBe(free);
  });
});

describe('receive loop back-pressure', () => {
  it('stops reading the socket while the TUN would block and delivers everything once it drains', () => {
    const { a, b } = createForwarderFixture({ backend: 'udp', batchSize: 4 });
    const state = b.state;
    const tunSide = { pending: 0, room: 1 };
    const { tun, written } = fakeTun(state, tunSide);
    let datagrams = 10;
    const udp = {
      recv(first: number, count: number): number {
        const n = Math.min(count, datagrams);
        for (let i = 0; i < n; i++) {
          const record = (first + i) * MSG_STRIDE;
          state.meta[record + MSG_LENGTH] = writeIpv4Packet(state.memory, state.meta[record + MSG_OFFSET], {
            source: A_HOST,
            destination: B_HOST,
            length: 60,
          });
          state.meta[record + MSG_ADDR] = a.underlay;
        }
        datagrams -= n;
        return n;
      },
    } as unknown as UdpSocket;
    const loop = new ReceiveLoop(state, tun);
    expect(loop.onUnderlayReadable(udp)).toBe(4);
    expect(written.length).toBe(1);
    expect(loop.blocked).toBe(true);
    expect(loop.onUnderlayReadable(udp)).toBe(0);
    tunSide.room = 100;
    loop.onTunWritable();
    expect(loop.blocked).toBe(false);
    expect(loop.onUnderlayReadable(udp)).toBe(4);
    expect(loop.onUnderlayReadable(udp)).toBe(2);
    expect(written.length).toBe(10);
    expect(written.every((p) => p.length === 60)).toBe(true);
  });
});

/**
 * The hot UdpSocket calls (recv, send) are functions bound to their native instance: they work detached
 * from the socket object, keep the native socket alive through garbage collection, and throw NETIO_CLOSED
 * after close(). Root-namespace loopback (127.0.0.1) only.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MSG_LENGTH, MSG_OFFSET, MSG_SEGMENT, MSG_STRIDE, openUdp, setRecordPeer } from '@felt/netio';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../harness/netns.js';

const SLOT = 2048;
const RECORDS = 4;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function region() {
  const memory = new Uint8Array(new SharedArrayBuffer(SLOT * RECORDS));
  const meta = new Int32Array(RECORDS * MSG_STRIDE);
  return { memory, meta };
}

/** Lets pending finalizers run (Node runs N-API finalizers from the event loop after a collection). */
async function collectRepeatedly(times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    collectGarbage();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('bound hot calls', () => {
  it('a detached recv keeps its socket open and working after the socket object is collected', async () => {
    const sender = openUdp({ family: 4, address: '127.0.0.1', port: 0 });
    const sendRegion = region();
    sender.attach(sendRegion.memory, sendRegion.meta);
    const receiveRegion = region();
    // Only the function survives this block: no reference to the socket object is kept.
    const { recv, port } = (() => {
      const receiver = openUdp({ family: 4, address: '127.0.0.1', port: 0 });
      receiver.attach(receiveRegion.memory, receiveRegion.meta);
      return { recv: receiver.recv, port: receiver.localPort };
    })();
    try {
      await collectRepeatedly(5);
      sendRegion.memory.set([1, 2, 3, 4, 5], 0);
      sendRegion.meta[MSG_OFFSET] = 0;
      sendRegion.meta[MSG_LENGTH] = 5;
      sendRegion.meta[MSG_SEGMENT] = 0;
      setRecordPeer(sendRegion.meta, 0, '127.0.0.1', port);
      expect(sender.send(0, 1)).toBe(1);
      let received = 0;
      await waitFor(
        'the datagram through the detached recv',
        () => {
          receiveRegion.meta[MSG_OFFSET] = 0;
          receiveRegion.meta[MSG_LENGTH] = SLOT;
          received = recv(0, 1);
          return received === 1;
        },
        { timeoutMs: 5_000, intervalMs: 5 },
      );
      expect(receiveRegion.meta[MSG_LENGTH]).toBe(5);
      expect([...receiveRegion.memory.subarray(0, 5)]).toEqual([1, 2, 3, 4, 5]);
    } finally {
      sender.close();
    }
  });

  it('detached recv and send throw NETIO_CLOSED after close(), also after a collection', async () => {
    const socket = openUdp({ family: 4, address: '127.0.0.1', port: 0 });
    const { memory, meta } = region();
    socket.attach(memory, meta);
    const { recv, send } = socket;
    meta[MSG_LENGTH] = SLOT;
    expect(recv(0, 1)).toBe(0);
    socket.close();
    const closed = expect.objectContaining({ code: 'NETIO_CLOSED', name: 'NetioError' });
    expect(() => recv(0, 1)).toThrow(closed);
    expect(() => send(0, 1)).toThrow(closed);
    expect(() => socket.recv(0, 1)).toThrow(closed);
    await collectRepeatedly(3);
    expect(() => recv(0, 1)).toThrow(closed);
  });
});

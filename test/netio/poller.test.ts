/**
 * What a Poller callback may rely on now that it is a plain call from the loop (no napi_make_callback):
 * promise jobs and process.nextTick callbacks it queues still run in the same loop turn, before that
 * turn's setImmediate callbacks (Node's check phase drains them), and `this` is undefined.
 * Root-namespace loopback UDP only.
 */
import { createSocket } from 'node:dgram';
import { createPoller, MSG_LENGTH, MSG_OFFSET, MSG_STRIDE, openUdp, PollEvents } from '@felt/netio';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../harness/netns.js';

const SLOT = 2048;
const RECORDS = 4;

describe('Poller callback semantics', () => {
  it('drains microtasks and nextTicks queued in the callback before the same turn’s immediates', async () => {
    const receiver = openUdp({ family: 4, address: '127.0.0.1', port: 0 });
    const sender = createSocket('udp4');
    try {
      const memory = new Uint8Array(new SharedArrayBuffer(SLOT * RECORDS));
      const meta = new Int32Array(RECORDS * MSG_STRIDE);
      receiver.attach(memory, meta);
      const order: string[] = [];
      let receiverThis: unknown = 'unset';
      const poller = createPoller(receiver.fd, function (this: unknown, events: number) {
        receiverThis = this;
        for (let r = 0; r < RECORDS; r++) {
          meta[r * MSG_STRIDE + MSG_OFFSET] = r * SLOT;
          meta[r * MSG_STRIDE + MSG_LENGTH] = SLOT;
        }
        if (receiver.recv(0, RECORDS) === 0 || order.length > 0) return;
        order.push(`callback ${events}`);
        setImmediate(() => order.push('immediate'));
        Promise.resolve().then(() => order.push('microtask'));
        process.nextTick(() => order.push('nextTick'));
      });
      poller.start(PollEvents.READABLE);
      sender.send(Buffer.from('wake'), receiver.localPort, '127.0.0.1');
      await waitFor('the immediate queued in the callback', () => order.includes('immediate'), {
        timeoutMs: 5_000,
      });
      expect(order).toEqual([`callback ${PollEvents.READABLE}`, 'nextTick', 'microtask', 'immediate']);
      expect(receiverThis).toBeUndefined();
    } finally {
      sender.close();
      receiver.close();
    }
  });
});

/**
 * What a Poller callback may rely on now that it is a plain call from the loop (no napi_make_callback):
 * promise jobs and process.nextTick callbacks it queues still run in the same loop turn, before that
 * turn's setImmediate callbacks (Node's check phase drains them), and `this` is undefined; what it throws
 * reaches 'uncaughtException', as from any Node callback.
 * Root-namespace loopback UDP only.
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
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

  it('routes an error thrown by the callback to uncaughtException', () => {
    // In a child process: vitest treats an uncaught exception in its own worker as a failed run.
    const script = `
      import { createPoller, openUdp, PollEvents } from '@felt/netio';
      const socket = openUdp({ family: 4, address: '127.0.0.1', port: 0 });
      const poller = createPoller(socket.fd, () => {
        poller.stop();
        throw Object.assign(new Error('from the callback'), { code: 'TEST_THROWN' });
      });
      process.on('uncaughtException', (err) => {
        poller.close();
        socket.close();
        console.log(err.code);
      });
      poller.start(PollEvents.WRITABLE);
      setTimeout(() => console.log('NO_EVENT'), 3000).unref();
    `;
    const netioDir = fileURLToPath(new URL('../../packages/netio/', import.meta.url));
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: netioDir,
      timeout: 10_000,
      encoding: 'utf8',
    });
    expect(output.trim()).toBe('TEST_THROWN');
  });
});

/**
 * @felt/netio inside worker_threads: each worker loads the addon again (context-aware, per-thread state),
 * its Poller runs on the worker's own loop, and terminating a worker with an active Poller is clean.
 */
import { Worker } from 'node:worker_threads';
import { MSG_LENGTH, MSG_OFFSET, MSG_STRIDE, openUdp, setRecordPeer } from '@felt/netio';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/netns.js';

const workerUrl = new URL('./udp-worker.mjs', import.meta.url);

function startWorker(mode: 'echo' | 'throw') {
  const worker = new Worker(workerUrl, { workerData: { mode } });
  const messages: Array<{ port?: number; echoed?: number }> = [];
  const errors: Error[] = [];
  worker.on('message', (m) => messages.push(m));
  worker.on('error', (e) => errors.push(e));
  const exited = new Promise<number>((resolve) => worker.on('exit', resolve));
  return { worker, messages, errors, exited };
}

describe('@felt/netio in worker threads', () => {
  const workers: Worker[] = [];
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  });

  it('two workers each poll and echo on their own loop; terminating them with active pollers is clean', async () => {
    const a = startWorker('echo');
    const b = startWorker('echo');
    workers.push(a.worker, b.worker);
    const ports = await Promise.all(
      [a, b].map((w) =>
        waitFor('the worker to report its port', () => w.messages.find((m) => m.port)?.port, {
          timeoutMs: 10_000,
        }),
      ),
    );
    const client = openUdp({ family: 4, address: '127.0.0.1', port: 0 });
    try {
      const memory = new Uint8Array(new SharedArrayBuffer(64 * 2048));
      const meta = new Int32Array(64 * MSG_STRIDE);
      client.attach(memory, meta);
      for (let r = 0; r < 20; r++) {
        memory.set(Buffer.from(`ping-${r}`), r * 2048);
        meta[r * MSG_STRIDE + MSG_OFFSET] = r * 2048;
        meta[r * MSG_STRIDE + MSG_LENGTH] = `ping-${r}`.length;
        setRecordPeer(meta, r, '127.0.0.1', ports[r % 2]);
      }
      expect(client.send(0, 20)).toBe(20);
      const echoes: string[] = [];
      await waitFor(
        '20 echoes from the workers',
        () => {
          for (let r = 0; r < 64; r++) {
            meta[r * MSG_STRIDE + MSG_OFFSET] = r * 2048;
            meta[r * MSG_STRIDE + MSG_LENGTH] = 2048;
          }
          const n = client.recv(0, 64);
          for (let r = 0; r < n; r++) {
            echoes.push(
              Buffer.from(memory.subarray(r * 2048, r * 2048 + meta[r * MSG_STRIDE + MSG_LENGTH])).toString(),
            );
          }
          return echoes.length >= 20;
        },
        { timeoutMs: 10_000, intervalMs: 10 },
      );
      expect(echoes.sort()).toEqual(Array.from({ length: 20 }, (_, r) => `ping-${r}`).sort());
    } finally {
      client.close();
    }
    // Both workers are still polling: terminate must close their libuv handles and exit cleanly.
    await Promise.all([a.worker.terminate(), b.worker.terminate()]);
    expect(await a.exited).toBe(1);
    expect(await b.exited).toBe(1);
    expect(a.errors).toEqual([]);
  });

  it("an exception in a poll callback reaches the worker's 'error' event, not a crash", async () => {
    const w = startWorker('throw');
    workers.push(w.worker);
    const port = await waitFor('the worker port', () => w.messages.find((m) => m.port)?.port, {
      timeoutMs: 10_000,
    });
    const client = openUdp({ family: 4, address: '127.0.0.1', port: 0 });
    try {
      const memory = new Uint8Array(new SharedArrayBuffer(2048));
      const meta = new Int32Array(MSG_STRIDE);
      client.attach(memory, meta);
      meta[MSG_LENGTH] = 1;
      setRecordPeer(meta, 0, '127.0.0.1', port);
      expect(client.send(0, 1)).toBe(1);
      await waitFor('the worker error', () => w.errors.length > 0, { timeoutMs: 10_000 });
      expect(w.errors[0].message).toBe('boom from the poll callback');
      expect(await w.exited).toBe(1);
    } finally {
      client.close();
    }
  });
});

/**
 * The data-plane worker: runs a Forwarder on its own event loop, so the main thread's etcd, HTTP and
 * logging never stall forwarding. Talks to the Dataplane only for start, stop and fatal errors.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorCode, Forwarder } from './forwarder.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const post = (message: FromWorker): void => port.postMessage(message);
const forwarder = new Forwarder(workerData as WorkerInit, (code, message) =>
  post({ type: 'fatal', code, message }),
);

port.on('message', (message: ToWorker) => {
  if (message.type !== 'stop') return;
  forwarder.stop();
  post({ type: 'stopped' });
  port.close();
});

try {
  post({ type: 'ready', tunName: forwarder.start() });
} catch (err) {
  post({
    type: 'start_failed',
    code: errorCode(err),
    message: err instanceof Error ? err.message : String(err),
  });
  port.close();
}

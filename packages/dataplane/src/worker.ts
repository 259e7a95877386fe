/**
 * The data-plane worker: runs a Forwarder on its own event loop, so the main thread's etcd, HTTP and
 * logging never stall forwarding. Talks to the Dataplane only for start, stop and fatal errors. With
 * offloads configured it runs the OffloadForwarder, and the plain one when the kernel refuses them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Forwarder } from './forwarder.js';
import { errorCode } from './forwarder-io.js';
import { OFFLOADS_UNAVAILABLE, OffloadForwarder } from './offload/forwarder.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const post = (message: FromWorker): void => port.postMessage(message);
const init = workerData as WorkerInit;
const onFatal = (code: string, message: string): void => post({ type: 'fatal', code, message });
let forwarder: Forwarder | OffloadForwarder | undefined;

function start(): string {
  if (init.offloads) {
    const offloaded = new OffloadForwarder(init, onFatal);
    try {
      const tunName = offloaded.start();
      forwarder = offloaded;
      return tunName;
    } catch (err) {
      if (errorCode(err) !== OFFLOADS_UNAVAILABLE) throw err;
    }
  }
  const plain = new Forwarder(init, onFatal);
  forwarder = plain;
  return plain.start();
}

port.on('message', (message: ToWorker) => {
  if (message.type !== 'stop') return;
  forwarder?.stop();
  post({ type: 'stopped' });
  port.close();
});

try {
  post({ type: 'ready', tunName: start() });
} catch (err) {
  post({
    type: 'start_failed',
    code: errorCode(err),
    message: err instanceof Error ? err.message : String(err),
  });
  port.close();
}

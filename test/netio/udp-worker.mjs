// Worker for worker.test.ts: loads @felt/netio in its own thread, echoes datagrams through a Poller.
// workerData.mode: 'echo' (reply to each datagram) or 'throw' (the poll callback throws).
import { parentPort, workerData } from 'node:worker_threads';
import { createPoller, MSG_LENGTH, MSG_OFFSET, MSG_STRIDE, openUdp, PollEvents } from '@felt/netio';

const SLOT = 2048;
const RECORDS = 32;
const socket = openUdp({ family: 4, address: '127.0.0.1', port: 0 });
const memory = new Uint8Array(new SharedArrayBuffer(SLOT * RECORDS));
const meta = new Int32Array(RECORDS * MSG_STRIDE);
socket.attach(memory, meta);

const poller = createPoller(socket.fd, () => {
  if (workerData.mode === 'throw') throw new Error('boom from the poll callback');
  for (let r = 0; r < RECORDS; r++) {
    meta[r * MSG_STRIDE + MSG_OFFSET] = r * SLOT;
    meta[r * MSG_STRIDE + MSG_LENGTH] = SLOT;
  }
  const n = socket.recv(0, RECORDS);
  // Records now hold each sender's address and port: send the same bytes straight back.
  const sent = socket.send(0, n);
  parentPort.postMessage({ echoed: sent });
});
poller.start(PollEvents.READABLE);
parentPort.postMessage({ port: socket.localPort });

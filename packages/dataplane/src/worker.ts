/**
 * The data-plane worker: owns the TUN device and the underlay socket and runs both loops on its own
 * event loop, so the main thread's etcd, HTTP and logging never stall forwarding. Two pollers (TUN fd,
 * UDP fd) drive SendLoop and ReceiveLoop; interest follows back-pressure: while one direction has
 * packets waiting for its output, its input is not read and the output is watched for writability.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  createPoller,
  openTun,
  openUdp,
  PollEvents,
  type Poller,
  type Tun,
  type UdpSocket,
} from '@felt/netio';
import { Counters } from './counters.js';
import { ForwarderState } from './forwarder-state.js';
import { IpipSocket } from './ipip-socket.js';
import { BufferPool } from './pool.js';
import { ReceiveLoop } from './receive.js';
import { RouteTableReader } from './route-table.js';
import { SendLoop, type Underlay } from './send.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

/** Batches handled per readiness event before yielding to the event loop (fairness between fds). */
const BATCHES_PER_EVENT = 8;
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (message: FromWorker): void => port.postMessage(message);

const pool = new BufferPool(
  { slots: init.poolSlots, slotSize: init.slotSize },
  init.poolMemory,
  init.poolControl,
);
const state = new ForwarderState(
  pool,
  new Counters(init.counterMemory),
  new RouteTableReader(init.routeMemory, init.layout),
  init.settings,
);

let tun: Tun | undefined;
let udp: UdpSocket | undefined;
let ipip: IpipSocket | undefined;
let tunPoller: Poller | undefined;
let udpPoller: Poller | undefined;
let sendLoop: SendLoop | undefined;
let receiveLoop: ReceiveLoop | undefined;
let tunInterest = -1;
let udpInterest = -1;
let running = false;

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'DATAPLANE_INTERNAL';
}

function start(): void {
  tun = openTun({ name: init.tunName, persist: init.persistTun });
  tun.attach(state.memory, state.meta);
  let underlay: Underlay;
  if (init.backend === 'ipip') {
    ipip = new IpipSocket(state, onIpipPacket, (err) => fatal(err));
    underlay = ipip;
  } else {
    const socket = openUdp({
      family: 4,
      address: init.underlayAddress,
      port: init.settings.port,
      recvBufferSize: SOCKET_BUFFER_BYTES,
      sendBufferSize: SOCKET_BUFFER_BYTES,
    });
    udp = socket;
    socket.attach(state.memory, state.meta);
    underlay = socket;
    udpPoller = createPoller(socket.fd, onUdpEvent);
  }
  sendLoop = new SendLoop(state, tun, underlay);
  receiveLoop = new ReceiveLoop(state, tun);
  tunPoller = createPoller(tun.fd, onTunEvent);
  running = true;
  updateInterest();
}

function onTunEvent(events: number): void {
  if (!running) return;
  try {
    if (events & PollEvents.WRITABLE) receiveLoop!.onTunWritable();
    for (let i = 0; i < BATCHES_PER_EVENT && !sendLoop!.blocked; i++) {
      if (sendLoop!.onTunReadable() < state.settings.batchSize) break;
    }
  } catch (err) {
    fatal(err);
    return;
  }
  updateInterest();
}

function onUdpEvent(events: number): void {
  if (!running) return;
  try {
    if (events & PollEvents.WRITABLE) sendLoop!.onUnderlayWritable();
    for (let i = 0; i < BATCHES_PER_EVENT && !receiveLoop!.blocked; i++) {
      if (receiveLoop!.onUnderlayReadable(udp!) < state.settings.batchSize) break;
    }
  } catch (err) {
    fatal(err);
    return;
  }
  updateInterest();
}

function onIpipPacket(packet: Uint8Array): void {
  if (!running) return;
  try {
    receiveLoop!.acceptDatagram(packet);
  } catch (err) {
    fatal(err);
    return;
  }
  updateInterest();
}

/** Watches each fd for exactly what the loops can use now (see the file comment). */
function updateInterest(): void {
  if (!running) return;
  const sendBlocked = sendLoop!.blocked;
  const receiveBlocked = receiveLoop!.blocked;
  const tunWanted = (sendBlocked ? 0 : PollEvents.READABLE) | (receiveBlocked ? PollEvents.WRITABLE : 0);
  if (tunWanted !== tunInterest) {
    tunInterest = tunWanted;
    if (tunWanted === 0) tunPoller!.stop();
    else tunPoller!.start(tunWanted);
  }
  if (udpPoller) {
    const udpWanted = (receiveBlocked ? 0 : PollEvents.READABLE) | (sendBlocked ? PollEvents.WRITABLE : 0);
    if (udpWanted !== udpInterest) {
      udpInterest = udpWanted;
      if (udpWanted === 0) udpPoller.stop();
      else udpPoller.start(udpWanted);
    }
  }
  ipip?.setReceivePaused(receiveBlocked);
}

function shutdown(): void {
  running = false;
  tunPoller?.close();
  udpPoller?.close();
  sendLoop?.releaseSlots();
  receiveLoop?.releaseSlots();
  for (const close of [() => tun?.close(), () => udp?.close(), () => ipip?.close()]) {
    try {
      close();
    } catch {
      // Closing is best effort: the handle may already be gone with its device.
    }
  }
}

function fatal(err: unknown): void {
  if (!running) return;
  shutdown();
  post({ type: 'fatal', code: errorCode(err), message: err instanceof Error ? err.message : String(err) });
}

port.on('message', (message: ToWorker) => {
  if (message.type !== 'stop') return;
  shutdown();
  post({ type: 'stopped' });
  port.close();
});

try {
  start();
  post({ type: 'ready', tunName: tun!.name });
} catch (err) {
  shutdown();
  post({
    type: 'start_failed',
    code: errorCode(err),
    message: err instanceof Error ? err.message : String(err),
  });
}

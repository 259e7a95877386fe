/**
 * Where the Forwarder runs. Normally in its own worker_threads worker (or several, one per TUN queue).
 * The ipip backend runs it on the calling (main) thread instead: the raw-socket package registers its readiness watcher on libuv's
 * default loop, which belongs to the main thread, so its sockets cannot live in a worker.
 */
import { Worker } from 'node:worker_threads';
import { DataplaneError } from './api.js';
import { Forwarder } from './forwarder.js';
import type { FatalHandler } from './forwarder-io.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

const STOP_TIMEOUT_MS = 5_000;

export interface ForwarderHost {
  readonly tunName: string;
  /** Stops forwarding; resolves once the device and socket are closed. Idempotent. */
  stop(): Promise<void>;
}

function startFailed(message: string, cause?: unknown): DataplaneError {
  return new DataplaneError('DATAPLANE_START_FAILED', `data plane did not start: ${message}`, { cause });
}

export function startInline(init: WorkerInit, onFatal: FatalHandler): ForwarderHost {
  const forwarder = new Forwarder(init, onFatal);
  let tunName: string;
  try {
    tunName = forwarder.start();
  } catch (err) {
    throw startFailed(`${(err as { code?: string }).code ?? 'ERROR'}: ${(err as Error).message}`, err);
  }
  return {
    tunName,
    stop: async () => forwarder.stop(),
  };
}

export async function startInWorker(init: WorkerInit, onFatal: FatalHandler): Promise<ForwarderHost> {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  let stopping: Promise<void> | undefined;
  const tunName = await new Promise<string>((resolve, reject) => {
    const failed = (message: string, cause?: unknown): void => {
      void worker.terminate();
      reject(startFailed(message, cause));
    };
    worker.once('message', (message: FromWorker) => {
      if (message.type === 'ready') resolve(message.tunName);
      else if (message.type === 'start_failed') failed(`${message.code}: ${message.message}`, message);
      else failed(`unexpected message ${message.type}`);
    });
    worker.once('error', (err) => failed(err.message, err));
  });
  let fatal = false;
  const fail = (code: string, message: string): void => {
    if (fatal || stopping) return;
    fatal = true;
    stopping = worker.terminate().then(() => undefined);
    onFatal(code, message);
  };
  worker.on('message', (message: FromWorker) => {
    if (message.type === 'fatal') fail(message.code, message.message);
  });
  worker.on('error', (err) => fail('DATAPLANE_WORKER_ERROR', err.message));
  worker.on('exit', (exitCode) => fail('DATAPLANE_WORKER_EXIT', `worker exited with code ${exitCode}`));
  return {
    tunName,
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.postMessage({ type: 'stop' } satisfies ToWorker);
      });
      return stopping;
    },
  };
}

/**
 * Starts one worker per init: the first alone (it resolves a '%d' TUN name and creates the device when
 * absent), then the others attaching to the same device. Any worker failing to start stops the rest.
 */
export async function startInWorkers(inits: WorkerInit[], onFatal: FatalHandler): Promise<ForwarderHost> {
  const named = (index: number): FatalHandler =>
    inits.length === 1 ? onFatal : (code, message) => onFatal(code, `worker ${index}: ${message}`);
  const first = await startInWorker(inits[0], named(0));
  const others = await Promise.allSettled(
    inits.slice(1).map((init, i) => startInWorker({ ...init, tunName: first.tunName }, named(i + 1))),
  );
  const hosts = [first];
  let failure: unknown;
  for (const outcome of others) {
    if (outcome.status === 'fulfilled') hosts.push(outcome.value);
    else failure ??= outcome.reason;
  }
  const stopAll = async (): Promise<void> => {
    await Promise.all(hosts.map((host) => host.stop()));
  };
  if (failure !== undefined) {
    await stopAll();
    throw failure;
  }
  let stopping: Promise<void> | undefined;
  return {
    tunName: first.tunName,
    stop: () => {
      stopping ??= stopAll();
      return stopping;
    },
  };
}

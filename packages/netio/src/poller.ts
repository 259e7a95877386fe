import { createNetioError } from './errors.js';
import { loadNative, type NativePoller } from './load.js';
import type { Poller } from './types.js';

// Pollers by fd on this thread, so closing a handle can close its watchers first: libuv must never
// watch an fd number that was closed (and possibly reused).
const pollersByFd = new Map<number, FdPoller>();

class FdPoller implements Poller {
  readonly #native: NativePoller;
  readonly #fd: number;
  #closed = false;

  constructor(fd: number, callback: (events: number) => void) {
    // libuv misbehaves with two watchers on one fd in one loop.
    if (pollersByFd.has(fd)) {
      throw createNetioError(
        'NETIO_BAD_ARGUMENT',
        0,
        '',
        `createPoller: fd ${fd} already has a Poller on this thread`,
      );
    }
    this.#native = new (loadNative().Poller)(fd, callback);
    this.#fd = fd;
    pollersByFd.set(fd, this);
  }

  start(events: number): void {
    this.#native.start(events);
  }

  stop(): void {
    this.#native.stop();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
    if (pollersByFd.get(this.#fd) === this) pollersByFd.delete(this.#fd);
  }
}

/**
 * Watches `fd` with libuv on this thread's loop; `callback` gets PollEvents bits once per readiness
 * event (after start()). Level-triggered: drain until EAGAIN or it fires again.
 */
export function createPoller(fd: number, callback: (events: number) => void): Poller {
  return new FdPoller(fd, callback);
}

/** Closes the Poller on `fd`, if any (called before the fd itself is closed). */
export function closePollersOn(fd: number): void {
  pollersByFd.get(fd)?.close();
}

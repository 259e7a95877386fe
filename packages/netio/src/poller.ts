import { loadNative, type NativePoller } from './load.js';
import type { Poller } from './types.js';

// Pollers by fd on this thread, so closing a handle can close its watchers first: libuv must never
// watch an fd number that was closed (and possibly reused).
const pollersByFd = new Map<number, Set<FdPoller>>();

class FdPoller implements Poller {
  readonly #native: NativePoller;
  readonly #fd: number;
  #closed = false;

  constructor(fd: number, callback: (events: number) => void) {
    this.#native = new (loadNative().Poller)(fd, callback);
    this.#fd = fd;
    const set = pollersByFd.get(fd) ?? new Set<FdPoller>();
    set.add(this);
    pollersByFd.set(fd, set);
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
    const set = pollersByFd.get(this.#fd);
    set?.delete(this);
    if (set?.size === 0) pollersByFd.delete(this.#fd);
  }
}

/**
 * Watches `fd` with libuv on this thread's loop; `callback` gets PollEvents bits once per readiness
 * event (after start()). Level-triggered: drain until EAGAIN or it fires again.
 */
export function createPoller(fd: number, callback: (events: number) => void): Poller {
  return new FdPoller(fd, callback);
}

/** Closes every Poller on `fd` (called before the fd itself is closed). */
export function closePollersOn(fd: number): void {
  const set = pollersByFd.get(fd);
  if (!set) return;
  for (const poller of [...set]) poller.close();
}

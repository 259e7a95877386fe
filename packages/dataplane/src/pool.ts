/**
 * A bounded buffer pool: one SharedArrayBuffer of fixed-size slots, preallocated and never grown, and
 * a LIFO free list of slot indices. Every slot starts with HEADROOM bytes in front of the packet so
 * tunnel headers (and a virtio-net header) are written in place; decapsulation only moves an offset.
 *
 * The free list lives in a second small SharedArrayBuffer so the main thread can read how many slots
 * are free without asking the worker. Only one thread (the worker) acquires and releases.
 */
import { HEADROOM } from './constants.js';

export interface PoolOptions {
  slots: number;
  /** Bytes per slot including headroom; up to 64 KiB + headroom for offloaded super-packets. */
  slotSize: number;
}

export class BufferPool {
  readonly memory: Uint8Array;
  readonly slotSize: number;
  readonly slots: number;
  /** [0] = free count, [1..slots] = stack of free slot indices. */
  readonly control: Int32Array;

  constructor(options: PoolOptions, memory?: SharedArrayBuffer, control?: SharedArrayBuffer) {
    if (!Number.isInteger(options.slots) || options.slots < 1)
      throw new RangeError('pool slots must be >= 1');
    if (!Number.isInteger(options.slotSize) || options.slotSize <= HEADROOM || options.slotSize % 64 !== 0) {
      throw new RangeError(`pool slotSize must be a multiple of 64 above ${HEADROOM}`);
    }
    this.slots = options.slots;
    this.slotSize = options.slotSize;
    this.memory = new Uint8Array(memory ?? new SharedArrayBuffer(options.slots * options.slotSize));
    this.control = new Int32Array(control ?? new SharedArrayBuffer((options.slots + 1) * 4));
    if (!control) {
      for (let i = 0; i < options.slots; i++) this.control[1 + i] = options.slots - 1 - i;
      this.control[0] = options.slots;
    }
  }

  /** A free slot index, or -1 when the pool is exhausted (the caller counts a drop). */
  acquire(): number {
    const free = this.control[0];
    if (free === 0) return -1;
    this.control[0] = free - 1;
    return this.control[free];
  }

  /** Returns a slot acquired earlier. Releasing a slot twice corrupts the pool: callers own pairs. */
  release(slot: number): void {
    const free = this.control[0] + 1;
    this.control[free] = slot;
    this.control[0] = free;
  }

  /** `count` slots at once, or null (taking none) when the pool has fewer free. */
  acquireMany(count: number): Int32Array | null {
    if (this.free < count) return null;
    const slots = new Int32Array(count);
    for (let i = 0; i < count; i++) slots[i] = this.acquire();
    return slots;
  }

  /** Returns every slot held in `slots` (entries >= 0) and marks the entries -1. */
  releaseAll(slots: Int32Array): void {
    for (let i = 0; i < slots.length; i++) {
      if (slots[i] >= 0) this.release(slots[i]);
      slots[i] = -1;
    }
  }

  get free(): number {
    return Atomics.load(this.control, 0);
  }

  get inUse(): number {
    return this.slots - this.free;
  }

  /** Byte offset of the slot's first byte in `memory`. */
  slotStart(slot: number): number {
    return slot * this.slotSize;
  }

  /** Byte offset where a packet read into this slot begins (after the headroom). */
  packetStart(slot: number): number {
    return slot * this.slotSize + HEADROOM;
  }

  /** Bytes a packet may occupy from packetStart. */
  get capacity(): number {
    return this.slotSize - HEADROOM;
  }
}

/** Slot size for packets up to `maxPacket` bytes: headroom plus the packet, rounded up to 64. */
export function slotSizeFor(maxPacket: number): number {
  return Math.ceil((HEADROOM + maxPacket) / 64) * 64;
}

import { MSG_LENGTH, MSG_OFFSET, MSG_STRIDE } from '@felt/netio';
import type { BufferPool } from './pool.js';

/**
 * Readies records first..first+slots.length-1 for a batch read: each record keeps the pool slot it
 * holds in `slots` (or gets a new one) and points `before` bytes ahead of the slot's packet start, with
 * room for `before` + a whole packet. Returns the records armed: fewer when the pool runs dry.
 */
export function armRecords(
  pool: BufferPool,
  meta: Int32Array,
  first: number,
  slots: Int32Array,
  before: number,
): number {
  const capacity = pool.capacity + before;
  const n = slots.length;
  for (let i = 0; i < n; i++) {
    if (slots[i] < 0) {
      const slot = pool.acquire();
      if (slot < 0) return i;
      slots[i] = slot;
    }
    const record = (first + i) * MSG_STRIDE;
    meta[record + MSG_OFFSET] = pool.packetStart(slots[i]) - before;
    meta[record + MSG_LENGTH] = capacity;
  }
  return n;
}

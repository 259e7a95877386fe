import { describe, expect, it } from 'vitest';
import { HEADROOM } from './constants.js';
import { BufferPool, slotSizeFor } from './pool.js';

describe('BufferPool', () => {
  it('hands out every slot once, then reports exhaustion instead of growing', () => {
    const pool = new BufferPool({ slots: 8, slotSize: slotSizeFor(1500) });
    const taken = new Set<number>();
    for (let i = 0; i < 8; i++) taken.add(pool.acquire());
    expect(taken.size).toBe(8);
    expect(pool.acquire()).toBe(-1);
    expect([pool.free, pool.inUse]).toEqual([0, 8]);
    expect(pool.memory.byteLength).toBe(8 * pool.slotSize);
    for (const slot of taken) pool.release(slot);
    expect(pool.free).toBe(8);
  });

  it('takes several slots at once or none, and gives back only the ones held', () => {
    const pool = new BufferPool({ slots: 4, slotSize: slotSizeFor(1500) });
    expect(pool.acquireMany(5)).toBeNull();
    expect(pool.free).toBe(4);
    const slots = pool.acquireMany(3)!;
    expect(new Set(slots).size).toBe(3);
    expect(pool.free).toBe(1);
    slots[1] = -1;
    pool.releaseAll(slots);
    expect([...slots]).toEqual([-1, -1, -1]);
    expect(pool.free).toBe(3);
  });

  it('keeps headroom in front of every packet, 64-byte aligned', () => {
    const pool = new BufferPool({ slots: 4, slotSize: slotSizeFor(1500) });
    for (let slot = 0; slot < 4; slot++) {
      expect(pool.packetStart(slot) - pool.slotStart(slot)).toBe(HEADROOM);
      expect(pool.packetStart(slot) % 64).toBe(0);
    }
    expect(pool.capacity).toBeGreaterThanOrEqual(1500);
  });

  it('allows 64 KiB slots with a virtio-net header in front of the packet', () => {
    const pool = new BufferPool({ slots: 2, slotSize: slotSizeFor(65535) });
    expect(pool.capacity).toBeGreaterThanOrEqual(65535);
    expect(HEADROOM).toBeGreaterThanOrEqual(12 + 22);
  });

  it('shares its free count with another view of the same memory (the main thread)', () => {
    const pool = new BufferPool({ slots: 4, slotSize: 256 });
    const mirror = new BufferPool(
      { slots: 4, slotSize: 256 },
      pool.memory.buffer as SharedArrayBuffer,
      pool.control.buffer as SharedArrayBuffer,
    );
    pool.acquire();
    expect(mirror.inUse).toBe(1);
  });

  it('rejects sizes without room for headroom', () => {
    expect(() => new BufferPool({ slots: 1, slotSize: 100 })).toThrow(RangeError);
    expect(() => new BufferPool({ slots: 0, slotSize: 256 })).toThrow(RangeError);
  });
});

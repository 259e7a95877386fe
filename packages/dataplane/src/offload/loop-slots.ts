import { DataplaneError } from '../api.js';
import type { ForwarderState } from '../forwarder-state.js';

/** Pool slots an offload loop holds for its lifetime; a pool too small for the offload loops cannot start. */
export function acquireSlots(state: ForwarderState, count: number): Int32Array {
  const slots = state.pool.acquireMany(count);
  if (slots) return slots;
  throw new DataplaneError('DATAPLANE_START_FAILED', 'the buffer pool is too small for the offload loops');
}

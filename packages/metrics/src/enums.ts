// The fixed label values every enum-labelled metric is initialised with ("avoid missing metrics").
import { ETCD_OPERATIONS } from '@felt/registry/stats';
import type { DatapathOp, Direction, EtcdOperation } from './sources.js';

/**
 * The data plane's drop reasons, from its side-effect-free subpath (loading metrics never loads the data
 * plane's runtime or native addon). Reasons it reports beyond these are exported too.
 */
export { DROP_REASONS } from '@felt/dataplane/drops';

export const DIRECTIONS: readonly Direction[] = ['tx', 'rx'];
export const DATAPATH_OPS: readonly DatapathOp[] = ['encap', 'decap'];
/** The etcd operations the registry counts, from its side-effect-free subpath (no etcd3 loaded). */
export { ETCD_OPERATIONS };
/** Unary etcd calls whose latency is measured (a watch is a stream, not a request). */
export const ETCD_REQUEST_OPERATIONS: readonly EtcdOperation[] = ETCD_OPERATIONS.filter(
  (op) => op !== 'watch',
);
export const ETCD_OUTCOMES = ['ok', 'error'] as const;
export type EtcdOutcome = (typeof ETCD_OUTCOMES)[number];

/** Batch duration buckets: 1 µs × 4^k, k = 0..8 (1 µs … 65.5 ms). */
export const BATCH_DURATION_BOUNDS: readonly number[] = Array.from({ length: 9 }, (_, k) =>
  Number((1e-6 * 4 ** k).toPrecision(6)),
);
/** Batch size buckets: 1, 2, 4, … 256 packets. */
export const BATCH_SIZE_BOUNDS: readonly number[] = Array.from({ length: 9 }, (_, k) => 2 ** k);
/** etcd call latency buckets, 1 ms … ~16 s. */
export const ETCD_DURATION_BOUNDS: readonly number[] = Array.from({ length: 8 }, (_, k) =>
  Number((0.001 * 4 ** k).toPrecision(6)),
);
/** Route reconciliation buckets, 1 ms … ~4 s. */
export const ROUTE_SYNC_BOUNDS: readonly number[] = Array.from({ length: 7 }, (_, k) =>
  Number((0.001 * 4 ** k).toPrecision(6)),
);

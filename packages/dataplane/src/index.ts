/**
 * @felt/dataplane: felt's hot path. Design notes:
 * - One worker_threads worker owns the TUN device and the underlay socket (@felt/netio) and runs the two
 *   loops, send.ts (TUN → wire) and receive.ts (wire → TUN), one native call per batch each way. The ipip
 *   backend runs them on the main thread instead (raw-socket only works there; forwarder-host.ts).
 * - Packets live in one preallocated SharedArrayBuffer pool (pool.ts) with headroom in front of every
 *   packet: tunnel headers are written in place, decapsulation only moves an offset. Nothing is
 *   allocated per packet (alloc.test.ts).
 * - Routes reach the worker through a double-buffered shared table (route-table.ts); counters come back
 *   through a shared Float64Array (counters.ts). No messages per packet or per route change.
 * - Every rejected packet is a counted drop with a fixed reason (DROP_REASONS); ICMP errors for no route,
 *   TTL expiry and too-big packets go back into the TUN (icmp.ts).
 * - Offloads (config `offloads`, default on for udp and vxlan; offload/*.ts): the TUN hands over 64 KiB
 *   TSO/USO super-packets that netio splits in C straight into UDP GSO runs, UDP GRO hands over runs of
 *   datagrams, and netio coalesces inner TCP segments into one TUN write. Same per-packet decisions as
 *   the plain loops (encapsulatePacket/decapsulatePacket), once per super-packet where they can be.
 */
export type {
  BackendType,
  BatchStats,
  DataplaneConfig,
  DataplaneErrorCode,
  DataplaneLogger,
  DataplaneOptions,
  DataplaneSnapshot,
  DropReason,
  Histogram,
  OffloadStats,
  PeerSpec,
  PeerStats,
  TrafficCounter,
  WorkerStats,
} from './api.js';
export { DataplaneError, DROP_REASONS } from './api.js';
export { Dataplane } from './dataplane.js';

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
  PeerSpec,
  PeerStats,
  TrafficCounter,
} from './api.js';
export { DataplaneError, DROP_REASONS } from './api.js';
export { Dataplane } from './dataplane.js';

// The shapes the lifecycle drives. The real objects come from @felt/registry and @felt/dataplane;
// tests pass fakes with the same shape.
import type { EventEmitter } from 'node:events';
import type { DataplaneConfig, DataplaneSnapshot, PeerSpec } from '@felt/dataplane';
import type { SubnetRegistryApi } from '@felt/registry';

export type RegistryPort = SubnetRegistryApi;

export interface DataplanePort extends EventEmitter {
  setPeers(peers: PeerSpec[]): void;
  upsertPeer(peer: PeerSpec): void;
  removePeer(subnet: string): void;
  snapshot(): DataplaneSnapshot;
  /** Stops forwarding; the persistent TUN device stays. */
  stop(): Promise<void>;
}

/** Opens (or re-attaches to) the TUN device and the underlay socket and starts forwarding. */
export type StartDataplane = (config: DataplaneConfig) => Promise<DataplanePort>;

// Shapes of the two long-lived objects, for consumers that want to depend on an interface.
import type { EventEmitter } from 'node:events';
import type {
  AcquireRequest,
  Lease,
  NetworkConfig,
  PeerEvents,
  RegistryEvents,
  RegistryStats,
} from './types.js';

export interface PeerWatcherApi extends EventEmitter<PeerEvents> {
  readonly synced: boolean;
  /** Current peer set (our own lease excluded), sorted by key. */
  peers(): Lease[];
  /** Stops delivering events to listeners. The watch itself runs until the registry's close(). */
  close(): void;
}

export interface SubnetRegistryApi extends EventEmitter<RegistryEvents> {
  /** Reads `<prefix>/config` once; throws REGISTRY_NO_CONFIG if absent, REGISTRY_BAD_CONFIG if invalid. */
  loadConfig(): Promise<NetworkConfig>;
  /** Waits (backoff 100 ms → 5 s, logging the key to write) until a valid config exists. */
  waitForConfig(signal?: AbortSignal): Promise<NetworkConfig>;
  /** Reuse by PublicIP, then previous subnet, then allocate; renews automatically afterwards. */
  acquire(request: AcquireRequest): Promise<Lease>;
  /** Our lease, or null. */
  lease(): Lease | null;
  /** Deletes our key and revokes the etcd lease (node decommission). */
  release(): Promise<void>;
  /** Peers under `<prefix>/subnets/`, own lease excluded; one shared watch per registry. */
  watchPeers(): PeerWatcherApi;
  stats(): RegistryStats;
  /** Stops timers and watches and closes the etcd client; keeps the lease (Flannel semantics). */
  close(): Promise<void>;
}

// Public types of @felt/registry. Field names of LeaseAttrs are Flannel's on-the-wire JSON names.

/** Pino-compatible logger (the subset we call). */
export interface RegistryLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type BackendType = 'udp' | 'vxlan' | 'ipip';

/** An IPv4 network: `address` is the (masked) network address, `cidr` its text form. */
export interface Ipv4Cidr {
  address: string;
  prefixLength: number;
  /** e.g. '10.244.0.0/16' */
  cidr: string;
}

export interface BackendConfig {
  type: BackendType;
  /** vxlan VNI (default 1); 0 for other backends. */
  vni: number;
  /** UDP port: vxlan 8472, udp 8285 by default; 0 for ipip. */
  port: number;
  /** The `Backend` object as written by the operator (for options we do not interpret). */
  raw: Record<string, unknown>;
}

/** `<prefix>/config`, parsed with Flannel's defaults applied. */
export interface NetworkConfig {
  network: Ipv4Cidr;
  subnetLen: number;
  /** First and last subnet network addresses that may be leased, e.g. '10.244.1.0'. */
  subnetMin: string;
  subnetMax: string;
  backend: BackendConfig;
  /** The whole document as parsed JSON. */
  raw: Record<string, unknown>;
}

/** vxlan's BackendData. */
export interface VxlanBackendData {
  VNI: number;
  VtepMAC: string;
}

/** Flannel's lease value JSON (`pkg/lease/lease.go` LeaseAttrs). Serialised in exactly this key order. */
export interface LeaseAttrs {
  PublicIP: string;
  /** Always present in the JSON; null when the node has no IPv6. */
  PublicIPv6: string | null;
  /** Omitted for Flannel's udp backend. */
  BackendType?: string;
  BackendData?: Record<string, unknown>;
  BackendV6Data?: Record<string, unknown>;
}

export interface Lease {
  /** e.g. '10.244.3.0/24' */
  subnet: string;
  /** Full etcd key, e.g. '/coreos.com/network/subnets/10.244.3.0-24' */
  key: string;
  attrs: LeaseAttrs;
  /** Epoch ms when the etcd lease runs out; null when unknown (peers) or when the key has no TTL. */
  expiresAt: number | null;
}

export interface EtcdTlsOptions {
  /** CA bundle (PEM). */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface EtcdAuthOptions {
  username: string;
  password: string;
}

export interface SubnetRegistryOptions {
  endpoints: string[];
  /** Default '/coreos.com/network'. */
  prefix?: string;
  tls?: EtcdTlsOptions;
  auth?: EtcdAuthOptions;
  logger?: RegistryLogger;
  /** TTL of the etcd lease behind our subnet key. Default 86400 (Flannel). */
  leaseTtlSeconds?: number;
  /** Renew this long before expiry. Default 3600 (Flannel's 60 min). */
  renewMarginSeconds?: number;
  /** Connection dial timeout. Default 5000. */
  dialTimeoutMs?: number;
  /** Deadline of each etcd call. Default 5000. */
  callTimeoutMs?: number;
  /** Every this often the watched peer set is checked against a full list. Default 300000; 0 = off. */
  resyncIntervalMs?: number;
  /**
   * Called after every unary etcd call with its latency, and the gRPC status name (e.g. 'UNAVAILABLE',
   * 'DEADLINE_EXCEEDED', else 'UNKNOWN') when it failed. Watch streams are not reported here (their
   * failures are in stats().etcdErrorsByCode.watch). A throwing hook is ignored.
   */
  onEtcdCall?: EtcdCallHook;
}

export type EtcdCallHook = (
  op: EtcdOperation,
  outcome: 'ok' | 'error',
  seconds: number,
  code?: string,
) => void;

export interface AcquireRequest {
  /** Our underlay address, published as PublicIP and used to find our previous lease. */
  publicIp: string;
  /** Omit for Flannel's udp backend (it publishes no BackendType). */
  backendType?: string;
  backendData?: Record<string, unknown>;
  /** FLANNEL_SUBNET from the previous subnet.env, e.g. '10.244.3.1/24' or '10.244.3.0/24'. */
  previousSubnet?: string | null;
  /** Defaults to the config read by waitForConfig() (read now if not yet). */
  config?: NetworkConfig;
  signal?: AbortSignal;
}

export type EtcdOperation = 'range' | 'put' | 'txn' | 'delete' | 'lease_grant' | 'lease_revoke' | 'watch';

export interface RegistryStats {
  renewals: { success: number; error: number; lost: number };
  watchEvents: { put: number; delete: number };
  watchRestarts: { disconnected: number; compacted: number; canceled: number };
  etcdErrors: Record<EtcdOperation, number>;
  /** The same failures by gRPC status name, e.g. `{ range: { UNAVAILABLE: 2 } }`. */
  etcdErrorsByCode: Record<EtcdOperation, Record<string, number>>;
  malformedLeasesSkipped: number;
  /** Periodic consistency checks that found the watched view wrong and repaired it (should stay 0). */
  resyncRepairs: number;
  /** Times our lease was lost and acquired again. */
  reacquisitions: number;
  /** True once the first full list of peers has been applied. */
  synced: boolean;
  /** Epoch ms; null before acquire / after release. */
  leaseExpiresAt: number | null;
  peers: number;
}

/** Events of SubnetRegistry (own lease). */
export interface RegistryEvents {
  renewed: [lease: Lease];
  /** Our key vanished or is owned by someone else; a re-acquisition is under way. */
  'lease-lost': [info: { lease: Lease; reason: 'deleted' | 'taken' | 'expired' | 'renew-conflict' }];
  'lease-reacquired': [info: { previous: Lease; lease: Lease }];
  /** Re-acquisition failed (e.g. out of subnets); retried with backoff. */
  'lease-error': [error: Error];
}

/** Events of PeerWatcher. Our own lease never appears. */
export interface PeerEvents {
  added: [lease: Lease];
  changed: [lease: Lease, previous: Lease];
  removed: [lease: Lease];
  /** Emitted after the first full list (and never again unless re-synced after close). */
  synced: [peers: Lease[]];
}

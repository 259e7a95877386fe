// Every feltd flag in one table: Flannel's names and defaults first, then felt's own. The loader, the
// --help text and the env/config-file names are all derived from this table.
import {
  type HostPort,
  integerIn,
  type LogLevel,
  parseBoolean,
  parseDurationMs,
  parseEndpoints,
  parseEtcdPrefix,
  parseIfaceCanReach,
  parseIfaceList,
  parseIfaceRegexList,
  parseInterfaceName,
  parseIpv4,
  parseListenAddress,
  parseLogLevel,
  parseOptionalPath,
  parseOptionalText,
  parseRequiredPath,
  type WorkerCount,
  workerCountIn,
} from './values.js';

/** Most data-plane workers the flag accepts (the data plane's own bound). */
export const MAX_DATAPLANE_WORKERS = 16;

/** The effective configuration after defaults, config file, env and flags are merged and validated. */
export interface DaemonConfig {
  etcdEndpoints: string[];
  etcdPrefix: string;
  etcdCaFile: string | null;
  etcdCertFile: string | null;
  etcdKeyFile: string | null;
  etcdUsername: string | null;
  etcdPassword: string | null;
  /** Interface names or addresses to try in order; empty = default-route interface. */
  iface: string[];
  /** Patterns tried in order after --iface: addresses of every interface first, then names. */
  ifaceRegex: string[];
  /** The interface (and source address) of the route to this address, tried after --iface-regex. */
  ifaceCanReach: string | null;
  publicIp: string | null;
  subnetFile: string;
  subnetLeaseRenewMarginMinutes: number;
  subnetLeaseTtlSeconds: number;
  ipMasq: boolean;
  /** MASQUERADE without --random-fully. */
  ipMasqFullyRandomDisable: boolean;
  iptablesResyncSeconds: number;
  iptablesForwardRules: boolean;
  healthzIp: string;
  /** 0 = no separate healthz listener. */
  healthzPort: number;
  /** null = no metrics listener. */
  metricsAddr: HostPort | null;
  metricsMaxPeers: number;
  tunName: string;
  /** Data plane offloads (TUN TSO/GRO, UDP GSO/GRO) for udp and vxlan when the kernel has them. */
  offloads: boolean;
  /** Data-plane workers (TUN queues + SO_REUSEPORT sockets) for udp and vxlan; 'auto' = dataplane-workers.ts. */
  dataplaneWorkers: WorkerCount;
  logLevel: LogLevel;
  shutdownTimeoutMs: number;
  releaseLeaseOnExit: boolean;
  /** The --config file that was read, if any. */
  configFile: string | null;
}

export interface FlagSpec {
  /** Long name without dashes. */
  name: string;
  boolean: boolean;
  /** May be given several times on the command line (comma-separated in env and file). */
  repeatable?: boolean;
  /**
   * Joins repeated command-line values and config-file array items into the text parse() splits;
   * ',' unless a value may itself hold commas (regexes such as [0-9]{1,3}).
   */
  separator?: string;
  /** Default as raw text (or boolean); shown by --help. */
  default: string | boolean;
  help: string;
  /** Redacted in logs and in the config shown by the HTTP endpoints. */
  secret?: boolean;
  /** How --help describes the default when the raw default says little (e.g. ''). */
  defaultText?: string;
  /** A flanneld flag: also read from FLANNELD_<FLAG> (below FELTD_<FLAG>), for drop-in env files. */
  flannel?: boolean;
  /** Not listed by --help (test knobs). */
  hidden?: boolean;
  /** Key in DaemonConfig. */
  key: keyof DaemonConfig;
  parse(raw: string): DaemonConfig[keyof DaemonConfig];
}

const flag = (spec: FlagSpec): FlagSpec => spec;

export const FLAGS: readonly FlagSpec[] = [
  flag({
    name: 'etcd-endpoints',
    flannel: true,
    boolean: false,
    default: 'http://127.0.0.1:4001,http://127.0.0.1:2379',
    help: 'comma-separated list of etcd endpoints',
    key: 'etcdEndpoints',
    parse: parseEndpoints,
  }),
  flag({
    name: 'etcd-prefix',
    flannel: true,
    boolean: false,
    default: '/coreos.com/network',
    help: 'etcd prefix of the network config and subnet leases',
    key: 'etcdPrefix',
    parse: parseEtcdPrefix,
  }),
  flag({
    name: 'etcd-cafile',
    flannel: true,
    boolean: false,
    default: '',
    help: 'CA bundle to verify etcd servers (PEM)',
    key: 'etcdCaFile',
    parse: parseOptionalPath,
  }),
  flag({
    name: 'etcd-certfile',
    flannel: true,
    boolean: false,
    default: '',
    help: 'client certificate for etcd (PEM)',
    key: 'etcdCertFile',
    parse: parseOptionalPath,
  }),
  flag({
    name: 'etcd-keyfile',
    flannel: true,
    boolean: false,
    default: '',
    help: 'client key for etcd (PEM)',
    key: 'etcdKeyFile',
    parse: parseOptionalPath,
  }),
  flag({
    name: 'etcd-username',
    flannel: true,
    boolean: false,
    default: '',
    help: 'username for etcd authentication',
    key: 'etcdUsername',
    parse: parseOptionalText,
  }),
  flag({
    name: 'etcd-password',
    flannel: true,
    boolean: false,
    default: '',
    help: 'password for etcd authentication (prefer FELTD_ETCD_PASSWORD over argv)',
    secret: true,
    key: 'etcdPassword',
    parse: parseOptionalText,
  }),
  flag({
    name: 'iface',
    flannel: true,
    boolean: false,
    repeatable: true,
    default: '',
    help: 'underlay interface name or IPv4 address, first match wins',
    defaultText: 'the interface of the default route, else the only non-loopback one',
    key: 'iface',
    parse: parseIfaceList,
  }),
  flag({
    name: 'iface-regex',
    flannel: true,
    boolean: false,
    repeatable: true,
    separator: '\n',
    default: '',
    help:
      'regex matched against the IPv4 addresses of every interface, then against interface names; ' +
      'patterns are tried in order after every --iface failed (env and file: one pattern, or one per line)',
    defaultText: 'none',
    key: 'ifaceRegex',
    parse: parseIfaceRegexList,
  }),
  flag({
    name: 'iface-can-reach',
    flannel: true,
    boolean: false,
    default: '',
    help:
      'IPv4 address: use the interface and source address of the route to it (as `ip route get` shows), ' +
      'tried after --iface and --iface-regex',
    defaultText: 'none',
    key: 'ifaceCanReach',
    parse: parseIfaceCanReach,
  }),
  flag({
    name: 'public-ip',
    flannel: true,
    boolean: false,
    default: '',
    help:
      'IPv4 address advertised to peers; without --iface, --iface-regex and --iface-can-reach the ' +
      'interface holding it is the underlay (else the default route, e.g. behind NAT)',
    defaultText: 'the underlay interface address',
    key: 'publicIp',
    parse: (raw) => (raw.trim() === '' ? null : parseIpv4(raw)),
  }),
  flag({
    name: 'subnet-file',
    flannel: true,
    boolean: false,
    default: '/run/flannel/subnet.env',
    help:
      'file the subnet, MTU and masquerade settings are written to (read by the flannel CNI plugin); ' +
      'felt-peers.json beside it keeps the peers a restarted feltd resumes forwarding with before etcd answers',
    key: 'subnetFile',
    parse: parseRequiredPath,
  }),
  flag({
    name: 'subnet-lease-renew-margin',
    flannel: true,
    boolean: false,
    default: '60',
    help: 'renew the subnet lease this many minutes before it expires (1..1439)',
    key: 'subnetLeaseRenewMarginMinutes',
    parse: integerIn(1, 1439, 'minutes'),
  }),
  flag({
    name: 'subnet-lease-ttl',
    boolean: false,
    default: '86400',
    help: 'lifetime of the subnet lease in seconds (tests shorten it)',
    hidden: true,
    key: 'subnetLeaseTtlSeconds',
    parse: integerIn(61, 86400 * 7, 'seconds'),
  }),
  flag({
    name: 'ip-masq',
    flannel: true,
    boolean: true,
    default: false,
    help: 'set up IP masquerade and FORWARD rules for traffic leaving the overlay',
    key: 'ipMasq',
    parse: parseBoolean,
  }),
  flag({
    name: 'ip-masq-fully-random-disable',
    flannel: true,
    boolean: true,
    default: false,
    help: 'masquerade without --random-fully',
    key: 'ipMasqFullyRandomDisable',
    parse: parseBoolean,
  }),
  flag({
    name: 'iptables-resync',
    flannel: true,
    boolean: false,
    default: '5',
    help: 'seconds between checks that the iptables rules are all in place',
    key: 'iptablesResyncSeconds',
    parse: integerIn(1, 3600, 'seconds'),
  }),
  flag({
    name: 'iptables-forward-rules',
    flannel: true,
    boolean: true,
    default: true,
    help: 'ACCEPT overlay traffic in the FORWARD chain (for hosts whose FORWARD policy is DROP)',
    key: 'iptablesForwardRules',
    parse: parseBoolean,
  }),
  flag({
    name: 'healthz-ip',
    flannel: true,
    boolean: false,
    default: '0.0.0.0',
    help: 'address of the /healthz listener',
    key: 'healthzIp',
    parse: parseIpv4,
  }),
  flag({
    name: 'healthz-port',
    flannel: true,
    boolean: false,
    default: '0',
    help: 'port of the /healthz listener (0 = off)',
    key: 'healthzPort',
    parse: integerIn(0, 65535, 'port'),
  }),
  flag({
    name: 'metrics-addr',
    boolean: false,
    default: '127.0.0.1:9465',
    help: "host:port of the /metrics listener ('' = off)",
    key: 'metricsAddr',
    parse: parseListenAddress,
  }),
  flag({
    name: 'metrics-max-peers',
    boolean: false,
    default: '256',
    help: 'most distinct peer label values; the rest are summed as peer="_other"',
    key: 'metricsMaxPeers',
    parse: integerIn(1, 65536, 'peers'),
  }),
  flag({
    name: 'tun-name',
    boolean: false,
    default: 'felt0',
    help: 'name of the persistent TUN device',
    key: 'tunName',
    parse: parseInterfaceName,
  }),
  flag({
    name: 'offloads',
    boolean: true,
    default: true,
    help: 'udp/vxlan: 64 KiB super-packets through the TUN (TSO/GRO) and UDP GSO/GRO, where the kernel has them; false = one packet per syscall',
    key: 'offloads',
    parse: parseBoolean,
  }),
  flag({
    name: 'dataplane-workers',
    boolean: false,
    default: 'auto',
    help:
      'udp/vxlan: forwarding threads, each with its own queue of a multi-queue TUN and its own SO_REUSEPORT ' +
      'socket (incoming traffic spreads per peer, or per flow from kernel vxlan peers); auto = 1 on machines ' +
      'with up to 2 cores (2 measured no faster there), else 2; ipip always uses 1',
    key: 'dataplaneWorkers',
    parse: workerCountIn(MAX_DATAPLANE_WORKERS),
  }),
  flag({
    name: 'log-level',
    boolean: false,
    default: 'info',
    help: 'trace, debug, info, warn, error, fatal or silent',
    key: 'logLevel',
    parse: parseLogLevel,
  }),
  flag({
    name: 'shutdown-timeout',
    boolean: false,
    default: '10s',
    help: "hard deadline after SIGTERM/SIGINT ('10s', '500ms' or plain seconds)",
    key: 'shutdownTimeoutMs',
    parse: parseDurationMs,
  }),
  flag({
    name: 'release-lease-on-exit',
    boolean: true,
    default: false,
    help: 'give the subnet lease back on a clean exit (node decommission only)',
    key: 'releaseLeaseOnExit',
    parse: parseBoolean,
  }),
];

/** Flags that act instead of configuring: they are never read from env or a config file. */
export const COMMAND_FLAGS = ['help', 'version', 'config'] as const;

export function envName(flagName: string, prefix: 'FELTD' | 'FLANNELD' = 'FELTD'): string {
  return `${prefix}_${flagName.toUpperCase().replaceAll('-', '_')}`;
}

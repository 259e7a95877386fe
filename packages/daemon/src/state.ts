// What the daemon knows about itself, read by the HTTP endpoints (/readyz, /healthz) and metrics.
// The lifecycle is the only writer; readers never change it.
import { EventEmitter } from 'node:events';
import type { Lease, NetworkConfig } from '@felt/registry';
import type { DaemonConfig } from './config/flags.js';
import { redactConfig } from './config/redact.js';

export type DaemonPhase =
  | 'starting'
  | 'waiting-for-config'
  | 'acquiring-lease'
  | 'setting-up-host'
  | 'running'
  | 'stopping'
  | 'stopped';

/** Readiness conditions. `registryConnected` is reported but never gates readiness (etcd may be down). */
export interface ReadinessChecks {
  leaseHeld: boolean;
  subnetEnvWritten: boolean;
  tunUp: boolean;
  /** True when --ip-masq is off, or once the rules are installed. */
  iptablesInstalled: boolean;
  registrySynced: boolean;
  registryConnected: boolean;
}

export type CheckName = keyof ReadinessChecks;

const GATING: readonly CheckName[] = [
  'leaseHeld',
  'subnetEnvWritten',
  'tunUp',
  'iptablesInstalled',
  'registrySynced',
];

export interface UnderlayInfo {
  iface: string;
  publicIp: string;
  mtu: number;
}

/** Host-level repairs and events worth counting (also logged when they happen). */
export interface DaemonCounters {
  tunRecreated: number;
  iptablesReinstalled: number;
  dataplaneRestarts: number;
  peerEventsApplied: number;
  peerEventsRejected: number;
}

export interface ReadinessReport {
  ready: boolean;
  phase: DaemonPhase;
  checks: { name: CheckName; ok: boolean; required: boolean }[];
}

export interface DaemonStateEvents {
  phase: [phase: DaemonPhase];
  check: [name: CheckName, ok: boolean];
}

export class DaemonState extends EventEmitter<DaemonStateEvents> {
  readonly config: DaemonConfig;
  readonly version: string;
  readonly startedAt = Date.now();
  phase: DaemonPhase = 'starting';
  readonly checks: ReadinessChecks;
  network: NetworkConfig | null = null;
  lease: Lease | null = null;
  underlay: UnderlayInfo | null = null;
  /** MTU set on the TUN device (underlay MTU − backend overhead). */
  tunMtu: number | null = null;
  readonly counters: DaemonCounters = {
    tunRecreated: 0,
    iptablesReinstalled: 0,
    dataplaneRestarts: 0,
    peerEventsApplied: 0,
    peerEventsRejected: 0,
  };

  constructor(config: DaemonConfig, version: string) {
    super();
    this.config = config;
    this.version = version;
    this.checks = {
      leaseHeld: false,
      subnetEnvWritten: false,
      tunUp: false,
      iptablesInstalled: !config.ipMasq,
      registrySynced: false,
      registryConnected: false,
    };
  }

  setPhase(phase: DaemonPhase): void {
    if (this.phase === phase) return;
    this.phase = phase;
    this.emit('phase', phase);
  }

  setCheck(name: CheckName, ok: boolean): void {
    if (this.checks[name] === ok) return;
    this.checks[name] = ok;
    this.emit('check', name, ok);
  }

  /** Ready = running and every gating check true. */
  isReady(): boolean {
    return this.phase === 'running' && GATING.every((name) => this.checks[name]);
  }

  readiness(): ReadinessReport {
    const checks = (Object.keys(this.checks) as CheckName[]).map((name) => ({
      name,
      ok: this.checks[name],
      required: GATING.includes(name),
    }));
    return { ready: this.isReady(), phase: this.phase, checks };
  }

  /** The effective config with secrets redacted (safe to log or serve). */
  redactedConfig(): Record<string, unknown> {
    return redactConfig(this.config);
  }
}

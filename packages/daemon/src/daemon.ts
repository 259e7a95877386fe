/**
 * The feltd lifecycle. Start-up, in order:
 *   read the previous subnet.env → pick the underlay → wait for <prefix>/config → acquire the lease
 *   → follow peers → create the persistent TUN (or find it from the previous run) and configure it
 *   (address, MTU, up, cluster route) → write subnet.env → iptables (if enabled) → start the data
 *   plane (attaches to the TUN) → peers into the data plane → ready.
 * While running: peer events go straight into the data plane; iptables are re-checked every
 * --iptables-resync seconds; the TUN is checked every second and recreated if someone deleted it;
 * etcd reachability is probed (readiness reports it, forwarding never depends on it).
 * Stop: readiness off, timers and watch stopped, lease kept (unless --release-lease-on-exit), data
 * plane stopped; the TUN device, its address and routes stay for the next process.
 * Restart: main may hand over a data plane already forwarding with the previous run's state
 * (warm-start.ts). It is kept when the configuration derived from etcd is the same (its peers are then
 * replaced by the registry's at sync), else stopped before the host is reconfigured. Every change of
 * the programmed peer set is saved for the next restart (warm-state.ts).
 */
import type { BackendType, DataplaneConfig } from '@felt/dataplane';
import { isRegistryError, type Lease, type NetworkConfig, type PeerWatcherApi } from '@felt/registry';
import type { DaemonConfig } from './config/flags.js';
import { chooseDataplaneWorkers } from './dataplane-workers.js';
import { DaemonError } from './errors.js';
import type { Logger } from './exec.js';
import { MIN_TUN_MTU, tunMtu } from './host/mtu.js';
import type { TunSpec } from './host/tun-setup.js';
import { detectUnderlay, type Underlay, type UnderlaySystem } from './host/underlay.js';
import type { IptablesRule } from './iptables/rules.js';
import { peerFromLease, vtepMacFor } from './peers.js';
import { Periodic } from './periodic.js';
import type { DataplanePort, RegistryPort, StartDataplane } from './ports.js';
import { type RuleSet, staleRuleSets, wantedRuleSets } from './rule-sets.js';
import type { DaemonState } from './state.js';
import { type PreviousSubnetEnv, readSubnetEnv, writeSubnetEnv } from './subnet-env.js';
import type { WarmStart } from './warm-start.js';
import { type WarmState, WarmStateWriter, warmStatePath } from './warm-state.js';

export interface TunHostPort {
  /** Cheap existence test, run every second. */
  present(name: string): Promise<boolean>;
  /** Creates the device (multi-queue when several workers attach), or recreates one of the other mode. */
  ensureDevice(name: string, multiQueue: boolean): Promise<boolean>;
  problems(spec: TunSpec): Promise<string[]>;
  apply(spec: TunSpec): Promise<void>;
  removeRoute(network: string, device: string): Promise<void>;
}

export interface IptablesPort {
  supportsRandomFully(): Promise<boolean>;
  ensure(name: string, rules: readonly IptablesRule[]): Promise<boolean>;
  remove(rules: readonly IptablesRule[]): Promise<void>;
}

export interface DaemonDeps {
  config: DaemonConfig;
  state: DaemonState;
  logger: Logger;
  registry: RegistryPort;
  startDataplane: StartDataplane;
  underlay: UnderlaySystem;
  tunHost: TunHostPort;
  iptables: IptablesPort;
  /** Called when the daemon cannot go on (main exits non-zero so the supervisor restarts it). */
  onFatal: (error: Error) => void;
  /** How often the TUN device is checked. Default 1000 ms. */
  hostCheckIntervalMs?: number;
  /** How often etcd reachability is probed. Default 5000 ms. */
  registryProbeIntervalMs?: number;
  /** A data plane already forwarding with the previous run's state (see warm-start.ts). */
  warm?: WarmStart | null;
}

/** Data plane recoveries allowed per minute before giving up (exit, let the supervisor restart). */
const MAX_RECOVERIES_PER_MINUTE = 10;
const RECOVERY_ATTEMPTS = 5;
/** Host checks between two full checks of the TUN configuration (each full check runs `ip` 3 times). */
const FULL_CHECK_EVERY = 5;

export class Daemon {
  readonly #deps: DaemonDeps;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #timers: Periodic[] = [];
  #dataplane: DataplanePort | null = null;
  #dataplaneConfig: DataplaneConfig | null = null;
  #tunSpec: TunSpec | null = null;
  #backend: BackendType = 'udp';
  #watcher: PeerWatcherApi | null = null;
  #recovering: Promise<void> | null = null;
  #recoveryTimes: number[] = [];
  #stopping: Promise<void> | null = null;
  #readyLogged = false;
  #hostChecks = 0;
  readonly #savedState: WarmStateWriter;

  constructor(deps: DaemonDeps) {
    this.#deps = deps;
    this.#log = deps.logger;
    this.#savedState = new WarmStateWriter(
      warmStatePath(deps.config.subnetFile),
      () => this.#currentState(),
      deps.logger,
    );
    deps.state.on('check', () => this.#reportReadiness());
    deps.state.on('phase', () => this.#reportReadiness());
    if (deps.warm) {
      const { config } = deps.warm;
      this.#dataplaneConfig = config;
      this.#backend = config.backend;
      this.#tunSpec = {
        name: config.tunName,
        address: config.subnet.split('/')[0],
        mtu: config.tunMtu,
        network: config.network,
      };
      this.#adoptDataplane(deps.warm.dataplane);
    }
  }

  get dataplane(): DataplanePort | null {
    return this.#dataplane;
  }

  async start(): Promise<void> {
    const { config, state, registry } = this.#deps;
    const signal = this.#abort.signal;
    state.setPhase('waiting-for-config');
    const previous = await this.#readPrevious();
    const underlay = await detectUnderlay(this.#deps.underlay, {
      iface: config.iface,
      ifaceRegex: config.ifaceRegex,
      ifaceCanReach: config.ifaceCanReach,
      publicIp: config.publicIp,
    });
    state.underlay = { iface: underlay.iface, publicIp: underlay.publicIp, mtu: underlay.mtu };
    this.#log.info({ underlay }, 'underlay selected');

    const network = await registry.waitForConfig(signal);
    this.#checkAborted();
    state.network = network;
    state.setCheck('registryConnected', true);
    this.#backend = network.backend.type;
    const mtu = tunMtu(underlay.mtu, this.#backend);
    if (mtu < MIN_TUN_MTU) {
      throw new DaemonError(
        'DAEMON_HOST_SETUP',
        `underlay MTU ${underlay.mtu} of ${underlay.iface} leaves ${mtu} bytes for ${this.#backend}; need at least ${MIN_TUN_MTU}`,
      );
    }
    this.#log.info(
      { network: network.network.cidr, backend: network.backend, tunMtu: mtu },
      'network config read',
    );

    state.setPhase('acquiring-lease');
    const lease = await this.#acquire(network, underlay, previous);
    this.#checkAborted();

    state.setPhase('setting-up-host');
    const { workers, note } = chooseDataplaneWorkers(config.dataplaneWorkers, this.#backend);
    if (note !== null) this.#log.info({ workers, setting: config.dataplaneWorkers }, note);
    const dataplaneConfig: DataplaneConfig = {
      backend: this.#backend,
      tunName: config.tunName,
      persistTun: true,
      tunMtu: mtu,
      underlayAddress: underlay.ifaceAddress,
      port: network.backend.port,
      vni: network.backend.vni,
      vtepMac: vtepMacFor(underlay.publicIp),
      network: network.network.cidr,
      subnet: lease.subnet,
      offloads: config.offloads,
      // Absent for one worker, so a state saved by a feltd without the setting still matches.
      ...(workers > 1 ? { workers } : {}),
    };
    await this.#dropWarmDataplaneUnless(dataplaneConfig);
    this.#dataplaneConfig = dataplaneConfig;
    this.#followPeers();
    this.#tunSpec = {
      name: config.tunName,
      address: lease.subnet.split('/')[0],
      mtu,
      network: network.network.cidr,
    };
    const created = await this.#deps.tunHost.ensureDevice(config.tunName, workers > 1);
    if (previous?.network && previous.network !== network.network.cidr) {
      await this.#deps.tunHost.removeRoute(previous.network, config.tunName);
    }
    await this.#deps.tunHost.apply(this.#tunSpec);
    state.tunMtu = mtu;
    state.setCheck('tunUp', true);
    this.#log.info({ tun: this.#tunSpec, reused: !created }, 'TUN device configured');

    await writeSubnetEnv(config.subnetFile, {
      network: network.network.cidr,
      subnet: lease.subnet,
      mtu,
      ipMasq: config.ipMasq,
    });
    state.setCheck('subnetEnvWritten', true);
    this.#log.info({ path: config.subnetFile }, 'subnet.env written');

    await this.#setUpIptables(previous, network.network.cidr, lease.subnet);
    this.#checkAborted();
    if (this.#dataplane) {
      this.#log.info({}, 'keeping the data plane resumed before etcd');
      this.#programAllPeers();
    } else await this.#startDataplane();
    this.#startHostChecks();
    this.#checkAborted();
    state.setPhase('running');
  }

  /** Idempotent; resolves when everything is stopped (the caller enforces the deadline). */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const { state, registry, config } = this.#deps;
    state.setPhase('stopping');
    this.#abort.abort();
    await Promise.all(this.#timers.map((timer) => timer.stop()));
    await this.#recovering;
    this.#watcher?.close();
    await this.#savedState.idle();
    if (config.releaseLeaseOnExit && registry.lease()) {
      await registry.release().then(
        () => this.#log.info({}, 'lease released (--release-lease-on-exit)'),
        (error: unknown) => this.#log.warn({ err: error }, 'could not release the lease'),
      );
      state.setCheck('leaseHeld', false);
    }
    await registry.close().catch((error: unknown) => this.#log.warn({ err: error }, 'registry close failed'));
    const dataplane = this.#dataplane;
    this.#dataplane = null;
    await dataplane
      ?.stop()
      .catch((error: unknown) => this.#log.warn({ err: error }, 'data plane stop failed'));
    state.setPhase('stopped');
  }

  async #readPrevious(): Promise<PreviousSubnetEnv | null> {
    try {
      const previous = await readSubnetEnv(this.#deps.config.subnetFile);
      if (previous) this.#log.info({ previous }, 'previous subnet.env found');
      return previous;
    } catch (error) {
      this.#log.warn(
        { err: error, path: this.#deps.config.subnetFile },
        'cannot read the previous subnet.env; ignoring it',
      );
      return null;
    }
  }

  async #acquire(
    network: NetworkConfig,
    underlay: Underlay,
    previous: PreviousSubnetEnv | null,
  ): Promise<Lease> {
    const { registry, state } = this.#deps;
    const backend = network.backend.type;
    const lease = await registry.acquire({
      publicIp: underlay.publicIp,
      // Flannel's udp backend publishes no BackendType.
      ...(backend === 'udp' ? {} : { backendType: backend }),
      ...(backend === 'vxlan'
        ? { backendData: { VNI: network.backend.vni, VtepMAC: vtepMacFor(underlay.publicIp) } }
        : {}),
      previousSubnet: previous?.subnet ?? null,
      config: network,
      signal: this.#abort.signal,
    });
    state.lease = lease;
    state.setCheck('leaseHeld', true);
    this.#log.info({ subnet: lease.subnet, key: lease.key, expiresAt: lease.expiresAt }, 'lease acquired');
    registry.on('renewed', (renewed) => {
      state.lease = renewed;
      state.setCheck('leaseHeld', true);
      state.setCheck('registryConnected', true);
    });
    registry.on('lease-lost', ({ lease: lost, reason }) => {
      this.#log.warn({ subnet: lost.subnet, reason }, 'lease lost; the registry is re-acquiring it');
      state.setCheck('leaseHeld', false);
    });
    registry.on('lease-reacquired', ({ previous: before, lease: after }) => {
      state.lease = after;
      if (after.subnet === before.subnet) {
        this.#log.info({ subnet: after.subnet }, 'lease re-acquired');
        state.setCheck('leaseHeld', true);
        return;
      }
      // Every pod on this node is numbered from the old subnet: only a restart can renumber cleanly.
      this.#deps.onFatal(
        new DaemonError(
          'DAEMON_HOST_SETUP',
          `lease moved from ${before.subnet} to ${after.subnet}; restarting to renumber`,
        ),
      );
    });
    registry.on('lease-error', (error) =>
      this.#log.error({ err: error }, 'lease re-acquisition failed; retrying'),
    );
    return lease;
  }

  #followPeers(): void {
    const watcher = this.#deps.registry.watchPeers();
    this.#watcher = watcher;
    const { state } = this.#deps;
    watcher.on('added', (lease) => {
      this.#log.info({ peer: lease.subnet, publicIp: lease.attrs.PublicIP }, 'peer added');
      this.#upsert(lease);
    });
    watcher.on('changed', (lease, previous) => {
      this.#log.info(
        { peer: lease.subnet, publicIp: lease.attrs.PublicIP, was: previous.attrs.PublicIP },
        'peer changed',
      );
      this.#upsert(lease);
    });
    watcher.on('removed', (lease) => {
      this.#log.info({ peer: lease.subnet }, 'peer removed');
      this.#guard(lease, () => this.#dataplane?.removePeer(lease.subnet));
      this.#savedState.schedule();
    });
    watcher.on('synced', (peers) => {
      this.#log.info({ peers: peers.length }, 'peer list synced');
      this.#programAllPeers();
      state.setCheck('registrySynced', true);
    });
    // The registry shares one watch; it may have synced already (e.g. during acquire). Peers seen
    // before our listeners existed are in watcher.peers(), programmed when the data plane starts.
    if (watcher.synced) state.setCheck('registrySynced', true);
  }

  #upsert(lease: Lease): void {
    const decision = peerFromLease(lease, this.#backend);
    if (!decision.ok) {
      this.#deps.state.counters.peerEventsRejected++;
      this.#log.warn({ peer: lease.subnet, reason: decision.reason }, 'ignoring peer lease');
      this.#guard(lease, () => this.#dataplane?.removePeer(lease.subnet));
    } else this.#guard(lease, () => this.#dataplane?.upsertPeer(decision.peer));
    this.#savedState.schedule();
  }

  /** Applies one peer change; a peer the data plane refuses is counted and logged, never fatal. */
  #guard(lease: Lease, apply: () => void): void {
    try {
      apply();
      this.#deps.state.counters.peerEventsApplied++;
    } catch (error) {
      this.#deps.state.counters.peerEventsRejected++;
      this.#log.warn({ err: error, peer: lease.subnet }, 'data plane refused a peer');
    }
  }

  /** Replaces the data plane's peer table with the watcher's view (after sync and after a restart). */
  #programAllPeers(): void {
    const watcher = this.#watcher;
    const dataplane = this.#dataplane;
    if (!watcher?.synced || !dataplane) return;
    const peers = [];
    for (const lease of watcher.peers()) {
      const decision = peerFromLease(lease, this.#backend);
      if (decision.ok) peers.push(decision.peer);
      else {
        this.#deps.state.counters.peerEventsRejected++;
        this.#log.warn({ peer: lease.subnet, reason: decision.reason }, 'ignoring peer lease');
      }
    }
    try {
      dataplane.setPeers(peers);
    } catch (error) {
      // One bad peer must not block the others: fall back to one at a time (dropping resumed ones).
      this.#log.warn({ err: error }, 'data plane refused the peer list; adding peers one by one');
      dataplane.setPeers([]);
      for (const lease of watcher.peers()) this.#upsert(lease);
    }
    this.#savedState.schedule();
  }

  /** What the next process resumes from: only a complete (synced) peer set is worth saving. */
  #currentState(): WarmState | null {
    const config = this.#dataplaneConfig;
    if (!this.#watcher?.synced || !this.#dataplane || !config) return null;
    const peers = [];
    for (const lease of this.#watcher.peers()) {
      const decision = peerFromLease(lease, this.#backend);
      if (decision.ok) peers.push(decision.peer);
    }
    return { config, peers };
  }

  /** A data plane resumed from the previous run stays only if etcd leads to the same configuration. */
  async #dropWarmDataplaneUnless(wanted: DataplaneConfig): Promise<void> {
    const warm = this.#dataplane;
    const resumed = this.#dataplaneConfig;
    if (!warm || !resumed || sameDataplaneConfig(resumed, wanted)) return;
    this.#log.warn(
      {
        resumed: { subnet: resumed.subnet, backend: resumed.backend },
        wanted: { subnet: wanted.subnet, backend: wanted.backend },
      },
      'the data plane resumed before etcd does not match the lease and config; restarting it',
    );
    this.#dataplane = null;
    await warm.stop().catch((error: unknown) => this.#log.warn({ err: error }, 'data plane stop failed'));
  }

  async #startDataplane(): Promise<void> {
    const config = this.#dataplaneConfig;
    if (!config) throw new DaemonError('DAEMON_DATAPLANE', 'data plane started before its configuration');
    let dataplane: DataplanePort;
    try {
      dataplane = await this.#deps.startDataplane(config);
    } catch (error) {
      throw new DaemonError('DAEMON_DATAPLANE', `data plane did not start: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.#adoptDataplane(dataplane);
    this.#programAllPeers();
  }

  #adoptDataplane(dataplane: DataplanePort): void {
    dataplane.on('fatal', (error: Error) => void this.#recover('data plane failed', error));
    this.#dataplane = dataplane;
  }

  async #setUpIptables(previous: PreviousSubnetEnv | null, network: string, subnet: string): Promise<void> {
    const { config, state, iptables } = this.#deps;
    const wanted = (randomFully: boolean) => wantedRuleSets(config, network, subnet, randomFully);
    if (wanted(false).length === 0) return;
    const randomFully =
      !config.ipMasqFullyRandomDisable && (await iptables.supportsRandomFully().catch(() => false));
    const sets = wanted(randomFully);
    const stale = staleRuleSets(previous, config, network, subnet, randomFully);
    for (const set of stale) {
      this.#log.info({ ruleSet: set.name }, 'removing iptables rules of the previous network/subnet');
      await iptables
        .remove(set.rules)
        .catch((error: unknown) => this.#log.warn({ err: error }, 'stale rule removal failed'));
    }
    const ensure = async (first: boolean) => {
      for (const set of sets) {
        const changed = await iptables.ensure(set.name, set.rules);
        if (changed && !first) state.counters.iptablesReinstalled++;
      }
      state.setCheck('iptablesInstalled', true);
    };
    const onError = (error: unknown) => {
      state.setCheck('iptablesInstalled', false);
      this.#log.error({ err: error }, 'iptables rules could not be installed; retrying');
    };
    const resync = new Periodic(config.iptablesResyncSeconds * 1000, () => ensure(false), onError);
    this.#timers.push(resync);
    await ensure(true).catch(onError);
    resync.start();
    this.#logRuleSets(sets);
  }

  #logRuleSets(sets: RuleSet[]): void {
    this.#log.debug(
      { ruleSets: sets.map((set) => ({ name: set.name, rules: set.rules.length })) },
      'iptables resync on',
    );
  }

  #startHostChecks(): void {
    const { hostCheckIntervalMs = 1000, registryProbeIntervalMs = 5000 } = this.#deps;
    const hostCheck = new Periodic(
      hostCheckIntervalMs,
      () => this.#checkHost(),
      (error) => {
        this.#log.warn({ err: error }, 'TUN check failed');
      },
    );
    const probe = new Periodic(
      registryProbeIntervalMs,
      () => this.#probeRegistry(),
      () => {},
    );
    this.#timers.push(hostCheck, probe);
    hostCheck.start();
    probe.start();
  }

  /** Every tick: does the device exist (cheap). Every FULL_CHECK_EVERY ticks: address, MTU, route. */
  async #checkHost(): Promise<void> {
    const spec = this.#tunSpec;
    if (!spec || this.#recovering || this.#stopping) return;
    this.#hostChecks++;
    const full = this.#hostChecks % FULL_CHECK_EVERY === 0;
    const present = await this.#deps.tunHost.present(spec.name);
    if (present && !full) return;
    const problems = present ? await this.#deps.tunHost.problems(spec) : ['device missing'];
    if (problems.length === 0) return;
    if (problems.includes('device missing')) {
      await this.#recover('TUN device deleted');
      return;
    }
    this.#log.warn({ tun: spec.name, problems }, 'TUN configuration drifted; re-applying');
    await this.#deps.tunHost.apply(spec);
  }

  async #probeRegistry(): Promise<void> {
    const { registry, state } = this.#deps;
    let connected = true;
    try {
      await registry.loadConfig();
    } catch (error) {
      // A missing or garbled config still proves etcd answered.
      connected =
        isRegistryError(error, 'REGISTRY_NO_CONFIG') || isRegistryError(error, 'REGISTRY_BAD_CONFIG');
      if (!connected && state.checks.registryConnected) {
        const { code, message } = error as { code?: string; message?: string };
        this.#log.warn(
          { code, reason: message },
          'etcd unreachable; forwarding continues with the last known peers',
        );
      }
    }
    if (connected && !state.checks.registryConnected) this.#log.info({}, 'etcd reachable again');
    state.setCheck('registryConnected', connected);
  }

  /** Restarts the data plane (re-creating the TUN when it is gone) and re-applies host setup. */
  #recover(reason: string, error?: Error): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    this.#recovering ??= this.#doRecover(reason, error).finally(() => {
      this.#recovering = null;
    });
    return this.#recovering;
  }

  async #doRecover(reason: string, cause?: Error): Promise<void> {
    const { state, tunHost } = this.#deps;
    const now = Date.now();
    this.#recoveryTimes = [...this.#recoveryTimes.filter((time) => now - time < 60_000), now];
    if (this.#recoveryTimes.length > MAX_RECOVERIES_PER_MINUTE) {
      this.#deps.onFatal(
        new DaemonError(
          'DAEMON_DATAPLANE',
          `data plane failed ${MAX_RECOVERIES_PER_MINUTE} times in a minute (${reason})`,
        ),
      );
      return;
    }
    state.setCheck('tunUp', false);
    this.#log.warn(
      { reason, err: cause },
      'data plane lost; recreating the TUN device and restarting forwarding',
    );
    const old = this.#dataplane;
    this.#dataplane = null;
    await old
      ?.stop()
      .catch((error: unknown) => this.#log.debug({ err: error }, 'stopping the failed data plane'));
    let lastError: unknown = null;
    for (let attempt = 1; attempt <= RECOVERY_ATTEMPTS && !this.#stopping; attempt++) {
      try {
        if (this.#tunSpec) {
          await tunHost.ensureDevice(this.#tunSpec.name, (this.#dataplaneConfig?.workers ?? 1) > 1);
          await tunHost.apply(this.#tunSpec);
        }
        await this.#startDataplane();
        state.counters.dataplaneRestarts++;
        if (reason === 'TUN device deleted' || /gone|deleted/i.test(cause?.message ?? ''))
          state.counters.tunRecreated++;
        state.setCheck('tunUp', true);
        this.#log.warn({ reason, attempt, counters: state.counters }, 'TUN device and data plane restored');
        return;
      } catch (error) {
        lastError = error;
        const dataplane = this.#dataplane as DataplanePort | null;
        this.#dataplane = null;
        await dataplane?.stop().catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
    if (!this.#stopping) {
      this.#deps.onFatal(
        new DaemonError('DAEMON_DATAPLANE', `cannot restore the data plane: ${String(lastError)}`, {
          cause: lastError,
        }),
      );
    }
  }

  #reportReadiness(): void {
    const { state } = this.#deps;
    if (state.phase === 'stopping' || state.phase === 'stopped') return;
    const ready = state.isReady();
    if (ready && !this.#readyLogged) {
      this.#readyLogged = true;
      this.#log.info(
        {
          subnet: state.lease?.subnet,
          publicIp: state.underlay?.publicIp,
          tun: this.#tunSpec?.name,
          tunMtu: state.tunMtu,
          backend: this.#backend,
          peers: this.#watcher?.peers().length ?? 0,
        },
        'ready',
      );
    } else if (!ready && this.#readyLogged && state.phase === 'running') {
      this.#readyLogged = false;
      const failing = state
        .readiness()
        .checks.filter((check) => check.required && !check.ok)
        .map((check) => check.name);
      this.#log.warn({ failing }, 'not ready');
    }
  }

  #checkAborted(): void {
    if (this.#abort.signal.aborted)
      throw new DaemonError('DAEMON_STARTUP_ABORTED', 'start-up interrupted by shutdown');
  }
}

function sameDataplaneConfig(a: DataplaneConfig, b: DataplaneConfig): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof DataplaneConfig>;
  return [...keys].every((key) => a[key] === b[key]);
}

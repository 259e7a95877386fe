// The rest of feltd's start once main has parsed the config (and perhaps resumed forwarding): wire
// registry, host setup, metrics and HTTP into the lifecycle, and own the process from then on
// (signals, deadlines, exit codes). Loaded lazily by main: the etcd client alone takes ~0.2 s to load.
import { createMetrics } from '@felt/metrics';
import { type EtcdCallHook, SubnetRegistry } from '@felt/registry';
import type { DaemonConfig } from './config/flags.js';
import { Daemon } from './daemon.js';
import { createCommandRunner } from './exec.js';
import { EXIT_FAILURE, EXIT_OK } from './exit-codes.js';
import { TunHost } from './host/tun-setup.js';
import { systemUnderlay } from './host/underlay.js';
import { type HttpServers, startHttpServers } from './http/index.js';
import { IptablesManager } from './iptables/manager.js';
import type { DaemonLogger } from './logger.js';
import { metricsSnapshot, registryMetricsStats } from './metrics-adapter.js';
import type { StartDataplane } from './ports.js';
import type { DaemonState } from './state.js';
import type { WarmStart } from './warm-start.js';

export interface RunContext {
  config: DaemonConfig;
  logger: DaemonLogger;
  state: DaemonState;
  version: string;
  startDataplane: StartDataplane;
  /** The data plane main resumed from the previous run's state, if any. */
  warm: WarmStart | null;
}

export async function runDaemon({
  config,
  logger,
  state,
  version,
  startDataplane,
  warm,
}: RunContext): Promise<number> {
  const runCommand = createCommandRunner();
  // Filled once the metrics exist (they read the registry and the daemon, created below).
  let onEtcdCall: EtcdCallHook = () => {};
  let registry: SubnetRegistry;
  try {
    registry = createRegistry(config, logger, (...call) => onEtcdCall(...call));
  } catch (error) {
    logger.error({ err: error }, 'cannot set up the etcd client');
    await warm?.dataplane.stop().catch(() => {});
    return EXIT_FAILURE;
  }

  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let shuttingDown = false;
  const daemon: Daemon = new Daemon({
    config,
    state,
    logger,
    registry,
    startDataplane,
    warm,
    underlay: systemUnderlay(runCommand),
    tunHost: new TunHost(runCommand, logger),
    iptables: new IptablesManager({ run: runCommand, logger }),
    onFatal: (error) => void shutdown(`fatal: ${error.message}`, EXIT_FAILURE, error),
  });

  const metrics = createMetrics({
    maxPeers: config.metricsMaxPeers,
    build: { version },
    backend: () => state.network?.backend.type ?? null,
    tunMtu: () => state.tunMtu,
    dataplane: () => {
      const snapshot = daemon.dataplane?.snapshot();
      return snapshot ? metricsSnapshot(snapshot) : null;
    },
    registryStats: () => registryMetricsStats(registry.stats()),
  });
  onEtcdCall = (op, outcome, seconds) => metrics.recordEtcdRequest(op, outcome, seconds);

  let http: HttpServers | null = null;
  const shutdown = async (reason: string, code: number, error?: unknown): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    if (code === EXIT_OK) logger.info({ reason }, 'shutting down');
    else logger.error({ reason, err: error }, 'shutting down after a failure');
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting now');
      finish(EXIT_FAILURE);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    await daemon.stop().catch((stopError: unknown) => logger.error({ err: stopError }, 'stop failed'));
    await http?.close().catch(() => {});
    clearTimeout(deadline);
    logger.info({ code }, 'stopped');
    finish(code);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM', EXIT_OK));
  process.once('SIGINT', () => void shutdown('SIGINT', EXIT_OK));
  // A bug must still leave a JSON line and a clean stop (lease kept, TUN kept), not a bare stack trace.
  process.on('uncaughtException', (error) => void shutdown('uncaught exception', EXIT_FAILURE, error));
  process.on('unhandledRejection', (error) => void shutdown('unhandled rejection', EXIT_FAILURE, error));

  try {
    http = await startHttpServers({
      metricsAddr: config.metricsAddr,
      healthzIp: config.healthzIp,
      healthzPort: config.healthzPort,
      readiness: () => state.readiness(),
      metrics: metrics.registry,
      logger: logger.child({ component: 'http' }),
    });
  } catch (error) {
    await shutdown('cannot serve HTTP', EXIT_FAILURE, error);
    return finished;
  }

  daemon.start().catch((error: unknown) => {
    if (shuttingDown) return;
    const code = (error as { code?: string }).code;
    void shutdown(
      `start-up failed${code ? ` (${code})` : ''}: ${(error as Error).message}`,
      EXIT_FAILURE,
      error,
    );
  });
  return finished;
}

function createRegistry(
  config: DaemonConfig,
  logger: DaemonLogger,
  onEtcdCall: EtcdCallHook,
): SubnetRegistry {
  return new SubnetRegistry({
    endpoints: config.etcdEndpoints,
    prefix: config.etcdPrefix,
    tls: tlsOptions(config),
    ...(config.etcdUsername !== null
      ? { auth: { username: config.etcdUsername, password: config.etcdPassword ?? '' } }
      : {}),
    logger: logger.child({ component: 'registry' }),
    leaseTtlSeconds: config.subnetLeaseTtlSeconds,
    renewMarginSeconds: config.subnetLeaseRenewMarginMinutes * 60,
    onEtcdCall,
  });
}

function tlsOptions(config: DaemonConfig) {
  const tls = {
    ...(config.etcdCaFile !== null ? { caFile: config.etcdCaFile } : {}),
    ...(config.etcdCertFile !== null ? { certFile: config.etcdCertFile } : {}),
    ...(config.etcdKeyFile !== null ? { keyFile: config.etcdKeyFile } : {}),
  };
  return Object.keys(tls).length > 0 ? tls : undefined;
}

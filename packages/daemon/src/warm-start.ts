// Hitless-ish restart: before any etcd call (and before the etcd client is even loaded), resume
// forwarding with the previous run's data plane configuration and peers, when the persistent TUN and
// subnet.env are still those of that run. The normal start-up then reconciles with etcd's truth (the
// Daemon keeps this data plane when its configuration comes out the same, else replaces it).
import { access } from 'node:fs/promises';
import type { DataplaneConfig, PeerSpec } from '@felt/dataplane';
import type { DaemonConfig } from './config/flags.js';
import { chooseDataplaneWorkers } from './dataplane-workers.js';
import type { Logger } from './exec.js';
import { offsetAddress } from './ipv4.js';
import type { DataplanePort, StartDataplane } from './ports.js';
import { type PreviousSubnetEnv, readSubnetEnv } from './subnet-env.js';
import { readWarmState, type WarmState, warmStatePath } from './warm-state.js';

/** A data plane already forwarding with the saved state. */
export interface WarmStart {
  dataplane: DataplanePort;
  config: DataplaneConfig;
  peers: PeerSpec[];
}

export interface WarmStartDeps {
  config: DaemonConfig;
  logger: Logger;
  startDataplane: StartDataplane;
  tunPresent?: (name: string) => Promise<boolean>;
}

/** Why the saved state cannot be resumed; null when it can. */
export function warmStartObstacle(
  state: WarmState,
  previous: PreviousSubnetEnv | null,
  tunName: string,
): string | null {
  const saved = state.config;
  if (saved.tunName !== tunName) return `saved state is for TUN ${saved.tunName}`;
  if (previous === null) return 'no previous subnet.env';
  let firstAddress: string;
  try {
    firstAddress = offsetAddress(saved.subnet, 1);
  } catch {
    return `saved subnet ${saved.subnet} is malformed`;
  }
  const sameRun =
    previous.network === saved.network && previous.subnet === firstAddress && previous.mtu === saved.tunMtu;
  return sameRun ? null : 'subnet.env does not match the saved state';
}

/** The running data plane, or null (normal start) with the reason logged. */
export async function warmStart(deps: WarmStartDeps): Promise<WarmStart | null> {
  const { config, logger } = deps;
  const path = warmStatePath(config.subnetFile);
  const state = await readWarmState(path);
  if (state === null) return null;
  const skip = (reason: string) => {
    logger.info({ path, reason }, 'not resuming forwarding before etcd');
    return null;
  };
  if (typeof state === 'string') return skip(`saved state unusable: ${state}`);
  const previous = await readSubnetEnv(config.subnetFile).catch(() => null);
  const obstacle = warmStartObstacle(state, previous, config.tunName);
  if (obstacle !== null) return skip(obstacle);
  // A different worker count needs the TUN in the other queue mode: the normal start recreates it.
  const saved = state.config.workers ?? 1;
  const wanted = chooseDataplaneWorkers(config.dataplaneWorkers, state.config.backend).workers;
  if (saved !== wanted) return skip(`saved state has ${saved} data-plane workers, this run wants ${wanted}`);
  if (!(await (deps.tunPresent ?? sysfsPresent)(config.tunName)))
    return skip(`TUN ${config.tunName} is gone`);
  let dataplane: DataplanePort;
  try {
    dataplane = await deps.startDataplane(state.config);
  } catch (error) {
    logger.warn({ err: error }, 'data plane did not start from the saved state; normal start follows');
    return null;
  }
  try {
    dataplane.setPeers(state.peers);
  } catch (error) {
    // Forwarding to nobody until etcd answers is still no worse than the normal start.
    logger.warn({ err: error }, 'saved peers refused; they are programmed after the registry sync');
  }
  logger.info(
    { subnet: state.config.subnet, peers: state.peers.length, path },
    "forwarding resumed with the previous run's peers; reconciling with etcd",
  );
  return { dataplane, config: state.config, peers: state.peers };
}

/** Existence through /sys: feltd runs in the TUN's namespace. */
async function sysfsPresent(name: string): Promise<boolean> {
  return access(`/sys/class/net/${name}`).then(
    () => true,
    () => false,
  );
}

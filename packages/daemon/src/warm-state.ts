// The state a restarted feltd resumes forwarding from before it has talked to etcd: the data plane
// configuration of the last run and the peers it forwarded to. Written atomically next to subnet.env
// whenever the programmed peer set changes; anything unreadable is ignored (the normal start follows).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BackendType, DataplaneConfig, PeerSpec } from '@felt/dataplane';
import { writeFileAtomic } from './atomic-file.js';
import type { Logger } from './exec.js';

export const WARM_STATE_FILE = 'felt-peers.json';
const VERSION = 1;
const BACKENDS: readonly BackendType[] = ['udp', 'vxlan', 'ipip'];

export interface WarmState {
  config: DataplaneConfig;
  peers: PeerSpec[];
}

/** e.g. /run/flannel/felt-peers.json for --subnet-file=/run/flannel/subnet.env. */
export function warmStatePath(subnetFile: string): string {
  return join(dirname(subnetFile), WARM_STATE_FILE);
}

export function formatWarmState(state: WarmState): string {
  return `${JSON.stringify({ version: VERSION, config: state.config, peers: state.peers })}\n`;
}

/** The state, or a reason why it cannot be used. */
export function parseWarmState(text: string): WarmState | string {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!isRecord(document) || document.version !== VERSION) return `not version ${VERSION}`;
  const { config, peers } = document;
  if (!isDataplaneConfig(config)) return 'config incomplete';
  if (!Array.isArray(peers) || !peers.every(isPeerSpec)) return 'peers malformed';
  return { config, peers };
}

/** Null when absent; a string when unusable (the reason). */
export async function readWarmState(path: string): Promise<WarmState | string | null> {
  try {
    return parseWarmState(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return (error as Error).message;
  }
}

/**
 * Coalesces writes: a burst of peer events costs one write of the latest state, and at most one write
 * runs at a time. Failures are logged once until a write succeeds again.
 */
export class WarmStateWriter {
  readonly #path: string;
  readonly #logger: Logger;
  readonly #current: () => WarmState | null;
  #running: Promise<void> | null = null;
  #again = false;
  #failing = false;

  constructor(path: string, current: () => WarmState | null, logger: Logger) {
    this.#path = path;
    this.#current = current;
    this.#logger = logger;
  }

  schedule(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain().finally(() => {
      this.#running = null;
    });
  }

  /** Resolves when no write is pending. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    do {
      this.#again = false;
      await new Promise((resolve) => setImmediate(resolve));
      const state = this.#current();
      if (state === null) continue;
      try {
        await writeFileAtomic(this.#path, formatWarmState(state));
        this.#failing = false;
      } catch (error) {
        if (!this.#failing) this.#logger.warn({ err: error, path: this.#path }, 'cannot save the peer state');
        this.#failing = true;
      }
    } while (this.#again);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDataplaneConfig(value: unknown): value is DataplaneConfig {
  if (!isRecord(value)) return false;
  const strings = ['tunName', 'underlayAddress', 'vtepMac', 'network', 'subnet'];
  const numbers = ['tunMtu', 'port', 'vni'];
  return (
    BACKENDS.includes(value.backend as BackendType) &&
    typeof value.persistTun === 'boolean' &&
    strings.every((key) => typeof value[key] === 'string') &&
    numbers.every((key) => Number.isInteger(value[key]))
  );
}

function isPeerSpec(value: unknown): value is PeerSpec {
  return (
    isRecord(value) &&
    typeof value.subnet === 'string' &&
    typeof value.publicIp === 'string' &&
    (value.vtepMac === undefined || typeof value.vtepMac === 'string')
  );
}

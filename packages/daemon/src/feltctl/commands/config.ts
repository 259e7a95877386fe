// `feltctl config get|set`: the network config at `<prefix>/config`, validated exactly as feltd reads it.
import { formatNetworkConfig, isRegistryError, type NetworkConfig, parseNetworkConfig } from '@felt/registry';
import type { ConfigSource } from '../args.js';
import { FeltctlError } from '../errors.js';
import type { FeltctlStore } from '../etcd.js';
import type { CommandIo } from '../io.js';

export function configKey(prefix: string): string {
  return `${prefix}/config`;
}

function validate(json: string): NetworkConfig {
  try {
    return parseNetworkConfig(json);
  } catch (error) {
    if (isRegistryError(error, 'REGISTRY_BAD_CONFIG')) {
      throw new FeltctlError('FELTCTL_BAD_CONFIG', `invalid network config: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

async function readSource(source: ConfigSource, io: CommandIo): Promise<string> {
  if (source.kind === 'inline') return source.json;
  try {
    return source.kind === 'stdin' ? await io.readStdin() : await io.readFile(source.path);
  } catch (error) {
    const where = source.kind === 'stdin' ? 'stdin' : source.path;
    throw new FeltctlError('FELTCTL_INPUT', `cannot read ${where}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Prints the stored document as is; a stored document feltd would reject is reported and exits non-zero. */
export async function configGet(store: FeltctlStore, prefix: string, io: CommandIo): Promise<number> {
  const key = configKey(prefix);
  const stored = await store.get(key);
  if (stored === null) {
    throw new FeltctlError(
      'FELTCTL_NO_CONFIG',
      `no network config at ${key}; write one with feltctl config set`,
    );
  }
  io.stdout(stored.endsWith('\n') ? stored : `${stored}\n`);
  try {
    validate(stored);
  } catch (error) {
    io.stderr(`feltctl: warning: ${(error as Error).message}\n`);
    return 1;
  }
  return 0;
}

/** Validates, then stores the operator's document (compact JSON) and prints the effective config. */
export async function configSet(
  store: FeltctlStore,
  prefix: string,
  source: ConfigSource,
  dryRun: boolean,
  io: CommandIo,
): Promise<number> {
  const text = await readSource(source, io);
  const config = validate(text);
  const key = configKey(prefix);
  if (!dryRun) await store.put(key, JSON.stringify(JSON.parse(text)));
  io.stderr(dryRun ? `valid; not stored (--dry-run)\n` : `stored ${key}\n`);
  io.stdout(`${formatNetworkConfig(config)}\n`);
  return 0;
}

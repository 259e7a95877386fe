// feltd's entry point: parse the config, resume forwarding from the previous run's state when the
// host still matches it (before the etcd client is even loaded), then hand over to run.ts.
import { Dataplane } from '@felt/dataplane';
import { ConfigError } from './config/errors.js';
import type { DaemonConfig } from './config/flags.js';
import { helpText } from './config/help.js';
import { loadConfig } from './config/load.js';
import { EXIT_BAD_CONFIG, EXIT_OK } from './exit-codes.js';
import { createLogger } from './logger.js';
import type { StartDataplane } from './ports.js';
import { DaemonState } from './state.js';
import { daemonVersion } from './version.js';
import { warmStart } from './warm-start.js';

export { EXIT_BAD_CONFIG, EXIT_FAILURE, EXIT_OK } from './exit-codes.js';

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let config: DaemonConfig;
  try {
    const result = loadConfig(argv, env);
    if (result.kind === 'help') {
      process.stdout.write(helpText());
      return EXIT_OK;
    }
    if (result.kind === 'version') {
      process.stdout.write(`feltd ${daemonVersion()}\n`);
      return EXIT_OK;
    }
    config = result.config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT_BAD_CONFIG;
  }
  return start(config);
}

async function start(config: DaemonConfig): Promise<number> {
  const version = daemonVersion();
  const logger = createLogger(config.logLevel);
  const state = new DaemonState(config, version);
  logger.info({ version, node: process.version, config: state.redactedConfig() }, 'starting feltd');
  const dataplaneLogger = logger.child({ component: 'dataplane' });
  const startDataplane: StartDataplane = (dataplaneConfig) =>
    Dataplane.start(dataplaneConfig, { logger: dataplaneLogger });
  const warm = await warmStart({ config, logger, startDataplane });
  const { runDaemon } = await import('./run.js');
  return runDaemon({ config, logger, state, version, startDataplane, warm });
}

export { ConfigError, type ConfigErrorCode } from './config/errors.js';
export { type DaemonConfig, envName, FLAGS, type FlagSpec } from './config/flags.js';
export { helpText } from './config/help.js';
export { type LoadResult, loadConfig } from './config/load.js';
export { redactConfig } from './config/redact.js';
export type { HostPort, LogLevel } from './config/values.js';
export { createLogger, type DaemonLogger } from './logger.js';
export {
  type CheckName,
  type DaemonCounters,
  type DaemonPhase,
  DaemonState,
  type ReadinessChecks,
  type ReadinessReport,
  type UnderlayInfo,
} from './state.js';
export { daemonVersion } from './version.js';

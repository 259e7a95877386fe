export { ConfigError, type ConfigErrorCode } from './config/errors.js';
export { type DaemonConfig, envName, FLAGS, type FlagSpec } from './config/flags.js';
export { helpText } from './config/help.js';
export { type LoadResult, loadConfig } from './config/load.js';
export { redactConfig } from './config/redact.js';
export type { HostPort, LogLevel } from './config/values.js';
export { Daemon, type DaemonDeps, type IptablesPort, type TunHostPort } from './daemon.js';
export { DaemonError, type DaemonErrorCode } from './errors.js';
export { BACKEND_OVERHEAD, tunMtu } from './host/mtu.js';
export { TunHost, type TunSpec } from './host/tun-setup.js';
export { detectUnderlay, systemUnderlay, type Underlay } from './host/underlay.js';
export { IptablesManager } from './iptables/manager.js';
export { FORWARD_CHAIN, forwardRules, type IptablesRule, MASQ_CHAIN, masqRules } from './iptables/rules.js';
export { createLogger, type DaemonLogger } from './logger.js';
export { EXIT_BAD_CONFIG, EXIT_FAILURE, EXIT_OK, main } from './main.js';
export type { DataplanePort, RegistryPort, StartDataplane } from './ports.js';
export {
  type CheckName,
  type DaemonCounters,
  type DaemonPhase,
  DaemonState,
  type ReadinessChecks,
  type ReadinessReport,
  type UnderlayInfo,
} from './state.js';
export {
  formatSubnetEnv,
  parseSubnetEnv,
  readSubnetEnv,
  type SubnetEnv,
  writeSubnetEnv,
} from './subnet-env.js';
export { daemonVersion } from './version.js';

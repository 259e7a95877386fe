// Runtime failures of the daemon (configuration errors live in config/errors.ts).

export type DaemonErrorCode =
  | 'DAEMON_EXEC'
  | 'DAEMON_IPTABLES'
  | 'DAEMON_HOST_SETUP'
  | 'DAEMON_NO_UNDERLAY'
  | 'DAEMON_DATAPLANE'
  | 'DAEMON_STARTUP_ABORTED';

export class DaemonError extends Error {
  readonly code: DaemonErrorCode;

  constructor(code: DaemonErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DaemonError';
    this.code = code;
  }
}

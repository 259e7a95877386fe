// Configuration errors: one line naming the flag and the fix; main() turns them into exit code 2.

export type ConfigErrorCode = 'DAEMON_BAD_FLAG' | 'DAEMON_UNKNOWN_FLAG' | 'DAEMON_BAD_CONFIG_FILE';

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  /** The flag name without dashes, e.g. 'iptables-resync'; null for file-level errors. */
  readonly flag: string | null;

  constructor(code: ConfigErrorCode, flag: string | null, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.code = code;
    this.flag = flag;
  }
}

/** Where a raw value came from, for error messages. */
export type ValueSource = { kind: 'flag' } | { kind: 'env'; name: string } | { kind: 'file'; path: string };

export function describeSource(flag: string, source: ValueSource): string {
  if (source.kind === 'env') return `--${flag} (from env ${source.name})`;
  if (source.kind === 'file') return `--${flag} (from config file ${source.path})`;
  return `--${flag}`;
}

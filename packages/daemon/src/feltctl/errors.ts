// feltctl failures carry a stable code; usage and invalid input exit 2, failures to reach etcd or a node 1.

export type FeltctlErrorCode =
  | 'FELTCTL_USAGE'
  | 'FELTCTL_BAD_CONFIG'
  | 'FELTCTL_NO_CONFIG'
  | 'FELTCTL_INPUT'
  | 'FELTCTL_ETCD'
  | 'FELTCTL_SCRAPE';

const USAGE_CODES: readonly FeltctlErrorCode[] = ['FELTCTL_USAGE', 'FELTCTL_BAD_CONFIG', 'FELTCTL_INPUT'];

export class FeltctlError extends Error {
  readonly code: FeltctlErrorCode;

  constructor(code: FeltctlErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FeltctlError';
    this.code = code;
  }

  get exitCode(): number {
    return USAGE_CODES.includes(this.code) ? 2 : 1;
  }
}

// Every failure the registry reports carries a stable `code`; `field` names the offending config field.

export type RegistryErrorCode =
  | 'REGISTRY_BAD_CONFIG'
  | 'REGISTRY_NO_CONFIG'
  | 'REGISTRY_BAD_LEASE'
  | 'REGISTRY_BAD_REQUEST'
  | 'REGISTRY_OUT_OF_SUBNETS'
  | 'REGISTRY_ETCD'
  | 'REGISTRY_TIMEOUT'
  | 'REGISTRY_ABORTED'
  | 'REGISTRY_CLOSED'
  | 'REGISTRY_NO_LEASE';

export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  readonly field: string | undefined;

  constructor(code: RegistryErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.field = options.field;
  }
}

export function isRegistryError(err: unknown, code?: RegistryErrorCode): err is RegistryError {
  return err instanceof RegistryError && (code === undefined || err.code === code);
}

// The gRPC status name of a failed etcd call (the `code` label of felt_etcd_errors_total). etcd3 turns
// grpc-js errors into typed classes and drops the numeric code, so the class tells the status.
import {
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  GRPCAbortedError,
  GRPCAlreadyExistsError,
  GRPCCancelledError,
  GRPCDataLossError,
  GRPCDeadlineExceededError,
  GRPCFailedPreconditionError,
  GRPCInternalError,
  GRPCInvalidArgumentError,
  GRPCNotFoundError,
  GRPCNotImplementedError,
  GRPCOutOfRangeError,
  GRPCResourceExhastedError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
  GRPCUnknownError,
} from 'etcd3';

export const UNKNOWN_GRPC_CODE = 'UNKNOWN';

type ErrorClass = abstract new (...args: never[]) => Error;

// Etcd* classes are matched by etcd's message; the status is the one etcd's server sends with it.
const BY_CLASS: readonly [ErrorClass, string][] = [
  [GRPCCancelledError, 'CANCELLED'],
  [GRPCUnknownError, 'UNKNOWN'],
  [GRPCInvalidArgumentError, 'INVALID_ARGUMENT'],
  [GRPCDeadlineExceededError, 'DEADLINE_EXCEEDED'],
  [GRPCNotFoundError, 'NOT_FOUND'],
  [GRPCAlreadyExistsError, 'ALREADY_EXISTS'],
  [EtcdPermissionDeniedError, 'PERMISSION_DENIED'],
  [GRPCResourceExhastedError, 'RESOURCE_EXHAUSTED'],
  [GRPCFailedPreconditionError, 'FAILED_PRECONDITION'],
  [GRPCAbortedError, 'ABORTED'],
  [GRPCOutOfRangeError, 'OUT_OF_RANGE'],
  [GRPCNotImplementedError, 'UNIMPLEMENTED'],
  [GRPCInternalError, 'INTERNAL'],
  [GRPCUnavailableError, 'UNAVAILABLE'],
  [GRPCDataLossError, 'DATA_LOSS'],
  [GRPCUnauthenticatedError, 'UNAUTHENTICATED'],
  [EtcdInvalidAuthTokenError, 'UNAUTHENTICATED'],
  [EtcdAuthenticationFailedError, 'INVALID_ARGUMENT'],
  [EtcdLeaseInvalidError, 'NOT_FOUND'],
];

/** grpc-js writes "<number> <STATUS>: details"; etcd3 may prefix its class name. */
const STATUS_IN_MESSAGE = /(?:^|: )\d{1,2} ([A-Z][A-Z_]+):/;

export function grpcCodeOf(err: unknown): string {
  for (const [type, name] of BY_CLASS) if (err instanceof type) return name;
  const message = err instanceof Error ? err.message : '';
  return STATUS_IN_MESSAGE.exec(message)?.[1] ?? UNKNOWN_GRPC_CODE;
}

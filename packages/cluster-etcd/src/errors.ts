/**
 * The one place where what the `etcd3` client throws becomes a {@link @stowage/core!index.StorageError | StorageError}.
 *
 * @module
 */
import { StorageError } from '@stowage/core';
import {
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCResourceExhastedError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
  isRecoverableError,
} from 'etcd3';

/** Server messages that mean "not now": no leader, no quorum, a leader change, overload. */
const TRANSIENT = /no leader|request timed out|leader changed|timed out|too many requests|not capable|connection|unavailable|deadline/i;

/**
 * Classifies an error of the `etcd3` client (or of our own deadline) by the code it deserves:
 * `UNAVAILABLE` when etcd cannot be reached, has no leader or quorum, or did not answer in time
 * (retry later); `PERMISSION_DENIED` for authentication and permission failures; `INTERNAL`
 * otherwise.
 *
 * @param e - what was thrown
 * @returns the code
 */
export function etcdErrorCode(e: unknown): 'UNAVAILABLE' | 'PERMISSION_DENIED' | 'INTERNAL' {
  if (
    e instanceof EtcdPermissionDeniedError ||
    e instanceof EtcdAuthenticationFailedError ||
    e instanceof EtcdInvalidAuthTokenError ||
    e instanceof GRPCUnauthenticatedError
  ) {
    return 'PERMISSION_DENIED';
  }
  if (
    e instanceof GRPCUnavailableError ||
    e instanceof GRPCDeadlineExceededError ||
    e instanceof GRPCCancelledError ||
    e instanceof GRPCResourceExhastedError ||
    e instanceof ClientClosedError ||
    (e instanceof Error && isRecoverableError(e)) ||
    (e as { isBrokenCircuitError?: unknown } | null)?.isBrokenCircuitError === true ||
    (e instanceof Error && TRANSIENT.test(e.message))
  ) {
    return 'UNAVAILABLE';
  }
  return 'INTERNAL';
}

/**
 * Turns anything the `etcd3` client throws into a {@link @stowage/core!index.StorageError | StorageError} (a `StorageError` passes
 * through unchanged).
 *
 * @param e - what was thrown
 * @param what - what was being done, for the message (`cannot take the lock of storage 'nfs'`)
 * @param details - facts for `details` (the endpoints are added by the caller)
 * @returns the error, with the original as `cause` and its message as `details.reason`
 */
export function etcdError(e: unknown, what: string, details: Record<string, unknown> = {}): StorageError {
  if (e instanceof StorageError) return e;
  const reason = e instanceof Error ? e.message : String(e);
  const code = etcdErrorCode(e);
  const hint = code === 'UNAVAILABLE' ? ' (etcd cannot be reached, or has no quorum)' : '';
  return new StorageError(code, `${what}: ${reason}${hint}`, { cause: e, details: { ...details, reason } });
}

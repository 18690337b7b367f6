/**
 * Turns LINSTOR's replies into {@link @stowage/core!index.StorageError | StorageError}s with our stable codes, keeping the
 * controller's own words (message, cause, details, correction) in `details`.
 *
 * @module
 */
import { StorageError, type StorageErrorCode } from '@stowage/core';
import { decodeRetCode, isErrorRc, RC_CODE, RC_OPERATION, type ApiCallRc } from './client/ret-code.js';

/**
 * Maps one error entry to our code. The code bits decide; the operation bits refine
 * `FAIL_EXISTS_*` on a delete (something still depends on the object: `IN_USE`).
 *
 * @param entry - an error entry of an ApiCallRc list
 * @returns our stable code
 */
export function storageCodeOf(entry: ApiCallRc): StorageErrorCode {
  const { code, operation } = decodeRetCode(entry.retCode);
  if (code >= 300 && code < 400) return 'NOT_FOUND';
  if (code >= 400 && code < 500) return 'PERMISSION_DENIED';
  if (code >= 500 && code < 600) return operation === RC_OPERATION.delete ? 'IN_USE' : 'ALREADY_EXISTS';
  if (code >= 800 && code < 900) return 'NO_SPACE'; // number pools (minor numbers, ports, node ids) exhausted
  if (code >= 200 && code < 300) return 'INVALID_ARGUMENT';
  switch (code) {
    case RC_CODE.FAIL_IN_USE:
      return 'IN_USE';
    case RC_CODE.FAIL_RSC_BUSY:
      return 'BUSY';
    case RC_CODE.FAIL_NOT_ENOUGH_NODES:
    case 991: // FAIL_INSUFFICIENT_REPLICA_COUNT
    case 993: // FAIL_INSUFFICIENT_PEER_SLOTS
      return 'NO_SPACE';
    case RC_CODE.FAIL_NOT_CONNECTED:
      return 'UNAVAILABLE';
    case RC_CODE.FAIL_SNAPSHOTS_NOT_SUPPORTED:
    case 988: // FAIL_STLT_DOES_NOT_SUPPORT_LAYER
    case 989: // FAIL_STLT_DOES_NOT_SUPPORT_PROVIDER
      return 'NOT_SUPPORTED';
    case 10000: // FAIL_SIGN_IN
    case 10001: // FAIL_SIGN_IN_MISSING_CREDENTIALS
      return 'PERMISSION_DENIED';
    default:
      return 'COMMAND_FAILED';
  }
}

/** The controller's words about one entry, as kept in `details.linstor`. */
export interface LinstorMessage {
  /** The exact `ret_code`, as decimal text (JSON cannot hold it as a number). */
  readonly retCode: string;
  /** The code bits (14–0). */
  readonly code: number;
  /** What happened. */
  readonly message: string;
  /** Why, when given. */
  readonly cause?: string;
  /** More detail, when given. */
  readonly details?: string;
  /** What to do, when given. */
  readonly correction?: string;
  /** Error report ids on the controller, when given. */
  readonly errorReportIds?: readonly string[];
}

/**
 * The JSON-safe form of an entry, for error details and logs.
 *
 * @param entry - one reply entry
 */
export function describeRc(entry: ApiCallRc): LinstorMessage {
  return {
    retCode: entry.retCode.toString(),
    code: decodeRetCode(entry.retCode).code,
    message: entry.message,
    ...(entry.cause ? { cause: entry.cause } : {}),
    ...(entry.details ? { details: entry.details } : {}),
    ...(entry.correction ? { correction: entry.correction } : {}),
    ...(entry.errorReportIds?.length ? { errorReportIds: entry.errorReportIds } : {}),
  };
}

/** What the client knows about a failed call when it builds the error. */
export interface FailedCall {
  /** HTTP method. */
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  /** HTTP status. */
  readonly status: number;
  /** The ApiCallRc entries of the reply (possibly none). */
  readonly entries: readonly ApiCallRc[];
  /** The controller that answered. */
  readonly controller: string;
}

/**
 * Builds the error for a reply that failed: the first error entry decides the code (as the
 * controller itself does for the HTTP status); without one, the HTTP status does.
 *
 * @param call - method, path, status, entries, controller
 * @returns a {@link @stowage/core!index.StorageError | StorageError}; `details.linstor` holds every entry, `details.retCode` the deciding one
 */
export function errorFromReply(call: FailedCall): StorageError {
  const first = call.entries.find(isErrorRc);
  const base = { method: call.method, path: call.path, status: call.status, controller: call.controller, linstor: call.entries.map(describeRc) };
  const byStatus: StorageErrorCode =
    call.status === 401 || call.status === 403 ? 'PERMISSION_DENIED' : call.status === 404 ? 'NOT_FOUND' : call.status === 503 ? 'UNAVAILABLE' : 'COMMAND_FAILED';
  if (first) {
    const d = describeRc(first);
    const text = [first.message, first.cause, first.correction].filter(Boolean).join(' ');
    // An unspecific code (an unknown route, a failed sign-in) is made precise by the HTTP status.
    const mapped = storageCodeOf(first);
    const code = mapped === 'COMMAND_FAILED' ? byStatus : mapped;
    return new StorageError(code, `LINSTOR: ${text}`, { details: { ...base, retCode: d.retCode, code: d.code } });
  }
  return new StorageError(byStatus, `LINSTOR ${call.method} ${call.path} answered HTTP ${call.status}`, { details: base });
}

/**
 * Refuses what this plugin does not do.
 *
 * @param what - what was asked for, for the message
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, always
 */
export function notSupported(what: string): never {
  throw new StorageError('NOT_SUPPORTED', `storage type 'linstor' does not support ${what}`, { details: { type: 'linstor', what } });
}

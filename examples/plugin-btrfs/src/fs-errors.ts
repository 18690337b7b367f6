/**
 * Filesystem errors as stowage error codes.
 *
 * @module
 */
import { isStorageError, StorageError, type StorageErrorCode } from '@stowage/core';

const CODES: Readonly<Record<string, StorageErrorCode>> = {
  ENOENT: 'NOT_FOUND',
  EEXIST: 'ALREADY_EXISTS',
  ENOTEMPTY: 'IN_USE',
  EBUSY: 'BUSY',
  ENOSPC: 'NO_SPACE',
  EDQUOT: 'NO_SPACE',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  EROFS: 'PERMISSION_DENIED',
  EINVAL: 'INVALID_ARGUMENT',
  EFBIG: 'INVALID_ARGUMENT',
  EIO: 'UNAVAILABLE',
};

/** The errno name (`ENOENT`, ...) of a system error, if it is one. */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Wraps a filesystem error in a {@link StorageError} with a stable code; a StorageError passes through.
 *
 * @param e - what was caught
 * @param what - what was being done
 * @param details - facts for `details`
 */
export function fsError(e: unknown, what: string, details: Record<string, unknown> = {}): StorageError {
  if (isStorageError(e)) return e;
  const errno = errnoOf(e);
  return new StorageError((errno && CODES[errno]) || 'INTERNAL', `${what}: ${e instanceof Error ? e.message : String(e)}`, {
    cause: e,
    details: { ...details, errno },
  });
}

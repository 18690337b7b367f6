/**
 * Filesystem errors (`ENOENT`, `ENOSPC`, ...) as {@link @stowage/core!index.StorageError | StorageError}s with stable codes, for
 * plugins and tools that work on files with `node:fs`.
 *
 * @module
 */
import { isStorageError, StorageError, type StorageErrorCode } from './errors.js';

/** The code each errno name maps to; any other errno becomes `INTERNAL`. */
export const ERRNO_CODES: Readonly<Record<string, StorageErrorCode>> = {
  ENOENT: 'NOT_FOUND',
  ENOTDIR: 'NOT_FOUND',
  EEXIST: 'ALREADY_EXISTS',
  ENOTEMPTY: 'IN_USE',
  EBUSY: 'BUSY',
  ETXTBSY: 'BUSY',
  ENOSPC: 'NO_SPACE',
  EDQUOT: 'NO_SPACE',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  EROFS: 'PERMISSION_DENIED',
  EINVAL: 'INVALID_ARGUMENT',
  EFBIG: 'INVALID_ARGUMENT',
  ENAMETOOLONG: 'INVALID_ARGUMENT',
  EIO: 'UNAVAILABLE',
  ESTALE: 'UNAVAILABLE',
  ENOTCONN: 'UNAVAILABLE',
};

/**
 * The errno name of a Node.js system error (`ENOENT`, ...), or `undefined` for anything else.
 *
 * @param e - a caught value
 */
export function errnoOf(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * Wraps a filesystem error in a {@link @stowage/core!index.StorageError | StorageError} whose code follows {@link ERRNO_CODES}
 * (`ENOENT` -> `NOT_FOUND`, `ENOSPC` -> `NO_SPACE`, `EACCES` -> `PERMISSION_DENIED`, ...), with
 * the original as `cause` and its errno in `details.errno`. A StorageError passes through unchanged.
 *
 * @param e - the caught error
 * @param what - what was being done, for the message (e.g. `cannot create '/x'`)
 * @param details - facts for `details`
 * @returns the error to throw
 * @example
 * ```ts
 * try {
 *   await mkdir(dir);
 * } catch (e) {
 *   throw fsError(e, `cannot create '${dir}'`, { path: dir });
 * }
 * ```
 */
export function fsError(e: unknown, what: string, details: Readonly<Record<string, unknown>> = {}): StorageError {
  if (isStorageError(e)) return e;
  const errno = errnoOf(e);
  const code = (errno !== undefined ? ERRNO_CODES[errno] : undefined) ?? 'INTERNAL';
  return new StorageError(code, `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e, details: { ...details, errno } });
}

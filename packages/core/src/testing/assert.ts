/**
 * Assertions the kit's cases share. They throw plain `Error`s with the facts a plugin author
 * needs (expected and actual code, message, details), so they work under any test runner.
 *
 * @module
 */
import { isStorageError, type StorageError, type StorageErrorCode } from '../errors.js';

function describeError(e: unknown): string {
  if (isStorageError(e)) return `StorageError ${e.code}: ${e.message} ${JSON.stringify(e.details)}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * Awaits a promise that must reject with a {@link @stowage/core!index.StorageError | StorageError} of one of the given codes.
 *
 * @param promise - the operation (or a function starting it; a synchronous throw counts as a rejection)
 * @param codes - the acceptable codes
 * @param what - what was attempted, for the failure message
 * @returns the error, for further checks
 * @throws Error when the operation succeeds or fails otherwise
 */
export async function expectCode(
  promise: Promise<unknown> | (() => unknown),
  codes: StorageErrorCode | readonly StorageErrorCode[],
  what: string,
): Promise<StorageError> {
  const wanted: readonly StorageErrorCode[] = typeof codes === 'string' ? [codes] : codes;
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await (typeof promise === 'function' ? promise() : promise) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) {
    throw new Error(`${what}: expected a StorageError ${wanted.join(' or ')}, but it succeeded (returned ${JSON.stringify(outcome.value)})`);
  }
  const e = outcome.error;
  if (!isStorageError(e) || !wanted.includes(e.code)) {
    throw new Error(`${what}: expected a StorageError ${wanted.join(' or ')}, got ${describeError(e)}`, { cause: e });
  }
  return e;
}

/**
 * Runs an operation and reports how it ended: `ok`, or the code of the {@link @stowage/core!index.StorageError | StorageError} it threw.
 *
 * @param promise - the operation
 * @param what - what was attempted, for the failure message
 * @returns `'ok'` or the error code
 * @throws Error when it throws anything but a StorageError
 */
export async function outcomeOf(promise: Promise<unknown>, what: string): Promise<'ok' | StorageErrorCode> {
  try {
    await promise;
    return 'ok';
  } catch (e) {
    if (isStorageError(e)) return e.code;
    throw new Error(`${what}: threw something that is not a StorageError: ${describeError(e)}`, { cause: e });
  }
}

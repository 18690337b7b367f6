/**
 * What `stowage-memory` failures mean: its standard error, read into stable codes.
 *
 * @module
 */
import { defineFailureClassifier } from '../../command/classify.js';
import { isCommandError, StorageError, type StorageErrorCode } from '../../errors.js';

/** What `stowage-memory` says on stderr, and the code that means. */
const memoryFailures = defineFailureClassifier([
  [/does not exist/, 'NOT_FOUND'],
  [/already exists/, 'ALREADY_EXISTS'],
  [/has dependent clones/, 'IN_USE'],
  [/is protected/, 'PROTECTED'],
  [/out of space|do not fit/, 'NO_SPACE'],
  [/input ended after|input longer than/, 'INVALID_ARGUMENT'],
  [/is read-only/, 'INVALID_ARGUMENT'],
]);

/**
 * The stable code of a failed `stowage-memory` command, read from its stderr, or `undefined`
 * when the failure is not one the tool explains (it stays `COMMAND_FAILED`).
 *
 * @param stderr - the command's standard error
 */
export function classifyStderr(stderr: string): StorageErrorCode | undefined {
  return memoryFailures.codeOf(stderr);
}

/**
 * Rethrows a failed command as a {@link @stowage/core!index.StorageError | StorageError} with the code its stderr explains (the
 * command error stays as `cause`); any other error is rethrown as it is.
 *
 * @param e - the caught error
 * @param details - facts to attach (volname, snapshot, ...)
 * @throws always
 */
export function rethrowClassified(e: unknown, details: Record<string, unknown> = {}): never {
  if (isCommandError(e) && e.code === 'COMMAND_FAILED') {
    const code = classifyStderr(e.stderr);
    if (code) throw new StorageError(code, e.stderr.replace(/^stowage-memory: /, ''), { cause: e, details: { ...details, ...e.details } });
  }
  throw e;
}

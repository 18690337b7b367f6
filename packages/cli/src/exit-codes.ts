/**
 * The exit status of `stowage` for every outcome. Fixed: a script may rely on these numbers
 * (they are listed in `docs/errors.md`). A new error code gets a new number; none is reused.
 *
 * @module
 */
import type { StorageErrorCode } from '@stowage/core';

/** The command did what was asked. */
export const EXIT_OK = 0;

/** An unexpected failure: a bug, or an error that is not a `StorageError`. */
export const EXIT_UNEXPECTED = 1;

/** The command line was wrong: unknown verb or option, missing or extra arguments. */
export const EXIT_USAGE = 2;

/**
 * Standard output was a pipe whose reader went away (`EPIPE`), as in `stowage export ... - | head`.
 * Not an error of stowage: the command stops its work (the export's source side is aborted),
 * prints nothing, and exits as a command killed by `SIGPIPE` shows in the shell (128 + 13), so
 * that `set -o pipefail` still sees that the stream was not written whole.
 */
export const EXIT_CLOSED_PIPE = 141;

/**
 * The exit status for each {@link StorageErrorCode}. Typed as a full record, so adding a code
 * to the core without a number here fails to compile.
 */
export const EXIT_CODES: Readonly<Record<StorageErrorCode, number>> = {
  NOT_SUPPORTED: 10,
  NOT_FOUND: 11,
  ALREADY_EXISTS: 12,
  IN_USE: 13,
  INVALID_VOLUME_ID: 14,
  INVALID_ARGUMENT: 15,
  CONFIG_INVALID: 16,
  LOCK_TIMEOUT: 17,
  COMMAND_FAILED: 18,
  TIMEOUT: 19,
  ABORTED: 20,
  BUSY: 21,
  NO_SPACE: 22,
  CANNOT_SHRINK: 23,
  SNAPSHOT_BLOCKERS: 24,
  API_VERSION_MISMATCH: 25,
  PROTECTED: 26,
  UNAVAILABLE: 27,
  PERMISSION_DENIED: 28,
  CORRUPT: 29,
  INTERNAL: 30,
  LOCK_LOST: 31,
  INVALID_STATE: 32,
};

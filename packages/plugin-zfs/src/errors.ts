/**
 * Classifies failures of the ZFS tools by what they print on standard error, so that callers
 * get stable codes instead of `COMMAND_FAILED`. The patterns match OpenZFS 2.x in `LC_ALL=C`
 * (the runner always sets it); the unit tests replay stderr captured from the real tools.
 *
 * @module
 */
import { CommandError, isCommandError, type StorageErrorCode } from '@stowage/core';

/** What went wrong, as far as the message tells. */
export type ZfsFailure =
  /** The dataset or snapshot does not exist. */
  | 'missing'
  /** The pool does not exist (or is not imported). */
  | 'pool-missing'
  /** The parent dataset of a new dataset does not exist. */
  | 'parent-missing'
  /** The parent of a new dataset is a zvol, which cannot have children. */
  | 'bad-parent'
  /** A dataset of that name already exists. */
  | 'exists'
  /** The dataset is open (a guest, udev probing a new zvol, a mount). */
  | 'busy'
  /** Not enough space in the pool. */
  | 'no-space'
  /** A rollback to a snapshot that is not the newest (without `-r`). */
  | 'not-latest'
  /** Clones depend on the dataset or snapshot (listed after the message). */
  | 'dependent-clones'
  /** A quota below what the file system already uses. */
  | 'below-used'
  /** A size or block size ZFS does not accept. */
  | 'bad-size'
  /** A send stream that is truncated, corrupt, or does not fit the target. */
  | 'bad-stream'
  /** An unmount of a file system that is not mounted. */
  | 'not-mounted'
  /** A mount of a file system that is mounted. */
  | 'mounted';

/** Message patterns, first match wins. */
const PATTERNS: ReadonlyArray<readonly [ZfsFailure, RegExp]> = [
  ['busy', /dataset is busy|pool or dataset is busy|Device or resource busy/],
  ['pool-missing', /no such pool/],
  ['parent-missing', /parent does not exist/],
  ['bad-parent', /parent is not a filesystem/],
  ['dependent-clones', /has dependent clones|clones of previous snapshots exist/],
  ['not-latest', /more recent snapshots or bookmarks exist|more recent snapshots exist/],
  ['bad-stream', /failed to read from stream|invalid (?:backup )?stream|incomplete stream|checksum mismatch|does not match incremental source|has been modified\s+since most recent snapshot|destination '[^']*' is a clone/],
  ['missing', /dataset does not exist|could not find any snapshots to destroy|destination '[^']*' does not exist/],
  ['exists', /dataset already exists|destination '[^']*' exists/],
  ['no-space', /out of space|size is greater than available space|No space left on device/i],
  ['below-used', /size is less than current used or reserved space/],
  ['bad-size', /must be a multiple of volume block size|must be power of 2|volume size must be/],
  ['not-mounted', /not currently mounted/],
  ['mounted', /filesystem already mounted/],
];

/**
 * Tells what a ZFS tool's standard error says went wrong.
 *
 * @param stderr - the tool's standard error
 * @returns the failure, or `undefined` when no known message is found
 * @example
 * ```ts
 * classifyZfsStderr("cannot destroy 'tank/vm-100-disk-0': dataset is busy\n"); // 'busy'
 * ```
 */
export function classifyZfsStderr(stderr: string): ZfsFailure | undefined {
  for (const [kind, re] of PATTERNS) if (re.test(stderr)) return kind;
  return undefined;
}

/** The stable code of each {@link ZfsFailure}. */
export const ZFS_FAILURE_CODES: Readonly<Record<ZfsFailure, StorageErrorCode>> = {
  missing: 'NOT_FOUND',
  'pool-missing': 'NOT_FOUND',
  'parent-missing': 'NOT_FOUND',
  'bad-parent': 'INVALID_ARGUMENT',
  exists: 'ALREADY_EXISTS',
  busy: 'BUSY',
  'no-space': 'NO_SPACE',
  'not-latest': 'SNAPSHOT_BLOCKERS',
  'dependent-clones': 'IN_USE',
  'below-used': 'CANNOT_SHRINK',
  'bad-size': 'INVALID_ARGUMENT',
  'bad-stream': 'INVALID_ARGUMENT',
  'not-mounted': 'COMMAND_FAILED',
  mounted: 'COMMAND_FAILED',
};

/**
 * The datasets a ZFS message lists after its `use '-r'`/`use '-R'` hint: the clones that depend
 * on a dataset, or the snapshots newer than a rollback target.
 *
 * @param stderr - the tool's standard error
 * @returns full dataset or snapshot names, in the order printed
 * @example
 * ```ts
 * listedDatasets("cannot destroy 'tank/a@s': snapshot has dependent clones\nuse '-R' to destroy the following datasets:\ntank/b\n");
 * // ['tank/b']
 * ```
 */
export function listedDatasets(stderr: string): string[] {
  const lines = stderr.split('\n').map((l) => l.trim());
  const hint = lines.findIndex((l) => /^use '-[rR]'/.test(l));
  if (hint < 0) return [];
  return lines.slice(hint + 1).filter((l) => /^[A-Za-z][^\s']*$/.test(l));
}

/**
 * Turns a failed ZFS command into a {@link CommandError} with the code its message calls for
 * (`COMMAND_FAILED` when nothing matches), keeping argv, exit code and stderr, the original
 * error as `cause`, `details.failure` naming the {@link ZfsFailure}, and `details.listed` the
 * datasets the message names. Anything that is not a `CommandError` (a timeout, an abort) is
 * returned unchanged.
 *
 * @param error - what the runner threw
 * @param details - extra facts for `details`
 * @returns the classified error
 */
export function classifyZfsError(error: unknown, details: Readonly<Record<string, unknown>> = {}): unknown {
  if (!isCommandError(error)) return error;
  const failure = classifyZfsStderr(error.stderr);
  if (failure === undefined) return Object.keys(details).length === 0 ? error : withDetails(error, details);
  const listed = listedDatasets(error.stderr);
  return new CommandError(
    `${error.argv.slice(0, 2).join(' ')}: ${firstLine(error.stderr)}`,
    {
      argv: error.argv,
      exitCode: error.exitCode,
      stderr: error.stderr,
      stdout: error.stdout,
      cause: error,
      details: { failure, ...(listed.length > 0 ? { listed } : {}), ...details },
    },
    ZFS_FAILURE_CODES[failure],
  );
}

/**
 * The {@link ZfsFailure} an error carries, if any.
 *
 * @param error - a caught value
 */
export function zfsFailureOf(error: unknown): ZfsFailure | undefined {
  if (!isCommandError(error)) return undefined;
  const f = error.details['failure'];
  return typeof f === 'string' && f in ZFS_FAILURE_CODES ? (f as ZfsFailure) : classifyZfsStderr(error.stderr);
}

function withDetails(error: CommandError, details: Readonly<Record<string, unknown>>): CommandError {
  return new CommandError(
    error.message,
    { argv: error.argv, exitCode: error.exitCode, stderr: error.stderr, stdout: error.stdout, cause: error, details: { ...error.details, ...details } },
    error.code,
  );
}

function firstLine(stderr: string): string {
  return (
    stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !/^Warning:/.test(l)) ?? 'failed'
  );
}

/**
 * Classifies failures of the ZFS tools by what they print on standard error, so that callers
 * get stable codes instead of `COMMAND_FAILED`. The patterns match OpenZFS 2.x in `LC_ALL=C`
 * (the runner always sets it); the unit tests replay stderr captured from the real tools.
 *
 * @module
 */
import type { CommandError, StorageErrorCode } from '@stowage/core';
import { defineFailureClassifier, firstStderrLine, type StderrRule } from '@stowage/core/plugin';

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

/** The rules, first match wins. */
const RULES: ReadonlyArray<StderrRule<ZfsFailure>> = [
  [/dataset is busy|pool or dataset is busy|Device or resource busy/, 'BUSY', 'busy'],
  [/no such pool/, 'NOT_FOUND', 'pool-missing'],
  [/parent does not exist/, 'NOT_FOUND', 'parent-missing'],
  [/parent is not a filesystem/, 'INVALID_ARGUMENT', 'bad-parent'],
  [/has dependent clones|clones of previous snapshots exist/, 'IN_USE', 'dependent-clones'],
  [/more recent snapshots or bookmarks exist|more recent snapshots exist/, 'SNAPSHOT_BLOCKERS', 'not-latest'],
  [
    /failed to read from stream|invalid (?:backup )?stream|incomplete stream|checksum mismatch|does not match incremental source|has been modified\s+since most recent snapshot|destination '[^']*' is a clone/,
    'INVALID_ARGUMENT',
    'bad-stream',
  ],
  [/dataset does not exist|could not find any snapshots to destroy|destination '[^']*' does not exist/, 'NOT_FOUND', 'missing'],
  [/dataset already exists|destination '[^']*' exists/, 'ALREADY_EXISTS', 'exists'],
  [/out of space|size is greater than available space|No space left on device/i, 'NO_SPACE', 'no-space'],
  [/size is less than current used or reserved space/, 'CANNOT_SHRINK', 'below-used'],
  [/must be a multiple of volume block size|must be power of 2|volume size must be/, 'INVALID_ARGUMENT', 'bad-size'],
  [/not currently mounted/, 'COMMAND_FAILED', 'not-mounted'],
  [/filesystem already mounted/, 'COMMAND_FAILED', 'mounted'],
];

/**
 * How the ZFS tools' failures are read: the rules, messages made of the command and its first
 * line of stderr, and the datasets a message lists in `details.listed`.
 */
const zfsFailures = defineFailureClassifier(RULES, {
  message: (e) => `${e.argv.slice(0, 2).join(' ')}: ${firstStderrLine(e.stderr, /^Warning:/)}`,
  facts: (stderr) => {
    const listed = listedDatasets(stderr);
    return listed.length > 0 ? { listed } : {};
  },
});

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
  return zfsFailures.failureIn(stderr);
}

/** The stable code of each {@link ZfsFailure}. */
export const ZFS_FAILURE_CODES = Object.fromEntries(RULES.map(([, code, failure]) => [failure, code])) as Readonly<Record<ZfsFailure, StorageErrorCode>>;

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
 * (see `defineFailureClassifier` in the core): the message names the command and the line of
 * stderr that says why, `details.failure` names the {@link ZfsFailure}, `details.listed` the
 * datasets the message names, and `details` gets the extra facts (also when no rule matches:
 * then the code stays `COMMAND_FAILED`). Anything that is not a failed command (a timeout, an
 * abort) is returned unchanged.
 *
 * @param error - what the runner threw
 * @param details - extra facts for `details`
 * @returns the classified error
 */
export function classifyZfsError(error: unknown, details: Readonly<Record<string, unknown>> = {}): unknown {
  return zfsFailures.classify(error, details);
}

/**
 * The {@link ZfsFailure} an error carries, if any.
 *
 * @param error - a caught value
 */
export function zfsFailureOf(error: unknown): ZfsFailure | undefined {
  return zfsFailures.failureOf(error);
}

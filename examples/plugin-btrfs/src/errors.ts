/**
 * What `btrfs` failures mean: its standard error, read into stable codes.
 *
 * @module
 */
import { defineFailureClassifier } from '@stowage/core/plugin';

/** What `btrfs` says on stderr, and the code that means. */
export const btrfsFailures = defineFailureClassifier([
  [/No space left on device/i, 'NO_SPACE'],
  [/File exists/i, 'ALREADY_EXISTS'],
  [/Read-only file system|Operation not permitted|Permission denied/i, 'PERMISSION_DENIED'],
  [/Device or resource busy/i, 'BUSY'],
  [/No such file or directory|cannot access/i, 'NOT_FOUND'],
  [/not a btrfs filesystem|Not a Btrfs/i, 'UNAVAILABLE'],
]);

/**
 * What the failures of the `dir` plugin's tools mean: their standard error, read into stable
 * codes. Filesystem errors get theirs from the core's `fsError`.
 *
 * @module
 */
import { defineFailureClassifier } from '@stowage/core/plugin';

/**
 * Failures of `qemu-img` that have a code of their own, by what it writes to standard error: a
 * full filesystem; an image another process holds open (QEMU's image locking: `Failed to get
 * "write" lock`, `Is another process using the image [...]?`); a size past what the format or
 * the filesystem can hold.
 */
export const toolFailures = defineFailureClassifier([
  [/No space left on device|Disk quota exceeded/i, 'NO_SPACE'],
  [/Failed to get (?:shared )?"[a-z]+" lock|Is another process using the image/i, 'BUSY'],
  [/image size is too large|File too large/i, 'INVALID_ARGUMENT'],
]);

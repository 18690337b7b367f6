/**
 * The errors of a `+size` stream whose length is not what its header announced, shared by the
 * stream check (`exactLength`) and the block reader's (`writeSparseBlocks`).
 *
 * @module
 */
import { StorageError } from './errors.js';

/**
 * The error of a `+size` stream shorter than its header announced.
 *
 * @param size - the announced payload size
 * @param received - the bytes that came
 * @returns `INVALID_ARGUMENT` with `details: { size, received }`
 */
export function truncated(size: number, received: number): StorageError<'INVALID_ARGUMENT'> {
  return new StorageError('INVALID_ARGUMENT', `truncated stream: ${received} of ${size} bytes`, { details: { size, received } });
}

/**
 * The error of a `+size` stream longer than its header announced.
 *
 * @param size - the announced payload size
 * @param received - the bytes counted when the excess was seen
 * @returns `INVALID_ARGUMENT` with `details: { size, received }`
 */
export function overLong(size: number, received: number): StorageError<'INVALID_ARGUMENT'> {
  return new StorageError('INVALID_ARGUMENT', `the stream carries more than the ${size} bytes its header announced`, { details: { size, received } });
}

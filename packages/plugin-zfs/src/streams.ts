/**
 * Stream plumbing for export and import: a pass-through that lets at most the bytes a size
 * header announced through (and records, rather than hides, a short or long stream). Forwarding
 * into the caller's stream is the core's `forwardInto`.
 *
 * @module
 */
import { Transform, type TransformCallback } from 'node:stream';
import { StorageError, type ProgressCallback } from '@stowage/core';

/** A pass-through of a fixed length; `problem` holds the error of a short or long stream. */
export interface ExactStream extends Transform {
  /** Set once the stream turned out shorter or longer than announced. */
  problem?: StorageError;
}

/**
 * A pass-through of at most `size` bytes that notes (in `problem`, `INVALID_ARGUMENT`) a stream
 * shorter or longer than announced without failing itself: bytes past `size` are dropped, and
 * the consumer sees a normal end, so that it finishes cleanly and the caller decides what to
 * undo. Errors of the source still fail it.
 *
 * @param size - the byte count announced
 * @param onProgress - reports `{ done, total: size }`
 */
export function exactLength(size: number, onProgress?: ProgressCallback): ExactStream {
  let seen = 0;
  const t: ExactStream = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      const room = size - seen;
      seen += chunk.length;
      if (seen > size) {
        t.problem ??= new StorageError('INVALID_ARGUMENT', `stream is longer than its size header (${size} bytes)`, { details: { size } });
        cb(null, room > 0 ? chunk.subarray(0, room) : undefined);
        return;
      }
      onProgress?.({ done: seen, total: size });
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (seen < size) t.problem = new StorageError('INVALID_ARGUMENT', `truncated stream: ${seen} of ${size} bytes`, { details: { size, received: seen } });
      cb();
    },
  });
  return t;
}

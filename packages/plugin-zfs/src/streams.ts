/**
 * Stream plumbing for export and import: a pass-through that lets at most the bytes a size
 * header announced through (and records, rather than hides, a short or long stream), and a
 * writable that forwards into the caller's stream without ending it.
 *
 * @module
 */
import { Transform, Writable, type TransformCallback } from 'node:stream';
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

/** A writable forwarding into another stream, and how to finish it. */
export interface Forwarder {
  /** Write here. */
  readonly stream: Writable;
  /** Ends {@link Forwarder.stream} (not the target) once all was forwarded; resolves to the bytes forwarded. */
  finish(): Promise<number>;
}

/**
 * A writable that forwards every chunk into `output` with backpressure, counting bytes, and never
 * ends `output` (the caller may write more after it).
 *
 * @param output - the caller's stream
 * @param onProgress - reports `{ done, total }` with `offset` added to `done`
 * @param total - the total for progress reports
 * @param offset - bytes already written before (a size header)
 */
export function forwardInto(output: Writable, onProgress?: ProgressCallback, total?: number, offset = 0): Forwarder {
  let sent = 0;
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      sent += chunk.length;
      onProgress?.({ done: offset + sent, total });
      if (output.write(chunk)) cb();
      else output.once('drain', () => cb());
    },
  });
  return {
    stream,
    finish: () =>
      new Promise<number>((resolve, reject) => {
        stream.once('error', reject);
        stream.end(() => resolve(sent));
      }),
  };
}

/**
 * Writes bytes to a stream and waits until they are taken.
 *
 * @param output - the stream
 * @param bytes - what to write
 */
export function writeAll(output: Writable, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    output.write(bytes, (e) => (e ? reject(e) : resolve()));
  });
}

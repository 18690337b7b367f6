/**
 * The payload of a `+size` stream, held to the length its header announced.
 *
 * @module
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { ProgressCallback } from './plugin-types.js';
import { reportProgress } from './progress.js';
import { overLong, truncated } from './length-errors.js';

/** Options of {@link exactLength}. */
export interface ExactLengthOptions {
  /** Receives `{ done, total }` after every chunk (guarded: what it throws is ignored). */
  readonly onProgress?: ProgressCallback | undefined;
  /** Bytes already passed before this stream (the size header), added to `done`. @default 0 */
  readonly offset?: number;
  /** The total reported. @default offset + size */
  readonly total?: number | undefined;
}

/** A pass-through of exactly `size` bytes, see {@link exactLength}. */
export interface ExactLengthStream extends Transform {
  /** Payload bytes passed so far. */
  readonly received: number;
}

/**
 * A pass-through for the payload of a `+size` stream (after `readSizeHeader`) that holds it to
 * exactly `size` bytes. One policy for every plugin: a stream that ends early fails at its end,
 * a stream that carries more fails at the first byte too many (so the tool it feeds stops), both
 * with `INVALID_ARGUMENT` and `details: { size, received }`. Nothing past `size` is passed on.
 *
 * @param size - the byte count the header announced
 * @param options - progress reports
 * @returns the stream; it errors as described, so `pipeline` rejects with that error
 * @example
 * ```ts
 * const size = await readSizeHeader(request.input, ctx.signal);
 * await pipeline(request.input, exactLength(size, { onProgress: request.onProgress }), device);
 * ```
 */
export function exactLength(size: number, options: ExactLengthOptions = {}): ExactLengthStream {
  const offset = options.offset ?? 0;
  const total = options.total ?? offset + size;
  let received = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (received + chunk.length > size) {
        received += chunk.length;
        callback(overLong(size, received));
        return;
      }
      received += chunk.length;
      reportProgress(options.onProgress, { done: offset + received, total });
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      callback(received < size ? truncated(size, received) : null);
    },
  });
  Object.defineProperty(stream, 'received', { get: () => received, enumerable: true });
  return stream as ExactLengthStream;
}

export { overLong, truncated } from './length-errors.js';

/**
 * Writing to a stream and waiting until the bytes are taken: what a producer that reuses its
 * memory waits for before the next chunk.
 *
 * @module
 */
import type { Writable } from 'node:stream';

/**
 * Writes bytes to a stream and waits until they are taken. A failed write rejects with its error,
 * and the `'error'` event the stream emits after it is taken here too (it is the same failure), so
 * it cannot go unhandled.
 *
 * @param output - the stream
 * @param bytes - what to write
 */
export function writeAll(output: Writable, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    output.once('error', onError);
    output.write(bytes, (e) => {
      // after a failed write the listener stays, for the 'error' event that follows
      if (e) return reject(e);
      output.off('error', onError);
      resolve();
    });
  });
}

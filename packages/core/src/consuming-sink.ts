/**
 * Writables that are done with each chunk once they call back: what lets an export read the
 * next part of a file into the memory of the part before, instead of a fresh buffer per read.
 * A stream that passes chunks on (a transform, a socket's queue) keeps them after it called
 * back, so an export may reuse memory only for a sink made here.
 *
 * @module
 */
import type { Writable } from 'node:stream';
import { nodeStream } from './on-first-use.js';

const consuming = new WeakSet<Writable>();

/**
 * Makes a writable that hands each chunk to `consume` and keeps no reference to it after:
 * {@link exportRawFile} then reads the file into two buffers it reuses (no fresh memory per
 * read, and the next read runs while `consume` works on this one).
 *
 * @param consume - called with each chunk; must not keep it once it returned, or once the promise
 *   it returned has settled (copy what it needs). A rejection, or a throw, fails the write.
 * @returns the writable
 * @example
 * ```ts
 * const hash = createHash('sha256');
 * await exportRawFile(file, consumingSink((chunk) => hash.update(chunk)));
 * ```
 */
export function consumingSink(consume: (chunk: Buffer) => void | Promise<void>): Writable {
  const failed = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));
  const sink = new (nodeStream().Writable)({
    write(chunk: Buffer, _enc, cb) {
      let taken: unknown;
      try {
        taken = consume(chunk);
      } catch (e) {
        cb(failed(e));
        return;
      }
      if (taken instanceof Promise) taken.then(() => cb(), (e: unknown) => cb(failed(e)));
      else cb();
    },
  });
  consuming.add(sink);
  return sink;
}

/**
 * Tells whether a writable was made by {@link consumingSink}, so that a chunk written to it may
 * be reused once its write called back.
 *
 * @param output - the writable
 * @returns `true` for a consuming sink
 */
export function consumesChunks(output: Writable): boolean {
  return consuming.has(output);
}

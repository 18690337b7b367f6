/**
 * Readables whose producer can write straight into the consumer's writable: a command's
 * standard input, say, so that an export sending a volume to another node reads the file into
 * two buffers it reuses and hands each one to the ssh client's pipe, instead of a fresh buffer per
 * read passed along a chain of streams. Read like any other readable, the same source gives
 * copies of the chunks, so that a consumer that knows nothing of this still works.
 *
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import { nodeStream } from './on-first-use.js';
import { writeAll } from './write-all.js';

/**
 * Writes a stream's bytes into `sink`, waiting for each write's callback, and never ends it. It
 * may reuse a chunk's memory once that write has called back.
 */
export type FillSink = (sink: Writable) => Promise<void>;

/** The fill of each direct source not read or claimed yet. */
const fills = new WeakMap<Readable, FillSink>();

function closedError(): Error {
  return Object.assign(new Error('the stream was closed before all was read'), { code: 'ERR_STREAM_DESTROYED' });
}

/**
 * Makes a readable whose bytes come from `fill`. {@link sendInto} hands `fill` the consumer's
 * writable itself; read in any other way (piped, iterated), the readable runs `fill` once, on the
 * first read, into a writable that pushes a copy of each chunk, with backpressure. A `fill` that
 * rejects destroys the readable with its error; destroying the readable fails `fill`'s next write.
 *
 * @param fill - writes the bytes, each write awaited; resolves when all are written
 * @returns the readable
 * @example
 * ```ts
 * const source = directSource(async (sink) => exportRawFile(handle, consumingSink((chunk) => writeAll(sink, chunk))));
 * await sendInto(source, child.stdin); // no copy, no fresh buffer per read
 * ```
 */
export function directSource(fill: FillSink): Readable {
  const stream = nodeStream();
  let started = false;
  let resume: ((e?: Error) => void) | undefined;
  const wake = (e?: Error): void => {
    const waiting = resume;
    resume = undefined;
    waiting?.(e);
  };
  const readable: Readable = new stream.Readable({
    read() {
      if (started) return wake();
      started = true;
      if (!fills.delete(readable)) {
        readable.destroy(new Error('the stream was already sent into a writable (sendInto)'));
        return;
      }
      const copies = new stream.Writable({
        write(chunk: Buffer, _enc, cb) {
          if (readable.destroyed) return cb(closedError());
          if (readable.push(Buffer.from(chunk))) return cb();
          resume = (e) => cb(e);
        },
      });
      copies.on('error', () => undefined); // the failure is fill's, reported below
      fill(copies).then(
        () => readable.push(null),
        (e: unknown) => readable.destroy(e instanceof Error ? e : new Error(String(e))),
      );
    },
    destroy(error, cb) {
      wake(error ?? closedError());
      cb(error);
    },
  });
  fills.set(readable, fill);
  return readable;
}

/**
 * Tells whether a readable was made by {@link directSource} and has not been read or claimed yet.
 *
 * @param source - the readable
 * @returns `true` when {@link sendInto} would hand it the writable itself
 */
export function isDirectSource(source: Readable): boolean {
  return fills.has(source) && !source.destroyed;
}

/**
 * Writes all of `source` into `sink` and leaves `sink` open. A {@link directSource} writes into
 * `sink` itself (once: it is claimed); any other readable is read chunk by chunk, each write
 * awaited. `sink` must be done with a chunk when its write calls back, as a process's standard
 * input, a socket or a file stream are (a transform or pass-through keeps it, so it is no such
 * sink).
 *
 * @param source - the bytes
 * @param sink - where they go
 * @returns when every byte was written
 * @throws what the source or a write failed with
 */
export async function sendInto(source: Readable, sink: Writable): Promise<void> {
  const fill = isDirectSource(source) ? fills.get(source) : undefined;
  if (fill !== undefined) {
    fills.delete(source);
    await fill(sink);
    return;
  }
  for await (const chunk of source as AsyncIterable<Buffer>) await writeAll(sink, chunk);
}

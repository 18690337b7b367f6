/**
 * Stream plumbing shared by the runners: piping a command's output into a caller's stream
 * without ending it, feeding a caller's stream into a command, and keeping a bounded copy of
 * standard error.
 *
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import { isDirectSource, sendInto } from '../direct-source.js';

/**
 * Pipes `source` into `dest` with backpressure (`source.pipe`), never ending `dest`: the caller
 * owns its stream and may write more to it after the command (a size header before, a second
 * command after).
 *
 * @param source - the command's standard output
 * @param dest - the caller's stream
 * @returns settles when `source` has ended (every chunk handed to `dest.write`); rejects when
 *   `dest` fails or closes first
 */
export function pipeWithoutEnd(source: Readable, dest: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      source.off('end', onEnd);
      source.off('close', onSourceClose);
      dest.off('error', onError);
      dest.off('close', onDestClose);
    };
    const onEnd = (): void => {
      cleanup();
      resolve();
    };
    // A source destroyed without 'end' (the process was killed): nothing more will come.
    const onSourceClose = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      source.unpipe(dest);
      reject(err);
    };
    const onDestClose = (): void => {
      cleanup();
      source.unpipe(dest);
      reject(new Error('the output stream was closed before the command finished'));
    };
    source.once('end', onEnd);
    source.once('close', onSourceClose);
    dest.once('error', onError);
    dest.once('close', onDestClose);
    source.pipe(dest, { end: false });
  });
}

/**
 * Feeds a caller's stream into a command's standard input, ending it when the source ends. A
 * {@link directSource} writes into the standard input itself (see {@link sendInto}); a write that
 * fails because the command closed its input is the command's story (its exit), not the
 * source's.
 *
 * @param source - the caller's stream
 * @param dest - the command's standard input
 * @param onSourceError - called when the source fails (the caller then kills the command)
 * @returns a function that detaches the source (call it when the command has ended)
 */
export function feedInput(source: Readable, dest: Writable, onSourceError: (err: Error) => void): () => void {
  if (isDirectSource(source)) {
    let attached = true;
    sendInto(source, dest).then(
      () => {
        if (attached) dest.end();
      },
      (e: unknown) => {
        if (!attached || dest.destroyed) return;
        dest.destroy();
        onSourceError(e instanceof Error ? e : new Error(String(e)));
      },
    );
    return () => {
      attached = false;
    };
  }
  const onError = (err: Error): void => {
    source.unpipe(dest);
    dest.destroy();
    onSourceError(err);
  };
  source.once('error', onError);
  source.pipe(dest);
  return () => {
    source.off('error', onError);
    source.unpipe(dest);
  };
}

/**
 * Collects text from a stream, keeping its first `headChars` and its last `tailChars`
 * characters so that a chatty command cannot fill memory.
 */
export class BoundedText {
  readonly #headChars: number;
  readonly #tailChars: number;
  #head = '';
  #tail = '';
  #dropped = 0;

  /**
   * @param headChars - how much of the beginning to keep
   * @param tailChars - how much of the end to keep
   */
  constructor(headChars = 16_384, tailChars = 49_152) {
    this.#headChars = headChars;
    this.#tailChars = tailChars;
  }

  /**
   * Adds a chunk.
   *
   * @param chunk - text or bytes (decoded as UTF-8)
   */
  push(chunk: string | Uint8Array): void {
    let text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (this.#head.length < this.#headChars) {
      const room = this.#headChars - this.#head.length;
      this.#head += text.slice(0, room);
      text = text.slice(room);
    }
    if (text === '') return;
    this.#tail += text;
    if (this.#tail.length > this.#tailChars) {
      this.#dropped += this.#tail.length - this.#tailChars;
      this.#tail = this.#tail.slice(-this.#tailChars);
    }
  }

  /**
   * @returns everything kept, with a marker where characters were dropped
   */
  text(): string {
    if (this.#dropped === 0) return this.#head + this.#tail;
    return `${this.#head}\n[... ${this.#dropped} characters left out ...]\n${this.#tail}`;
  }
}

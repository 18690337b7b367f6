/**
 * The one place through which the command writes to standard output and standard error. A write
 * that fails (a reader that went away: `EPIPE`; a full disk: `ENOSPC`; `EIO`; ...) never throws
 * and never crashes the process: the failure is recorded (and made a
 * {@link @stowage/core!index.StorageError | StorageError} by {@link outputFailureError} when it
 * is reported, so that the core is loaded only then), later writes to that stream are refused,
 * and a failure of standard output aborts the running operation, so that its source side (a
 * file being read, a child process) stops instead of writing into a dead stream.
 *
 * @module
 */
import { Writable } from 'node:stream';
import type { StorageError } from '@stowage/core';
import type { BarStream } from './progress.js';
import type { CliIO } from './verb.js';

/** A failed write to standard output. */
export interface OutputFailure {
  /** What the stream reported: an error with an errno `code` (`ENOSPC`, `EPIPE`, `EIO`, ...). */
  readonly cause: unknown;
  /** The stream that failed. */
  readonly stream: 'stdout' | 'stderr';
  /** The reader closed the pipe (`EPIPE`): a normal end for a command in a pipe (exit status `EXIT_CLOSED_PIPE`). */
  readonly closedReader: boolean;
}

type Target = Writable | (NodeJS.WritableStream & BarStream);

/** Forwards every write into its target one chunk at a time, and turns the target's errors into one recorded failure. */
class GuardedStream extends Writable implements BarStream {
  readonly #target: Target;
  readonly #name: 'stdout' | 'stderr';
  readonly #onFailure: (failure: OutputFailure) => void;
  #failure: OutputFailure | undefined;

  constructor(target: Target, name: 'stdout' | 'stderr', onFailure: (failure: OutputFailure) => void) {
    super();
    this.#target = target;
    this.#name = name;
    this.#onFailure = onFailure;
    target.on('error', (e: unknown) => this.#fail(e));
    this.on('error', () => undefined); // recorded in #fail; the writer learns it from its own write
  }

  get isTTY(): boolean | undefined {
    return (this.#target as BarStream).isTTY;
  }

  get columns(): number | undefined {
    return (this.#target as BarStream).columns;
  }

  get failure(): OutputFailure | undefined {
    return this.#failure;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#failure) return callback(asError(this.#failure.cause));
    if (chunk.length === 0) return callback();
    this.#target.write(chunk, (e?: Error | null) => callback(e ? asError(this.#fail(e).cause) : null));
  }

  #fail(e: unknown): OutputFailure {
    if (!this.#failure) {
      this.#failure = { cause: e, stream: this.#name, closedReader: (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' };
      this.#onFailure(this.#failure);
    }
    return this.#failure;
  }
}

/**
 * The command's standard streams, guarded: hand {@link StdStreams.io} to everything that writes,
 * then {@link StdStreams.flush} and read {@link StdStreams.outputFailure} before choosing the
 * exit status.
 */
export class StdStreams {
  /** The streams to write to: guarded stdout and stderr, and a signal that also fires when stdout fails. */
  readonly io: CliIO;
  readonly #stdout: GuardedStream;
  readonly #stderr: GuardedStream;

  /**
   * Guards the streams of `io`.
   *
   * @param io - the process's streams and surroundings
   */
  constructor(io: CliIO) {
    const stop = new AbortController();
    this.#stdout = new GuardedStream(io.stdout, 'stdout', (f) => stop.abort(f.cause));
    // A failure of standard error is recorded and nothing more: it carries messages only, and the
    // exit status still tells how the command went.
    this.#stderr = new GuardedStream(io.stderr, 'stderr', () => undefined);
    // io's own properties stay as they are (a getter for stdin stays a getter: the process's
    // standard input is made only when read)
    this.io = Object.assign(Object.create(io) as CliIO, {
      stdout: this.#stdout,
      stderr: this.#stderr,
      signal: io.signal ? AbortSignal.any([io.signal, stop.signal]) : stop.signal,
    });
  }

  /** The first failed write to standard output, if any. */
  get outputFailure(): OutputFailure | undefined {
    return this.#stdout.failure;
  }

  /** Waits until everything written so far was taken by (or failed on) the real streams. */
  async flush(): Promise<void> {
    await Promise.all([drained(this.#stdout), drained(this.#stderr)]);
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * The failure as the error the command reports, with its code (`NO_SPACE` for `ENOSPC`,
 * `UNAVAILABLE` for `EIO`, ...; the errno and the stream in `details`).
 *
 * @param failure - a recorded failure
 */
export async function outputFailureError(failure: OutputFailure): Promise<StorageError> {
  const { fsError } = await import('@stowage/core/plugin');
  return fsError(failure.cause, `cannot write to standard ${failure.stream === 'stdout' ? 'output' : 'error'}`, { stream: failure.stream });
}

/** Resolves once every chunk written before was handled: writes are forwarded in order, so an empty one comes back last. */
function drained(stream: Writable): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => stream.write(Buffer.alloc(0), () => resolve()));
}

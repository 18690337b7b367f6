/**
 * The interface through which plugins run external commands. Plugins never spawn processes
 * themselves: they build an argv array with a pure function and hand it to a runner, which may
 * run it locally, over ssh, or replay a recorded answer in tests.
 *
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import type { FileSystem } from '../file-system.js';

/** Options of one command run. */
export interface RunOptions {
  /**
   * Bytes to write to standard input: a string, a buffer, or a stream that is piped in (a
   * `directSource` writes into the command's input itself, see `sendInto`).
   */
  readonly stdin?: string | Uint8Array | Readable;
  /**
   * Where standard output goes. When a stream is given, output is piped into it with
   * backpressure (and {@link CommandResult.stdout} is empty); the runner does not end the
   * stream, so the caller may write before and after the command. The run settles once every
   * chunk was written to the stream; end it and wait for `finish` to know all was flushed.
   * Otherwise output is captured as text.
   */
  readonly stdout?: Writable;
  /** Kill the command after this many milliseconds (code `TIMEOUT`). Default: the runner's. */
  readonly timeoutMs?: number;
  /** Abort the command (code `ABORTED`). */
  readonly signal?: AbortSignal | undefined;
  /** Extra environment variables. `LC_ALL=C` is always set by the runner. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Exit codes that are not failures (default `[0]`). A command ending with any other code
   * rejects with a {@link @stowage/core!index.CommandError | CommandError}.
   */
  readonly okExitCodes?: readonly number[];
}

/** What a finished command returned. */
export interface CommandResult {
  /** Captured standard output, or `''` when it was piped to {@link RunOptions.stdout}. */
  readonly stdout: string;
  /** Captured standard error. */
  readonly stderr: string;
  /** The exit code (one of {@link RunOptions.okExitCodes}). */
  readonly exitCode: number;
}

/**
 * Runs argv arrays. Never a shell string: every implementation passes the arguments as they
 * are (the ssh runner quotes each one for the remote shell).
 *
 * @throws {@link @stowage/core!index.CommandError | CommandError} `COMMAND_FAILED` on an exit code not in `okExitCodes`, or when
 *   the program cannot be started; {@link @stowage/core!index.StorageError | StorageError} `TIMEOUT` and `ABORTED`
 */
export interface CommandRunner {
  /**
   * Runs one command to its end.
   *
   * @param argv - program first, then its arguments
   * @param options - stdin, stdout stream, timeout, signal, env
   */
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** A short description for logs and errors, e.g. `local` or `ssh root@127.0.0.1:2222`. */
  readonly description: string;
  /**
   * The file-system calls that go with this runner's commands (the plugin context's `fs`);
   * `undefined` for this machine's (`localFileSystem`). A fault-injecting runner gives one that
   * fails chosen calls.
   */
  readonly fs?: FileSystem | undefined;
}

/**
 * Recording and replaying runners for fixture tests: record real runs once on a host that has
 * the tools, replay them anywhere. The replay fails loudly on any command it was not given.
 *
 * @module
 */
import { Transform, Writable, type Readable } from 'node:stream';
import { isCommandError, isStorageError, StorageError, CommandError } from '../errors.js';
import { abortedError, assertArgv, describeArgv, exitCodeError } from './failure.js';
import { decodeFixtureBytes, encodeFixtureBytes, saveFixtures, type CommandFixture } from './fixtures.js';
import type { CommandResult, CommandRunner, RunOptions } from './runner.js';

/**
 * Wraps a runner and records every command that ran to an exit code: argv, standard input
 * (when given), standard output (also when piped to a stream), standard error and exit code.
 * Commands that could not start, timed out or were aborted are not recorded, except a command
 * stopped because its standard input stream failed (`stoppedByInput`).
 *
 * @example
 * ```ts
 * const recorder = new RecordingRunner(new LocalRunner());
 * await plugin.listImages(ctxWith(recorder), {});
 * await recorder.save('test/fixtures/list-images.json');
 * ```
 */
export class RecordingRunner implements CommandRunner {
  /** `recording <inner description>`. */
  readonly description: string;
  readonly #inner: CommandRunner;
  readonly #fixtures: CommandFixture[] = [];

  /** @param inner - the runner that really runs the commands */
  constructor(inner: CommandRunner) {
    this.#inner = inner;
    this.description = `recording ${inner.description}`;
  }

  /** The runs recorded so far, in order. */
  get fixtures(): readonly CommandFixture[] {
    return this.#fixtures;
  }

  /**
   * Runs the command through the inner runner and records it.
   *
   * @param argv - program first, then its arguments
   * @param options - passed on unchanged (streams are tapped, not buffered in their place)
   * @returns what the inner runner returned
   * @throws whatever the inner runner throws
   */
  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const stdinChunks: Buffer[] = [];
    const stdoutChunks: Buffer[] = [];
    let stdin = options.stdin;
    if (typeof stdin === 'string' || stdin instanceof Uint8Array) stdinChunks.push(Buffer.from(stdin));
    else if (stdin !== undefined) stdin = tapReadable(stdin, stdinChunks);
    const stdout = options.stdout ? tapWritable(options.stdout, stdoutChunks) : undefined;
    let inputFailed = false;
    if (stdin !== undefined && typeof stdin !== 'string' && !(stdin instanceof Uint8Array)) stdin.once('error', () => (inputFailed = true));
    const record = (exitCode: number, text: string, stderr: string, stoppedByInput = false): void => {
      this.#fixtures.push({
        argv: [...argv],
        ...(options.stdin !== undefined ? { stdin: encodeFixtureBytes(Buffer.concat(stdinChunks)) } : {}),
        stdout: stdout ? encodeFixtureBytes(Buffer.concat(stdoutChunks)) : text,
        stderr,
        exitCode,
        ...(stoppedByInput ? { stoppedByInput: true as const } : {}),
      });
    };
    try {
      const result = await this.#inner.run(argv, { ...options, ...(stdin ? { stdin } : {}), ...(stdout ? { stdout } : {}) });
      record(result.exitCode, result.stdout, result.stderr);
      return result;
    } catch (e) {
      if (inputFailed) record(0, '', '', true);
      else if (isCommandError(e) && e.code === 'COMMAND_FAILED' && e.exitCode !== undefined) record(e.exitCode, e.stdout, e.stderr);
      throw e;
    }
  }

  /**
   * Writes the recorded runs to a JSON file that {@link loadFixtures} reads.
   *
   * @param path - the file
   */
  save(path: string): Promise<void> {
    return saveFixtures(path, this.#fixtures);
  }
}

/** Options of a {@link ReplayRunner}. */
export interface ReplayRunnerOptions {
  /**
   * What {@link CommandRunner.description} says, e.g. the host the fixtures came from.
   * @default 'replay'
   */
  readonly description?: string;
}

/**
 * Answers commands from recorded fixtures. A command is matched on its exact argv; the n-th
 * run of one argv gets the n-th fixture recorded for it, and once those are used up the last
 * one answers again (so repeated queries work). A fixture that recorded standard input
 * requires the same bytes. Any command without a fixture fails with `INTERNAL` naming it: a
 * test never silently passes on a command nobody recorded.
 *
 * @example
 * ```ts
 * const runner = new ReplayRunner([{ argv: ['zfs', 'list', '-Hp'], stdout: 'tank\t123\n', stderr: '', exitCode: 0 }]);
 * await runner.run(['zfs', 'list', '-Hp']); // { stdout: 'tank\t123\n', ... }
 * await runner.run(['zfs', 'destroy', 'tank']); // throws StorageError INTERNAL
 * ```
 */
export class ReplayRunner implements CommandRunner {
  /** From {@link ReplayRunnerOptions.description}. */
  readonly description: string;
  readonly #byArgv = new Map<string, CommandFixture[]>();
  readonly #uses = new Map<string, number>();
  readonly #calls: string[][] = [];

  /**
   * @param fixtures - the recorded runs, e.g. from {@link loadFixtures}
   * @param options - description
   */
  constructor(fixtures: readonly CommandFixture[], options: ReplayRunnerOptions = {}) {
    this.description = options.description ?? 'replay';
    for (const f of fixtures) {
      const key = JSON.stringify(f.argv);
      const list = this.#byArgv.get(key) ?? [];
      list.push(f);
      this.#byArgv.set(key, list);
    }
  }

  /** Every argv asked for so far, in order (including ones that failed). */
  get calls(): readonly (readonly string[])[] {
    return this.#calls;
  }

  /**
   * @returns the fixtures no command has used yet
   */
  unused(): CommandFixture[] {
    const out: CommandFixture[] = [];
    for (const [key, list] of this.#byArgv) out.push(...list.slice(this.#uses.get(key) ?? 0));
    return out;
  }

  /**
   * Answers one command from its fixture.
   *
   * @param argv - program first, then its arguments
   * @param options - stdin is read and compared, stdout streams get the recorded bytes
   * @returns the recorded output and exit code
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INTERNAL` for a command without a fixture or with other
   *   standard input than recorded; {@link @stowage/core!index.CommandError | CommandError} `COMMAND_FAILED` for a recorded exit
   *   code outside `okExitCodes` (as the real run would); `ABORTED` for an aborted signal
   */
  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    assertArgv(argv);
    this.#calls.push([...argv]);
    if (options.signal?.aborted) throw abortedError(argv, options.signal.reason);
    const key = JSON.stringify(argv);
    const list = this.#byArgv.get(key);
    if (!list) {
      throw new StorageError('INTERNAL', `replay: no fixture for command '${describeArgv(argv)}'`, {
        details: { argv: [...argv], runner: this.description },
      });
    }
    const used = this.#uses.get(key) ?? 0;
    this.#uses.set(key, used + 1);
    const fixture = list[Math.min(used, list.length - 1)]!;

    if (options.stdin !== undefined) {
      const given = await readAll(argv, options.stdin);
      if (fixture.stoppedByInput === true) {
        throw new StorageError('INTERNAL', `replay: command '${describeArgv(argv)}' was stopped by its failing input when recorded, but its input ended well`, {
          details: { argv: [...argv], runner: this.description, stdinBytes: given.length },
        });
      }
      if (fixture.stdin !== undefined && !given.equals(decodeFixtureBytes(fixture.stdin))) {
        throw new StorageError('INTERNAL', `replay: command '${describeArgv(argv)}' got other standard input than recorded`, {
          details: { argv: [...argv], runner: this.description, stdinBytes: given.length },
        });
      }
    }
    const out = decodeFixtureBytes(fixture.stdout);
    if (options.stdout) await writeAll(argv, options.stdout, out);
    const stdout = options.stdout ? '' : out.toString('utf8');
    const okExitCodes = options.okExitCodes ?? [0];
    if (!okExitCodes.includes(fixture.exitCode)) {
      throw exitCodeError({ argv, exitCode: fixture.exitCode, stdout, stderr: fixture.stderr });
    }
    return { stdout, stderr: fixture.stderr, exitCode: fixture.exitCode };
  }
}

function tapReadable(source: Readable, chunks: Buffer[]): Readable {
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb(null, chunk);
    },
  });
  source.once('error', (e) => tap.destroy(e));
  return source.pipe(tap);
}

function tapWritable(dest: Writable, chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      if (dest.write(chunk)) {
        cb();
        return;
      }
      const done = (err?: Error): void => {
        dest.off('drain', onDrain);
        dest.off('error', done);
        dest.off('close', onClose);
        cb(err);
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(new Error('the output stream was closed'));
      dest.once('drain', onDrain);
      dest.once('error', done);
      dest.once('close', onClose);
    },
  });
}

async function readAll(argv: readonly string[], stdin: string | Uint8Array | Readable): Promise<Buffer> {
  if (typeof stdin === 'string' || stdin instanceof Uint8Array) return Buffer.from(stdin);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  } catch (e) {
    if (isStorageError(e)) throw e;
    throw new CommandError(`command '${describeArgv(argv)}' stopped: its input stream failed`, {
      argv: [...argv],
      exitCode: undefined,
      stderr: '',
      cause: e,
    });
  }
  return Buffer.concat(chunks);
}

async function writeAll(argv: readonly string[], dest: Writable, bytes: Buffer): Promise<void> {
  const step = 65_536;
  for (let at = 0; at < bytes.length; at += step) {
    if (dest.destroyed) {
      throw new CommandError(`command '${describeArgv(argv)}' stopped: its output stream was closed`, {
        argv: [...argv],
        exitCode: undefined,
        stderr: '',
      });
    }
    if (!dest.write(bytes.subarray(at, at + step))) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          dest.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          dest.off('drain', onDrain);
          reject(new CommandError(`command '${describeArgv(argv)}' stopped: its output stream was closed`, {
            argv: [...argv],
            exitCode: undefined,
            stderr: '',
          }));
        };
        dest.once('drain', onDrain);
        dest.once('close', onClose);
      });
    }
  }
}

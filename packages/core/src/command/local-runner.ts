/**
 * The runner for commands on this host, on top of execa (imported on the first command, so
 * that importing the core stays cheap for programs that run none).
 *
 * @module
 */
import type { Readable } from 'node:stream';
import { CommandError, isStorageError } from '../errors.js';
import {
  abortedError,
  assertArgv,
  describeArgv,
  exitCodeError,
  shortenOutput,
  spawnError,
  timeoutError,
} from './failure.js';
import { findSetpriv, parentDeathArgv, setprivExecFailure } from './parent-death.js';
import type { CommandResult, CommandRunner, RunOptions } from './runner.js';
import { BoundedText, feedInput, pipeWithoutEnd } from './streams.js';

/** Options of a {@link LocalRunner}. */
export interface LocalRunnerOptions {
  /**
   * Kill a command after this many milliseconds (code `TIMEOUT`) unless the call sets its own
   * {@link RunOptions.timeoutMs}. `0` means no limit.
   * @default 3_600_000 (one hour, Proxmox's worker default)
   */
  readonly timeoutMs?: number;
  /** Environment variables added to every command (after the process's own; `LC_ALL=C` wins). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Where to find programs, by the name plugins use in argv[0], e.g.
   * `{ 'qemu-img': '/usr/local/bin/qemu-img' }`. Names not listed are looked up on `PATH`.
   */
  readonly toolPaths?: Readonly<Record<string, string>>;
  /**
   * The most bytes of standard output captured as text; past it the command is killed and
   * fails. Bulk data goes through {@link RunOptions.stdout} instead and is never held.
   * @default 67_108_864 (64 MiB)
   */
  readonly maxOutputBytes?: number;
  /**
   * After a timeout or abort sends SIGTERM, wait this long before SIGKILL.
   * @default 2000
   */
  readonly killGraceMs?: number;
  /**
   * Start every command so that the kernel kills it when this process ends, even by SIGKILL
   * (when no handler of ours runs): through util-linux `setpriv --pdeathsig KILL --`, when a
   * `setpriv` that knows the option is found (looked up once, on `PATH` or at
   * `toolPaths.setpriv`). Without it commands run as they are. The signal is tied to the
   * thread that starts the command: a command started from a worker thread dies with that thread.
   * @default true
   */
  readonly dieWithParent?: boolean;
}

interface Outcome {
  failed: boolean;
  exitCode?: number | undefined;
  signal?: string | undefined;
  timedOut?: boolean;
  isCanceled?: boolean;
  isMaxBuffer?: boolean;
  code?: string | undefined;
  stdout?: unknown;
}

/**
 * Runs commands on this host. Never through a shell: argv goes to `execve` as it is, so no
 * argument is ever interpreted. Every command gets `LC_ALL=C` so that tool output parses the
 * same everywhere, standard input `/dev/null` unless {@link RunOptions.stdin} is given, and a
 * timeout. Commands die with this process, even when it is killed with SIGKILL (see
 * {@link LocalRunnerOptions.dieWithParent}), so that a crash never leaves a `qemu-img` working
 * on for nobody.
 *
 * Output given a stream ({@link RunOptions.stdout}) is piped with backpressure and never held
 * in memory; the stream is not ended, so a caller can write a header before and more after.
 *
 * @example
 * ```ts
 * const runner = new LocalRunner({ toolPaths: { 'qemu-img': '/usr/bin/qemu-img' } });
 * const { stdout } = await runner.run(['qemu-img', 'info', '--output=json', '/images/disk.qcow2']);
 * ```
 */
export class LocalRunner implements CommandRunner {
  /** Always `local`. */
  readonly description = 'local';
  readonly #timeoutMs: number;
  readonly #env: Readonly<Record<string, string>>;
  readonly #toolPaths: Readonly<Record<string, string>>;
  readonly #maxOutputBytes: number;
  readonly #killGraceMs: number;
  readonly #dieWithParent: boolean;

  /**
   * @param options - default timeout, extra environment, tool paths, output bound
   * @throws TypeError on a negative timeout or a tool path that is not absolute
   */
  constructor(options: LocalRunnerOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 3_600_000;
    this.#env = { ...options.env };
    this.#toolPaths = { ...options.toolPaths };
    this.#maxOutputBytes = options.maxOutputBytes ?? 64 * 1024 * 1024;
    this.#killGraceMs = options.killGraceMs ?? 2000;
    this.#dieWithParent = options.dieWithParent ?? true;
    if (!(this.#timeoutMs >= 0)) throw new TypeError('timeoutMs must be >= 0');
    for (const [name, path] of Object.entries(this.#toolPaths)) {
      if (!path.startsWith('/')) throw new TypeError(`toolPaths['${name}'] must be an absolute path`);
    }
  }

  /**
   * Runs one command to its end.
   *
   * @param argv - program first, then its arguments
   * @param options - stdin, stdout stream, timeout, signal, env, accepted exit codes
   * @returns captured stdout (empty when piped), stderr and the exit code
   * @throws {@link @stowage/core!index.CommandError | CommandError} `COMMAND_FAILED` on an exit code outside `okExitCodes`, a
   *   program that is not found (`details.notFound`), a failed input or output stream, or
   *   too much captured output; `TIMEOUT` when killed after the timeout; `ABORTED` when the
   *   signal was aborted; `INVALID_ARGUMENT` for an argument with a NUL character
   */
  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    assertArgv(argv);
    const { signal } = options;
    if (signal?.aborted) throw abortedError(argv, signal.reason);
    const program = this.#toolPaths[argv[0]!] ?? argv[0]!;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const stdin = options.stdin;
    const bytes = typeof stdin === 'string' || stdin instanceof Uint8Array ? stdin : undefined;
    const stream = stdin !== undefined && bytes === undefined ? (stdin as Readable) : undefined;
    const okExitCodes = options.okExitCodes ?? [0];
    const setpriv = this.#dieWithParent ? await findSetpriv(this.#toolPaths['setpriv'] ?? 'setpriv') : undefined;
    if (signal?.aborted) throw abortedError(argv, signal.reason);
    const [file, ...args] = setpriv ? parentDeathArgv(setpriv, [program, ...argv.slice(1)]) : [program, ...argv.slice(1)];

    const { execa } = await import('execa');
    const sub = execa(file!, args, {
      shell: false,
      env: { ...this.#env, ...options.env, LC_ALL: 'C' },
      extendEnv: true,
      ...(bytes !== undefined ? { input: bytes } : { stdin: stream ? 'pipe' : 'ignore' }),
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: { stdout: options.stdout === undefined, stderr: false },
      maxBuffer: { stdout: this.#maxOutputBytes },
      encoding: 'utf8',
      stripFinalNewline: false,
      reject: false,
      ...(timeoutMs > 0 ? { timeout: timeoutMs } : {}),
      ...(signal ? { cancelSignal: signal } : {}),
      forceKillAfterDelay: this.#killGraceMs,
    });

    const stderr = new BoundedText();
    sub.stderr?.setEncoding('utf8');
    sub.stderr?.on('data', (chunk: string) => stderr.push(chunk));

    let streamError: { which: 'input' | 'output'; error: unknown } | undefined;
    const fail = (which: 'input' | 'output', error: unknown): void => {
      streamError ??= { which, error };
      sub.kill('SIGKILL');
    };
    const detachInput = stream && sub.stdin ? feedInput(stream, sub.stdin, (e) => fail('input', e)) : undefined;
    const piped =
      options.stdout && sub.stdout
        ? pipeWithoutEnd(sub.stdout, options.stdout).catch((e: unknown) => fail('output', e))
        : undefined;

    let outcome: Outcome;
    try {
      outcome = (await sub) as unknown as Outcome;
      await piped;
    } finally {
      detachInput?.();
    }
    const notRun = setpriv ? setprivExecFailure(outcome.exitCode, stderr.text()) : undefined;
    if (notRun !== undefined) throw spawnError(argv, program, notRun);
    return this.#conclude(argv, program, outcome, stderr.text(), okExitCodes, timeoutMs, signal, streamError);
  }

  #conclude(
    argv: readonly string[],
    program: string,
    r: Outcome,
    stderr: string,
    okExitCodes: readonly number[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
    streamError: { which: 'input' | 'output'; error: unknown } | undefined,
  ): CommandResult {
    const stdout = typeof r.stdout === 'string' ? r.stdout : '';
    if (streamError) {
      // A failed input stream that already carries a stowage code (a truncated upload, say) is
      // the real story: keep it as it is.
      if (streamError.which === 'input' && isStorageError(streamError.error)) throw streamError.error;
      const msg = streamError.error instanceof Error ? streamError.error.message : String(streamError.error);
      throw new CommandError(
        `command '${describeArgv(argv)}' stopped: its ${streamError.which} stream failed: ${msg}`,
        { argv: [...argv], exitCode: r.exitCode, stderr: shortenOutput(stderr), cause: streamError.error },
      );
    }
    if (r.isCanceled) throw abortedError(argv, signal?.reason, stderr);
    if (r.timedOut) throw timeoutError(argv, timeoutMs, stderr);
    if (r.exitCode === undefined && r.signal === undefined) throw spawnError(argv, program, r.code, r);
    if (r.isMaxBuffer) {
      throw new CommandError(
        `command '${describeArgv(argv)}' wrote more than ${this.#maxOutputBytes} bytes to standard output`,
        { argv: [...argv], exitCode: r.exitCode, stderr: shortenOutput(stderr), details: { maxOutputBytes: this.#maxOutputBytes } },
      );
    }
    if (r.exitCode === undefined) {
      throw new CommandError(`command '${describeArgv(argv)}' was killed by ${r.signal}`, {
        argv: [...argv],
        exitCode: undefined,
        stderr: shortenOutput(stderr),
        stdout,
        ...(r.signal ? { signal: r.signal } : {}),
      });
    }
    if (!okExitCodes.includes(r.exitCode)) throw exitCodeError({ argv, exitCode: r.exitCode, stdout, stderr });
    return { stdout, stderr, exitCode: r.exitCode };
  }
}

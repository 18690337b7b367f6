/**
 * A runner that fails chosen commands on purpose, so that tests can prove a multi-step
 * operation cleans up after any step fails.
 *
 * @module
 */
import { CommandError } from '../errors.js';
import { assertArgv, describeArgv } from './failure.js';
import type { CommandResult, CommandRunner, RunOptions } from './runner.js';

/** Which commands a {@link FaultInjectingRunner} fails. */
export type FaultSelector = number | ((argv: readonly string[], index: number) => boolean);

/** Options of a {@link FaultInjectingRunner}. */
export interface FaultInjectingRunnerOptions {
  /**
   * The 1-based index of the command to fail, or a predicate called with each argv and its
   * 1-based index (every command it returns `true` for fails). `0` or omitted: fail none
   * (useful to count the commands of an operation first).
   */
  readonly failAt?: FaultSelector;
  /**
   * What to throw instead of the default {@link @stowage/core!index.CommandError | CommandError} (`COMMAND_FAILED`, exit code 1,
   * `details.injected: true`): an error, or a function making one for the failed argv.
   */
  readonly error?: Error | ((argv: readonly string[], index: number) => Error);
}

/**
 * Wraps a runner and fails the chosen command without running it; every other command runs
 * through the inner runner. Commands are counted from 1 since construction or the last
 * {@link FaultInjectingRunner.reset}.
 *
 * @example
 * ```ts
 * const faulty = new FaultInjectingRunner(new LocalRunner(), { failAt: 2 });
 * await faulty.run(['true']);  // runs
 * await faulty.run(['true']);  // throws CommandError COMMAND_FAILED, details.injected
 * ```
 */
export class FaultInjectingRunner implements CommandRunner {
  /** `faulty <inner description>`. */
  readonly description: string;
  /** Which commands fail; may be changed between runs. */
  failAt: FaultSelector;
  readonly #inner: CommandRunner;
  readonly #error: FaultInjectingRunnerOptions['error'];
  #commands: string[][] = [];
  #injected = 0;

  /**
   * @param inner - the runner for the commands that are not failed
   * @param options - which command to fail and with what
   */
  constructor(inner: CommandRunner, options: FaultInjectingRunnerOptions = {}) {
    this.#inner = inner;
    this.failAt = options.failAt ?? 0;
    this.#error = options.error;
    this.description = `faulty ${inner.description}`;
  }

  /** How many commands were asked for since the last reset, including failed ones. */
  get count(): number {
    return this.#commands.length;
  }

  /** How many commands were failed on purpose since the last reset. */
  get injected(): number {
    return this.#injected;
  }

  /** Every argv asked for since the last reset, in order. */
  get commands(): readonly (readonly string[])[] {
    return this.#commands;
  }

  /** Forgets the commands seen so far: the next command is number 1 again. */
  reset(): void {
    this.#commands = [];
    this.#injected = 0;
  }

  /**
   * Fails the command when it is the chosen one, else runs it through the inner runner.
   *
   * @param argv - program first, then its arguments
   * @param options - passed to the inner runner
   * @returns the inner runner's result
   * @throws {@link @stowage/core!index.CommandError | CommandError} `COMMAND_FAILED` (or the configured error) for the chosen
   *   command; whatever the inner runner throws otherwise
   */
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    assertArgv(argv);
    this.#commands.push([...argv]);
    const index = this.#commands.length;
    const fail = typeof this.failAt === 'number' ? this.failAt === index : this.failAt(argv, index);
    if (!fail) return this.#inner.run(argv, options);
    this.#injected++;
    const custom = typeof this.#error === 'function' ? this.#error(argv, index) : this.#error;
    return Promise.reject(
      custom ??
        new CommandError(`injected fault: command #${index} '${describeArgv(argv)}' failed on purpose`, {
          argv: [...argv],
          exitCode: 1,
          stderr: 'injected fault',
          details: { injected: true, index },
        }),
    );
  }
}

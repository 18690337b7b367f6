/**
 * A runner that fails chosen commands (and, when asked, chosen file-system calls) on purpose, so
 * that tests can prove a multi-step operation cleans up after any step fails.
 *
 * @module
 */
import { CommandError } from '../errors.js';
import { localFileSystem, type FileSystem } from '../file-system.js';
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
  /**
   * Count the calls of the runner's file system (`fs`, the plugin context's `ctx.fs`) as steps
   * too, each as an argv `['fs.<call>', ...paths]`: a chosen one fails with an `EIO` error
   * (`injected: true`) instead of reaching the inner runner's file system (or this machine's).
   * @default false
   */
  readonly fs?: boolean;
}

/**
 * Wraps a runner and fails the chosen command without running it; every other command runs
 * through the inner runner. With `options.fs`, the calls of its file system (`fs`, which the
 * manager puts into the plugin context as `ctx.fs`) are steps too, failed the same way. Steps are
 * counted from 1 since construction or the last {@link FaultInjectingRunner.reset}.
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
  /** The file system whose calls count as steps, with `options.fs`; the inner runner's otherwise. */
  readonly fs: FileSystem | undefined;
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
    this.fs = options.fs ? this.#faultyFs(inner.fs ?? localFileSystem) : inner.fs;
  }

  /** How many steps (commands, and file-system calls with `options.fs`) were taken since the last reset, including failed ones. */
  get count(): number {
    return this.#commands.length;
  }

  /** How many steps were failed on purpose since the last reset. */
  get injected(): number {
    return this.#injected;
  }

  /** Every step since the last reset, in order: an argv, or `['fs.<call>', ...paths]`. */
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
    const index = this.#step(argv);
    if (index === undefined) return this.#inner.run(argv, options);
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

  /** Counts a step; returns its index when it is to fail, else `undefined`. */
  #step(argv: readonly string[]): number | undefined {
    this.#commands.push([...argv]);
    const index = this.#commands.length;
    const fail = typeof this.failAt === 'number' ? this.failAt === index : this.failAt(argv, index);
    if (!fail) return undefined;
    this.#injected++;
    return index;
  }

  #faultyFs(inner: FileSystem): FileSystem {
    const step = <T>(call: keyof FileSystem, args: readonly unknown[], real: () => Promise<T>): Promise<T> => {
      const argv = [`fs.${call}`, ...args.filter((a): a is string => typeof a === 'string')];
      const index = this.#step(argv);
      if (index === undefined) return real();
      const path = argv[1];
      return Promise.reject(
        Object.assign(new Error(`injected fault: file-system call #${index} '${argv.join(' ')}' failed on purpose`), {
          code: 'EIO',
          errno: -5,
          syscall: call,
          path,
          injected: true,
        }),
      );
    };
    return {
      open: (p, flags, mode) => step('open', [p], () => inner.open(p, flags, mode)),
      rename: (from, to) => step('rename', [from, to], () => inner.rename(from, to)),
      link: (from, to) => step('link', [from, to], () => inner.link(from, to)),
      unlink: (p) => step('unlink', [p], () => inner.unlink(p)),
      mkdir: (p, mode) => step('mkdir', [p], () => inner.mkdir(p, mode)),
      rmdir: (p) => step('rmdir', [p], () => inner.rmdir(p)),
      chmod: (p, mode) => step('chmod', [p], () => inner.chmod(p, mode)),
      truncate: (p, length) => step('truncate', [p], () => inner.truncate(p, length)),
      sync: (p) => step('sync', [p], () => inner.sync(p)),
      stat: (p) => step('stat', [p], () => inner.stat(p)),
      lstat: (p) => step('lstat', [p], () => inner.lstat(p)),
      readdir: (p) => step('readdir', [p], () => inner.readdir(p)),
    };
  }
}

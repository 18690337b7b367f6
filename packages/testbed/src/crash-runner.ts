/**
 * A runner that stands for a process killed in the middle of an operation, for the flatten tests
 * of the plugins on the testbed: the commands before the chosen one run, the chosen one and all
 * after it never return (so no undo step runs either), and this process's owner token in every
 * argv is replaced by the token of a process that is dead (another boot), so `collectGarbage`
 * treats what was left as a killed owner's.
 *
 * @module
 */
import { currentOwner, formatOwner, type CommandResult, type CommandRunner, type RunOptions } from '@stowage/core/plugin';

/** The token written instead of this process's: same node, another boot, so `ownerState` says `dead`. */
export function deadOwnerToken(node: string): string {
  return `${node}:00000000:1:1`;
}

/**
 * Runs the first `stopAt - 1` commands through `inner`; from the `stopAt`-th on, nothing runs
 * and the call never settles, as when the process was killed right before that command.
 *
 * @example
 * ```ts
 * const crash = new StopAtRunner(runner, 4, 'localhost');
 * void plugin.volumeSnapshotFlatten(pluginContext({ config, runner: crash }), request); // abandoned
 * await crash.stopped; // the 4th command was reached
 * crash.abandon();
 * ```
 */
export class StopAtRunner implements CommandRunner {
  /** `stopped at <n> of <inner>`. */
  readonly description: string;
  /** Resolves when the `stopAt`-th command is reached. */
  readonly stopped: Promise<void>;
  #reached: () => void = () => undefined;
  readonly #running = new AbortController();
  #count = 0;
  readonly #own: string;
  readonly #dead: string;

  /**
   * @param inner - where the commands before the stop run
   * @param stopAt - the 1-based index of the first command that never runs
   * @param node - the node name of the plugin context (its owner tokens are rewritten)
   */
  constructor(
    readonly inner: CommandRunner,
    readonly stopAt: number,
    node: string,
  ) {
    this.description = `stopped at ${stopAt} of ${inner.description}`;
    this.stopped = new Promise((resolve) => (this.#reached = resolve));
    this.#own = formatOwner(currentOwner(node));
    this.#dead = deadOwnerToken(node);
  }

  /** How many commands were asked for so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Runs the command, or never returns from the `stopAt`-th on.
   *
   * @param argv - the command
   * @param options - passed on
   */
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    this.#count++;
    if (this.#count >= this.stopAt) {
      this.#reached();
      return new Promise<CommandResult>(() => undefined);
    }
    const signal = options?.signal ? AbortSignal.any([options.signal, this.#running.signal]) : this.#running.signal;
    return this.inner.run(
      argv.map((a) => a.split(this.#own).join(this.#dead)),
      { ...options, signal },
    );
  }

  /**
   * Stops the commands started before the stop that still run (one end of a pipe whose other
   * end never started), as the kill would have: call it once {@link StopAtRunner.stopped} resolved.
   */
  abandon(): void {
    this.#running.abort();
  }
}

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

/** One operation killed before each of its commands that change something, by {@link killBeforeEachStep}. */
export interface KillRounds<V> {
  /** Where the operation's commands run. */
  readonly runner: CommandRunner;
  /** The node name of the plugin context (see {@link StopAtRunner}). */
  readonly node: string;
  /** Makes the volume afresh (from a clean pool or dataset) and returns what it held. */
  prepare(): Promise<V>;
  /** Runs the operation through `runner`. */
  run(runner: CommandRunner): Promise<unknown>;
  /** Whether a command changes something: the commands a kill is tried before. */
  mutating(argv: readonly string[]): boolean;
  /** What runs once the operation is killed (the plugin's `collectGarbage`). */
  recover(): Promise<void>;
  /** Looks at the storage afterwards: `before` (as it was), `after` (as the finished operation leaves it), or what else it found. */
  observe(volume: V): Promise<string>;
}

/**
 * Runs the operation once to find its commands that change something, then, for each of them,
 * kills it right before that command ({@link StopAtRunner}), runs `recover` and checks that
 * what `observe` sees is as before or as after. A volume left as it was serves the next round;
 * it is made afresh after a round that left it flattened (or changed).
 *
 * @param rounds - the operation, how to make its volume and how to look at it
 * @returns `<command index>:<before|after>` for each round, in order
 * @throws Error when a stopped operation finished anyway, or a round left the storage neither as it was nor as after
 */
export async function killBeforeEachStep<V>(rounds: KillRounds<V>): Promise<string[]> {
  await rounds.prepare();
  const seen: (readonly string[])[] = [];
  await rounds.run({ description: rounds.runner.description, run: (argv, options) => (seen.push(argv), rounds.runner.run(argv, options)) });
  const steps = seen.flatMap((argv, i) => (rounds.mutating(argv) ? [i + 1] : []));
  const outcomes: string[] = [];
  let volume: V | undefined;
  for (const stopAt of steps) {
    volume ??= await rounds.prepare();
    const crash = new StopAtRunner(rounds.runner, stopAt, rounds.node);
    let finished = false;
    const running = rounds.run(crash).then(() => (finished = true));
    await Promise.race([crash.stopped, running]);
    crash.abandon();
    if (finished) throw new Error(`the operation finished although it was stopped before command ${stopAt}`);
    await rounds.recover();
    const state = await rounds.observe(volume);
    if (state !== 'before' && state !== 'after') throw new Error(`killed before command ${stopAt} (${seen[stopAt - 1]!.join(' ')}), the storage is neither as it was nor as after: ${state}`);
    outcomes.push(`${stopAt}:${state}`);
    if (state === 'after') volume = undefined;
  }
  return outcomes;
}

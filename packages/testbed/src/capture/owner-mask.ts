/**
 * Owner tokens in captured commands. A plugin marks unfinished volumes with the token of the
 * process that writes them (node, boot, pid, start time), which differs from run to run; the
 * fixtures hold a fixed stand-in instead, so that a capture replays in any later process.
 *
 * @module
 */
import { currentOwner, formatOwner, type CommandResult, type CommandRunner, type RunOptions } from '@stowage/core/plugin';

/**
 * The owner token the fixtures hold in place of the capturing process's: node `test`, boot
 * `00000000`, pid 1 — an owner that is dead for every process that replays them (another boot).
 */
export const FIXTURE_OWNER = 'test:00000000:1:1';

/**
 * A runner that puts {@link FIXTURE_OWNER} in place of this process's owner token in every
 * argument it passes on, and this process's token in place of {@link FIXTURE_OWNER} in the
 * standard output and error it gets back. Put it between the plugin and a `RecordingRunner`
 * (capture) or a `ReplayRunner` (replay).
 *
 * @example
 * ```ts
 * const runner = new OwnerMaskingRunner(new RecordingRunner(testbedRunner()), 'test');
 * ```
 */
export class OwnerMaskingRunner implements CommandRunner {
  /** What the runner is, for messages. */
  readonly description: string;
  readonly #inner: CommandRunner;
  readonly #own: string;

  /**
   * @param inner - the runner commands go to
   * @param node - the node name of the plugin contexts (their owner tokens name it)
   */
  constructor(inner: CommandRunner, node: string) {
    this.#inner = inner;
    this.#own = formatOwner(currentOwner(node));
    this.description = inner.description;
  }

  /**
   * Runs a command with the owner token masked.
   *
   * @param argv - the command
   * @param options - run options
   * @returns the result, with the token put back
   */
  async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    const own = this.#own;
    const result = await this.#inner.run(
      argv.map((a) => a.replaceAll(own, FIXTURE_OWNER)),
      options,
    );
    return { ...result, stdout: result.stdout.replaceAll(FIXTURE_OWNER, own), stderr: result.stderr.replaceAll(FIXTURE_OWNER, own) };
  }
}

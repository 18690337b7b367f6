/**
 * Giving a failed command a more telling code, from what it wrote to standard error.
 *
 * @module
 */
import { CommandError, isCommandError, type StorageErrorCode } from '../errors.js';

/** A rule of a {@link FailureClassifier}: when stderr matches the pattern, the failure gets the code. */
export type StderrRule = readonly [pattern: RegExp, code: StorageErrorCode];

/** A plugin's stderr rules and what it does with them; made by {@link defineFailureClassifier}. */
export interface FailureClassifier {
  /** The rules, first match wins. */
  readonly rules: readonly StderrRule[];
  /**
   * The code the first matching rule gives a standard error, or `undefined` when none matches.
   *
   * @param stderr - what the command wrote to standard error
   */
  codeOf(stderr: string): StorageErrorCode | undefined;
  /**
   * Re-codes a `COMMAND_FAILED` {@link @stowage/core!index.CommandError | CommandError} by the
   * first rule whose pattern matches its stderr, keeping argv, exit code, output, details and
   * the original as `cause`. Anything else (another code, not a command error, no rule
   * matching) is returned unchanged.
   *
   * @param e - a caught value
   * @returns the value to throw
   */
  classify(e: unknown): unknown;
}

/**
 * Defines how a plugin reads its tools' failures: stderr patterns and the stable codes they
 * mean. One definition per plugin, used by its single command entry point.
 *
 * @param rules - patterns and codes, first match wins
 * @returns the classifier
 * @example
 * ```ts
 * const btrfsFailures = defineFailureClassifier([[/No space left/i, 'NO_SPACE'], [/File exists/i, 'ALREADY_EXISTS']]);
 * try {
 *   await ctx.run(argv);
 * } catch (e) {
 *   throw btrfsFailures.classify(e);
 * }
 * ```
 */
export function defineFailureClassifier(rules: readonly StderrRule[]): FailureClassifier {
  const codeOf = (stderr: string): StorageErrorCode | undefined => rules.find(([pattern]) => pattern.test(stderr))?.[1];
  return {
    rules,
    codeOf,
    classify(e: unknown): unknown {
      if (!isCommandError(e) || e.code !== 'COMMAND_FAILED') return e;
      const code = codeOf(e.stderr);
      if (code === undefined) return e;
      return new CommandError(e.message, { argv: e.argv, exitCode: e.exitCode, stderr: e.stderr, stdout: e.stdout, signal: e.signal, details: e.details, cause: e }, code);
    },
  };
}

/**
 * Re-codes a failed command by stderr rules, as {@link FailureClassifier.classify} of
 * `defineFailureClassifier(rules)` does; for a one-off use.
 *
 * @param e - a caught value
 * @param rules - patterns and codes, first match wins
 * @returns the value to throw
 * @example
 * ```ts
 * try {
 *   await ctx.run(argv);
 * } catch (e) {
 *   throw classifyCommandError(e, [[/No space left/i, 'NO_SPACE'], [/File exists/i, 'ALREADY_EXISTS']]);
 * }
 * ```
 */
export function classifyCommandError(e: unknown, rules: readonly StderrRule[]): unknown {
  return defineFailureClassifier(rules).classify(e);
}

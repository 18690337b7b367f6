/**
 * Giving a failed command a more telling code, from what it wrote to standard error.
 *
 * @module
 */
import { CommandError, isCommandError, type StorageErrorCode } from '../errors.js';

/**
 * A rule of a {@link FailureClassifier}: when stderr matches the pattern, the failure gets the
 * code, and, when the rule names one, `details.failure` the failure's name (`'pool-full'`, say:
 * finer than the code, for the plugin's own decisions and for people).
 *
 * @typeParam F - the plugin's failure names
 */
export type StderrRule<F extends string = string> = readonly [pattern: RegExp, code: StorageErrorCode, failure?: F];

/** Options of {@link defineFailureClassifier}. */
export interface FailureClassifierOptions {
  /**
   * The message of a re-coded error, made from the failed command (its tool and the line of
   * stderr that says why, say: see {@link firstStderrLine}).
   * @default the command error's own message
   */
  readonly message?: (error: CommandError) => string;
  /** More facts a tool's stderr gives for `details` (the datasets a message lists, say). */
  readonly facts?: (stderr: string) => Readonly<Record<string, unknown>>;
}

/** A plugin's stderr rules and what it does with them; made by {@link defineFailureClassifier}. */
export interface FailureClassifier<F extends string = string> {
  /** The rules, first match wins. */
  readonly rules: readonly StderrRule<F>[];
  /**
   * The code the first matching rule gives a standard error, or `undefined` when none matches.
   *
   * @param stderr - what the command wrote to standard error
   */
  codeOf(stderr: string): StorageErrorCode | undefined;
  /**
   * The failure name of the first matching rule, or `undefined` when none matches or that rule
   * names none.
   *
   * @param stderr - what the command wrote to standard error
   */
  failureIn(stderr: string): F | undefined;
  /**
   * The failure name an error carries: the `details.failure` this classifier gave it, else what
   * its stderr matches; `undefined` for anything that is not a command error.
   *
   * @param e - a caught value
   */
  failureOf(e: unknown): F | undefined;
  /**
   * Re-codes a `COMMAND_FAILED` {@link @stowage/core!index.CommandError | CommandError} by the
   * first rule whose pattern matches its stderr, keeping argv, exit code, output and the original
   * as `cause`; its details are kept, with the rule's failure name, the {@link FailureClassifierOptions.facts}
   * and `details` added. An error this classifier re-coded before is re-coded again the same way
   * (to add `details`). When no rule matches, `details` (if any) are added to the error, whose
   * code and message stay. Anything else (another code, not a command error) is returned unchanged.
   *
   * @param e - a caught value
   * @param details - facts to add to the error's `details` (the storage, the volume, ...)
   * @returns the value to throw
   */
  classify(e: unknown, details?: Readonly<Record<string, unknown>>): unknown;
}

/**
 * Defines how a plugin reads its tools' failures: stderr patterns and the stable codes they
 * mean. One definition per plugin, used by its single command entry point.
 *
 * @param rules - patterns, codes and failure names, first match wins
 * @param options - the message and further facts of a re-coded error
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
export function defineFailureClassifier<F extends string = string>(rules: readonly StderrRule<F>[], options: FailureClassifierOptions = {}): FailureClassifier<F> {
  const ruleOf = (stderr: string): StderrRule<F> | undefined => rules.find(([pattern]) => pattern.test(stderr));
  const names = new Set<string>(rules.flatMap(([, , failure]) => (failure === undefined ? [] : [failure])));
  const given = (e: CommandError): F | undefined => {
    const failure = e.details['failure'];
    return typeof failure === 'string' && names.has(failure) ? (failure as F) : undefined;
  };
  const failureOf = (e: unknown): F | undefined => (isCommandError(e) ? (given(e) ?? ruleOf(e.stderr)?.[2]) : undefined);
  return {
    rules,
    codeOf: (stderr) => ruleOf(stderr)?.[1],
    failureIn: (stderr) => ruleOf(stderr)?.[2],
    failureOf,
    classify(e: unknown, details: Readonly<Record<string, unknown>> = {}): unknown {
      if (!isCommandError(e) || (e.code !== 'COMMAND_FAILED' && given(e) === undefined)) return e;
      const rule = ruleOf(e.stderr);
      if (rule === undefined) return Object.keys(details).length === 0 ? e : recode(e, e.code, e.message, { ...e.details, ...details });
      const [, code, failure] = rule;
      const facts = options.facts?.(e.stderr) ?? {};
      const message = options.message?.(e) ?? e.message;
      return recode(e, code, message, { ...e.details, ...(failure === undefined ? {} : { failure }), ...facts, ...details });
    },
  };
}

function recode(e: CommandError, code: StorageErrorCode, message: string, details: Readonly<Record<string, unknown>>): CommandError {
  return new CommandError(message, { argv: e.argv, exitCode: e.exitCode, stderr: e.stderr, stdout: e.stdout, signal: e.signal, details, cause: e }, code);
}

/**
 * The line of a tool's standard error that says what went wrong: the first one, trimmed, that is
 * not empty and not a warning; `failed` when there is none. For the messages of re-coded errors.
 *
 * @param stderr - what the command wrote to standard error
 * @param warning - the lines to pass over
 * @returns the line
 * @example
 * ```ts
 * firstStderrLine('  WARNING: x\n  Volume group "pve" not found\n', /^WARNING:/); // 'Volume group "pve" not found'
 * ```
 */
export function firstStderrLine(stderr: string, warning: RegExp): string {
  return (
    stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !warning.test(l)) ?? 'failed'
  );
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

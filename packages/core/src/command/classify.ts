/**
 * Giving a failed command a more telling code, from what it wrote to standard error.
 *
 * @module
 */
import { CommandError, isCommandError, type StorageErrorCode } from '../errors.js';

/** A rule of {@link classifyCommandError}: when stderr matches the pattern, the failure gets the code. */
export type StderrRule = readonly [pattern: RegExp, code: StorageErrorCode];

/**
 * Re-codes a `COMMAND_FAILED` {@link @stowage/core!index.CommandError | CommandError} by the first rule whose pattern matches its
 * stderr (`No space left on device` -> `NO_SPACE`, ...), keeping argv, exit code, output and
 * the original as `cause`. Anything else (another code, not a command error, no rule matching)
 * is returned unchanged.
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
  if (!isCommandError(e) || e.code !== 'COMMAND_FAILED') return e;
  const code = rules.find(([pattern]) => pattern.test(e.stderr))?.[1];
  if (code === undefined) return e;
  return new CommandError(e.message, { argv: e.argv, exitCode: e.exitCode, stderr: e.stderr, stdout: e.stdout, signal: e.signal, details: e.details, cause: e }, code);
}

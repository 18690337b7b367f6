/**
 * The errors a command run ends with, built in one place so that every runner (local, ssh,
 * replay, fault-injecting) fails in the same shape: same code, same details, same message form.
 *
 * @module
 */
import { CommandError } from '../errors.js';

/** How much of a command's standard error is kept in a {@link @stowage/core!index.CommandError | CommandError} (characters). */
export const STDERR_LIMIT = 4096;

/**
 * Trims a command's output and shortens it to about `limit` characters, keeping its beginning
 * and its end (where tools print the actual error) and noting how much was left out.
 *
 * @param text - raw output
 * @param limit - the most characters kept
 * @returns the trimmed, possibly shortened text
 * @example
 * ```ts
 * shortenOutput('  error: no space\n'); // 'error: no space'
 * ```
 */
export function shortenOutput(text: string, limit: number = STDERR_LIMIT): string {
  const trimmed = text.trim();
  if (trimmed.length <= limit) return trimmed;
  const head = Math.floor(limit / 4);
  const tail = limit - head;
  const omitted = trimmed.length - head - tail;
  return `${trimmed.slice(0, head)}\n[... ${omitted} characters left out ...]\n${trimmed.slice(-tail)}`;
}

/**
 * Renders an argv for a message: arguments with spaces or quotes are JSON-quoted, and the whole
 * is shortened to about 300 characters. For people only; never parsed.
 *
 * @param argv - program first, then its arguments
 * @returns a one-line rendering
 */
export function describeArgv(argv: readonly string[]): string {
  const text = argv.map((a) => (a === '' || /[\s"'\\]/.test(a) ? JSON.stringify(a) : a)).join(' ');
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

function lastLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  return lines.at(-1)?.trim() ?? '';
}

/** What a finished command produced, for {@link exitCodeError}. */
export interface ExitFacts {
  /** The argv that was run. */
  readonly argv: readonly string[];
  /** Its exit code. */
  readonly exitCode: number;
  /** Its standard output when captured, else `''`. */
  readonly stdout?: string;
  /** Its standard error (raw; trimmed and shortened here). */
  readonly stderr: string;
}

/**
 * The error of a command that ended with an exit code it was not allowed to end with.
 *
 * @param facts - argv, exit code, output
 * @returns a {@link @stowage/core!index.CommandError | CommandError} with code `COMMAND_FAILED`, the exit code, and stderr
 *   trimmed and shortened to {@link STDERR_LIMIT}
 */
export function exitCodeError(facts: ExitFacts): CommandError {
  const stderr = shortenOutput(facts.stderr);
  const last = lastLine(stderr);
  return new CommandError(
    `command '${describeArgv(facts.argv)}' failed with exit code ${facts.exitCode}${last ? `: ${last}` : ''}`,
    { argv: [...facts.argv], exitCode: facts.exitCode, stderr, stdout: facts.stdout ?? '' },
  );
}

/**
 * The error of a command whose program could not be started.
 *
 * @param argv - the argv that was asked for
 * @param program - the program path actually tried (after tool-path mapping)
 * @param reason - `ENOENT` (no such program) or another spawn error code
 * @param cause - the underlying error
 * @returns a {@link @stowage/core!index.CommandError | CommandError} with code `COMMAND_FAILED`; `details.notFound` is `true` for `ENOENT`
 */
export function spawnError(argv: readonly string[], program: string, reason: string | undefined, cause?: unknown): CommandError {
  const notFound = reason === 'ENOENT';
  const message = notFound
    ? `program '${program}' not found: is it installed and on PATH (or set in toolPaths)?`
    : `program '${program}' could not be started (${reason ?? 'unknown error'})`;
  return new CommandError(message, {
    argv: [...argv],
    exitCode: undefined,
    stderr: '',
    cause,
    details: { notFound, program, ...(reason ? { reason } : {}) },
  });
}

/**
 * The error of a command killed because it ran longer than allowed.
 *
 * @param argv - the argv that was run
 * @param timeoutMs - the limit that was exceeded
 * @param stderr - what it wrote to stderr before being killed
 * @returns a {@link @stowage/core!index.CommandError | CommandError} with code `TIMEOUT` and `details.timeoutMs`
 */
export function timeoutError(argv: readonly string[], timeoutMs: number, stderr = ''): CommandError {
  return new CommandError(
    `command '${describeArgv(argv)}' timed out after ${timeoutMs} ms`,
    { argv: [...argv], exitCode: undefined, stderr: shortenOutput(stderr), details: { timeoutMs } },
    'TIMEOUT',
  );
}

/**
 * The error of a command stopped (or never started) because its `AbortSignal` was aborted.
 *
 * @param argv - the argv that was asked for
 * @param reason - the signal's reason, kept as `cause`
 * @param stderr - what it wrote to stderr before being killed
 * @returns a {@link @stowage/core!index.CommandError | CommandError} with code `ABORTED`
 */
export function abortedError(argv: readonly string[], reason?: unknown, stderr = ''): CommandError {
  return new CommandError(
    `command '${describeArgv(argv)}' was aborted`,
    { argv: [...argv], exitCode: undefined, stderr: shortenOutput(stderr), cause: reason },
    'ABORTED',
  );
}

/**
 * Checks an argv before it is run: a non-empty array of strings without NUL characters.
 *
 * @param argv - the argv to check
 * @throws TypeError when argv is not a non-empty array of strings (a programming error)
 * @throws {@link @stowage/core!index.CommandError | CommandError} `INVALID_ARGUMENT` when an argument holds a NUL character
 */
export function assertArgv(argv: readonly string[]): void {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string')) {
    throw new TypeError('argv must be a non-empty array of strings');
  }
  if (argv[0] === '') throw new TypeError('argv[0] (the program) must not be empty');
  if (argv.some((a) => a.includes('\0'))) {
    throw new CommandError(
      'an argument holds a NUL character',
      { argv: argv.map((a) => a.replaceAll('\0', '\\0')), exitCode: undefined, stderr: '' },
      'INVALID_ARGUMENT',
    );
  }
}

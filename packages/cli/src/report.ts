/**
 * How a failure ends the command: its exit status, and its message on standard error (as JSON
 * with `--json`). Loaded only when something failed.
 *
 * @module
 */
import { isCommandError, isStorageError } from '@stowage/core';
import { EXIT_CODES, EXIT_UNEXPECTED } from './exit-codes.js';
import { nextStep } from './next-step.js';
import type { CliIO } from './verb.js';

/**
 * The exit status for a thrown value: the code's number for a {@link @stowage/core!index.StorageError | StorageError},
 * {@link EXIT_UNEXPECTED} for anything else.
 *
 * @param error - what was thrown
 */
export function exitCodeFor(error: unknown): number {
  return isStorageError(error) ? (EXIT_CODES[error.code] ?? EXIT_UNEXPECTED) : EXIT_UNEXPECTED;
}

/**
 * Prints an error to standard error: `stowage: <message> [<code>]` with the lists and the failed
 * command that belong to it and the next step ({@link nextStep}), or one JSON line
 * `{"error": {...}}` with `--json`.
 *
 * @param io - where to print
 * @param error - what was thrown
 * @param json - `true` for `--json`
 */
export function reportError(io: CliIO, error: unknown, json: boolean): void {
  const write = (text: string): void => void io.stderr.write(text);
  if (isStorageError(error)) {
    if (json) {
      write(JSON.stringify({ error: error.toJSON() }) + '\n');
      return;
    }
    const lines = [`stowage: ${error.message} [${error.code}]`];
    for (const key of ['clones', 'blockers']) {
      const list = error.details[key];
      if (Array.isArray(list) && list.length > 0) lines.push(`  ${key}: ${list.join(', ')}`);
    }
    const next = nextStep(error);
    if (next !== undefined) lines.push(`  next: ${next}`);
    if (isCommandError(error)) {
      lines.push(`  command: ${error.argv.join(' ')}`);
      if (error.stderr) lines.push(`  stderr: ${error.stderr.trim().split('\n').join('\n          ')}`);
    }
    write(lines.join('\n') + '\n');
    return;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  write(json ? JSON.stringify({ error: { code: 'UNEXPECTED', message: String(error instanceof Error ? error.message : error) } }) + '\n' : `stowage: unexpected error: ${text}\n`);
}

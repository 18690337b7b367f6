/**
 * Quoting for a POSIX shell, used by the ssh runner: ssh hands the remote side one command
 * string, which the remote user's shell splits again, so each argument must arrive as exactly
 * one word with exactly its bytes.
 *
 * @module
 */
import { CommandError } from '../errors.js';

/**
 * Quotes one argument for a POSIX shell (`sh`, `dash`, `bash`, `ksh`, `zsh` in sh mode): the
 * result is a single word that the shell turns back into exactly `arg`, with no expansion of
 * any kind. The argument is put in single quotes, inside which a shell interprets nothing;
 * each `'` in it becomes `'\''` (close the quotes, an escaped quote, reopen). The empty string
 * becomes `''`. Newlines, tabs, `$`, backquotes, globs and non-ASCII pass through literally.
 * Pure.
 *
 * @param arg - the argument (must not contain NUL, which no shell word can hold)
 * @returns the quoted word
 * @throws TypeError when `arg` contains a NUL character
 * @example
 * ```ts
 * quoteShellArg("it's");   // 'it'\''s'
 * quoteShellArg('');       // ''
 * quoteShellArg('$(id)');  // '$(id)'
 * ```
 */
export function quoteShellArg(arg: string): string {
  if (arg.includes('\0')) throw new TypeError('a shell argument cannot contain a NUL character');
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * Builds the command string for a remote POSIX shell: `exec env LC_ALL=C [NAME=value...]
 * program args...`, every word quoted with {@link quoteShellArg}. `exec` spares a shell
 * process; `env` sets the variables (so the remote locale is C whatever the login sets) and
 * runs the program found on the remote `PATH`. Pure.
 *
 * @param argv - program first, then its arguments
 * @param env - extra variables for the command (names must be shell variable names)
 * @returns the command string to hand to `ssh`
 * @throws {@link @stowage/core!index.CommandError | CommandError} `INVALID_ARGUMENT` when the program name is empty, starts with
 *   `-` or contains `=` (`env` would take it for an option or a variable), when a variable
 *   name is not `[A-Za-z_][A-Za-z0-9_]*`, or when any word contains a NUL character
 * @example
 * ```ts
 * remoteCommand(['lvs', '--options', 'lv_name,lv_size']);
 * // "exec env 'LC_ALL=C' 'lvs' '--options' 'lv_name,lv_size'"
 * ```
 */
export function remoteCommand(argv: readonly string[], env: Readonly<Record<string, string>> = {}): string {
  const invalid = (message: string): CommandError =>
    new CommandError(message, { argv: argv.map((a) => a.replaceAll('\0', '\\0')), exitCode: undefined, stderr: '' }, 'INVALID_ARGUMENT');
  const program = argv[0];
  if (program === undefined || program === '') throw invalid('the program name is empty');
  if (program.startsWith('-') || program.includes('=')) {
    throw invalid(`program name '${program}' cannot be run remotely: it starts with '-' or contains '='`);
  }
  const assignments = ['LC_ALL=C'];
  for (const [name, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw invalid(`'${name}' is not a valid environment variable name`);
    if (name !== 'LC_ALL') assignments.push(`${name}=${value}`);
  }
  const words = [...assignments, ...argv];
  if (words.some((w) => w.includes('\0'))) throw invalid('an argument holds a NUL character');
  return ['exec', 'env', ...words.map(quoteShellArg)].join(' ');
}

/**
 * Running `btrfs` through the context's runner, with its failures classified.
 *
 * @module
 */
import { CommandError, isCommandError, type CommandResult, type PluginContext, type StorageErrorCode } from '@stowage/core';
import type { BtrfsConfig } from './config.js';

const CLASSIFY: ReadonlyArray<readonly [RegExp, StorageErrorCode]> = [
  [/No space left on device/i, 'NO_SPACE'],
  [/File exists/i, 'ALREADY_EXISTS'],
  [/Read-only file system|Operation not permitted|Permission denied/i, 'PERMISSION_DENIED'],
  [/Device or resource busy/i, 'BUSY'],
  [/No such file or directory|cannot access/i, 'NOT_FOUND'],
  [/not a btrfs filesystem|Not a Btrfs/i, 'UNAVAILABLE'],
];

/**
 * Runs a `btrfs` command. A failure stays a {@link CommandError} (argv, exit code and stderr kept)
 * but gets a more telling code when its stderr says why: `NO_SPACE`, `ALREADY_EXISTS`,
 * `PERMISSION_DENIED`, `BUSY`, `NOT_FOUND`, `UNAVAILABLE`.
 *
 * @param ctx - the operation's context
 * @param argv - from one of the builders in `commands.ts`
 */
export async function runBtrfs(ctx: PluginContext<BtrfsConfig>, argv: readonly string[]): Promise<CommandResult> {
  try {
    return await ctx.run(argv);
  } catch (e) {
    if (!isCommandError(e) || e.code !== 'COMMAND_FAILED') throw e;
    const code = CLASSIFY.find(([re]) => re.test(e.stderr))?.[1];
    if (!code) throw e;
    throw new CommandError(e.message, { argv: e.argv, exitCode: e.exitCode, stderr: e.stderr, stdout: e.stdout, cause: e }, code);
  }
}

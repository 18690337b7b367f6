/**
 * Running `btrfs` through the context's runner, with its failures classified.
 *
 * @module
 */
import { defineFailureClassifier, type CommandResult, type PluginContext } from '@stowage/core/plugin';
import type { BtrfsConfig } from './config.js';

/** What `btrfs` says on stderr, and the code that means. */
export const btrfsFailures = defineFailureClassifier([
  [/No space left on device/i, 'NO_SPACE'],
  [/File exists/i, 'ALREADY_EXISTS'],
  [/Read-only file system|Operation not permitted|Permission denied/i, 'PERMISSION_DENIED'],
  [/Device or resource busy/i, 'BUSY'],
  [/No such file or directory|cannot access/i, 'NOT_FOUND'],
  [/not a btrfs filesystem|Not a Btrfs/i, 'UNAVAILABLE'],
]);

/**
 * Runs a `btrfs` command. A failure stays a `CommandError` (argv, exit code and stderr kept)
 * but gets a more telling code when its stderr says why (see {@link btrfsFailures}).
 *
 * @param ctx - the operation's context
 * @param argv - from one of the builders in `commands.ts`
 */
export async function runBtrfs(ctx: PluginContext<BtrfsConfig>, argv: readonly string[]): Promise<CommandResult> {
  try {
    return await ctx.run(argv);
  } catch (e) {
    throw btrfsFailures.classify(e);
  }
}

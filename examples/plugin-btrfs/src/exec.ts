/**
 * The context every `btrfs` operation gets, and running `btrfs` through its runner with the
 * failures classified.
 *
 * @module
 */
import type { CommandResult, PluginContext } from '@stowage/core/plugin';
import type { BtrfsConfig } from './config.js';
import { btrfsFailures } from './errors.js';

/** The context every `btrfs` operation gets. */
export type BtrfsContext = PluginContext<BtrfsConfig>;

/**
 * Runs a `btrfs` command. A failure stays a `CommandError` (argv, exit code and stderr kept)
 * but gets a more telling code when its stderr says why (see {@link btrfsFailures}).
 *
 * @param ctx - the operation's context
 * @param argv - from one of the builders in `commands.ts`
 */
export async function runBtrfs(ctx: BtrfsContext, argv: readonly string[]): Promise<CommandResult> {
  try {
    return await ctx.run(argv);
  } catch (e) {
    throw btrfsFailures.classify(e);
  }
}

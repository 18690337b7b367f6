/**
 * Volumes that are not whole yet. A new volume is made as a hidden subvolume next to where it
 * will live, `.vm-100-disk-0.tmp-<owner token>`: no listing shows it, the free-name search and
 * every name check count it, and it is renamed into place (one atomic `rename`) only once its
 * data is complete. So a process killed mid-import leaves a hidden subvolume, never a volume
 * that looks whole; {@link collectUnfinished} removes those whose owner is dead. A failed
 * operation removes its own subvolume only if the subvolume id there is still the one it made.
 *
 * @module
 */
import { lstat, readdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { currentOwner, errnoOf, formatOwner, fsError, ownerState, type PluginContext } from '@stowage/core/plugin';
import { type GarbageItem, type GarbageReport, StorageError } from '@stowage/core';
import { subvolumeCreateArgs, subvolumeDeleteArgs } from './commands.js';
import type { BtrfsConfig } from './config.js';
import { parseUnfinishedName, unfinishedName, vmDir } from './names.js';
import { runBtrfs } from './run.js';
import { currentSubvolumeId, listVmids } from './subvolumes.js';

/** A hidden subvolume this operation made, by path and identity. */
export interface UnfinishedSubvolume {
  /** Where it is. */
  readonly path: string;
  /** Its btrfs subvolume id (never reused on a filesystem). */
  readonly id: number;
}

/**
 * Makes the hidden subvolume a new volume is built in, marked with this process's owner token.
 *
 * @param ctx - the operation's context
 * @param subvol - where the volume will live once whole
 */
export async function createUnfinished(ctx: PluginContext<BtrfsConfig>, subvol: string): Promise<UnfinishedSubvolume> {
  const path = join(dirname(subvol), unfinishedName(basename(subvol), formatOwner(currentOwner(ctx.node))));
  await runBtrfs(ctx, subvolumeCreateArgs(path));
  try {
    return { path, id: await currentSubvolumeId(ctx, path) };
  } catch (e) {
    // nobody else uses this name (it carries our owner token): remove it by path
    await runBtrfs(ctx, subvolumeDeleteArgs([path])).catch(() => undefined);
    throw e;
  }
}

/**
 * Moves a whole volume into place with one `rename`, refusing when something took the name.
 *
 * @param unfinished - the hidden subvolume
 * @param subvol - the volume's path
 * @throws {@link StorageError} `ALREADY_EXISTS`
 */
export async function publish(unfinished: UnfinishedSubvolume, subvol: string): Promise<void> {
  const taken = await lstat(subvol).then(
    () => true,
    (e: unknown) => errnoOf(e) !== 'ENOENT',
  );
  if (taken) throw new StorageError('ALREADY_EXISTS', `'${basename(subvol)}' appeared while it was being made`, { details: { path: subvol } });
  await rename(unfinished.path, subvol).catch((e: unknown) => {
    throw fsError(e, `cannot move '${basename(unfinished.path)}' into place`, { path: subvol });
  });
}

/**
 * Deletes a hidden subvolume if it is still the one made (same subvolume id). Logs, never
 * throws: the caller is already failing, or collecting garbage.
 *
 * @param ctx - the operation's context
 * @param unfinished - path and id
 * @returns whether it was deleted
 */
export async function discard(ctx: PluginContext<BtrfsConfig>, unfinished: UnfinishedSubvolume): Promise<boolean> {
  try {
    if ((await currentSubvolumeId(ctx, unfinished.path)) !== unfinished.id) {
      ctx.log.warn(`'${unfinished.path}' is another subvolume now; left alone`, { id: unfinished.id });
      return false;
    }
    await runBtrfs(ctx, subvolumeDeleteArgs([unfinished.path]));
    return true;
  } catch (e) {
    ctx.log.warn(`could not remove '${unfinished.path}'`, { error: String(e) });
    return false;
  }
}

/**
 * Removes the hidden subvolumes of unfinished volumes whose owner is dead, each only if it
 * still has the subvolume id it was found with; reports those of live owners and of other nodes.
 *
 * @param ctx - the operation's context
 * @param dryRun - report only
 * @see StoragePlugin.collectGarbage
 */
export async function collectUnfinished(ctx: PluginContext<BtrfsConfig>, dryRun: boolean): Promise<GarbageReport> {
  const removed: GarbageItem[] = [];
  const kept: GarbageItem[] = [];
  for (const vmid of await listVmids(ctx.config.path)) {
    const dir = vmDir(ctx.config.path, vmid);
    for (const entry of await readdir(dir).catch(() => [])) {
      const owner = parseUnfinishedName(entry)?.owner;
      if (owner === undefined) continue;
      const item: GarbageItem = { name: `${vmid}/${entry}`, owner, reason: `owner-${ownerState(owner, ctx.node)}` };
      if (item.reason !== 'owner-dead') {
        kept.push(item);
        continue;
      }
      const path = join(dir, entry);
      const id = await currentSubvolumeId(ctx, path).catch(() => undefined);
      if (id === undefined) continue; // not a subvolume, so not one this plugin made
      if (dryRun || (await discard(ctx, { path, id }))) removed.push(item);
    }
  }
  return { removed, kept };
}

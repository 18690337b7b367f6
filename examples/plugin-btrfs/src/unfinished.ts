/**
 * Volumes that are not whole yet. A new volume is made as a hidden subvolume next to where it
 * will live, `.vm-100-disk-0.tmp-<owner token>`: no listing shows it, the free-name search and
 * every name check count it, and it is renamed into place (one atomic `rename`) only once its
 * data is complete. So a process killed mid-import leaves a hidden subvolume, never a volume
 * that looks whole; `collectGarbage` (ops-volume.ts) removes those whose owner is dead. A failed
 * operation removes its own subvolume only if the subvolume id there is still the one it made.
 *
 * @module
 */
import { lstat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { currentOwner, errnoOf, formatOwner, fsError } from '@stowage/core/plugin';
import { StorageError } from '@stowage/core';
import { setReadonlyArgs, subvolumeCreateArgs, subvolumeDeleteArgs } from './commands.js';
import { runBtrfs, type BtrfsContext } from './exec.js';
import { diskFile, parseBtrfsVolname, subvolName, subvolPath, unfinishedName } from './names.js';
import { assertNameFree, currentSubvolumeId, ensureVmDir, removeMadeDirs } from './subvolumes.js';

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
export async function createUnfinished(ctx: BtrfsContext, subvol: string): Promise<UnfinishedSubvolume> {
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
 * @param ctx - the operation's context
 * @param unfinished - the hidden subvolume
 * @param subvol - the volume's path
 * @throws {@link StorageError} `ALREADY_EXISTS`
 */
export async function publish(ctx: BtrfsContext, unfinished: UnfinishedSubvolume, subvol: string): Promise<void> {
  const taken = await lstat(subvol).then(
    () => true,
    (e: unknown) => errnoOf(e) !== 'ENOENT',
  );
  if (taken) throw new StorageError('ALREADY_EXISTS', `'${basename(subvol)}' appeared while it was being made`, { details: { path: subvol } });
  await ctx.fs.rename(unfinished.path, subvol).catch((e: unknown) => {
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
export async function discard(ctx: BtrfsContext, unfinished: UnfinishedSubvolume): Promise<boolean> {
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

/** What {@link createDisk} puts into a new volume. */
export interface NewDiskContent {
  /** Writes the file's content (an import); without it the file is a sparse, empty file of `size` bytes. */
  readonly fill?: ((file: string) => Promise<void>) | undefined;
  /** Makes the volume read-only before it is moved into place (a template). */
  readonly readonly?: boolean | undefined;
}

/**
 * Creates a volume: a subvolume holding `disk.raw` of `size` bytes, built under a hidden name
 * marked with this process's owner token (the name counts as taken from then on, so the storage
 * lock is given back with `ctx.nameReserved()`), and moved into place by one `rename` once
 * whole. On failure the hidden subvolume is removed (if it is still the one made) and no volume
 * is left (at most an empty guest directory); a process killed midway leaves only the hidden
 * subvolume, for `collectGarbage`.
 *
 * @param ctx - the operation's context
 * @param vmid - the owner
 * @param name - the disk name with `.raw`
 * @param size - bytes
 * @param content - what to write, and whether to make it read-only
 * @returns the volname
 * @throws {@link StorageError} `ALREADY_EXISTS` when the name is taken (by a volume, a leftover
 *   entry of that name, or a volume being made), and what the fill throws
 */
export async function createDisk(ctx: BtrfsContext, vmid: number, name: string, size: number, content: NewDiskContent = {}): Promise<string> {
  const volname = `${vmid}/${name}`;
  const volume = parseBtrfsVolname(volname);
  const subvol = subvolPath(ctx.config.path, volume);
  const made = await ensureVmDir(ctx, vmid);
  let unfinished: UnfinishedSubvolume;
  try {
    await assertNameFree(ctx.config.path, vmid, subvolName(volume));
    unfinished = await createUnfinished(ctx, subvol);
  } catch (e) {
    await removeMadeDirs(ctx, made);
    throw e;
  }
  ctx.nameReserved();
  try {
    const file = diskFile(unfinished.path);
    if (content.fill) await content.fill(file);
    else {
      const handle = await ctx.fs.open(file, 'wx', 0o640);
      try {
        await handle.truncate(size);
      } finally {
        await handle.close();
      }
    }
    if (content.readonly) await runBtrfs(ctx, setReadonlyArgs(unfinished.path, true));
    await publish(ctx, unfinished, subvol);
    return volname;
  } catch (e) {
    // the guest's directory stays: without the lock, another call may be making a volume in it
    await discard(ctx, unfinished);
    throw fsError(e, `cannot create '${volname}'`, { volname });
  }
}

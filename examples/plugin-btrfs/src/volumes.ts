/**
 * Creating, removing and reshaping volumes: alloc, free, template, clone, resize, rename.
 *
 * @module
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  type AllocImageRequest,
  type CloneImageRequest,
  errnoOf,
  fsError,
  type PluginContext,
  type RenameVolumeRequest,
  type VolumeResizeRequest,
} from '@stowage/core/plugin';
import { type ParsedVolume, StorageError } from '@stowage/core';
import { setReadonlyArgs, subvolumeSnapshotArgs } from './commands.js';
import type { BtrfsConfig } from './config.js';
import { checkedDisk, checkedSubvolume, openDisk } from './disk-file.js';
import { diskFile, parseBtrfsVolname, subvolName, subvolPath, vmDir } from './names.js';
import { runBtrfs } from './run.js';
import { assertNameFree, deleteSubvolumes, snapshotEntries } from './subvolumes.js';
import { createUnfinished, discard, publish, type UnfinishedSubvolume } from './unfinished.js';

/** Tells whether a path exists (any kind; a symbolic link is not followed). */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw fsError(e, `cannot stat '${path}'`, { path });
  }
}

/** Makes a guest's directory; returns it when this call created it (to remove on failure). */
async function ensureVmDir(storagePath: string, vmid: number): Promise<string | undefined> {
  const dir = vmDir(storagePath, vmid);
  try {
    const first = await mkdir(dir, { recursive: true, mode: 0o755 });
    return first === undefined ? undefined : first;
  } catch (e) {
    throw fsError(e, `cannot create '${dir}'`, { path: dir });
  }
}

/** Removes directories made by {@link ensureVmDir} (outermost given), innermost first, if empty. */
async function removeMadeDirs(made: string | undefined, dir: string): Promise<void> {
  if (made === undefined) return;
  for (let d = dir; d.startsWith(made); d = dirname(d)) {
    if (!(await rmdir(d).then(() => true, () => false))) break;
  }
}

async function mustExist(path: string, what: string, details: Record<string, unknown>): Promise<void> {
  if (!(await exists(path))) throw new StorageError('NOT_FOUND', `${what} does not exist`, { details });
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
export async function createDisk(ctx: PluginContext<BtrfsConfig>, vmid: number, name: string, size: number, content: NewDiskContent = {}): Promise<string> {
  const volname = `${vmid}/${name}`;
  const volume = parseBtrfsVolname(volname);
  const subvol = subvolPath(ctx.config.path, volume);
  const dir = vmDir(ctx.config.path, vmid);
  const made = await ensureVmDir(ctx.config.path, vmid);
  let unfinished: UnfinishedSubvolume;
  try {
    await assertNameFree(ctx.config.path, vmid, subvolName(volume));
    unfinished = await createUnfinished(ctx, subvol);
  } catch (e) {
    await removeMadeDirs(made, dir);
    throw e;
  }
  ctx.nameReserved();
  try {
    const file = diskFile(unfinished.path);
    if (content.fill) await content.fill(file);
    else {
      const handle = await open(file, 'wx', 0o640);
      try {
        await handle.truncate(size);
      } finally {
        await handle.close();
      }
    }
    if (content.readonly) await runBtrfs(ctx, setReadonlyArgs(unfinished.path, true));
    await publish(unfinished, subvol);
    return volname;
  } catch (e) {
    // the guest's directory stays: without the lock, another call may be making a volume in it
    await discard(ctx, unfinished);
    throw fsError(e, `cannot create '${volname}'`, { volname });
  }
}

/** @see Proxmox `alloc_image` (BTRFSPlugin) */
export async function allocImage(ctx: PluginContext<BtrfsConfig>, request: AllocImageRequest): Promise<string> {
  if (request.format !== 'raw') {
    throw new StorageError('NOT_SUPPORTED', `btrfs storage holds raw images only, not ${request.format}`, { details: { format: request.format } });
  }
  return createDisk(ctx, request.vmid, request.name, request.size);
}

/**
 * Deletes a volume's snapshots and the volume's subvolume, whatever its `disk.raw` is (a
 * hostile one too), but never through a symbolic link.
 *
 * @throws {@link StorageError} `NOT_FOUND` when there is no such subvolume (also while the volume
 *   is being made); `CORRUPT` when the way to it is a symbolic link
 * @see Proxmox `free_image`
 */
export async function freeImage(ctx: PluginContext<BtrfsConfig>, volume: ParsedVolume): Promise<void> {
  const subvol = await checkedSubvolume(ctx.config.path, volume);
  const snaps = await snapshotEntries(ctx.config.path, volume);
  await deleteSubvolumes(ctx, [...snaps.map((s) => s.path), subvol], vmDir(ctx.config.path, volume.vmid ?? 0));
}

/**
 * Renames `vm-` to `base-` (snapshots too) and makes the subvolume read-only. Undone on failure.
 *
 * @see Proxmox `create_base` (BTRFSPlugin)
 */
export async function createBase(ctx: PluginContext<BtrfsConfig>, volume: ParsedVolume): Promise<string> {
  if (volume.isBase) throw new StorageError('INVALID_ARGUMENT', `'${volume.volname}' is already a template`, { details: { volname: volume.volname } });
  const baseVolume = parseBtrfsVolname(`${volume.vmid}/${volume.name.replace(/^vm-/, 'base-')}`);
  const from = subvolPath(ctx.config.path, volume);
  const to = subvolPath(ctx.config.path, baseVolume);
  await checkedDisk(ctx.config.path, volume);
  await assertNameFree(ctx.config.path, volume.vmid ?? 0, subvolName(baseVolume));
  const moves: Array<readonly [string, string]> = [[from, to]];
  for (const s of await snapshotEntries(ctx.config.path, volume)) moves.push([s.path, `${to}@${s.snapshot}`]);
  const done: Array<readonly [string, string]> = [];
  try {
    for (const [a, b] of moves) {
      await rename(a, b).catch((e: unknown) => {
        throw fsError(e, `cannot rename '${a}'`, { path: a });
      });
      done.push([a, b]);
    }
    await runBtrfs(ctx, setReadonlyArgs(to, true));
  } catch (e) {
    for (const [a, b] of done.reverse()) await rename(b, a).catch(() => undefined);
    throw e;
  }
  return baseVolume.volname;
}

/**
 * A writable snapshot of a template, or of one of a volume's snapshots, as a new volume.
 *
 * @see Proxmox `clone_image` (BTRFSPlugin)
 */
export async function cloneImage(ctx: PluginContext<BtrfsConfig>, request: CloneImageRequest): Promise<string> {
  const { volume, snapshot } = request;
  if (snapshot === undefined && !volume.isBase) {
    throw new StorageError('NOT_SUPPORTED', `'${volume.volname}' is not a template: clone a template, or a snapshot`, { details: { volname: volume.volname } });
  }
  const source = subvolPath(ctx.config.path, volume, snapshot);
  await checkedDisk(ctx.config.path, volume, snapshot);
  const volname = `${request.vmid}/${request.name}`;
  const clone = parseBtrfsVolname(volname);
  const target = subvolPath(ctx.config.path, clone);
  const dir = vmDir(ctx.config.path, request.vmid);
  const made = await ensureVmDir(ctx.config.path, request.vmid);
  try {
    await assertNameFree(ctx.config.path, request.vmid, subvolName(clone));
    await runBtrfs(ctx, subvolumeSnapshotArgs(source, target, false));
  } catch (e) {
    await removeMadeDirs(made, dir);
    throw e;
  }
  return volname;
}

/** Grows `disk.raw`. @throws {@link StorageError} `CANNOT_SHRINK`, `NOT_FOUND`, `CORRUPT` (not a regular file) @see Proxmox `volume_resize` */
export async function volumeResize(ctx: PluginContext<BtrfsConfig>, request: VolumeResizeRequest): Promise<void> {
  const { file, stats } = await checkedDisk(ctx.config.path, request.volume);
  if (request.size < stats.size) {
    throw new StorageError('CANNOT_SHRINK', `cannot shrink '${request.volume.volname}' from ${stats.size} to ${request.size} bytes`, {
      details: { volname: request.volume.volname, size: stats.size, requested: request.size },
    });
  }
  const handle = await openDisk(file, constants.O_RDWR);
  try {
    await handle.truncate(request.size);
  } catch (e) {
    throw fsError(e, `cannot resize '${request.volume.volname}'`, { volname: request.volume.volname });
  } finally {
    await handle.close();
  }
}

/**
 * Moves a volume's subvolume to another guest under the name given. A volume with snapshots is
 * refused: read-only snapshots cannot move to another directory.
 *
 * @see Proxmox `rename_volume` (BTRFSPlugin)
 */
export async function renameVolume(ctx: PluginContext<BtrfsConfig>, request: RenameVolumeRequest): Promise<string> {
  const { volume } = request;
  const from = subvolPath(ctx.config.path, volume);
  await mustExist(from, `volume '${volume.volname}'`, { volname: volume.volname });
  const snaps = await snapshotEntries(ctx.config.path, volume);
  if (snaps.length > 0) {
    throw new StorageError('NOT_SUPPORTED', `cannot rename '${volume.volname}': it has snapshots, and read-only snapshots cannot move`, {
      details: { volname: volume.volname, snapshots: snaps.map((s) => s.snapshot) },
    });
  }
  const volname = `${request.targetVmid}/${request.targetName}`;
  const target = parseBtrfsVolname(volname);
  const to = subvolPath(ctx.config.path, target);
  const dir = vmDir(ctx.config.path, request.targetVmid);
  const made = await ensureVmDir(ctx.config.path, request.targetVmid);
  try {
    await assertNameFree(ctx.config.path, request.targetVmid, subvolName(target));
    await rename(from, to);
  } catch (e) {
    await removeMadeDirs(made, dir);
    throw fsError(e, `cannot rename '${volume.volname}'`, { volname: volume.volname });
  }
  await rmdir(vmDir(ctx.config.path, volume.vmid ?? 0)).catch(() => undefined);
  return volname;
}

/** The subvolume name of the temporary subvolumes a rollback uses (never listed: they start with a dot). */
export function scratchPath(subvol: string, tag: string): string {
  return join(dirname(subvol), `.${basename(subvol)}.${tag}-${process.pid}`);
}


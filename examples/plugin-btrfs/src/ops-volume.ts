/**
 * Creating, removing and reshaping volumes: alloc, free, template, clone, resize, rename, and the
 * garbage of unfinished ones.
 *
 * @module
 */
import { constants } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  baseNameFor,
  fsError,
  ownerState,
  type AllocImageRequest,
  type CloneImageRequest,
  type CollectGarbageRequest,
  type CreateBaseRequest,
  type FreeImageRequest,
  type RenameVolumeRequest,
  type VolumeResizeRequest,
} from '@stowage/core/plugin';
import { StorageError, type GarbageItem, type GarbageReport } from '@stowage/core';
import { setReadonlyArgs, subvolumeSnapshotArgs } from './commands.js';
import { checkedDisk, checkedSubvolume, openDisk } from './disk-file.js';
import { runBtrfs, type BtrfsContext } from './exec.js';
import { moveMarker, removeMarker } from './attributes.js';
import { settleSwaps } from './ops-flatten.js';
import { hiddenMarker, parseBtrfsVolname, parseSwapName, parseUnfinishedName, subvolName, subvolPath, vmDir } from './names.js';
import { assertNameFree, currentSubvolumeId, deleteSubvolumes, ensureVmDir, exists, listVmids, removeMadeDirs, snapshotEntries } from './subvolumes.js';
import { createDisk, discard } from './unfinished.js';

async function mustExist(path: string, what: string, details: Record<string, unknown>): Promise<void> {
  if (!(await exists(path))) throw new StorageError('NOT_FOUND', `${what} does not exist`, { details });
}

/** @see Proxmox `alloc_image` (BTRFSPlugin) */
export async function allocImage(ctx: BtrfsContext, request: AllocImageRequest): Promise<string> {
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
export async function freeImage(ctx: BtrfsContext, request: FreeImageRequest): Promise<void> {
  const { volume } = request;
  const subvol = await checkedSubvolume(ctx.config.path, volume);
  const snaps = await snapshotEntries(ctx.config.path, volume);
  await removeMarker(ctx.fs, hiddenMarker(subvol)).catch((e: unknown) => {
    throw fsError(e, `cannot remove the hidden marker of '${volume.volname}'`, { volname: volume.volname });
  });
  await deleteSubvolumes(ctx, [...snaps.map((s) => s.path), subvol], vmDir(ctx.config.path, volume.vmid ?? 0));
}

/**
 * Renames `vm-` to `base-` (snapshots too) and makes the subvolume read-only. Undone on failure.
 *
 * @see Proxmox `create_base` (BTRFSPlugin)
 */
export async function createBase(ctx: BtrfsContext, request: CreateBaseRequest): Promise<string> {
  const { volume } = request;
  if (volume.isBase) throw new StorageError('INVALID_ARGUMENT', `'${volume.volname}' is already a template`, { details: { volname: volume.volname } });
  const baseVolume = parseBtrfsVolname(`${volume.vmid}/${baseNameFor(volume.name)}`);
  const from = subvolPath(ctx.config.path, volume);
  const to = subvolPath(ctx.config.path, baseVolume);
  await checkedDisk(ctx.config.path, volume);
  await assertNameFree(ctx.config.path, volume.vmid ?? 0, subvolName(baseVolume));
  const moves: Array<readonly [string, string]> = [[from, to]];
  for (const s of await snapshotEntries(ctx.config.path, volume)) moves.push([s.path, `${to}@${s.snapshot}`]);
  const done: Array<readonly [string, string]> = [];
  try {
    for (const [a, b] of moves) {
      await ctx.fs.rename(a, b).catch((e: unknown) => {
        throw fsError(e, `cannot rename '${a}'`, { path: a });
      });
      done.push([a, b]);
    }
    await moveMarker(ctx.fs, from, to);
    done.push([hiddenMarker(from), hiddenMarker(to)]);
    await runBtrfs(ctx, setReadonlyArgs(to, true));
  } catch (e) {
    for (const [a, b] of done.reverse()) await ctx.fs.rename(b, a).catch(() => undefined);
    throw e;
  }
  return baseVolume.volname;
}

/**
 * A writable snapshot of a template, or of one of a volume's snapshots, as a new volume.
 *
 * @see Proxmox `clone_image` (BTRFSPlugin)
 */
export async function cloneImage(ctx: BtrfsContext, request: CloneImageRequest): Promise<string> {
  const { volume, snapshot } = request;
  if (snapshot === undefined && !volume.isBase) {
    throw new StorageError('NOT_SUPPORTED', `'${volume.volname}' is not a template: clone a template, or a snapshot`, { details: { volname: volume.volname } });
  }
  const source = subvolPath(ctx.config.path, volume, snapshot);
  await checkedDisk(ctx.config.path, volume, snapshot);
  const volname = `${request.vmid}/${request.name}`;
  const clone = parseBtrfsVolname(volname);
  const target = subvolPath(ctx.config.path, clone);
  const made = await ensureVmDir(ctx, request.vmid);
  try {
    await assertNameFree(ctx.config.path, request.vmid, subvolName(clone));
    await runBtrfs(ctx, subvolumeSnapshotArgs(source, target, false));
  } catch (e) {
    await removeMadeDirs(ctx, made);
    throw e;
  }
  return volname;
}

/** Grows `disk.raw`. @throws {@link StorageError} `CANNOT_SHRINK`, `NOT_FOUND`, `CORRUPT` (not a regular file) @see Proxmox `volume_resize` */
export async function volumeResize(ctx: BtrfsContext, request: VolumeResizeRequest): Promise<void> {
  const { file, stats } = await checkedDisk(ctx.config.path, request.volume);
  if (request.size < stats.size) {
    throw new StorageError('CANNOT_SHRINK', `cannot shrink '${request.volume.volname}' from ${stats.size} to ${request.size} bytes`, {
      details: { volname: request.volume.volname, size: stats.size, requested: request.size },
    });
  }
  const handle = await openDisk(ctx.fs, file, constants.O_RDWR);
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
export async function renameVolume(ctx: BtrfsContext, request: RenameVolumeRequest): Promise<string> {
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
  const made = await ensureVmDir(ctx, request.targetVmid);
  try {
    await assertNameFree(ctx.config.path, request.targetVmid, subvolName(target));
    await ctx.fs.rename(from, to);
    await moveMarker(ctx.fs, from, to).catch(async (e: unknown) => {
      await ctx.fs.rename(to, from);
      throw e;
    });
  } catch (e) {
    await removeMadeDirs(ctx, made);
    throw fsError(e, `cannot rename '${volume.volname}'`, { volname: volume.volname });
  }
  await ctx.fs.rmdir(vmDir(ctx.config.path, volume.vmid ?? 0)).catch(() => undefined);
  return volname;
}

/**
 * Removes the hidden subvolumes of unfinished volumes whose owner is dead, each only if it
 * still has the subvolume id it was found with, and finishes or undoes the flattens of dead
 * owners (see `settleSwaps` in ops-flatten.ts); reports those of live owners and of other nodes.
 *
 * @param ctx - the operation's context
 * @param request - `dryRun`: report only
 */
export async function collectGarbage(ctx: BtrfsContext, request: CollectGarbageRequest): Promise<GarbageReport> {
  const removed: GarbageItem[] = [];
  const kept: GarbageItem[] = [];
  for (const vmid of await listVmids(ctx.config.path)) {
    const dir = vmDir(ctx.config.path, vmid);
    const swaps: Parameters<typeof settleSwaps>[2][number][] = [];
    for (const entry of await readdir(dir).catch(() => [])) {
      const swap = parseSwapName(entry);
      if (swap) {
        const reason = `owner-${ownerState(swap.owner, ctx.node)}` as const;
        if (reason === 'owner-dead') swaps.push({ entry, ...swap });
        else kept.push({ name: `${vmid}/${entry}`, owner: swap.owner, reason });
        continue;
      }
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
      if (request.dryRun === true || (await discard(ctx, { path, id }))) removed.push(item);
    }
    removed.push(...(await settleSwaps(ctx, vmid, swaps, request.dryRun === true)));
  }
  return { removed, kept };
}

/**
 * Snapshots as read-only subvolume snapshots: take, list, roll back, delete.
 *
 * @module
 */
import { fsError, type SnapshotRequest, type VolumeRequest } from '@stowage/core/plugin';
import { type SnapshotInfo, StorageError } from '@stowage/core';
import { subvolumeDeleteArgs, subvolumeSnapshotArgs } from './commands.js';
import { checkedDisk, checkedSubvolume } from './disk-file.js';
import { runBtrfs, type BtrfsContext } from './exec.js';
import { scratchPath, subvolPath } from './names.js';
import { exists, listSnapshots } from './subvolumes.js';

/** `btrfs subvolume snapshot -r` of the volume. @throws {@link StorageError} `ALREADY_EXISTS` @see Proxmox `volume_snapshot` */
export async function volumeSnapshot(ctx: BtrfsContext, request: SnapshotRequest): Promise<void> {
  const { volume, snapshot } = request;
  const source = subvolPath(ctx.config.path, volume);
  const target = subvolPath(ctx.config.path, volume, snapshot);
  await checkedDisk(ctx.config.path, volume);
  if (await exists(target)) {
    throw new StorageError('ALREADY_EXISTS', `snapshot '${snapshot}' of '${volume.volname}' already exists`, { details: { volname: volume.volname, snapshot } });
  }
  await runBtrfs(ctx, subvolumeSnapshotArgs(source, target, true));
}

/**
 * Replaces the volume with a writable snapshot of the snapshot: the copy is made first, then
 * swapped in by two renames, then the old state is deleted. If the delete fails the swap is
 * undone, so the volume is either rolled back or untouched.
 *
 * @see Proxmox `volume_snapshot_rollback` (BTRFSPlugin)
 */
export async function volumeSnapshotRollback(ctx: BtrfsContext, request: SnapshotRequest): Promise<void> {
  const { volume, snapshot } = request;
  const current = subvolPath(ctx.config.path, volume);
  const snap = subvolPath(ctx.config.path, volume, snapshot);
  await checkedDisk(ctx.config.path, volume);
  await checkedDisk(ctx.config.path, volume, snapshot);
  const fresh = scratchPath(current, 'rollback');
  const old = scratchPath(current, 'old');
  await runBtrfs(ctx, subvolumeSnapshotArgs(snap, fresh, false));
  try {
    await ctx.fs.rename(current, old);
  } catch (e) {
    await runBtrfs(ctx, subvolumeDeleteArgs([fresh])).catch(() => undefined);
    throw fsError(e, `cannot roll back '${volume.volname}'`, { volname: volume.volname });
  }
  try {
    await ctx.fs.rename(fresh, current);
  } catch (e) {
    await ctx.fs.rename(old, current).catch(() => undefined);
    await runBtrfs(ctx, subvolumeDeleteArgs([fresh])).catch(() => undefined);
    throw fsError(e, `cannot roll back '${volume.volname}'`, { volname: volume.volname });
  }
  try {
    await runBtrfs(ctx, subvolumeDeleteArgs([old]));
  } catch (e) {
    // Put the volume back as it was, so a failure means "nothing happened".
    await ctx.fs.rename(current, fresh).catch(() => undefined);
    await ctx.fs.rename(old, current).catch(() => undefined);
    await runBtrfs(ctx, subvolumeDeleteArgs([fresh])).catch(() => undefined);
    throw e;
  }
}

/** `btrfs subvolume delete` of the snapshot. @throws {@link StorageError} `NOT_FOUND` @see Proxmox `volume_snapshot_delete` */
export async function volumeSnapshotDelete(ctx: BtrfsContext, request: SnapshotRequest): Promise<void> {
  const { volume, snapshot } = request;
  const snap = await checkedSubvolume(ctx.config.path, volume, snapshot);
  await runBtrfs(ctx, subvolumeDeleteArgs([snap]));
}

/** The volume's snapshots, oldest first, with btrfs's UUID as id. @see Proxmox `volume_snapshot_info` */
export async function volumeSnapshotInfo(ctx: BtrfsContext, request: VolumeRequest): Promise<SnapshotInfo[]> {
  const { volume } = request;
  await checkedDisk(ctx.config.path, volume);
  return (await listSnapshots(ctx, volume)).map((s) => ({ name: s.snapshot ?? '', id: s.info.uuid, timestamp: s.info.created }));
}

/**
 * Snapshots of `zfspool` volumes: take, list, roll back (newest only, unless the newer ones may
 * be destroyed), delete.
 *
 * @module
 */
import { isStorageError, StorageError, type SnapshotInfo } from '@stowage/core';
import { type SnapshotDeleteRequest, type SnapshotRequest, type SnapshotRollbackRequest, type VolumeRequest } from '@stowage/core/plugin';
import {
  REFQUOTA_PROPERTY,
  refquotaProperty,
  zfsDestroyArgs,
  zfsGetArgs,
  zfsMountArgs,
  zfsRollbackArgs,
  zfsSetArgs,
  zfsSnapshotArgs,
  zfsUnmountArgs,
} from './commands.js';
import { zfsFailureOf } from './errors.js';
import { invalidate, loadSnapshots, notFound, requireVolume, runZfs, volidsOf, type ZfsContext } from './exec.js';
import { datasetOf, snapshotOf } from './names.js';
import { parseNumber, parsePropertyValues, type SnapshotRecord } from './parse.js';

/**
 * Takes a snapshot; a container volume's snapshot remembers its quota (`pve-storage:refquota`).
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `ALREADY_EXISTS`, `NO_SPACE`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_snapshot`
 */
export async function volumeSnapshot(ctx: ZfsContext, request: SnapshotRequest): Promise<void> {
  const { volume, snapshot } = request;
  const properties = volume.format === 'subvol' ? refquotaProperty((await requireVolume(ctx, volume)).refquota, 'subvol') : {};
  try {
    await runZfs(ctx, zfsSnapshotArgs(snapshotOf(ctx.config.pool, volume.name, snapshot), properties), { details: { volname: volume.volname, snapshot } });
  } catch (e) {
    if (zfsFailureOf(e) === 'missing') throw notFound(ctx, volume.volname);
    throw e;
  } finally {
    invalidate(ctx);
  }
}

/**
 * A volume's snapshots, oldest first, with ZFS's `guid` as id and the creation time.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_snapshot_info`
 */
export async function volumeSnapshotInfo(ctx: ZfsContext, request: VolumeRequest): Promise<SnapshotInfo[]> {
  return (await loadSnapshots(ctx, request.volume)).map((s) => ({ name: s.snapshot, id: s.guid, timestamp: s.creation }));
}

/** The snapshots of a volume, and where `snapshot` is among them. */
async function locate(ctx: ZfsContext, request: SnapshotRequest): Promise<{ snapshots: SnapshotRecord[]; index: number }> {
  const snapshots = await loadSnapshots(ctx, request.volume);
  const index = snapshots.findIndex((s) => s.snapshot === request.snapshot);
  if (index < 0) throw notFound(ctx, request.volume.volname, request.snapshot);
  return { snapshots, index };
}

/**
 * The snapshots newer than `snapshot`: ZFS rolls back only to the newest one, so these block it.
 *
 * @returns their names, oldest first; empty when `snapshot` is the newest
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_rollback_is_possible`
 */
export async function volumeRollbackIsPossible(ctx: ZfsContext, request: SnapshotRequest): Promise<string[]> {
  const { snapshots, index } = await locate(ctx, request);
  return snapshots.slice(index + 1).map((s) => s.snapshot);
}

/**
 * Rolls back to a snapshot. Newer snapshots block it (`SNAPSHOT_BLOCKERS`) unless
 * `destroyBlockers` is set, when they are destroyed with it (`zfs rollback -r`), but never a
 * clone: if one depends on a newer snapshot the rollback is refused with `IN_USE`. A container
 * volume gets back the quota its snapshot remembers and is mounted afresh (ZFS keeps stale
 * kernel caches of a rolled-back mounted file system).
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `SNAPSHOT_BLOCKERS` (`details.blockers`), `IN_USE` (`details.clones`), `BUSY`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_snapshot_rollback`
 */
export async function volumeSnapshotRollback(ctx: ZfsContext, request: SnapshotRollbackRequest): Promise<void> {
  const { volume, snapshot } = request;
  const { snapshots, index } = await locate(ctx, request);
  const newer = snapshots.slice(index + 1);
  const volid = `${ctx.storeId}:${volume.volname}`;
  if (newer.length > 0 && request.destroyBlockers !== true) {
    const blockers = newer.map((s) => s.snapshot);
    throw new StorageError('SNAPSHOT_BLOCKERS', `can't rollback, '${snapshot}' is not most recent snapshot on '${volid}'`, { details: { volid, snapshot, blockers } });
  }
  const dependents = newer.flatMap((s) => s.clones);
  if (dependents.length > 0) {
    const clones = await volidsOf(ctx, dependents);
    throw new StorageError('IN_USE', `can't rollback '${volid}' to '${snapshot}': newer snapshots have linked clones: ${clones.join(', ')}`, {
      details: { volid, snapshot, clones },
    });
  }
  const { pool } = ctx.config;
  const dataset = datasetOf(pool, volume.name);
  try {
    await runZfs(ctx, zfsRollbackArgs(snapshotOf(pool, volume.name, snapshot), newer.length > 0), { details: { volname: volume.volname, snapshot } });
    if (volume.format === 'subvol') await restoreSubvol(ctx, dataset, snapshotOf(pool, volume.name, snapshot));
  } catch (e) {
    if (zfsFailureOf(e) === 'not-latest') {
      const blockers = ((e as StorageError).details['listed'] as string[] | undefined)?.map((s) => s.slice(s.indexOf('@') + 1)) ?? [];
      throw new StorageError('SNAPSHOT_BLOCKERS', `can't rollback, '${snapshot}' is not most recent snapshot on '${volid}'`, { cause: e, details: { volid, snapshot, blockers } });
    }
    throw e;
  } finally {
    invalidate(ctx);
  }
}

/** After a rollback of a container volume: its snapshot's quota back, and a fresh mount. */
async function restoreSubvol(ctx: ZfsContext, dataset: string, snapshot: string): Promise<void> {
  const [saved] = parsePropertyValues((await runZfs(ctx, zfsGetArgs([REFQUOTA_PROPERTY], snapshot))).stdout, 1);
  if (saved !== undefined && saved !== '-') {
    const quota = parseNumber(saved, REFQUOTA_PROPERTY, true);
    await runZfs(ctx, zfsSetArgs('refquota', quota === undefined ? 'none' : String(quota), dataset));
  }
  try {
    await runZfs(ctx, zfsUnmountArgs(dataset));
  } catch (e) {
    if (zfsFailureOf(e) !== 'not-mounted') throw e;
  }
  await runZfs(ctx, zfsMountArgs(dataset));
}

/**
 * Deletes a snapshot; refused with `IN_USE` while a clone depends on it (ZFS itself refuses,
 * and names them).
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE` (`details.clones`), `BUSY`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_snapshot_delete`
 */
export async function volumeSnapshotDelete(ctx: ZfsContext, request: SnapshotDeleteRequest): Promise<void> {
  const { volume, snapshot } = request;
  try {
    await runZfs(ctx, zfsDestroyArgs(snapshotOf(ctx.config.pool, volume.name, snapshot)), { details: { volname: volume.volname, snapshot } });
  } catch (e) {
    const failure = zfsFailureOf(e);
    if (failure === 'missing') throw notFound(ctx, volume.volname, snapshot);
    if (failure === 'dependent-clones' && isStorageError(e)) {
      const clones = await volidsOf(ctx, (e.details['listed'] as string[] | undefined) ?? []);
      throw new StorageError('IN_USE', `snapshot '${snapshot}' of '${ctx.storeId}:${volume.volname}' has linked clones: ${clones.join(', ')}`, {
        cause: e,
        details: { volname: volume.volname, snapshot, clones },
      });
    }
    throw e;
  } finally {
    invalidate(ctx);
  }
}

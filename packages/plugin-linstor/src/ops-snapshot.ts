/**
 * Snapshots: create, list, roll back, delete. A stowage snapshot `S` is the LINSTOR snapshot
 * `snap_S` of the volume's resource definition.
 *
 * @module
 */
import { StorageError, type SnapshotInfo } from '@stowage/core';
import type { SnapshotDeleteRequest, SnapshotRequest, SnapshotRollbackRequest, VolumeRequest } from '@stowage/core/plugin';
import { createSnapshot, deleteSnapshot, rollbackSnapshot } from './client/api.js';
import { linstorSnapshotName } from './names.js';
import type { LinstorEnv } from './exec.js';
import { dropSnapshotVolume } from './snapshot-volume.js';
import { requireVolume, snapshotInfo, written, type LinstorVolume } from './view.js';

/**
 * Takes a snapshot.
 *
 * @param env - the call's environment
 * @param request - the volume and the snapshot name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `ALREADY_EXISTS`, the controller's errors
 * @see Proxmox `volume_snapshot`
 */
export async function volumeSnapshot(env: LinstorEnv, request: SnapshotRequest): Promise<void> {
  const v = await requireVolume(env, request.volume);
  await createSnapshot(env.client, env.call, v.rd, linstorSnapshotName(request.snapshot));
  written(env);
}

/**
 * The volume's snapshots, oldest first.
 *
 * @param env - the call's environment
 * @param request - the volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 * @see Proxmox `volume_snapshot_info`
 */
export async function volumeSnapshotInfo(env: LinstorEnv, request: VolumeRequest): Promise<SnapshotInfo[]> {
  return snapshotInfo(env, await requireVolume(env, request.volume));
}

async function requireSnapshot(env: LinstorEnv, v: LinstorVolume, snapshot: string): Promise<SnapshotInfo[]> {
  const snaps = await snapshotInfo(env, v);
  if (!snaps.some((s) => s.name === snapshot)) {
    throw new StorageError('NOT_FOUND', `snapshot '${snapshot}' of '${v.volname}' does not exist`, { details: { volname: v.volname, snapshot } });
  }
  return snaps;
}

/**
 * Rolls back to a snapshot. LINSTOR only rolls back to the most recent snapshot: newer ones are
 * blockers, deleted first when `destroyBlockers` is set, else reported.
 *
 * @param env - the call's environment
 * @param request - the volume, the snapshot, and `destroyBlockers` (delete newer snapshots first)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `INVALID_ARGUMENT` (a base), `SNAPSHOT_BLOCKERS` (details.blockers), `IN_USE`
 * @see Proxmox `volume_snapshot_rollback`
 */
export async function volumeSnapshotRollback(env: LinstorEnv, request: SnapshotRollbackRequest): Promise<void> {
  const { snapshot } = request;
  const v = await requireVolume(env, request.volume);
  if (v.isBase) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is a base volume and read-only`, { details: { volname: v.volname } });
  const destroyBlockers = request.destroyBlockers ?? false;
  const snaps = await requireSnapshot(env, v, snapshot);
  const blockers = snaps.slice(snaps.findIndex((s) => s.name === snapshot) + 1).map((s) => s.name);
  if (blockers.length && !destroyBlockers) {
    throw new StorageError('SNAPSHOT_BLOCKERS', `can't rollback, more recent snapshots exist on '${v.volname}'`, {
      details: { volname: v.volname, snapshot, blockers },
    });
  }
  for (const b of blockers.reverse()) {
    await dropSnapshotVolume(env, v.rd, b);
    await deleteSnapshot(env.client, env.call, v.rd, linstorSnapshotName(b));
  }
  await rollbackSnapshot(env.client, env.call, v.rd, linstorSnapshotName(snapshot));
  written(env);
}

/**
 * Deletes a snapshot.
 *
 * @param env - the call's environment
 * @param request - the volume and the snapshot
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, the controller's errors
 * @see Proxmox `volume_snapshot_delete`
 */
export async function volumeSnapshotDelete(env: LinstorEnv, request: SnapshotDeleteRequest): Promise<void> {
  const { snapshot } = request;
  const v = await requireVolume(env, request.volume);
  await requireSnapshot(env, v, snapshot);
  await dropSnapshotVolume(env, v.rd, snapshot);
  await deleteSnapshot(env.client, env.call, v.rd, linstorSnapshotName(snapshot));
  written(env);
}

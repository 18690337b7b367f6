/**
 * Snapshots: create, list, roll back, delete. A stowage snapshot `S` is the LINSTOR snapshot
 * `snap_S` of the volume's resource definition.
 *
 * @module
 */
import { StorageError, type SnapshotInfo } from '@stowage/core';
import { createSnapshot, deleteSnapshot, rollbackSnapshot } from '../client/api.js';
import { linstorSnapshotName } from '../names.js';
import type { LinstorEnv } from './env.js';
import { snapshotInfo } from './snapshot-info.js';
import { dropSnapshotVolume } from './snapshot-volume.js';
import type { LinstorVolume } from './view.js';

/**
 * Takes a snapshot.
 *
 * @param env - the call's environment
 * @param v - the volume
 * @param snapshot - the snapshot name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`, the controller's errors
 */
export async function takeSnapshot(env: LinstorEnv, v: LinstorVolume, snapshot: string): Promise<void> {
  await createSnapshot(env.client, env.call, v.rd, linstorSnapshotName(snapshot));
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
 * @param v - the volume
 * @param snapshot - the snapshot name
 * @param destroyBlockers - delete newer snapshots first
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `SNAPSHOT_BLOCKERS` (details.blockers), `IN_USE`
 */
export async function rollbackTo(env: LinstorEnv, v: LinstorVolume, snapshot: string, destroyBlockers: boolean): Promise<void> {
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
}

/**
 * Deletes a snapshot.
 *
 * @param env - the call's environment
 * @param v - the volume
 * @param snapshot - the snapshot name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, the controller's errors
 */
export async function removeSnapshot(env: LinstorEnv, v: LinstorVolume, snapshot: string): Promise<void> {
  await requireSnapshot(env, v, snapshot);
  await dropSnapshotVolume(env, v.rd, snapshot);
  await deleteSnapshot(env.client, env.call, v.rd, linstorSnapshotName(snapshot));
}

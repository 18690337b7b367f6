/**
 * Snapshots: create, list, roll back, delete. A stowage snapshot `S` is the LINSTOR snapshot
 * `snap_S` of the volume's resource definition.
 *
 * @module
 */
import { StorageError, type SnapshotInfo } from '@stowage/core';
import { createSnapshot, deleteSnapshot, listSnapshots, rollbackSnapshot } from '../client/api.js';
import type { SnapshotJson } from '../client/types.js';
import { linstorSnapshotName, stowageSnapshotName } from '../names.js';
import type { LinstorEnv } from './env.js';
import { dropSnapshotVolume } from './snapshot-volume.js';
import type { LinstorVolume } from './view.js';

function createdAt(s: SnapshotJson): number | undefined {
  const ts = (s.snapshots ?? []).map((n) => n.create_timestamp).filter((n): n is number => typeof n === 'number');
  return ts.length ? Math.min(...ts) : undefined;
}

/**
 * The stowage snapshots of a volume, oldest first. LINSTOR snapshots this plugin did not make
 * are left out.
 *
 * @param env - the call's environment
 * @param v - the volume
 * @see Proxmox `volume_snapshot_info`
 */
export async function snapshotInfo(env: LinstorEnv, v: LinstorVolume): Promise<SnapshotInfo[]> {
  const all = await listSnapshots(env.client, env.call, v.rd);
  const mine = all
    .map((s) => ({ s, name: stowageSnapshotName(s.name), at: createdAt(s) }))
    .filter((x): x is { s: SnapshotJson; name: string; at: number | undefined } => x.name !== undefined && !x.s.flags?.includes('DELETE'));
  mine.sort((a, b) => (a.at ?? 0) - (b.at ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return mine.map(({ s, name, at }) => ({ name, id: s.uuid, timestamp: at === undefined ? undefined : Math.floor(at / 1000) }));
}

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

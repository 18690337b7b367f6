/**
 * The manager's snapshot operations: take, check and roll back (under the volume's lock),
 * delete, list.
 *
 * @module
 */
import { StorageError } from '../errors.js';
import type { SnapshotInfo } from '../plugin-types.js';
import { assertSnapshotReference, assertValidSnapshotName } from './input.js';
import type { ManagerState, ResolvedVolume } from './state.js';

/**
 * Takes a snapshot under the volume's lock (see {@link StorageManager.volumeSnapshot}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param snapshot - the snapshot's name
 */
export async function volumeSnapshot(state: ManagerState, r: ResolvedVolume, snapshot: string): Promise<void> {
  const { entry, volume } = r;
  assertValidSnapshotName(snapshot);
  await state.locked(entry, undefined, (ctx) => entry.plugin.volumeSnapshot(ctx, { volume, snapshot }), {
    volname: volume.volname,
    operation: 'volumeSnapshot',
  });
}

/**
 * The snapshots that block a rollback (see {@link StorageManager.volumeRollbackIsPossible}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param snapshot - the snapshot to roll back to
 */
export function volumeRollbackIsPossible(state: ManagerState, r: ResolvedVolume, snapshot: string): Promise<string[]> {
  const { entry, volume } = r;
  assertValidSnapshotName(snapshot);
  return state.read(entry, undefined, (ctx) => entry.plugin.volumeRollbackIsPossible(ctx, { volume, snapshot }));
}

/**
 * Rolls back to a snapshot under the volume's lock, refusing with `SNAPSHOT_BLOCKERS` when newer snapshots block it and
 * the caller did not ask to destroy them.
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param snapshot - the snapshot
 * @param destroyBlockers - let the plugin destroy the blockers
 * @see Proxmox `PVE::Storage::volume_snapshot_rollback`
 */
export async function rollback(state: ManagerState, r: ResolvedVolume, snapshot: string, destroyBlockers: boolean): Promise<void> {
  const { entry, volume, volid } = r;
  assertValidSnapshotName(snapshot);
  await state.locked(entry, undefined, async (ctx) => {
    const blockers = await entry.plugin.volumeRollbackIsPossible(ctx, { volume, snapshot });
    if (blockers.length > 0 && !destroyBlockers) {
      throw new StorageError('SNAPSHOT_BLOCKERS', `can't rollback '${volid}' to '${snapshot}': newer snapshots ${blockers.join(', ')} exist`, {
        details: { volid, snapshot, blockers },
      });
    }
    await entry.plugin.volumeSnapshotRollback(ctx, { volume, snapshot, destroyBlockers });
  }, { volname: volume.volname, operation: 'volumeSnapshotRollback' });
}

/**
 * Deletes a snapshot under the volume's lock (see {@link StorageManager.volumeSnapshotDelete}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param snapshot - the snapshot
 * @param running - a running guest holds the volume
 */
export async function volumeSnapshotDelete(state: ManagerState, r: ResolvedVolume, snapshot: string, running: boolean | undefined): Promise<void> {
  const { entry, volume } = r;
  assertSnapshotReference(snapshot);
  await state.locked(entry, undefined, (ctx) => entry.plugin.volumeSnapshotDelete(ctx, { volume, snapshot, running }), {
    volname: volume.volname,
    operation: 'volumeSnapshotDelete',
  });
}

/**
 * A volume's snapshots, oldest first (see {@link StorageManager.volumeSnapshotInfo}).
 *
 * @param state - the manager's state
 * @param r - the volume
 */
export function volumeSnapshotInfo(state: ManagerState, r: ResolvedVolume): Promise<SnapshotInfo[]> {
  return state.read(r.entry, undefined, (ctx) => r.entry.plugin.volumeSnapshotInfo(ctx, { volume: r.volume }));
}

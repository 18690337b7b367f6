/**
 * Snapshots of a `memory` storage: take, list, roll back, delete.
 *
 * @module
 */
import { StorageError } from '../../errors.js';
import type { SnapshotDeleteRequest, SnapshotInfo, SnapshotRequest, SnapshotRollbackRequest, VolumeRequest } from '../../plugin-types.js';
import { destroyArgs, rollbackArgs, snapshotArgs } from './commands.js';
import { memoryPool } from './config.js';
import { find, runMemory, snapshotNotFound, snapshots, type MemoryContext } from './exec.js';

/**
 * Takes a snapshot.
 *
 * @param ctx - the call's context
 * @param request - the volume and the snapshot name
 * @see Proxmox `volume_snapshot`
 */
export async function volumeSnapshot(ctx: MemoryContext, request: SnapshotRequest): Promise<void> {
  const r = await find(ctx, request.volume);
  await runMemory(ctx, snapshotArgs(memoryPool(ctx), r.name, request.snapshot), { snapshot: request.snapshot });
}

/**
 * A volume's snapshots, oldest first.
 *
 * @param ctx - the call's context
 * @param request - the volume
 * @see Proxmox `volume_snapshot_info`
 */
export async function volumeSnapshotInfo(ctx: MemoryContext, request: VolumeRequest): Promise<SnapshotInfo[]> {
  return (await snapshots(ctx, request.volume)).map((s) => ({ name: s.name, id: s.guid, timestamp: s.ctime }));
}

/**
 * Rolls back; when only the newest snapshot can be rolled back to, newer ones are destroyed
 * if `destroyBlockers` is set and otherwise refused with `SNAPSHOT_BLOCKERS`.
 *
 * @param ctx - the call's context
 * @param request - the volume, the snapshot and `destroyBlockers`
 * @see Proxmox `volume_snapshot_rollback`
 */
export async function volumeSnapshotRollback(ctx: MemoryContext, request: SnapshotRollbackRequest): Promise<void> {
  const snaps = await snapshots(ctx, request.volume);
  const i = snaps.findIndex((s) => s.name === request.snapshot);
  if (i < 0) throw snapshotNotFound(request.volume, request.snapshot);
  const pool = memoryPool(ctx);
  const name = request.volume.name;
  const blockers = ctx.capabilities.rollbackAnySnapshot ? [] : snaps.slice(i + 1).map((s) => s.name);
  if (blockers.length > 0 && !request.destroyBlockers) {
    throw new StorageError('SNAPSHOT_BLOCKERS', `can't roll back: '${request.snapshot}' is not the newest snapshot of '${request.volume.volname}'`, {
      details: { volname: request.volume.volname, snapshot: request.snapshot, blockers },
    });
  }
  for (const b of blockers.reverse()) await runMemory(ctx, destroyArgs(pool, name, b), { snapshot: b });
  await runMemory(ctx, rollbackArgs(pool, name, request.snapshot), { snapshot: request.snapshot });
}

/**
 * Deletes a snapshot.
 *
 * @param ctx - the call's context
 * @param request - the volume and the snapshot
 * @see Proxmox `volume_snapshot_delete`
 */
export async function volumeSnapshotDelete(ctx: MemoryContext, request: SnapshotDeleteRequest): Promise<void> {
  const r = await find(ctx, request.volume);
  await runMemory(ctx, destroyArgs(memoryPool(ctx), r.name, request.snapshot), { volname: request.volume.volname, snapshot: request.snapshot });
}

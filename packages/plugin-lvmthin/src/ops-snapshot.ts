/**
 * Snapshots: thin snapshots named `snap_<volume>_<snapshot>`, read-only, skipped by activation.
 *
 * @module
 */
import { formatVolumeId, StorageError, type SnapshotInfo } from '@stowage/core';
import { undoing, type SnapshotDeleteRequest, type SnapshotRequest, type SnapshotRollbackRequest, type VolumeRequest } from '@stowage/core/plugin';
import { lvcreateSnapshotArgs, lvrenameArgs } from './commands.js';
import { invalidateListing, LVS_CACHE_KEY, removeLvs, requireVolume, runLvm, type LvmThinContext } from './exec.js';
import { MAX_LV_NAME, ROLLBACK_PREFIX, snapshotLvName } from './names.js';
import type { PoolView, SnapshotLv } from './pool-view.js';

/**
 * Takes a snapshot: one `lvcreate -s`, which refuses a name that exists.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (a base), `NOT_FOUND`, `ALREADY_EXISTS`, `NO_SPACE`
 * @see Proxmox `PVE::Storage::LvmThinPlugin::volume_snapshot`
 */
export async function volumeSnapshot(ctx: LvmThinContext, request: SnapshotRequest): Promise<void> {
  const volname = request.volume.volname;
  if (request.volume.isBase) {
    throw new StorageError('NOT_SUPPORTED', `cannot snapshot the base '${ctx.storeId}:${volname}'`, { details: { volname } });
  }
  const name = snapshotLvName(volname, request.snapshot);
  try {
    await runLvm(ctx, lvcreateSnapshotArgs({ vg: ctx.config.vgname, origin: volname, name, writable: false }), {
      details: { lv: name, origin: volname, snapshot: request.snapshot },
    });
  } finally {
    invalidateListing(ctx);
  }
}

/**
 * Lists a volume's snapshots, oldest first, with their creation time.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 * @see Proxmox `PVE::Storage::LvmThinPlugin::volume_snapshot_info`
 */
export async function volumeSnapshotInfo(ctx: LvmThinContext, request: VolumeRequest): Promise<SnapshotInfo[]> {
  const { view } = await requireVolume(ctx, request.volume.volname);
  return view.snapshotsOf(request.volume.volname).map((s) => ({ name: s.snapshot, id: undefined, timestamp: s.lv.ctime }));
}

function requireSnapshot(ctx: LvmThinContext, view: PoolView, volname: string, snapshot: string): SnapshotLv {
  const found = view.snapshotsOf(volname).find((s) => s.snapshot === snapshot);
  if (found === undefined) {
    throw new StorageError('NOT_FOUND', `snapshot '${snapshot}' of '${ctx.storeId}:${volname}' does not exist`, { details: { volname, snapshot } });
  }
  return found;
}

/**
 * Rolls a volume back to any of its snapshots. The new state is built first as a writable thin
 * snapshot of the snapshot under a temporary name; only then is the old state removed and the
 * new one renamed in its place, so a failure before the swap leaves the volume as it was.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `BUSY` (the volume is open), `NO_SPACE`
 * @see Proxmox `PVE::Storage::LvmThinPlugin::volume_snapshot_rollback`
 */
export async function volumeSnapshotRollback(ctx: LvmThinContext, request: SnapshotRollbackRequest): Promise<void> {
  const volname = request.volume.volname;
  const { view } = await requireVolume(ctx, volname);
  const snap = requireSnapshot(ctx, view, volname, request.snapshot);
  const temp = `${ROLLBACK_PREFIX}${volname}`;
  if (temp.length > MAX_LV_NAME) {
    throw new StorageError('INVALID_ARGUMENT', `volume name '${volname}' is too long to roll back`, { details: { volname } });
  }
  const vg = ctx.config.vgname;
  // A temporary LV left by a rollback that was killed midway holds nothing we need.
  if (view.thinLvs.has(temp)) await removeLvs(ctx, [temp]);
  await undoing(ctx, LVS_CACHE_KEY, async (undo) => {
    await runLvm(ctx, lvcreateSnapshotArgs({ vg, origin: snap.lv.name, name: temp, writable: true }), { details: { lv: temp } });
    undo(() => removeLvs(ctx, [temp], { cleanup: true }));
    await removeLvs(ctx, [volname]);
  });
  // From here the old state is gone: the new one must get the volume's name, so one failed
  // rename is tried once more before the volume is reported as left under the temporary name.
  const rename = () => runLvm(ctx, lvrenameArgs(vg, temp, volname), { retryBusy: true, cleanup: true, details: { lv: temp, target: volname } });
  try {
    await rename().catch((e: unknown) => {
      ctx.log.warn('renaming the rolled-back state failed, trying once more', { error: e instanceof Error ? e.message : String(e) });
      return rename();
    });
  } catch (e) {
    throw new StorageError('COMMAND_FAILED', `rollback of '${ctx.storeId}:${volname}' left its new state in LV '${temp}'`, {
      cause: e,
      details: { volname, snapshot: request.snapshot, leftover: temp },
    });
  } finally {
    invalidateListing(ctx);
  }
}

/**
 * Deletes a snapshot. Refused while a linked clone was made from it.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE` (`details.clones`), `BUSY`
 * @see Proxmox `PVE::Storage::LvmThinPlugin::volume_snapshot_delete`
 */
export async function volumeSnapshotDelete(ctx: LvmThinContext, request: SnapshotDeleteRequest): Promise<void> {
  const volname = request.volume.volname;
  const { view } = await requireVolume(ctx, volname);
  const snap = requireSnapshot(ctx, view, volname, request.snapshot);
  const clones = view.clonesOfSnapshot(snap.lv.name, volname);
  if (clones.length > 0) {
    throw new StorageError('IN_USE', `snapshot '${request.snapshot}' of '${ctx.storeId}:${volname}' is used by linked clones`, {
      details: { volname, snapshot: request.snapshot, clones: clones.map((c) => formatVolumeId(ctx.storeId, c)) },
    });
  }
  await removeLvs(ctx, [snap.lv.name]);
}

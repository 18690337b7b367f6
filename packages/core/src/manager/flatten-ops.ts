/**
 * Flattening: a volume taken back to one of its snapshots with all its snapshots dropped
 * (OpenNebula's `snap_flatten`), and a linked clone detached from its base (Ceph's `flatten`,
 * libvirt's block-pull), after which a hidden base that nothing uses any more is freed.
 *
 * @module
 */
import type { VolumeFormat } from '../capabilities.js';
import { StorageError } from '../errors.js';
import type { PluginContext, ProgressCallback } from '../plugin-types.js';
import { dependencyOf } from './dependencies.js';
import { freeUnusedHidden } from './hidden.js';
import { assertInUse, type InUse } from './in-use.js';
import { assertValidSnapshotName } from './input.js';
import type { ManagerState, ResolvedVolume } from './state.js';
import { snapshotNames } from './volume-ops.js';

/** Options of {@link StorageManager.volumeSnapshotFlatten} and {@link StorageManager.flattenImage}. */
export interface FlattenOptions {
  /** Aborts the call; what the plugin half-made is undone. */
  readonly signal?: AbortSignal | undefined;
  /** Called as data is copied, where the backend copies any. */
  readonly onProgress?: ProgressCallback | undefined;
  /**
   * `flattenImage`: the volumes the caller's guests use. The hidden template that the flattened
   * clone was the last to use is freed, unless it is one of them.
   */
  readonly inUse?: InUse | undefined;
}

function requireFlatten(r: ResolvedVolume, kind: 'toSnapshot' | 'clone'): void {
  const { entry, volume, volid } = r;
  const formats = entry.cls.capabilities.flatten?.[kind] ?? [];
  if (volume.format !== undefined && formats.includes(volume.format as VolumeFormat)) return;
  const what = kind === 'clone' ? 'flatten a linked clone' : 'flatten a volume to a snapshot';
  const which = formats.length === 0 ? '' : ` (it can for ${formats.join(', ')})`;
  throw new StorageError('NOT_SUPPORTED', `storage '${entry.id}' (type ${entry.cls.type}) cannot ${what} of format ${String(volume.format)}${which}`, {
    details: { volid, format: volume.format, formats: [...formats], feature: `flatten.${kind}` },
  });
}

/**
 * Takes a volume back to one of its snapshots and drops all its snapshots, under the volume's
 * lock, after checking that the snapshot exists and that no clone uses a snapshot of the volume.
 * On a storage that clones snapshots (`capabilities.cloneFromSnapshot`), the storage lock is
 * held around the volume's: clones are made under it, so none can appear between the check and
 * the drop of the snapshots (ZFS drops them with `zfs destroy -R`, which would take such a clone
 * with it). Those storages flatten to a snapshot without copying data, so the hold is short.
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param snapshot - the snapshot whose bytes the volume keeps
 * @param options - signal, progress
 * @see OpenNebula `snap_flatten`
 */
export async function volumeSnapshotFlatten(state: ManagerState, r: ResolvedVolume, snapshot: string, options: FlattenOptions = {}): Promise<void> {
  const { entry, volume, volid } = r;
  assertValidSnapshotName(snapshot);
  requireFlatten(r, 'toSnapshot');
  await state.read(entry, options.signal, (ctx) => state.activate(entry, ctx));
  const underVolumeLock = (): Promise<void> =>
    state.locked(
      entry,
      options.signal,
      async (ctx) => {
        const snapshots = await snapshotNames(entry.plugin, ctx, volume);
        if (!snapshots.includes(snapshot)) {
          throw new StorageError('NOT_FOUND', `snapshot '${snapshot}' of '${volid}' does not exist`, { details: { volid, snapshot, snapshots } });
        }
        const listed = state.volid(entry, volume.volname);
        const clones = (await entry.plugin.listImages(ctx, {})).filter((i) => i.parent?.startsWith(`${listed}@`)).map((i) => i.volid);
        if (clones.length > 0) {
          throw new StorageError('IN_USE', `cannot flatten '${volid}': clones use its snapshots (${clones.join(', ')}); flatten or free them first`, {
            details: { volid, snapshot, clones },
          });
        }
        await entry.plugin.volumeSnapshotFlatten(ctx, { volume, snapshot, onProgress: options.onProgress });
      },
      { volname: volume.volname, operation: 'volumeSnapshotFlatten' },
    );
  if (!entry.cls.capabilities.cloneFromSnapshot) return underVolumeLock();
  return state.locked(entry, options.signal, underVolumeLock, { operation: 'volumeSnapshotFlatten' });
}

/**
 * Detaches a linked clone from its base under the storage lock (which the plugin may give back
 * with `ctx.nameReserved()` while it copies data), then frees the base if it is hidden and now
 * unused (in the same locked section, or in a new one when the plugin gave the lock back).
 *
 * @param state - the manager's state
 * @param r - the clone
 * @param options - signal, progress
 * @returns the volid afterwards
 * @see Ceph `rbd flatten`, libvirt `virDomainBlockPull`
 */
export async function flattenImage(state: ManagerState, r: ResolvedVolume, options: FlattenOptions = {}): Promise<string> {
  const { entry, volume, volid } = r;
  requireFlatten(r, 'clone');
  assertInUse(options.inUse, 'flattenImage');
  await state.read(entry, options.signal, (ctx) => state.activate(entry, ctx));
  let released = false;
  let base: string | undefined;
  const volname = await state.locked(
    entry,
    options.signal,
    async (ctx) => {
      const dependency = await dependencyOf(entry, ctx, volume);
      if (!dependency.image) throw new StorageError('NOT_FOUND', `volume '${volid}' does not exist`, { details: { volid } });
      base = dependency.base;
      if (base === undefined) {
        throw new StorageError('INVALID_STATE', `'${volid}' is not a linked clone: it depends on no other volume, so there is nothing to flatten`, { details: { volid } });
      }
      if (entry.cls.capabilities.flatten?.cloneKeepsSnapshots !== true) {
        const snapshots = await snapshotNames(entry.plugin, ctx, volume);
        if (snapshots.length > 0) {
          throw new StorageError('INVALID_STATE', `cannot flatten '${volid}': it has snapshots (${snapshots.join(', ')}), which storage '${entry.id}' would lose; delete them first`, {
            details: { volid, snapshots, operation: 'flattenImage' },
          });
        }
      }
      const giveBack: PluginContext = {
        ...ctx,
        nameReserved: () => {
          released = true;
          ctx.nameReserved();
        },
      };
      const made = await entry.plugin.flattenImage(giveBack, { volume, onProgress: options.onProgress });
      if (!released) await freeUnusedHidden(entry, ctx, base, options.inUse);
      return made;
    },
    { operation: 'flattenImage' },
  );
  if (released) await state.locked(entry, options.signal, (ctx) => freeUnusedHidden(entry, ctx, base, options.inUse), { operation: 'flattenImage' });
  return state.volid(entry, volname);
}

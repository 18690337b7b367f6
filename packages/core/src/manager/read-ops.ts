/**
 * The manager's operations that read a storage or make a volume usable: status, listings, the
 * volume a path is, paths, activation, feature checks and sizes. They take no storage lock.
 *
 * @module
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { Feature } from '../capabilities.js';
import { StorageError, isStorageError } from '../errors.js';
import type {
  ImageInfo,
  ListVolumesRequest,
  ParsedVolume,
  PathVolumeId,
  StorageStatus,
  VolumeListEntry,
  VolumePath,
  VolumeSizeInfo,
} from '../plugin-types.js';
import { assertValidVmid, formatVolumeId, parseVolumeId } from '../volume-id.js';
import { assertFeature, assertGuestTypes, assertValidSnapshotName } from './input.js';
import { parseWith, type ManagerState, type ResolvedVolume, type StorageEntry } from './state.js';

/** Options of the operations that may act on a snapshot of a volume. */
export interface SnapshotOption {
  /** Act on this snapshot of the volume. */
  readonly snapshot?: string | undefined;
}

/**
 * Filter of {@link StorageManager.listImages}.
 *
 * @example
 * ```ts
 * const filter: ListImagesFilter = { vmid: 100, includeHidden: true };
 * ```
 */
export interface ListImagesFilter {
  /** Only this guest's images. */
  readonly vmid?: number | undefined;
  /** Only these volids of the storage (the vmid is then ignored). */
  readonly volids?: readonly string[] | undefined;
  /**
   * Also list hidden templates (freed with `whenUnused` while clones still use them; listed with
   * `hidden: true`).
   * @default false
   */
  readonly includeHidden?: boolean | undefined;
}

/**
 * Sorts by volid, case-insensitively (stable): each volid is lowered once, not once per
 * comparison (a listing sorts thousands).
 */
function sortedByVolid<T extends { readonly volid: string }>(items: readonly T[]): T[] {
  const keys = items.map((i) => i.volid.toLowerCase());
  const order = items.map((_, n) => n);
  order.sort((a, b) => {
    const x = keys[a] as string;
    const y = keys[b] as string;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return order.map((n) => items[n] as T);
}

/**
 * Splits a volume id and parses its volume name with the storage's plugin (see
 * {@link StorageManager.parseVolume}).
 *
 * @param state - the manager's state
 * @param volid - `storeid:volname`
 */
export function parseVolume(state: ManagerState, volid: string): { storeId: string; volume: ParsedVolume } {
  const { storeId, volname } = parseVolumeId(volid);
  return { storeId, volume: parseWith(state.entry(storeId), volname) };
}

/**
 * A storage's capacity (see {@link StorageManager.status}); a storage whose activation fails is
 * inactive, with the error in `details`.
 *
 * @param state - the manager's state
 * @param entry - the storage
 */
export function status(state: ManagerState, entry: StorageEntry): Promise<StorageStatus> {
  return state.read(entry, undefined, async (ctx) => {
    try {
      await state.activate(entry, ctx);
    } catch (e) {
      state.log.warn(`storage '${entry.id}' is not active`, { error: String(e) });
      return { total: 0, available: 0, used: 0, active: false, details: { error: isStorageError(e) ? e.toJSON() : String(e) } };
    }
    return entry.plugin.status(ctx);
  });
}

/**
 * A storage's images (see {@link StorageManager.listImages}), filtered again after the plugin so
 * that a plugin that ignores a filter cannot widen the answer, hidden templates left out unless
 * asked for, sorted by volid.
 *
 * @param state - the manager's state
 * @param entry - the storage
 * @param filter - a guest, or volume ids of this storage; `includeHidden`
 */
export async function listImages(state: ManagerState, entry: StorageEntry, filter: ListImagesFilter): Promise<ImageInfo[]> {
  if (filter.vmid !== undefined) assertValidVmid(filter.vmid);
  const volnames = filter.volids?.map((volid) => {
    const id = parseVolumeId(volid);
    if (id.storeId !== entry.id) {
      throw new StorageError('INVALID_ARGUMENT', `volume '${volid}' is not on storage '${entry.id}'`, { details: { volid, storeId: entry.id } });
    }
    return id.volname;
  });
  const vmid = volnames ? undefined : filter.vmid;
  const images = await state.read(entry, undefined, async (ctx) => {
    await state.activate(entry, ctx);
    return entry.plugin.listImages(ctx, { vmid, volnames });
  });
  const listed = images
    .filter((i) => (volnames ? volnames.includes(i.volname) : vmid === undefined || i.vmid === vmid))
    .filter((i) => filter.includeHidden === true || i.hidden !== true);
  return sortedByVolid(listed);
}

/**
 * A storage's volumes of the content types asked for (see {@link StorageManager.listVolumes}),
 * sorted by volid.
 *
 * @param state - the manager's state
 * @param entry - the storage
 * @param filter - guest, content types, the guests' types
 */
export async function listVolumes(state: ManagerState, entry: StorageEntry, filter: ListVolumesRequest): Promise<VolumeListEntry[]> {
  if (filter.vmid !== undefined) assertValidVmid(filter.vmid);
  if (filter.guests !== undefined) assertGuestTypes(filter.guests);
  const known = entry.cls.capabilities.content;
  const bad = filter.content?.find((c) => !known.includes(c));
  if (bad !== undefined) throw new StorageError('INVALID_ARGUMENT', `storage type '${entry.cls.type}' has no content type '${bad}'`, { details: { content: bad } });
  const volumes = await state.read(entry, undefined, async (ctx) => {
    await state.activate(entry, ctx);
    return entry.plugin.listVolumes(ctx, { vmid: filter.vmid, content: filter.content, guests: filter.guests });
  });
  return sortedByVolid(volumes);
}

/**
 * The volume a path or volume id names (see {@link StorageManager.pathToVolumeId}): a volume id
 * is checked, an absolute path is offered to every usable storage in turn.
 *
 * @param state - the manager's state
 * @param path - an absolute path, or a volume id
 */
export async function pathToVolumeId(state: ManagerState, path: string): Promise<PathVolumeId | undefined> {
  const storeIds = [...state.entries.keys()];
  if (!isAbsolute(path)) {
    const storeId = path.slice(0, Math.max(0, path.indexOf(':')));
    if (storeId === '' || !storeIds.includes(storeId)) {
      throw new StorageError('INVALID_ARGUMENT', `'${path}' is neither an absolute path nor a volume id of a configured storage`, { details: { path } });
    }
    const { volid, volume } = state.resolve(path);
    return { volid, vtype: volume.vtype };
  }
  const normal = resolvePath(path);
  for (const storeId of storeIds) {
    let entry;
    try {
      entry = state.usable(storeId);
    } catch (e) {
      if (isStorageError(e, 'UNAVAILABLE')) continue;
      throw e;
    }
    const found = await state.read(entry, undefined, (ctx) => entry.plugin.pathToVolname(ctx, { path: normal }));
    if (found !== undefined) return { volid: formatVolumeId(storeId, found), vtype: parseWith(entry, found).vtype };
  }
  return undefined;
}

/**
 * The path of a volume or snapshot (see {@link StorageManager.path}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param options - a snapshot
 */
export function path(state: ManagerState, r: ResolvedVolume, options: SnapshotOption): Promise<VolumePath> {
  const { entry, volume } = r;
  if (options.snapshot !== undefined) assertValidSnapshotName(options.snapshot);
  return state.read(entry, undefined, (ctx) => entry.plugin.path(ctx, { volume, snapshot: options.snapshot }));
}

/**
 * Activates the storage, then the volume or snapshot (see {@link StorageManager.activateVolume}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param options - a snapshot
 */
export async function activateVolume(state: ManagerState, r: ResolvedVolume, options: SnapshotOption): Promise<void> {
  const { entry, volume } = r;
  if (options.snapshot !== undefined) assertValidSnapshotName(options.snapshot);
  await state.read(entry, undefined, async (ctx) => {
    await state.activate(entry, ctx);
    await entry.plugin.activateVolume(ctx, { volume, snapshot: options.snapshot });
  });
}

/**
 * Deactivates a volume or snapshot (see {@link StorageManager.deactivateVolume}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param options - a snapshot
 */
export async function deactivateVolume(state: ManagerState, r: ResolvedVolume, options: SnapshotOption): Promise<void> {
  const { entry, volume } = r;
  if (options.snapshot !== undefined) assertValidSnapshotName(options.snapshot);
  await state.read(entry, undefined, (ctx) => entry.plugin.deactivateVolume(ctx, { volume, snapshot: options.snapshot }));
}

/**
 * Whether a volume or snapshot has a feature (see {@link StorageManager.volumeHasFeature}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param feature - the feature
 * @param options - a snapshot
 */
export function volumeHasFeature(state: ManagerState, r: ResolvedVolume, feature: Feature, options: SnapshotOption): Promise<boolean> {
  assertFeature(feature);
  if (options.snapshot !== undefined) assertValidSnapshotName(options.snapshot);
  return state.read(r.entry, undefined, (ctx) => r.entry.plugin.volumeHasFeature(ctx, { volume: r.volume, feature, snapshot: options.snapshot }));
}

/**
 * A volume's size, format, usage and parent (see {@link StorageManager.volumeSizeInfo}).
 *
 * @param state - the manager's state
 * @param r - the volume
 */
export function volumeSizeInfo(state: ManagerState, r: ResolvedVolume): Promise<VolumeSizeInfo> {
  return state.read(r.entry, undefined, (ctx) => r.entry.plugin.volumeSizeInfo(ctx, { volume: r.volume }));
}

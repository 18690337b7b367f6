/**
 * Changing volumes of a `zfspool` storage: allocate, free, make a base, clone, resize, rename,
 * and collect the garbage of unfinished imports.
 *
 * @module
 */
import { isStorageError, StorageError, type AttributeValue, type GarbageItem, type GarbageReport, type ParsedVolume } from '@stowage/core';
import {
  baseNameFor,
  type AllocImageRequest,
  ownerState,
  type CloneImageRequest,
  type CollectGarbageRequest,
  type CreateBaseRequest,
  type FreeImageRequest,
  type GetAttributeRequest,
  type UpdateAttributeRequest,
  type RenameVolumeRequest,
  type VolumeResizeRequest,
  hiddenTemplateError,
  type RegisterUndo,
  undoing,
} from '@stowage/core/plugin';
import {
  HIDDEN_PROPERTY,
  zfsInheritArgs,
  refquotaProperty,
  refquotaValue,
  toKiB,
  zfsCloneArgs,
  zfsCreateSubvolArgs,
  zfsCreateVolumeArgs,
  zfsRenameArgs,
  zfsSetArgs,
  zfsSnapshotArgs,
  zvolSize,
} from './commands.js';
import {
  destroyDataset,
  invalidate,
  loadChildren,
  loadSnapshots,
  requireVolume,
  runZfs,
  spaceDetails,
  waitForZvolLink,
  type ZfsContext,
  type ZfsTuning,
} from './exec.js';
import { zfsFailureOf } from './errors.js';
import { destroyIdentified } from './unfinished.js';
import { recoverFlattens } from './ops-flatten.js';
import { assertNameForFormat, BASE_SNAPSHOT, datasetOf, HIDDEN_BASE_SNAPSHOT, parseZfsVolname, snapshotOf, zvolPath } from './names.js';

/** Adds the pool's free space to a `NO_SPACE` error, and passes every other error on. */
async function withSpace(ctx: ZfsContext, e: unknown, requested: number): Promise<never> {
  if (isStorageError(e, 'NO_SPACE')) {
    throw new StorageError('NO_SPACE', e.message, { cause: e, details: { ...e.details, requested, ...(await spaceDetails(ctx)) } });
  }
  throw e;
}

/**
 * Creates a zvol (`zfs create [-s] [-b] -V`, size rounded up to 1 MiB as Proxmox does) and waits
 * for its device link, or a container volume (`zfs create` with `refquota`). A zvol whose link
 * does not appear in time is destroyed again.
 *
 * @param properties - properties a zvol gets in the creating command (an import's unfinished mark)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (name of another kind), `ALREADY_EXISTS`
 *   (nothing removed), `NOT_FOUND` (pool), `NO_SPACE` (free space in `details`), `TIMEOUT`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::alloc_image`
 */
export async function allocImage(ctx: ZfsContext, request: AllocImageRequest, tuning: ZfsTuning, properties?: Readonly<Record<string, string>>): Promise<string> {
  const { name, format, size } = request;
  if (format !== 'raw' && format !== 'subvol') {
    throw new StorageError('NOT_SUPPORTED', `zfspool stores raw (zvol) and subvol volumes, not ${format}`, { details: { format } });
  }
  assertNameForFormat(name, format);
  const { pool, sparse, blocksize } = ctx.config;
  const dataset = datasetOf(pool, name);
  return undoing(ctx, undefined, async (undo) => {
    const argv = format === 'raw' ? zfsCreateVolumeArgs({ dataset, size: zvolSize(size), sparse, blocksize, properties }) : zfsCreateSubvolArgs(dataset, size);
    await runZfs(ctx, argv, { details: { name } }).catch((e: unknown) => withSpace(ctx, e, size));
    undo(() => destroyDataset(ctx, name, tuning, { cleanup: true }));
    if (format === 'raw') await waitForZvolLink(ctx, zvolPath(pool, name), tuning.zvolLinkTimeoutMs);
    return name;
  });
}

/**
 * Destroys a volume with its snapshots.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (no such volume, of its name's kind and whole:
 *   an unfinished one is not found; or `zfs destroy` says it is gone by now, `details.failure` is
 *   `missing`), `IN_USE` (clones named in `details.clones`), `BUSY`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::free_image`
 */
export async function freeImage(ctx: ZfsContext, request: FreeImageRequest, tuning: ZfsTuning): Promise<void> {
  await requireVolume(ctx, request.volume);
  await destroyDataset(ctx, request.volume.name, tuning, { mustExist: true });
}

/**
 * Renames `vm-…` to `base-…` (`subvol-…` to `basevol-…`) and takes the `__base__` snapshot that
 * clones are made from; when the snapshot fails the rename is taken back.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (a base), `NOT_FOUND`, `ALREADY_EXISTS`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::create_base`
 */
export async function createBase(ctx: ZfsContext, request: CreateBaseRequest): Promise<string> {
  const { volume } = request;
  if (volume.isBase) throw new StorageError('INVALID_ARGUMENT', `'${ctx.storeId}:${volume.volname}' is already a base`, { details: { volname: volume.volname } });
  const { pool } = ctx.config;
  const base = baseNameFor(volume.name);
  const record = volume.format === 'subvol' ? await requireVolume(ctx, volume) : undefined;
  return undoing(ctx, undefined, async (undo) => {
    await runZfs(ctx, zfsRenameArgs(datasetOf(pool, volume.name), datasetOf(pool, base)), { details: { volname: volume.volname } });
    undo(() => runZfs(ctx, zfsRenameArgs(datasetOf(pool, base), datasetOf(pool, volume.name)), { cleanup: true }));
    await runZfs(ctx, zfsSnapshotArgs(snapshotOf(pool, base, BASE_SNAPSHOT), refquotaProperty(record?.refquota, volume.format)));
    return volume.baseName ? `${volume.baseName}/${base}` : base;
  });
}

/**
 * A linked clone (`zfs clone`) of a base's `__base__` snapshot, named `<base>/<name>`, or of
 * any snapshot of a volume, named `<name>`. A zvol clone's device link is waited for; a
 * container clone gets its source's quota.
 *
 * A hidden base has no `__base__` snapshot (see {@link updateVolumeAttribute}): its clone fails
 * by itself, and only then is the base looked at, to refuse it as hidden.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (neither a base nor a snapshot), `INVALID_ARGUMENT`,
 *   `INVALID_STATE` (a hidden base), `NOT_FOUND` (volume or snapshot), `ALREADY_EXISTS`, `NO_SPACE`, `TIMEOUT`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::clone_image`
 */
export async function cloneImage(ctx: ZfsContext, request: CloneImageRequest, tuning: ZfsTuning): Promise<string> {
  const { volume, name } = request;
  const snapshot = request.snapshot ?? (volume.isBase ? BASE_SNAPSHOT : undefined);
  if (snapshot === undefined) {
    throw new StorageError('NOT_SUPPORTED', `'${ctx.storeId}:${volume.volname}' is not a base: name a snapshot to clone`, { details: { volname: volume.volname } });
  }
  assertNameForFormat(name, volume.format);
  if (parseZfsVolname(name).isBase) throw new StorageError('INVALID_ARGUMENT', `a clone cannot be a base: '${name}'`, { details: { name } });
  const { pool } = ctx.config;
  const properties: Record<string, string> = volume.format === 'subvol' ? { refquota: refquotaValue((await requireVolume(ctx, volume)).refquota ?? 0) } : {};
  return undoing(ctx, undefined, async (undo) => {
    await runZfs(ctx, zfsCloneArgs(snapshotOf(pool, volume.name, snapshot), datasetOf(pool, name), properties), { details: { volname: volume.volname, snapshot } }).catch(async (e: unknown) => {
      if (request.snapshot === undefined && zfsFailureOf(e) === 'missing') await refuseHidden(ctx, volume);
      throw e;
    });
    undo(() => destroyDataset(ctx, name, tuning, { cleanup: true }));
    if (volume.format !== 'subvol') await waitForZvolLink(ctx, zvolPath(pool, name), tuning.zvolLinkTimeoutMs);
    return snapshot === BASE_SNAPSHOT && volume.isBase ? `${volume.name}/${name}` : name;
  });
}

/**
 * After `zfs clone` of a base's `__base__` failed because it is missing: the hidden template's
 * error when the snapshot is `__hidden__` (the base was hidden), else nothing.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_STATE` (hidden)
 */
async function refuseHidden(ctx: ZfsContext, volume: ParsedVolume): Promise<void> {
  const snapshots = await loadSnapshots(ctx, volume).catch(() => []);
  if (snapshots.some((s) => s.snapshot === HIDDEN_BASE_SNAPSHOT)) throw hiddenTemplateError(`${ctx.storeId}:${volume.volname}`);
}

/**
 * Grows a zvol (`volsize`, rounded up to 1 MiB) or a container volume's quota (`refquota`);
 * a smaller size than it has is refused, the same size does nothing.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `CANNOT_SHRINK`, `NO_SPACE`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_resize`
 */
export async function volumeResize(ctx: ZfsContext, request: VolumeResizeRequest): Promise<void> {
  const { volume } = request;
  const record = await requireVolume(ctx, volume);
  const subvol = volume.format === 'subvol';
  const size = subvol ? toKiB(request.size) * 1024 : zvolSize(request.size);
  const current = (subvol ? record.refquota : record.volsize) ?? 0;
  if (subvol && record.refquota === undefined) {
    // no quota yet: any quota is a limit, not a shrink
  } else if (size < current) {
    throw new StorageError('CANNOT_SHRINK', `cannot shrink '${ctx.storeId}:${volume.volname}' from ${current} to ${size} bytes`, {
      details: { volname: volume.volname, size, current },
    });
  } else if (size === current) {
    return;
  }
  const dataset = datasetOf(ctx.config.pool, volume.name);
  try {
    await runZfs(ctx, zfsSetArgs(subvol ? 'refquota' : 'volsize', `${toKiB(size)}k`, dataset), { details: { volname: volume.volname } });
  } catch (e) {
    await withSpace(ctx, e, size);
  } finally {
    invalidate(ctx);
  }
}

/**
 * Renames a volume (with its snapshots) for another guest; a clone keeps its `<base>/` part.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (a name of another kind, base-ness changed),
 *   `NOT_FOUND`, `ALREADY_EXISTS`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::rename_volume`
 */
export async function renameVolume(ctx: ZfsContext, request: RenameVolumeRequest): Promise<string> {
  const { volume, targetName } = request;
  assertNameForFormat(targetName, volume.format);
  const target = parseZfsVolname(targetName);
  if (target.isBase !== volume.isBase || target.vmid !== request.targetVmid) {
    throw new StorageError('INVALID_ARGUMENT', `cannot rename '${volume.volname}' to '${targetName}': owner or base-ness does not fit`, {
      details: { volname: volume.volname, targetName, targetVmid: request.targetVmid },
    });
  }
  const { pool } = ctx.config;
  try {
    await runZfs(ctx, zfsRenameArgs(datasetOf(pool, volume.name), datasetOf(pool, targetName)), { details: { volname: volume.volname, targetName } });
  } catch (e) {
    if (zfsFailureOf(e) === 'missing') throw new StorageError('NOT_FOUND', `volume '${ctx.storeId}:${volume.volname}' does not exist`, { cause: e, details: { volname: volume.volname } });
    throw e;
  } finally {
    invalidate(ctx);
  }
  return volume.baseName ? `${volume.baseName}/${targetName}` : targetName;
}

/**
 * Finishes or takes back the flattens whose owner is dead (see `recoverFlattens`), destroys the
 * unfinished datasets of the storage whose owner is dead (each checked by the guid it was listed
 * with), and reports the others: a live owner's, another node's.
 *
 * @param ctx - the operation context
 * @param request - `dryRun`: report only
 * @param tuning - retry bounds of a busy destroy
 * @returns what was removed and what was kept
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (pool), `BUSY`
 */
export async function collectGarbage(ctx: ZfsContext, request: CollectGarbageRequest, tuning: ZfsTuning): Promise<GarbageReport> {
  const { removed, kept } = await recoverFlattens(ctx, request.dryRun === true, tuning);
  for (const [name, record] of await loadChildren(ctx)) {
    if (record.incomplete === undefined) continue;
    const item: GarbageItem = { name, owner: record.incomplete, reason: `owner-${ownerState(record.incomplete, ctx.node)}` };
    if (item.reason !== 'owner-dead') kept.push(item);
    else if (request.dryRun === true || (await destroyIdentified(ctx, { name, guid: record.guid }, tuning))) removed.push(item);
  }
  return { removed, kept };
}

/** The attribute a `zfspool` volume keeps: `hidden`, a user property. */
function assertHidden(ctx: ZfsContext, attribute: string): void {
  if (attribute !== 'hidden') throw new StorageError('NOT_SUPPORTED', `zfspool keeps no '${attribute}' attribute`, { details: { attribute, storeId: ctx.storeId } });
}

/**
 * Reads the `hidden` attribute: whether the volume's `stowage:hidden` is set.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (another attribute), `NOT_FOUND`
 */
export async function getVolumeAttribute(ctx: ZfsContext, request: GetAttributeRequest): Promise<AttributeValue> {
  assertHidden(ctx, request.attribute);
  return (await requireVolume(ctx, request.volume)).hidden;
}

/**
 * Sets (`zfs set stowage:hidden=1`) or clears (`zfs inherit stowage:hidden`) the `hidden`
 * attribute. A base's `__base__` snapshot is renamed to `__hidden__` before the property is set,
 * and back after it is cleared, so that `zfs clone` refuses a hidden base by itself
 * (`capabilities.cloneRefusesHidden`); a base marked hidden has no `__base__` whatever step a
 * failure stops at (a failed step takes the rename back).
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (another attribute), `NOT_FOUND`
 */
export async function updateVolumeAttribute(ctx: ZfsContext, request: UpdateAttributeRequest): Promise<void> {
  const { volume } = request;
  assertHidden(ctx, request.attribute);
  await requireVolume(ctx, volume);
  const dataset = datasetOf(ctx.config.pool, volume.name);
  const hide = request.value === true;
  await undoing(ctx, undefined, async (undo) => {
    if (hide) await renameBaseSnapshot(ctx, volume, BASE_SNAPSHOT, HIDDEN_BASE_SNAPSHOT, undo);
    await runZfs(ctx, hide ? zfsSetArgs(HIDDEN_PROPERTY, '1', dataset) : zfsInheritArgs(HIDDEN_PROPERTY, dataset), { details: { volname: volume.volname } });
    if (!hide) await renameBaseSnapshot(ctx, volume, HIDDEN_BASE_SNAPSHOT, BASE_SNAPSHOT, undo);
  });
}

/** Renames a base's snapshot `from` to `to` when it has `from` (nothing for a volume that is not a base), registering the way back. */
async function renameBaseSnapshot(ctx: ZfsContext, volume: ParsedVolume, from: string, to: string, undo: RegisterUndo): Promise<void> {
  if (!volume.isBase || !(await loadSnapshots(ctx, volume)).some((s) => s.snapshot === from)) return;
  const { pool } = ctx.config;
  await runZfs(ctx, zfsRenameArgs(snapshotOf(pool, volume.name, from), snapshotOf(pool, volume.name, to)), { details: { volname: volume.volname, snapshot: from } });
  undo(() => runZfs(ctx, zfsRenameArgs(snapshotOf(pool, volume.name, to), snapshotOf(pool, volume.name, from)), { cleanup: true }));
}

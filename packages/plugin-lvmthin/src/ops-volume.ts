/**
 * Operations that make, remove, template, clone, grow and rename volumes, and the garbage
 * collection of unfinished ones.
 *
 * @module
 */
import {
  baseNameFor,
  undoing,
  type RegisterUndo,
  type AllocImageRequest,
  ownerState,
  type CloneImageRequest,
  type CollectGarbageRequest,
  type CreateBaseRequest,
  type FreeImageRequest,
  hiddenTemplateError,
  type GetAttributeRequest,
  type RenameVolumeRequest,
  type UpdateAttributeRequest,
  type VolumeResizeRequest,
} from '@stowage/core/plugin';
import { formatVolumeId, StorageError, type AttributeValue, type GarbageItem, type GarbageReport } from '@stowage/core';
import {
  lvchangeBaseArgs,
  lvchangeDeactivateArgs,
  lvchangeUnbaseArgs,
  lvcreateSnapshotArgs,
  lvcreateThinArgs,
  lvextendArgs,
  lvrenameArgs,
  toKiB,
} from './commands.js';
import { invalidateListing, loadPool, loadPoolView, LVS_CACHE_KEY, removeLvs, requireVolume, runLvm, type LvmThinContext } from './exec.js';
import { hiddenLvName, incompleteOwner, parseLvmThinVolname, snapshotLvName } from './names.js';
import { removeByUuid } from './unfinished.js';
import { lvmFailureOf } from './errors.js';
import { recoverFlattens } from './ops-flatten.js';

/**
 * Checks that a new volume name is a `vm-<vmid>-…` name of this storage for the given guest.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID`, `INVALID_ARGUMENT`
 */
function assertNewName(name: string, vmid: number, prefix: 'vm' | 'base' = 'vm'): void {
  const parsed = parseLvmThinVolname(name);
  if (parsed.isBase !== (prefix === 'base') || parsed.vmid !== vmid) {
    throw new StorageError('INVALID_ARGUMENT', `illegal name '${name}': should be '${prefix}-${vmid}-*'`, { details: { name, vmid } });
  }
}

/**
 * Checks an allocation request: raw, a `vm-<vmid>-…` name, a positive whole size.
 *
 * @param request - the request
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`, `INVALID_VOLUME_ID`
 */
export function assertAllocRequest(request: AllocImageRequest): void {
  if (request.format !== 'raw') {
    throw new StorageError('INVALID_ARGUMENT', `lvmthin storage only holds raw images, not ${request.format}`, { details: { format: request.format } });
  }
  assertNewName(request.name, request.vmid);
  if (!Number.isSafeInteger(request.size) || request.size <= 0) {
    throw new StorageError('INVALID_ARGUMENT', `invalid size ${String(request.size)}`, { details: { size: request.size } });
  }
}

/**
 * Creates a thin LV: one `lvcreate`, which refuses a name that exists.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`, `ALREADY_EXISTS`, `NOT_FOUND` (volume group or
 *   pool), `NO_SPACE` (pool usage in `details`)
 * @see Proxmox `PVE::Storage::LvmThinPlugin::alloc_image`
 */
export async function allocImage(ctx: LvmThinContext, request: AllocImageRequest): Promise<string> {
  assertAllocRequest(request);
  const { vgname: vg, thinpool: pool } = ctx.config;
  try {
    await runLvm(ctx, lvcreateThinArgs({ vg, pool, name: request.name, size: request.size }), { details: { lv: request.name } });
  } finally {
    invalidateListing(ctx);
  }
  return request.name;
}

/**
 * Removes a volume and its snapshots.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (no such volume in the pool's listing), `IN_USE` when
 *   linked clones were made from it or from one of its snapshots (`details.clones`), `BUSY`
 * @see Proxmox `PVE::Storage::LvmThinPlugin::free_image`
 */
export async function freeImage(ctx: LvmThinContext, request: FreeImageRequest): Promise<void> {
  const volname = request.volume.volname;
  const { view, lv } = await requireVolume(ctx, volname);
  const clones = view.clonesOf(volname);
  if (clones.length > 0) {
    throw new StorageError('IN_USE', `volume '${ctx.storeId}:${volname}' is still used by linked clones`, {
      details: { volname, clones: clones.map((c) => formatVolumeId(ctx.storeId, c)) },
    });
  }
  const snapshots = view.snapshotsOf(volname).map((s) => s.lv.name);
  if (snapshots.length > 0) await removeLvs(ctx, snapshots);
  await removeLvs(ctx, [lv.name]);
}

/**
 * Turns a volume into a base: renamed `base-…`, read-only, skipped by activation, inactive.
 * Each step is undone when a later one fails.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (already a base), `NOT_FOUND`, `IN_USE` (the
 *   volume has snapshots), `ALREADY_EXISTS` (the base name is taken)
 * @see Proxmox `PVE::Storage::LvmThinPlugin::create_base`
 */
export async function createBase(ctx: LvmThinContext, request: CreateBaseRequest): Promise<string> {
  const volname = request.volume.volname;
  if (request.volume.isBase) {
    throw new StorageError('INVALID_ARGUMENT', `'${ctx.storeId}:${volname}' is a base already`, { details: { volname } });
  }
  const { view } = await requireVolume(ctx, volname);
  const snapshots = view.snapshotsOf(volname).map((s) => s.snapshot);
  if (snapshots.length > 0) {
    throw new StorageError('IN_USE', `cannot make a base of '${ctx.storeId}:${volname}': it has snapshots`, { details: { volname, snapshots } });
  }
  // `lvrename` refuses an LV of the base's name; a hidden base of that name is checked here
  const base = baseNameFor(volname);
  if (view.hidden.has(base)) {
    throw new StorageError('ALREADY_EXISTS', `volume '${ctx.storeId}:${base}' already exists (hidden)`, { details: { volname: base, hidden: true } });
  }
  return undoing(ctx, LVS_CACHE_KEY, (undo) => makeBase(ctx, volname, undo));
}

/**
 * The steps that make an LV a base: rename `vm-…` to `base-…`, read-only and skipped by
 * activation, deactivate. Each step registers its undo.
 *
 * @param ctx - the operation context
 * @param volname - the `vm-…` LV
 * @param undo - registers undo steps
 * @returns the base's name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`, `NOT_FOUND`, `BUSY`
 */
export async function makeBase(ctx: LvmThinContext, volname: string, undo: RegisterUndo): Promise<string> {
  const vg = ctx.config.vgname;
  const base = baseNameFor(volname);
  await runLvm(ctx, lvrenameArgs(vg, volname, base), { details: { lv: volname } });
  undo(() => runLvm(ctx, lvrenameArgs(vg, base, volname), { cleanup: true }));
  await runLvm(ctx, lvchangeBaseArgs(vg, base), { details: { lv: base } });
  undo(() => runLvm(ctx, lvchangeUnbaseArgs(vg, base), { cleanup: true }));
  await runLvm(ctx, lvchangeDeactivateArgs(vg, base), { retryBusy: true, details: { lv: base } });
  return base;
}

/**
 * Makes a linked clone: a writable thin snapshot of a base, or of a volume's snapshot, with
 * activation now (activation skip flag set, like every volume). One `lvcreate`.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (not a base and no snapshot named),
 *   `INVALID_ARGUMENT` (bad name), `NOT_FOUND` (source), `ALREADY_EXISTS`, `NO_SPACE`
 * @see Proxmox `PVE::Storage::LvmThinPlugin::clone_image`
 */
export async function cloneImage(ctx: LvmThinContext, request: CloneImageRequest): Promise<string> {
  const volname = request.volume.volname;
  if (!request.volume.isBase && request.snapshot === undefined) {
    throw new StorageError('NOT_SUPPORTED', `'${ctx.storeId}:${volname}' is not a base: only bases and snapshots can be cloned`, { details: { volname } });
  }
  assertNewName(request.name, request.vmid);
  const origin = request.snapshot === undefined ? volname : snapshotLvName(volname, request.snapshot);
  try {
    await runLvm(ctx, lvcreateSnapshotArgs({ vg: ctx.config.vgname, origin, name: request.name, writable: true }), {
      details: { lv: request.name, origin },
    });
  } catch (e) {
    throw await cloneFailure(ctx, request, e);
  } finally {
    invalidateListing(ctx);
  }
  return request.name;
}

/**
 * Why a clone failed: a template's LV missing because the template is hidden (renamed
 * `stowage_hidden_<volname>`) is {@link hiddenTemplateError}; anything else is the failure as it is.
 *
 * @param ctx - the operation context
 * @param request - the clone
 * @param error - what `lvcreate -s` threw
 */
async function cloneFailure(ctx: LvmThinContext, request: CloneImageRequest, error: unknown): Promise<unknown> {
  if (request.snapshot !== undefined || lvmFailureOf(error) !== 'lv-missing') return error;
  invalidateListing(ctx);
  const view = await loadPoolView(ctx).catch(() => undefined);
  const volname = request.volume.volname;
  return view?.hidden.has(volname) === true ? hiddenTemplateError(formatVolumeId(ctx.storeId, volname)) : error;
}

/**
 * Grows a volume. A size the volume already has (after LVM's rounding to whole extents) is a
 * no-op; a smaller one is refused.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `CANNOT_SHRINK`, `NO_SPACE`
 * @see Proxmox `PVE::Storage::LVMPlugin::volume_resize`
 */
export async function volumeResize(ctx: LvmThinContext, request: VolumeResizeRequest): Promise<void> {
  const volname = request.volume.volname;
  const { lv } = await requireVolume(ctx, volname);
  const extent = lv.extentSize ?? 1024;
  const rounded = Math.ceil((toKiB(request.size) * 1024) / extent) * extent;
  if (rounded === lv.size) return;
  if (rounded < lv.size) {
    throw new StorageError('CANNOT_SHRINK', `cannot shrink '${ctx.storeId}:${volname}' from ${lv.size} to ${request.size} bytes`, {
      details: { volname, size: lv.size, requested: request.size },
    });
  }
  try {
    await runLvm(ctx, lvextendArgs(ctx.config.vgname, lv.name, request.size), { details: { lv: lv.name } });
  } finally {
    invalidateListing(ctx);
  }
}

/**
 * Renames a volume for another guest, with its snapshots (`snap_<old>_s` becomes
 * `snap_<new>_s`). Each rename is undone when a later one fails.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (target name), `NOT_FOUND`, `ALREADY_EXISTS`
 * @see Proxmox `PVE::Storage::LVMPlugin::rename_volume`
 */
export async function renameVolume(ctx: LvmThinContext, request: RenameVolumeRequest): Promise<string> {
  const volname = request.volume.volname;
  const target = request.targetName;
  assertNewName(target, request.targetVmid, request.volume.isBase ? 'base' : 'vm');
  const { view } = await requireVolume(ctx, volname);
  if (view.isTaken(target)) {
    throw new StorageError('ALREADY_EXISTS', `volume '${ctx.storeId}:${target}' already exists`, { details: { volname: target } });
  }
  const vg = ctx.config.vgname;
  const moves = [{ from: volname, to: target }, ...view.snapshotsOf(volname).map((s) => ({ from: s.lv.name, to: snapshotLvName(target, s.snapshot) }))];
  await undoing(ctx, LVS_CACHE_KEY, async (undo) => {
    for (const { from, to } of moves) {
      await runLvm(ctx, lvrenameArgs(vg, from, to), { details: { lv: from } });
      undo(() => runLvm(ctx, lvrenameArgs(vg, to, from), { cleanup: true }));
    }
  });
  return target;
}

/**
 * Finishes or takes back the flattens whose owner is dead (see `recoverFlattens`), removes the
 * unfinished LVs of the pool whose owner is dead (each by the UUID it was listed with), and
 * reports those it keeps: a live owner's, another node's.
 *
 * @param ctx - the operation context
 * @param request - `dryRun`: report only
 * @returns what was removed and what was kept
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (volume group or pool missing), `BUSY`
 */
export async function collectGarbage(ctx: LvmThinContext, request: CollectGarbageRequest): Promise<GarbageReport> {
  const { removed, kept } = await recoverFlattens(ctx, request.dryRun === true);
  for (const lv of (await loadPool(ctx)).unfinished) {
    const owner = incompleteOwner(lv)!;
    const item: GarbageItem = { name: lv.name, owner, reason: `owner-${ownerState(owner, ctx.node)}` };
    if (item.reason !== 'owner-dead') {
      kept.push(item);
      continue;
    }
    if (request.dryRun !== true) await removeByUuid(ctx, lv.uuid);
    removed.push(item);
  }
  return { removed, kept };
}

function assertHidden(ctx: LvmThinContext, attribute: string): void {
  if (attribute !== 'hidden') throw new StorageError('NOT_SUPPORTED', `lvmthin keeps no '${attribute}' attribute`, { details: { attribute, storeId: ctx.storeId } });
}

/**
 * Reads the `hidden` attribute: whether the volume's LV is named `stowage_hidden_<volname>`.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (another attribute), `NOT_FOUND`
 */
export async function getVolumeAttribute(ctx: LvmThinContext, request: GetAttributeRequest): Promise<AttributeValue> {
  assertHidden(ctx, request.attribute);
  return (await requireVolume(ctx, request.volume.volname)).view.hidden.has(request.volume.volname);
}

/**
 * Sets or clears the `hidden` attribute: one `lvrename` of the volume's LV to
 * `stowage_hidden_<volname>` or back, so that `lvcreate -s` of the template's name fails from
 * the moment it is hidden; setting what is set already runs nothing. Clones keep their volnames
 * (LVM-thin volnames never name their base) and their `origin` follows the LV.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (another attribute), `NOT_FOUND`,
 *   `INVALID_ARGUMENT` (a volname too long to hide), `ALREADY_EXISTS` (un-hiding while another
 *   LV has taken the name)
 */
export async function updateVolumeAttribute(ctx: LvmThinContext, request: UpdateAttributeRequest): Promise<void> {
  assertHidden(ctx, request.attribute);
  const volname = request.volume.volname;
  const { view } = await requireVolume(ctx, volname);
  const hide = request.value === true;
  if (view.hidden.has(volname) === hide) return;
  const hiddenName = hiddenLvName(volname);
  const [from, to] = hide ? [volname, hiddenName] : [hiddenName, volname];
  try {
    await runLvm(ctx, lvrenameArgs(ctx.config.vgname, from, to), { details: { lv: from, target: to } });
  } finally {
    invalidateListing(ctx);
  }
}

/**
 * What changes volumes of a `memory` storage: allocate, free, make a base, clone, resize,
 * rename, set attributes, and collect the garbage of unfinished imports.
 *
 * @module
 */
import { StorageError } from '../../errors.js';
import { ownerState } from '../../owner.js';
import { baseNameFor } from '../../volume-id.js';
import type {
  AllocImageRequest,
  CloneImageRequest,
  CollectGarbageRequest,
  CreateBaseRequest,
  FreeImageRequest,
  GarbageItem,
  GarbageReport,
  RenameVolumeRequest,
  UpdateAttributeRequest,
  VolumeResizeRequest,
} from '../../plugin-types.js';
import { cloneArgs, copyArgs, createArgs, destroyIdentifiedArgs, renameArgs, resizeArgs, setArgs } from './commands.js';
import { INCOMPLETE_PROP, memoryPool } from './config.js';
import { assertAttribute, assertSize, find, records, runMemory, type MemoryContext } from './exec.js';
import { assertNewVolumeName } from './names.js';

/**
 * Creates a volume of exactly the name asked for.
 *
 * @param ctx - the call's context
 * @param request - vmid, format (`raw`), name, size
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`, `ALREADY_EXISTS`, `NO_SPACE`
 * @see Proxmox `alloc_image`
 */
export async function allocImage(ctx: MemoryContext, request: AllocImageRequest): Promise<string> {
  if (request.format !== 'raw') {
    throw new StorageError('INVALID_ARGUMENT', `format '${request.format}' is not supported by memory storage`, { details: { format: request.format } });
  }
  assertSize(request.size);
  assertNewVolumeName(request.name, request.vmid);
  await runMemory(ctx, createArgs(memoryPool(ctx), request.name, request.size), { name: request.name });
  return request.name;
}

/**
 * Removes the volume and its snapshots (checked by guid); `NOT_FOUND` when it does not exist.
 *
 * @param ctx - the call's context
 * @param request - the volume
 * @see Proxmox `free_image`
 */
export async function freeImage(ctx: MemoryContext, request: FreeImageRequest): Promise<void> {
  const record = await find(ctx, request.volume);
  await runMemory(ctx, destroyIdentifiedArgs(memoryPool(ctx), record.name, record.guid), { volname: request.volume.volname });
}

/**
 * Renames `vm-` to `base-` and makes the volume read-only; undoes the rename if that fails.
 *
 * @param ctx - the call's context
 * @param request - the volume
 * @see Proxmox `create_base`
 */
export async function createBase(ctx: MemoryContext, request: CreateBaseRequest): Promise<string> {
  const v = request.volume;
  if (v.isBase) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is already a base`, { details: { volname: v.volname } });
  await find(ctx, v);
  const pool = memoryPool(ctx);
  const baseName = baseNameFor(v.name);
  await runMemory(ctx, renameArgs(pool, v.name, baseName), { volname: v.volname });
  try {
    await runMemory(ctx, setArgs(pool, baseName, 'readonly', '1'), { volname: v.volname });
  } catch (e) {
    await runMemory(ctx, renameArgs(pool, baseName, v.name)).catch((undo: unknown) => {
      ctx.log.warn('could not undo the rename of a failed createBase', { volname: v.volname, error: String(undo) });
    });
    throw e;
  }
  ctx.cache.invalidate();
  return v.baseName === undefined ? baseName : `${v.baseName}/${baseName}`;
}

/**
 * A linked clone of a base, or of a snapshot when the variant supports it; with
 * `independentClones`, a copy that keeps no link to its source (named `vm-<vmid>-…`, no
 * `parent`).
 *
 * @param ctx - the call's context
 * @param request - the source, an optional snapshot, the new vmid and name
 * @see Proxmox `clone_image`
 */
export async function cloneImage(ctx: MemoryContext, request: CloneImageRequest): Promise<string> {
  const v = request.volume;
  assertNewVolumeName(request.name, request.vmid);
  if (request.snapshot !== undefined && !ctx.capabilities.cloneFromSnapshot) {
    throw new StorageError('NOT_SUPPORTED', `storage type '${ctx.type}' cannot clone from a snapshot`, { details: { volname: v.volname } });
  }
  if (request.snapshot === undefined && !v.isBase) {
    throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is not a base: clone a base, or name a snapshot`, { details: { volname: v.volname } });
  }
  await find(ctx, v);
  const independent = ctx.capabilities.independentClones === true;
  await runMemory(ctx, (independent ? copyArgs : cloneArgs)(memoryPool(ctx), v.name, request.snapshot, request.name), { volname: v.volname, snapshot: request.snapshot });
  return request.snapshot === undefined && !independent ? `${v.name}/${request.name}` : request.name;
}

/**
 * Grows (or, when the variant allows, shrinks) a volume.
 *
 * @param ctx - the call's context
 * @param request - the volume and its new size
 * @see Proxmox `volume_resize`
 */
export async function volumeResize(ctx: MemoryContext, request: VolumeResizeRequest): Promise<void> {
  assertSize(request.size);
  const r = await find(ctx, request.volume);
  if (request.size === r.size) return;
  if (request.size < r.size && !ctx.capabilities.shrink) {
    throw new StorageError('CANNOT_SHRINK', `cannot shrink '${request.volume.volname}' from ${r.size} to ${request.size} bytes`, {
      details: { volname: request.volume.volname, size: r.size, requested: request.size },
    });
  }
  await runMemory(ctx, resizeArgs(memoryPool(ctx), r.name, request.size), { volname: request.volume.volname });
}

/**
 * Moves a (non-base) volume to another guest under the name given.
 *
 * @param ctx - the call's context
 * @param request - the volume, the target vmid and name
 * @see Proxmox `rename_volume`
 */
export async function renameVolume(ctx: MemoryContext, request: RenameVolumeRequest): Promise<string> {
  const v = request.volume;
  if (v.isBase) throw new StorageError('NOT_SUPPORTED', `renaming the base '${v.volname}' is not supported`, { details: { volname: v.volname } });
  assertNewVolumeName(request.targetName, request.targetVmid);
  const r = await find(ctx, v);
  await runMemory(ctx, renameArgs(memoryPool(ctx), r.name, request.targetName), { volname: v.volname });
  return v.baseName === undefined ? request.targetName : `${v.baseName}/${request.targetName}`;
}

/**
 * Sets (or, with no value, clears) `notes` or `protected`.
 *
 * @param ctx - the call's context
 * @param request - the volume, the attribute and its value
 * @see Proxmox `update_volume_attribute`
 */
export async function updateVolumeAttribute(ctx: MemoryContext, request: UpdateAttributeRequest): Promise<void> {
  assertAttribute(ctx, request.attribute);
  const { attribute, value } = request;
  const ok = value === undefined || (attribute === 'notes' ? typeof value === 'string' : typeof value === 'boolean');
  if (!ok) throw new StorageError('INVALID_ARGUMENT', `invalid value for '${attribute}'`, { details: { attribute } });
  const r = await find(ctx, request.volume);
  const text = value === undefined || value === false || value === '' ? undefined : value === true ? '1' : value;
  await runMemory(ctx, setArgs(memoryPool(ctx), r.name, attribute, text), { volname: request.volume.volname });
}

/**
 * Destroys unfinished volumes (imports whose process died) whose owner is dead, each only if
 * it still has the guid it was listed with.
 *
 * @param ctx - the call's context
 * @param request - `dryRun`: report only
 */
export async function collectGarbage(ctx: MemoryContext, request: CollectGarbageRequest): Promise<GarbageReport> {
  const removed: GarbageItem[] = [];
  const kept: GarbageItem[] = [];
  for (const r of await records(ctx)) {
    const owner = r.props[INCOMPLETE_PROP];
    if (owner === undefined) continue;
    const state = ownerState(owner, ctx.node);
    const item: GarbageItem = { name: r.name, owner, reason: `owner-${state}` };
    if (state !== 'dead') {
      kept.push(item);
      continue;
    }
    if (request.dryRun !== true) {
      await runMemory(ctx, destroyIdentifiedArgs(memoryPool(ctx), r.name, r.guid), { name: r.name });
      ctx.cache.invalidate();
    }
    removed.push(item);
  }
  return { removed, kept };
}

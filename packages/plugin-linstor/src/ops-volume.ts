/**
 * What changes volumes: allocate, free, make a base, clone (which linstor-proxmox refuses: a
 * base is a volume renamed `base-…` in its properties only; a clone is made by LINSTOR's clone
 * API, polled until `COMPLETE` or `FAILED`, and records its base so the base cannot be freed
 * under it), resize, rename, and the garbage of unfinished volumes.
 *
 * @module
 */
import { StorageError, type GarbageItem, type GarbageReport } from '@stowage/core';
import {
  baseNameFor,
  ownerState,
  type AllocImageRequest,
  type CloneImageRequest,
  type CollectGarbageRequest,
  type CreateBaseRequest,
  type FreeImageRequest,
  type RenameVolumeRequest,
  type VolumeResizeRequest,
} from '@stowage/core/plugin';
import {
  deleteResourceDefinition,
  deleteSnapshot,
  listSnapshots,
  modifyResourceDefinition,
  resizeVolume,
  startClone,
  viewResources,
} from './client/api.js';
import { notSupported } from './errors.js';
import { sleep, type LinstorEnv } from './exec.js';
import { waitForClone } from './clone-wait.js';
import { collectReplaced } from './ops-flatten.js';
import {
  formatLinstorVolname,
  newResourceName,
  parseLinstorVolname,
  PROP_BASE,
  PROP_INCOMPLETE,
  PROP_NAME,
  PROP_VMID,
  toKib,
} from './names.js';
import { dropAllSnapshotVolumes } from './snapshot-volume.js';
import { createUnfinished, deleteIdentified, identify, markWhole, ownerToken, undoOnFailure } from './unfinished.js';
import { assertNameFree, clonesOf, forgetView, loadAll, requireVolume, written } from './view.js';

/**
 * Creates a whole, empty volume: `createUnfinished`, then `markWhole`. On any failure after the
 * spawn, the definition is deleted again (checked by uuid).
 *
 * @param env - the call's environment
 * @param request - vmid, format (`raw`), name, size
 * @returns the volname
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (not raw, or a linked clone's name), `ALREADY_EXISTS`, `NOT_FOUND` (group), `NO_SPACE`, the controller's errors
 * @see Proxmox `LINSTORPlugin::alloc_image`
 */
export async function allocImage(env: LinstorEnv, request: AllocImageRequest): Promise<string> {
  if (request.format !== 'raw') throw new StorageError('INVALID_ARGUMENT', `linstor volumes are raw, not ${request.format}`, { details: { format: request.format } });
  const parsed = parseLinstorVolname(request.name);
  if (parsed.baseName) throw new StorageError('INVALID_ARGUMENT', `cannot allocate a linked clone name '${request.name}'`, { details: { name: request.name } });
  const made = await createUnfinished(env, { name: parsed.name, vmid: request.vmid, size: request.size });
  await undoOnFailure(env, made, () => markWhole(env, made));
  written(env);
  return parsed.name;
}

/**
 * Frees a volume: refuses a base with clones (`IN_USE`), waits a bounded time while any replica
 * is in use (then `IN_USE`), deletes its snapshots, then the definition. An unfinished volume
 * (being imported) is not found.
 *
 * @param env - the call's environment
 * @param request - the volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE` (clones, or still in use after the wait), the controller's errors
 * @see Proxmox `LINSTORPlugin::free_image`
 */
export async function freeImage(env: LinstorEnv, request: FreeImageRequest): Promise<void> {
  const v = await requireVolume(env, request.volume);
  const clones = await clonesOf(env, v.rd);
  if (clones.length) {
    throw new StorageError('IN_USE', `base volume '${v.volname}' is still in use by linked clones`, {
      details: { clones: clones.map((c) => `${env.ctx.storeId}:${c.volname}`) },
    });
  }
  await waitUntilUnused(env, v.rd);
  await dropAllSnapshotVolumes(env, v.rd);
  for (const s of await listSnapshots(env.client, env.call, v.rd)) {
    await deleteSnapshot(env.client, env.call, v.rd, s.name);
  }
  await deleteResourceDefinition(env.client, env.call, v.rd);
  written(env);
}

/**
 * Polls until no replica of `rd` is in use, for at most `inUseWaitSeconds`.
 *
 * @param env - the call's environment
 * @param rd - the LINSTOR name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `IN_USE` with the nodes that still use it
 */
async function waitUntilUnused(env: LinstorEnv, rd: string): Promise<void> {
  const deadline = env.config.inUseWaitSeconds * 1000;
  for (let waited = 0; ; waited += env.config.pollIntervalMs) {
    const users = (await viewResources(env.client, env.call, { resources: [rd] })).filter((r) => r.state?.in_use).map((r) => r.node_name);
    if (users.length === 0) return;
    if (waited >= deadline) {
      throw new StorageError('IN_USE', `LINSTOR resource ${rd} is in use on ${users.join(', ')}`, { details: { resource: rd, nodes: users } });
    }
    await sleep(env.config.pollIntervalMs, env.ctx.signal);
  }
}

/**
 * Turns a volume into a base: its name becomes `base-…`. The volume is read-only from then on
 * (this plugin refuses to resize, import into or roll back a base).
 *
 * @param env - the call's environment
 * @param request - the volume
 * @returns the new volname
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (already a base, or a clone), `ALREADY_EXISTS` (name taken)
 * @see Proxmox `create_base`
 */
export async function createBase(env: LinstorEnv, request: CreateBaseRequest): Promise<string> {
  const v = await requireVolume(env, request.volume);
  if (v.isBase) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is already a base volume`, { details: { volname: v.volname } });
  if (v.baseRd) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is a linked clone; it cannot become a base`, { details: { volname: v.volname } });
  const name = baseNameFor(v.name);
  await assertNameFree(env, name);
  await modifyResourceDefinition(env.client, env.call, v.rd, { override_props: { [PROP_NAME]: name } });
  written(env);
  return name;
}

/**
 * Clones a base with LINSTOR's clone API into a new definition in our resource group, marked
 * unfinished from the clone request on; once its uuid is read the name is reserved (the storage
 * lock goes back), the clone is polled until `COMPLETE`, and then marked whole. A clone that
 * ends `FAILED` or does not finish in `cloneTimeoutSeconds` is deleted (checked by uuid).
 *
 * @param env - the call's environment
 * @param request - the base, the clone's vmid and name
 * @returns the new volname (`<base>/<name>`)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (from a snapshot), `INVALID_ARGUMENT` (not a base), `ALREADY_EXISTS`, `COMMAND_FAILED` (clone FAILED), `TIMEOUT`
 * @see Proxmox `clone_image`
 */
export async function cloneImage(env: LinstorEnv, request: CloneImageRequest): Promise<string> {
  if (request.snapshot) notSupported('cloning from a snapshot');
  const own = request.name.split('/').pop() as string;
  parseLinstorVolname(own);
  const base = await requireVolume(env, request.volume);
  if (!base.isBase) {
    throw new StorageError('INVALID_ARGUMENT', `clone_image only works on base images ('${base.volname}' is not one)`, { details: { volname: base.volname } });
  }
  await assertNameFree(env, own);
  const rd = newResourceName();
  const owner = ownerToken(env);
  const started = await startClone(env.client, env.call, base.rd, {
    name: rd,
    resource_group: env.config.resourceGroup,
    use_zfs_clone: true,
    override_props: { [PROP_NAME]: own, [PROP_VMID]: String(request.vmid), [PROP_BASE]: base.rd, [PROP_INCOMPLETE]: owner },
  });
  forgetView(env);
  const made = await identify(env, rd, owner);
  env.ctx.nameReserved();
  await undoOnFailure(env, made, async () => {
    await waitForClone(env, started.location, rd);
    await markWhole(env, made);
  });
  written(env);
  return formatLinstorVolname(own, base.name);
}

/**
 * Grows a volume; a base is read-only, and a smaller size is refused.
 *
 * @param env - the call's environment
 * @param request - the volume and its new size
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (a base), `CANNOT_SHRINK`, `NOT_FOUND`
 * @see Proxmox `volume_resize`
 */
export async function volumeResize(env: LinstorEnv, request: VolumeResizeRequest): Promise<void> {
  const v = await requireVolume(env, request.volume);
  if (v.isBase) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is a base volume and read-only`, { details: { volname: v.volname } });
  const current = v.definition.volume_definitions?.find((d) => (d.volume_number ?? 0) === 0)?.size_kib ?? toKib(v.size);
  const wanted = toKib(request.size);
  if (wanted < current) {
    throw new StorageError('CANNOT_SHRINK', `cannot shrink '${v.volname}' from ${current * 1024} to ${request.size} bytes`, {
      details: { volname: v.volname, size: current * 1024, requested: request.size },
    });
  }
  if (wanted === current) return;
  await resizeVolume(env.client, env.call, v.rd, wanted);
  written(env);
}

/**
 * Renames a volume for another guest: only its properties change, the resource keeps its name.
 *
 * @param env - the call's environment
 * @param request - the volume, the target vmid and name
 * @returns the new volname
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID`, `NOT_FOUND`, `ALREADY_EXISTS`
 * @see Proxmox `rename_volume`
 */
export async function renameVolume(env: LinstorEnv, request: RenameVolumeRequest): Promise<string> {
  const own = request.targetName.split('/').pop() as string;
  const target = parseLinstorVolname(own);
  const v = await requireVolume(env, request.volume);
  await assertNameFree(env, target.name);
  await modifyResourceDefinition(env.client, env.call, v.rd, { override_props: { [PROP_NAME]: target.name, [PROP_VMID]: String(request.targetVmid) } });
  written(env);
  return formatLinstorVolname(target.name, v.baseName);
}

/**
 * Deletes the unfinished definitions of dead owners (each checked by the uuid it was listed
 * with), finishes the swaps of dead flattens (see `collectReplaced`), and reports the others:
 * those of live owners, and another node's.
 *
 * @param env - the call's environment
 * @param request - `dryRun`: report only
 */
export async function collectGarbage(env: LinstorEnv, request: CollectGarbageRequest): Promise<GarbageReport> {
  const { removed, kept } = await collectReplaced(env, request);
  for (const v of await loadAll(env)) {
    if (v.incomplete === undefined) continue;
    const item: GarbageItem = { name: v.rd, owner: v.incomplete, reason: `owner-${ownerState(v.incomplete, env.ctx.node)}` };
    if (item.reason !== 'owner-dead') kept.push(item);
    else if (request.dryRun === true || (v.definition.uuid !== undefined && (await deleteIdentified(env, { rd: v.rd, uuid: v.definition.uuid })))) removed.push(item);
  }
  if (removed.length > 0) written(env);
  return { removed, kept };
}

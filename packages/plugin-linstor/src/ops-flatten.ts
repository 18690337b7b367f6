/**
 * Flattening: a volume back to one of its snapshots (LINSTOR rolls back only to the newest
 * one), and a clone off its base. LINSTOR cannot rename a resource definition, but a volume's
 * name is a property (`Aux/stowage/name`), so the new state is built beside the old one in a
 * new definition that carries the same name, marked unfinished with this process's owner token
 * and `Aux/stowage/supersedes = <old rd> <old uuid>`. One property change (the unfinished mark
 * removed) swaps them: from then on listings skip the old definition, and the name resolves to
 * the new one. The old definition, its snapshots and the marks are removed afterwards; when the
 * process dies first, `collectGarbage` does it (owner dead), and a new definition that never
 * became whole is removed as any unfinished volume is.
 *
 * Where the data lives matters (checked on the real server's sources: the ZFS provider restores
 * a snapshot with `zfs clone`, and the spec says of `use_zfs_clone` that the parent snapshot
 * "cannot be deleted"): on LVM-thin, a restored snapshot and a clone are thin snapshots that do
 * not need their origin; on ZFS they are `zfs clone`s that keep their origin's snapshot (and so
 * the origin) from going. So on ZFS the new state is copied once more with the clone API and
 * `use_zfs_clone: false` (send/receive), which depends on nothing.
 *
 * @module
 */
import { StorageError, type GarbageItem } from '@stowage/core';
import { ownerState, reportProgress, type CollectGarbageRequest, type FlattenImageRequest, type SnapshotFlattenRequest } from '@stowage/core/plugin';
import type { ProgressCallback } from '@stowage/core';
import {
  createResourceDefinition,
  deleteSnapshot,
  listResourceDefinitions,
  listSnapshots,
  modifyResourceDefinition,
  restoreSnapshotInto,
  startClone,
} from './client/api.js';
import type { LinstorEnv } from './exec.js';
import {
  linstorSnapshotName,
  newResourceName,
  PROP_BASE,
  PROP_INCOMPLETE,
  PROP_SUPERSEDES,
  PROP_SUPERSEDES_OWNER,
  PROP_USE_ZFS_CLONE,
  sameLinstorName,
} from './names.js';
import { waitForClone } from './clone-wait.js';
import { dropAllSnapshotVolumes } from './snapshot-volume.js';
import { deleteIdentified, identify, markWhole, ownerToken, undoOnFailure, type MadeDefinition } from './unfinished.js';
import { loadAll, requireVolume, snapshotInfo, written, type LinstorVolume } from './view.js';

const MARKS: readonly string[] = [PROP_INCOMPLETE, PROP_SUPERSEDES, PROP_SUPERSEDES_OWNER];

/** The properties a new state takes over from the old one: ours and the DRBD options, without marks and `drop`. */
function carried(v: LinstorVolume, drop: readonly string[] = []): Record<string, string> {
  return Object.fromEntries(
    Object.entries(v.definition.props ?? {}).filter(
      ([k]) => (k.startsWith('Aux/stowage/') || k.startsWith('DrbdOptions/')) && !MARKS.includes(k) && !drop.includes(k),
    ),
  );
}

/** The properties of the definition that will replace `v`: marked unfinished, and as replacing `v`. */
function replacing(v: LinstorVolume, owner: string, drop: readonly string[] = []): Record<string, string> {
  if (!v.definition.uuid) throw new StorageError('INVALID_STATE', `LINSTOR reports no uuid for ${v.rd}`, { details: { resource: v.rd } });
  return { ...carried(v, drop), [PROP_INCOMPLETE]: owner, [PROP_SUPERSEDES]: `${v.rd} ${v.definition.uuid}`, [PROP_SUPERSEDES_OWNER]: owner };
}

/** Restores `snapshot` of `source` into a new definition of our group with `props` (marked unfinished). */
async function restoreBeside(env: LinstorEnv, source: string, snapshot: string, props: Record<string, string>): Promise<MadeDefinition> {
  const rd = newResourceName();
  await createResourceDefinition(env.client, env.call, { name: rd, props, group: env.config.resourceGroup });
  const made = await identify(env, rd, props[PROP_INCOMPLETE] as string);
  await undoOnFailure(env, made, () => restoreSnapshotInto(env.client, env.call, source, snapshot, rd));
  return made;
}

/** What a full copy by the clone API needs. */
interface CopyRequest {
  /** The definition to copy. */
  readonly source: string;
  /** Properties of the copy (marked unfinished). */
  readonly props: Record<string, string>;
  /** Properties of the source the copy must not take. */
  readonly drop: readonly string[];
  /** Bytes copied, for progress. */
  readonly size: number;
  /** Progress reports (start and end: LINSTOR reports none in between). */
  readonly onProgress: ProgressCallback | undefined;
}

/**
 * Copies a definition with the clone API and `use_zfs_clone: false` (on ZFS a send/receive,
 * which depends on nothing afterwards), into our group, marked unfinished from the clone request
 * on; once its uuid is read the name is reserved (the storage lock goes back during the copy).
 */
async function copyBeside(env: LinstorEnv, req: CopyRequest): Promise<MadeDefinition> {
  const rd = newResourceName();
  const started = await startClone(env.client, env.call, req.source, {
    name: rd,
    resource_group: env.config.resourceGroup,
    use_zfs_clone: false,
    override_props: req.props,
    delete_props: req.drop,
  });
  const made = await identify(env, rd, req.props[PROP_INCOMPLETE] as string);
  env.ctx.nameReserved();
  reportProgress(req.onProgress, { done: 0, total: req.size });
  await undoOnFailure(env, made, () => waitForClone(env, started.location, rd));
  reportProgress(req.onProgress, { done: req.size, total: req.size });
  return made;
}

/**
 * Deletes a replaced definition with its snapshots and snapshot volumes, if it still has the
 * uuid it was replaced with. Returns whether it was there.
 */
async function dropReplaced(env: LinstorEnv, old: { rd: string; uuid: string }): Promise<boolean> {
  const d = (await listResourceDefinitions(env.client, env.call, [old.rd])).find((x) => sameLinstorName(x.name, old.rd));
  if (d?.uuid !== old.uuid) return false;
  await dropAllSnapshotVolumes(env, old.rd);
  for (const s of await listSnapshots(env.client, env.call, old.rd)) await deleteSnapshot(env.client, env.call, old.rd, s.name);
  return deleteIdentified(env, old);
}

/** Removes the replacement marks of a definition. */
async function unmark(env: LinstorEnv, rd: string): Promise<void> {
  await modifyResourceDefinition(env.client, env.call, rd, { delete_props: [PROP_SUPERSEDES, PROP_SUPERSEDES_OWNER] });
}

/**
 * The swap: marks `made` whole (one property change, after which the volume is the new state),
 * then removes the old definition and the marks. A failure after the swap is only logged: the
 * volume is already as after, and `collectGarbage` finishes the clean-up once this process is gone.
 */
async function swap(env: LinstorEnv, old: LinstorVolume, made: MadeDefinition): Promise<void> {
  await undoOnFailure(env, made, () => markWhole(env, made));
  written(env);
  try {
    await dropReplaced(env, { rd: old.rd, uuid: old.definition.uuid as string });
    await unmark(env, made.rd);
  } catch (e) {
    env.ctx.log.warn(`LINSTOR: ${old.rd} is replaced by ${made.rd} but not removed yet; collectGarbage will`, { error: (e as Error).message });
  } finally {
    written(env);
  }
}

/**
 * Takes a volume back to one of its snapshots and drops all its snapshots. The snapshot is
 * restored into a new definition beside the volume (on ZFS, restored and then copied, see the
 * module comment), which then replaces it in one property change; the old definition and its
 * snapshots are deleted. Killed at any point, the volume is as before or as after.
 *
 * @param env - the call's environment
 * @param request - the volume, the snapshot, progress reports (ZFS only: a copy is made)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `INVALID_ARGUMENT` (a base), the controller's errors
 * @see OpenNebula `snap_flatten`
 */
export async function volumeSnapshotFlatten(env: LinstorEnv, request: SnapshotFlattenRequest): Promise<void> {
  const v = await requireVolume(env, request.volume);
  if (v.isBase) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is a base volume and read-only`, { details: { volname: v.volname } });
  const snapshot = linstorSnapshotName(request.snapshot);
  const snap = (await listSnapshots(env.client, env.call, v.rd)).find((s) => s.name === snapshot && !s.flags?.includes('DELETE'));
  if (!snap) {
    throw new StorageError('NOT_FOUND', `snapshot '${request.snapshot}' of '${v.volname}' does not exist`, { details: { volname: v.volname, snapshot: request.snapshot } });
  }
  const owner = ownerToken(env);
  const size = (snap.volume_definitions?.find((d) => (d.volume_number ?? 0) === 0)?.size_kib ?? 0) * 1024;
  let made: MadeDefinition;
  if (!v.zfs) made = await restoreBeside(env, v.rd, snapshot, replacing(v, owner));
  else {
    // the restored definition is a zfs clone of the old snapshot: copy it, then delete it, so
    // that nothing depends on the old definition when it goes
    const temp = await restoreBeside(env, v.rd, snapshot, { ...carried(v), [PROP_INCOMPLETE]: owner });
    made = await undoOnFailure(env, temp, async () => {
      const copy = await copyBeside(env, { source: temp.rd, props: replacing(v, owner), drop: [], size, onProgress: request.onProgress });
      await undoOnFailure(env, copy, () => deleteIdentified(env, temp));
      return copy;
    });
  }
  await swap(env, v, made);
}

/**
 * Detaches a linked clone from its base. Where the clone does not need its base (LVM-thin, or a
 * ZFS clone made by send/receive) only the link goes: one property change, snapshots kept. A ZFS
 * clone made with `use_zfs_clone` is copied by send/receive into a new definition that replaces
 * it (as in {@link volumeSnapshotFlatten}); LINSTOR's clone copies no snapshots, so such a clone
 * must have none. The volname loses its base prefix: `base-100-disk-0/vm-101-disk-0` becomes
 * `vm-101-disk-0`.
 *
 * @param env - the call's environment
 * @param request - the clone, progress reports (start and end of the copy)
 * @returns the new volname
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `INVALID_ARGUMENT` (not a linked clone), `INVALID_STATE` (a ZFS clone with snapshots), `COMMAND_FAILED`, `TIMEOUT`
 * @see Ceph RBD `flatten`
 */
export async function flattenImage(env: LinstorEnv, request: FlattenImageRequest): Promise<string> {
  const v = await requireVolume(env, request.volume);
  if (!v.baseRd) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is not a linked clone`, { details: { volname: v.volname } });
  if (!v.dependsOnBase) {
    await modifyResourceDefinition(env.client, env.call, v.rd, { delete_props: [PROP_BASE] });
    written(env);
    return v.name;
  }
  const snapshots = await snapshotInfo(env, v);
  if (snapshots.length) {
    throw new StorageError('INVALID_STATE', `'${v.volname}' has snapshots, which a copy off its base would lose`, {
      details: { volname: v.volname, snapshots: snapshots.map((s) => s.name) },
    });
  }
  const drop = [PROP_BASE, PROP_USE_ZFS_CLONE];
  const made = await copyBeside(env, { source: v.rd, props: replacing(v, ownerToken(env), drop), drop, size: v.size, onProgress: request.onProgress });
  await swap(env, v, made);
  return v.name;
}

/**
 * Finishes the swaps of flattens whose process died after the swap: deletes the replaced
 * definitions (checked by uuid) and removes the marks. Those of live owners are reported kept.
 *
 * @param env - the call's environment
 * @param request - `dryRun`: report only
 * @returns what was removed and what was kept
 */
export async function collectReplaced(env: LinstorEnv, request: CollectGarbageRequest): Promise<{ removed: GarbageItem[]; kept: GarbageItem[] }> {
  const removed: GarbageItem[] = [];
  const kept: GarbageItem[] = [];
  for (const v of await loadAll(env)) {
    if (!v.supersedes || v.incomplete !== undefined) continue;
    const owner = v.supersedes.owner;
    const item: GarbageItem = { name: v.supersedes.rd, owner, reason: owner ? `owner-${ownerState(owner, env.ctx.node)}` : 'owner-unknown' };
    if (item.reason !== 'owner-dead') kept.push(item);
    else {
      if (request.dryRun !== true) {
        await dropReplaced(env, v.supersedes);
        await unmark(env, v.rd);
      }
      removed.push(item);
    }
  }
  return { removed, kept };
}

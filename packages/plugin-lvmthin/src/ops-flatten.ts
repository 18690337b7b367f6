/**
 * Flattening on LVM-thin, and the `hidden` attribute.
 *
 * A thin clone shares blocks with its origin but does not depend on it: `lvremove` of the origin
 * leaves the clone whole. So `flattenImage` copies nothing; it drops the link the plugin reports
 * (a `stowage-detached` tag: no `parent` any more, and the origin is no longer `IN_USE` because
 * of it). The volname stays: LVM-thin volnames never name their base.
 *
 * `volumeSnapshotFlatten` builds the new state beside the volume as a writable thin snapshot of
 * the snapshot (`stowage_flatten_new_<vol>`), then swaps names (the volume goes to
 * `stowage_flatten_old_<vol>`) and removes the old state with every snapshot in one `lvremove`.
 * Every LV of it carries `stowage-flatten=<owner>` from the command that makes or renames it;
 * each step registers its undo, so a failed command leaves the volume as it was, and what a killed
 * process left is rolled back (new state not in place) or forward (in place) by
 * {@link recoverFlattens}.
 *
 * @module
 */
import { currentOwner, formatOwner, ownerState, undoing, type FlattenImageRequest, type SnapshotFlattenRequest } from '@stowage/core/plugin';
import { StorageError, type GarbageItem } from '@stowage/core';
import { lvchangeAddtagArgs, lvchangeDeltagArgs, lvcreateSnapshotArgs, lvrenameArgs, lvsArgs } from './commands.js';
import { invalidateListing, loadPool, LVS_CACHE_KEY, removeLvs, requireVolume, runLvm, type LvmThinContext } from './exec.js';
import { DETACHED_TAG, FLATTEN_NEW_PREFIX, FLATTEN_OLD_PREFIX, FLATTEN_TAG_PREFIX, flattenOwner, MAX_LV_NAME } from './names.js';
import type { PoolView } from './pool-view.js';
import { removeByUuid } from './unfinished.js';
import { parseLvsReport, type LvRecord } from './parse.js';

/** A flatten's temporary LV names for a volume. */
function temporaries(volname: string): { fresh: string; old: string } {
  return { fresh: `${FLATTEN_NEW_PREFIX}${volname}`, old: `${FLATTEN_OLD_PREFIX}${volname}` };
}

/** The snapshots of `volname` older than the LV now named so (by thin id: those a flatten replaced). */
function olderSnapshots(view: PoolView, volname: string, lv: LvRecord): string[] {
  return view
    .snapshotsOf(volname)
    .filter((s) => (s.lv.thinId ?? 0) < (lv.thinId ?? 0))
    .map((s) => s.lv.name);
}

/**
 * Takes a volume back to one of its snapshots and removes all its snapshots. Steps and their
 * cost, all metadata (no data copied): a tag on the volume; `lvcreate -s` of the snapshot,
 * tagged (the new state); two `lvrename`s (the swap); one `lvremove` of the old state and every snapshot
 * (their blocks that nothing else shares are freed); the tag taken off.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE` (clones of its snapshots, `details.clones`),
 *   `INVALID_ARGUMENT` (a name too long for the temporaries), `ALREADY_EXISTS` (a flatten's
 *   leftover: run `collectGarbage`), `BUSY` (the volume is open), `NO_SPACE`
 * @see OpenNebula `snap_flatten`
 */
export async function volumeSnapshotFlatten(ctx: LvmThinContext, request: SnapshotFlattenRequest): Promise<void> {
  const volname = request.volume.volname;
  const { view } = await requireVolume(ctx, volname);
  const snapshots = view.snapshotsOf(volname);
  const target = snapshots.find((s) => s.snapshot === request.snapshot);
  if (target === undefined) {
    throw new StorageError('NOT_FOUND', `snapshot '${request.snapshot}' of '${ctx.storeId}:${volname}' does not exist`, { details: { volname, snapshot: request.snapshot } });
  }
  const clones = snapshots.flatMap((s) => view.clonesOfSnapshot(s.lv.name, volname));
  if (clones.length > 0) {
    const volids = clones.map((c) => `${ctx.storeId}:${c}`);
    throw new StorageError('IN_USE', `snapshots of '${ctx.storeId}:${volname}' have linked clones: ${volids.join(', ')}`, { details: { volname, clones: volids } });
  }
  const { fresh, old } = temporaries(volname);
  if (old.length > MAX_LV_NAME) throw new StorageError('INVALID_ARGUMENT', `volume name '${volname}' is too long to flatten`, { details: { volname } });
  const vg = ctx.config.vgname;
  const tag = `${FLATTEN_TAG_PREFIX}${formatOwner(currentOwner(ctx.node))}`;
  await undoing(ctx, LVS_CACHE_KEY, async (undo) => {
    await runLvm(ctx, lvchangeAddtagArgs(vg, volname, tag), { details: { lv: volname } });
    undo(() => runLvm(ctx, lvchangeDeltagArgs(vg, volname, tag), { cleanup: true }));
    // removed by the UUID a fresh report shows, if it exists and carries this flatten's tag
    undo(async () => {
      const report = await runLvm(ctx, lvsArgs(vg, fresh), { cleanup: true, okExitCodes: [0, 5] });
      const made = report.exitCode === 0 ? parseLvsReport(report.stdout)[0] : undefined;
      if (made?.tags.includes(tag) === true) await removeByUuid(ctx, made.uuid);
    });
    await runLvm(ctx, lvcreateSnapshotArgs({ vg, origin: target.lv.name, name: fresh, writable: true, tags: [tag] }), { details: { lv: fresh } });
    await runLvm(ctx, lvrenameArgs(vg, volname, old), { details: { lv: volname } });
    undo(() => runLvm(ctx, lvrenameArgs(vg, old, volname), { cleanup: true }));
    await runLvm(ctx, lvrenameArgs(vg, fresh, volname), { details: { lv: fresh } });
    undo(() => runLvm(ctx, lvrenameArgs(vg, volname, fresh), { cleanup: true }));
    // the point of no return: the old state and every snapshot, in one command
    await removeLvs(ctx, [old, ...snapshots.map((s) => s.lv.name)]);
  });
  try {
    await runLvm(ctx, lvchangeDeltagArgs(vg, volname, tag), { cleanup: true });
  } catch (e) {
    ctx.log.warn(`flattened '${volname}', but could not take its flatten tag off; collectGarbage will`, { error: e instanceof Error ? e.message : String(e) });
  } finally {
    invalidateListing(ctx);
  }
}

/**
 * Flattens a linked clone off its origin: one `lvchange --addtag stowage-detached` (metadata).
 * Nothing is copied, the snapshots stay, the volname does not change.
 *
 * @returns the volname (unchanged)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `INVALID_STATE` (not a linked clone)
 * @see Ceph RBD `flatten`
 */
export async function flattenImage(ctx: LvmThinContext, request: FlattenImageRequest): Promise<string> {
  const volname = request.volume.volname;
  const { view, lv } = await requireVolume(ctx, volname);
  if (view.parentOf(ctx.storeId, volname) === undefined) {
    throw new StorageError('INVALID_STATE', `'${ctx.storeId}:${volname}' is not a linked clone`, { details: { volname } });
  }
  try {
    await runLvm(ctx, lvchangeAddtagArgs(ctx.config.vgname, lv.name, DETACHED_TAG), { details: { lv: lv.name } });
  } finally {
    invalidateListing(ctx);
  }
  return volname;
}

/**
 * Finishes or takes back the flattens whose owner died (`stowage-flatten=` tags of a dead owner),
 * in three passes over fresh reports: a new state is removed when the volume still has its name,
 * else renamed into place; an old state is removed (with the snapshots older than the volume now
 * in place) when the volume is in place, else renamed back; a tagged volume loses the snapshots
 * older than itself, then its tag.
 *
 * @param ctx - the operation context
 * @param dryRun - report only
 * @returns what was finished (`removed`) and what was left to a live owner or another node (`kept`)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `BUSY`, `COMMAND_FAILED`
 */
export async function recoverFlattens(ctx: LvmThinContext, dryRun: boolean): Promise<{ removed: GarbageItem[]; kept: GarbageItem[] }> {
  const removed: GarbageItem[] = [];
  const kept: GarbageItem[] = [];
  const vg = ctx.config.vgname;
  // one listing when there is nothing to finish; a fresh one after each pass that changed something
  let changed = false;
  const pass = async (pick: (name: string, view: PoolView) => string | undefined, act: (lv: LvRecord, target: string, view: PoolView) => Promise<void>) => {
    if (changed) invalidateListing(ctx);
    const view = await loadPool(ctx);
    for (const lv of view.thinLvs.values()) {
      const owner = flattenOwner(lv);
      const target = owner === undefined ? undefined : pick(lv.name, view);
      if (target === undefined) continue;
      const item: GarbageItem = { name: lv.name, owner, reason: `owner-${ownerState(owner!, ctx.node)}` };
      if (item.reason !== 'owner-dead') {
        if (!kept.some((k) => k.name === lv.name)) kept.push(item);
        continue;
      }
      changed ||= !dryRun;
      if (!dryRun) await act(lv, target, view);
      removed.push(item);
    }
  };
  const after = (prefix: string) => (name: string) => (name.startsWith(prefix) ? name.slice(prefix.length) : undefined);
  await pass(after(FLATTEN_NEW_PREFIX), async (lv, target, view) => {
    if (view.volumes.has(target)) await removeByUuid(ctx, lv.uuid);
    else if (view.thinLvs.has(temporaries(target).old)) await runLvm(ctx, lvrenameArgs(vg, lv.name, target), { cleanup: true });
  });
  await pass(after(FLATTEN_OLD_PREFIX), async (lv, target, view) => {
    const volume = view.volumes.get(target);
    if (volume === undefined) await runLvm(ctx, lvrenameArgs(vg, lv.name, target), { cleanup: true });
    else await removeLvs(ctx, [lv.name, ...olderSnapshots(view, target, volume)], { cleanup: true });
  });
  await pass(
    (name, view) => (view.volumes.has(name) ? name : undefined),
    async (lv, target, view) => {
      const stale = olderSnapshots(view, target, lv);
      if (stale.length > 0) await removeLvs(ctx, stale, { cleanup: true });
      await runLvm(ctx, lvchangeDeltagArgs(vg, lv.name, `${FLATTEN_TAG_PREFIX}${flattenOwner(lv)!}`), { cleanup: true });
    },
  );
  if (changed) invalidateListing(ctx);
  return { removed, kept };
}

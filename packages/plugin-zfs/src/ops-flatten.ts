/**
 * Flattening on ZFS: a volume taken back to one of its snapshots without its snapshots
 * (`volumeSnapshotFlatten`), and a linked clone detached from its base (`flattenImage`). ZFS rolls
 * back only to the newest snapshot and has no atomic rename-over, so both build the new state
 * beside the volume under `stowage-flatten-new-<name>`, then swap names (the volume goes to
 * `stowage-flatten-old-<name>`) and drop the old state in one last command.
 *
 * Every dataset of a flatten carries `stowage:flatten=<owner>` from the command that makes it (the
 * volume itself gets it before it is renamed). The mark does not hide anything: it tells
 * {@link recoverFlattens} what to finish when the owner died. Each step registers its undo, so a
 * failed command leaves the volume as it was; a killed process leaves marked datasets that
 * `collectGarbage` rolls back (the new state not yet in place) or forward (it is in place).
 *
 * @module
 */
import { PassThrough } from 'node:stream';
import { currentOwner, formatOwner, forwardInto, ownerState, undoing, type FlattenImageRequest, type RegisterUndo, type SnapshotFlattenRequest } from '@stowage/core/plugin';
import { StorageError, type GarbageItem, type ParsedVolume } from '@stowage/core';
import {
  FLATTEN_PROPERTY,
  zfsDestroyArgs,
  zfsDestroySnapshotsArgs,
  zfsGetArgs,
  zfsInheritArgs,
  zfsPromoteArgs,
  zfsRecvArgs,
  zfsRenameArgs,
  zfsSendArgs,
  zfsSetArgs,
  zfsSnapshotArgs,
  zfsCloneArgs,
} from './commands.js';
import { destroyRetryingBusy, findDataset, invalidate, loadChildren, loadSnapshots, notFound, requireVolume, runZfs, volidsOf, waitForZvolLink, type ZfsContext, type ZfsTuning } from './exec.js';
import { datasetOf, isVolumeName, parseZfsVolname, snapshotOf, zvolPath } from './names.js';
import { parseNumber, parsePropertyValues, type DatasetRecord } from './parse.js';
import { destroyIdentified } from './unfinished.js';

/** The prefix of the dataset a flatten builds the new state in. */
export const FLATTEN_NEW_PREFIX = 'stowage-flatten-new-';
/** The prefix the volume's old state is renamed to during the swap. */
export const FLATTEN_OLD_PREFIX = 'stowage-flatten-old-';
/** The snapshot `flattenImage` sends the clone's current state from. */
export const FLATTEN_SNAPSHOT = 'stowage-flatten';

/** A flatten's temporary names for a volume. */
function temporaries(name: string): { fresh: string; old: string } {
  return { fresh: `${FLATTEN_NEW_PREFIX}${name}`, old: `${FLATTEN_OLD_PREFIX}${name}` };
}

/** The mark of this process's flatten. */
function flattenMark(ctx: ZfsContext): Record<string, string> {
  return { [FLATTEN_PROPERTY]: formatOwner(currentOwner(ctx.node)) };
}

/** The snapshots of a volume refused because clones use them (`IN_USE`, `details.clones`). */
async function refuseClones(ctx: ZfsContext, volume: ParsedVolume, clones: readonly string[]): Promise<void> {
  if (clones.length === 0) return;
  const volids = await volidsOf(ctx, clones);
  throw new StorageError('IN_USE', `snapshots of '${ctx.storeId}:${volume.volname}' have linked clones: ${volids.join(', ')}`, {
    details: { volname: volume.volname, clones: volids },
  });
}

/**
 * Marks the volume as being flattened (the first step of both flattens): it tells
 * `collectGarbage` to finish or take back what a killed flatten left around it.
 */
async function markVolume(ctx: ZfsContext, name: string, undo: RegisterUndo): Promise<void> {
  const dataset = datasetOf(ctx.config.pool, name);
  await runZfs(ctx, zfsSetArgs(FLATTEN_PROPERTY, flattenMark(ctx)[FLATTEN_PROPERTY]!, dataset), { details: { name } });
  undo(() => runZfs(ctx, zfsInheritArgs(FLATTEN_PROPERTY, dataset), { cleanup: true }));
}

/**
 * Registers the undo of a dataset a flatten is about to make: destroyed (by the guid a fresh
 * lookup finds) if it exists and carries this process's mark, left alone otherwise.
 */
function undoMade(ctx: ZfsContext, name: string, tuning: ZfsTuning, undo: RegisterUndo): void {
  const mark = flattenMark(ctx)[FLATTEN_PROPERTY];
  undo(async () => {
    invalidate(ctx);
    const record = await findDataset({ ...ctx, run: (argv, options) => ctx.runner.run(argv, options) }, name);
    if (record !== undefined && record.flatten === mark) await destroyIdentified(ctx, { name, guid: record.guid }, tuning);
  });
}

/**
 * The swap both flattens end with: rename the volume to `old`, rename `fresh` to its name, then
 * `drop` (one command, the point of no return). Each rename is undone when a later step fails.
 */
async function swapIn(ctx: ZfsContext, name: string, fresh: string, drop: readonly string[], tuning: ZfsTuning, undo: RegisterUndo): Promise<void> {
  const { pool } = ctx.config;
  const { old } = temporaries(name);
  const ds = (n: string) => datasetOf(pool, n);
  await runZfs(ctx, zfsRenameArgs(ds(name), ds(old)), { details: { name } });
  undo(() => runZfs(ctx, zfsRenameArgs(ds(old), ds(name)), { cleanup: true }));
  await runZfs(ctx, zfsRenameArgs(ds(fresh), ds(name)), { details: { name } });
  undo(() => runZfs(ctx, zfsRenameArgs(ds(name), ds(fresh)), { cleanup: true }));
  // right after the rename udev may still hold the old zvol's device for a moment
  await destroyRetryingBusy(ctx, drop, tuning, { details: { name } });
}

/** Takes the flatten mark off a volume that is whole; a failure is logged, not thrown. */
async function unmark(ctx: ZfsContext, name: string, format: ParsedVolume['format'], tuning: ZfsTuning): Promise<void> {
  const { pool } = ctx.config;
  try {
    await runZfs(ctx, zfsInheritArgs(FLATTEN_PROPERTY, datasetOf(pool, name)), { cleanup: true });
    if (format === 'raw') await waitForZvolLink(ctx, zvolPath(pool, name), tuning.zvolLinkTimeoutMs);
  } catch (e) {
    ctx.log.warn(`flattened '${name}', but could not finish tidying it; collectGarbage will`, { error: e instanceof Error ? e.message : String(e) });
  } finally {
    invalidate(ctx);
  }
}

/**
 * Takes a zvol back to one of its snapshots and drops all its snapshots. Steps and their cost:
 * `zfs clone` of the snapshot (metadata, O(1)), `zfs promote` of the clone (metadata: the
 * snapshots up to the one named move to it), a mark and two `zfs rename`s (metadata; a zvol's
 * device link is made anew), then one `zfs destroy -R <vol>@<oldest>%<snapshot>` that frees the
 * old state (a clone of the new one by then) and every snapshot: blocks only the old state or
 * the snapshots held are freed. No data is copied.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE` (clones of its snapshots, `details.clones`),
 *   `ALREADY_EXISTS` (a flatten's leftover: run `collectGarbage`), `BUSY`
 * @see OpenNebula `snap_flatten`
 */
export async function volumeSnapshotFlatten(ctx: ZfsContext, request: SnapshotFlattenRequest, tuning: ZfsTuning): Promise<void> {
  const { volume, snapshot } = request;
  const { pool } = ctx.config;
  await requireVolume(ctx, volume);
  const snapshots = await loadSnapshots(ctx, volume);
  if (!snapshots.some((s) => s.snapshot === snapshot)) throw notFound(ctx, volume.volname, snapshot);
  await refuseClones(ctx, volume, snapshots.flatMap((s) => s.clones));
  const { fresh } = temporaries(volume.name);
  await undoing(ctx, undefined, async (undo) => {
    await markVolume(ctx, volume.name, undo);
    undoMade(ctx, fresh, tuning, undo);
    await runZfs(ctx, zfsCloneArgs(snapshotOf(pool, volume.name, snapshot), datasetOf(pool, fresh), flattenMark(ctx)), { details: { volname: volume.volname, snapshot } });
    await runZfs(ctx, zfsPromoteArgs(datasetOf(pool, fresh)), { details: { volname: volume.volname } });
    undo(() => runZfs(ctx, zfsPromoteArgs(datasetOf(pool, volume.name)), { cleanup: true }));
    // after the swap the old state is a clone of `<vol>@<snapshot>`: -R drops it with the range
    const drop = zfsDestroySnapshotsArgs(datasetOf(pool, volume.name), snapshots[0]!.snapshot, snapshot, true);
    await swapIn(ctx, volume.name, fresh, drop, tuning, undo);
  });
  await unmark(ctx, volume.name, volume.format, tuning);
}

/**
 * Detaches a linked clone from its base by copying it: `zfs snapshot` of its current state, a
 * full `zfs send -p` of its oldest snapshot and an increment (`-p -I`) with every later one,
 * received into a new dataset (cost: every block the clone reads, its base's included, is read
 * and written once; progress is reported as the stream flows), then the swap (two renames) and
 * `zfs destroy -r` of the old clone. The clone keeps its snapshots. `zfs promote` would be
 * cheaper but is not the same: it moves the base's snapshots to the clone and makes the base
 * (and its other clones) depend on the clone, so the base could still not be freed; and no
 * block would be freed either way while they share them.
 *
 * @returns the volname afterwards: the name without its base (`vm-101-disk-0`)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_STATE` (not a linked clone), `NOT_FOUND`, `IN_USE`
 *   (clones of its snapshots), `ALREADY_EXISTS` (a flatten's leftover), `NO_SPACE`
 * @see Ceph RBD `flatten`, libvirt block-pull
 */
export async function flattenImage(ctx: ZfsContext, request: FlattenImageRequest, tuning: ZfsTuning): Promise<string> {
  const { volume } = request;
  const { pool } = ctx.config;
  const record = await requireVolume(ctx, volume);
  if (record.origin === undefined) {
    throw new StorageError('INVALID_STATE', `'${ctx.storeId}:${volume.volname}' is not a linked clone`, { details: { volname: volume.volname } });
  }
  const snapshots = await loadSnapshots(ctx, volume);
  await refuseClones(ctx, volume, snapshots.flatMap((s) => s.clones));
  const { fresh } = temporaries(volume.name);
  const ds = (n: string) => datasetOf(pool, n);
  // the temporaries are named after the volume and the volume keeps its name: nothing else to
  // reserve, so the storage lock goes back for the copy
  ctx.nameReserved();
  await undoing(ctx, undefined, async (undo) => {
    await markVolume(ctx, volume.name, undo);
    await runZfs(ctx, zfsSnapshotArgs(snapshotOf(pool, volume.name, FLATTEN_SNAPSHOT)), { details: { volname: volume.volname } });
    undo(() => runZfs(ctx, zfsDestroyArgs(snapshotOf(pool, volume.name, FLATTEN_SNAPSHOT)), { cleanup: true }));
    const first = snapshots[0]?.snapshot ?? FLATTEN_SNAPSHOT;
    const progress = { done: 0 };
    const copy = (base: string | undefined) =>
      sendReceive(ctx, zfsSendArgs({ snapshot: snapshotOf(pool, volume.name, base === undefined ? first : FLATTEN_SNAPSHOT), base: base && snapshotOf(pool, volume.name, base), intermediates: true }), zfsRecvArgs(ds(fresh), base !== undefined, base === undefined ? flattenMark(ctx) : {}), request, progress);
    undoMade(ctx, fresh, tuning, undo);
    await copy(undefined);
    if (first !== FLATTEN_SNAPSHOT) await copy(first);
    await runZfs(ctx, zfsDestroyArgs(snapshotOf(pool, fresh, FLATTEN_SNAPSHOT)), { details: { volname: volume.volname } });
    await swapIn(ctx, volume.name, fresh, zfsDestroyArgs(ds(temporaries(volume.name).old)), tuning, undo);
  });
  await unmark(ctx, volume.name, volume.format, tuning);
  return volume.name;
}

/** `zfs send … | zfs recv …` through this process, counting the bytes for `onProgress`. */
async function sendReceive(ctx: ZfsContext, send: string[], recv: string[], request: FlattenImageRequest, progress: { done: number }): Promise<void> {
  const pipe = new PassThrough();
  // each side reports its own failure through its promise; a receiver that never took its
  // input (a stopped process) must not turn the sender's failure into an uncaught one
  pipe.on('error', () => undefined);
  const start = progress.done;
  const out = forwardInto(pipe, request.onProgress && ((p) => request.onProgress!({ done: start + p.done, total: undefined })));
  const sending = runZfs(ctx, send, { stdout: out.stream, details: { volname: request.volume.volname } }).then(
    async () => {
      progress.done = start + (await out.finish());
      pipe.end();
    },
    (e: unknown) => {
      pipe.destroy(e instanceof Error ? e : new Error(String(e)));
      throw e;
    },
  );
  const receiving = runZfs(ctx, recv, { stdin: pipe, details: { volname: request.volume.volname } }).catch((e: unknown) => {
    // a receiver that stopped reads no more: stop the sender's pipe too
    out.stream.destroy();
    pipe.destroy();
    throw e;
  });
  const [sent, received] = await Promise.allSettled([sending, receiving]);
  if (received.status === 'rejected') throw received.reason;
  if (sent.status === 'rejected') throw sent.reason;
}

/** The `createtxg` of a dataset. */
async function createTxg(ctx: ZfsContext, name: string): Promise<number> {
  const [value] = parsePropertyValues((await runZfs(ctx, zfsGetArgs(['createtxg'], datasetOf(ctx.config.pool, name)), { cleanup: true })).stdout, 1);
  return parseNumber(value!, 'createtxg') ?? 0;
}

/**
 * Finishes or takes back the flattens whose owner died (`stowage:flatten` marks of a dead owner),
 * in three passes over fresh listings: a new state not yet in place is destroyed (after `zfs
 * promote` gives the volume its snapshots back) unless the volume was renamed away already, when
 * it is renamed into place; an old state is destroyed when the volume is in place, else renamed
 * back; a marked volume loses the snapshots older than itself (those `zfs promote` moved to it)
 * and the `stowage-flatten` snapshot, then its mark.
 *
 * @param ctx - the operation context
 * @param dryRun - report only
 * @param tuning - retry bounds of a busy destroy
 * @returns what was finished (`removed`) and what was left to a live owner or another node (`kept`)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `BUSY`, `COMMAND_FAILED`
 */
export async function recoverFlattens(ctx: ZfsContext, dryRun: boolean, tuning: ZfsTuning): Promise<{ removed: GarbageItem[]; kept: GarbageItem[] }> {
  const removed: GarbageItem[] = [];
  const kept: GarbageItem[] = [];
  const { pool } = ctx.config;
  const ds = (n: string) => datasetOf(pool, n);
  // one listing when there is nothing to finish; a fresh one after each pass that changed something
  let changed = false;
  const pass = async (pick: (name: string) => string | undefined, act: (name: string, target: string, record: DatasetRecord, children: ReadonlyMap<string, DatasetRecord>) => Promise<void>) => {
    if (changed) invalidate(ctx);
    const children = await loadChildren(ctx);
    for (const [name, record] of children) {
      const target = record.flatten === undefined ? undefined : pick(name);
      if (target === undefined) continue;
      const item: GarbageItem = { name, owner: record.flatten, reason: `owner-${ownerState(record.flatten!, ctx.node)}` };
      if (item.reason !== 'owner-dead') {
        if (!kept.some((k) => k.name === name)) kept.push(item);
        continue;
      }
      changed ||= !dryRun;
      if (!dryRun) await act(name, target, record, children);
      removed.push(item);
    }
  };
  const after = (prefix: string) => (name: string) => (name.startsWith(prefix) ? name.slice(prefix.length) : undefined);
  await pass(after(FLATTEN_NEW_PREFIX), async (name, target, record, children) => {
    const volume = children.get(target);
    if (volume === undefined) {
      if (children.has(temporaries(target).old)) await runZfs(ctx, zfsRenameArgs(ds(name), ds(target)), { cleanup: true });
      return;
    }
    if (volume.origin?.startsWith(`${ds(name)}@`)) await runZfs(ctx, zfsPromoteArgs(ds(target)), { cleanup: true });
    await destroyIdentified(ctx, { name, guid: record.guid }, tuning);
  });
  await pass(after(FLATTEN_OLD_PREFIX), async (name, target, record, children) => {
    if (children.has(target)) await destroyIdentified(ctx, { name, guid: record.guid }, tuning);
    else await runZfs(ctx, zfsRenameArgs(ds(name), ds(target)), { cleanup: true });
  });
  await pass(
    (name) => (isVolumeName(name) ? name : undefined),
    async (name) => {
      const born = await createTxg(ctx, name);
      const stale = (await loadSnapshots(ctx, parseZfsVolname(name))).filter((s) => (s.createtxg ?? 0) < born || s.snapshot === FLATTEN_SNAPSHOT);
      for (const s of stale) await runZfs(ctx, zfsDestroyArgs(s.name), { cleanup: true });
      await runZfs(ctx, zfsInheritArgs(FLATTEN_PROPERTY, ds(name)), { cleanup: true });
    },
  );
  if (changed) invalidate(ctx);
  return { removed, kept };
}

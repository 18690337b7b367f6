/**
 * Running ZFS commands for one storage: classified errors, the pool listing shared through the
 * caches, single-dataset and snapshot lookups, the bounded wait for a zvol's device link, and
 * destroying a dataset that may be busy a while.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageError, formatVolumeId, type ParsedVolume } from '@stowage/core';
import type { CommandResult, PluginContext, RunOptions } from '@stowage/core/plugin';
import { testBlockDeviceArgs, udevSettleArgs, zfsDestroyArgs, zfsGetArgs, zfsListChildrenArgs, zfsListDatasetArgs, zfsListSnapshotsArgs } from './commands.js';
import type { ZfsPoolConfig } from './config.js';
import { classifyZfsError, zfsFailureOf } from './errors.js';
import { datasetOf, isVolumeName, volnameOf } from './names.js';
import { parseDatasetList, parsePoolUsage, parseSnapshotList, type DatasetRecord, type SnapshotRecord } from './parse.js';

/** The context every `zfspool` operation gets. */
export type ZfsContext = PluginContext<ZfsPoolConfig>;

/** Bounds of the waits and retries of a `zfspool` plugin; see `ZfsPoolPlugin.tuning`. */
export interface ZfsTuning {
  /** How long to wait for a new zvol's `/dev/zvol/…` link before giving up with `TIMEOUT`. @default 10000 (Proxmox's wait outside a worker task) */
  readonly zvolLinkTimeoutMs: number;
  /** How many times `zfs destroy` is tried in all while the dataset is busy. @default 6 (as Proxmox) */
  readonly busyAttempts: number;
  /** The pause between two tries of a busy `zfs destroy`. @default 1000 */
  readonly busyDelayMs: number;
  /** The time limit of `zpool import`. @default 60000 (Proxmox allows at least 15 s) */
  readonly importTimeoutMs: number;
}

/** The bounds a new plugin starts with. */
export const DEFAULT_TUNING: ZfsTuning = { zvolLinkTimeoutMs: 10_000, busyAttempts: 6, busyDelayMs: 1000, importTimeoutMs: 60_000 };

/** The key of the pool listing in the operation and TTL caches. */
export const CHILDREN_CACHE_KEY = 'zfspool:children';

/** Options of {@link runZfs}. */
export interface RunZfsOptions extends RunOptions {
  /** Extra facts for the error's `details`. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Clean-up after a failure: run even when the operation was aborted. */
  readonly cleanup?: boolean;
}

/**
 * Runs a ZFS command and classifies its failure (see `classifyZfsError`).
 *
 * @param ctx - the operation context
 * @param argv - the command, from a builder in `commands.ts`
 * @param options - run options and error details
 * @throws {@link @stowage/core!index.StorageError | StorageError} with the code the failure calls for
 */
export async function runZfs(ctx: ZfsContext, argv: readonly string[], options: RunZfsOptions = {}): Promise<CommandResult> {
  const { details = {}, cleanup = false, ...runOptions } = options;
  try {
    return cleanup ? await ctx.runner.run(argv, runOptions) : await ctx.run(argv, runOptions);
  } catch (e) {
    throw classifyZfsError(e, { pool: ctx.config.pool, ...details });
  }
}

/**
 * The direct children of the pool, keyed by name (without `<pool>/`): one `zfs list -d1` per
 * operation, shared between operations through the storage's TTL cache.
 *
 * @param ctx - the operation context
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the pool or dataset does not exist
 */
export function loadChildren(ctx: ZfsContext): Promise<ReadonlyMap<string, DatasetRecord>> {
  return ctx.cache.shared(CHILDREN_CACHE_KEY, async () => {
    const { stdout } = await runZfs(ctx, zfsListChildrenArgs(ctx.config.pool));
    const prefix = `${ctx.config.pool}/`;
    const children = new Map<string, DatasetRecord>();
    for (const record of parseDatasetList(stdout)) {
      if (record.name.startsWith(prefix)) children.set(record.name.slice(prefix.length), record);
    }
    return children;
  });
}

/**
 * Forgets the cached listings after a write.
 *
 * @param ctx - the operation context
 */
export function invalidate(ctx: ZfsContext): void {
  ctx.cache.invalidate();
}

/**
 * Looks one dataset up (`zfs list` of that dataset only, cached for the operation).
 *
 * @param ctx - the operation context
 * @param name - the volume's name
 * @returns the record, or `undefined` when it does not exist
 */
export function findDataset(ctx: ZfsContext, name: string): Promise<DatasetRecord | undefined> {
  return ctx.cache.get(`zfspool:dataset:${name}`, async () => {
    try {
      const { stdout } = await runZfs(ctx, zfsListDatasetArgs(datasetOf(ctx.config.pool, name)));
      return parseDatasetList(stdout)[0];
    } catch (e) {
      if (zfsFailureOf(e) === 'missing') return undefined;
      throw e;
    }
  });
}

/** The dataset type a format is stored as. */
export function datasetType(format: ParsedVolume['format']): 'volume' | 'filesystem' {
  return format === 'subvol' ? 'filesystem' : 'volume';
}

/**
 * The `NOT_FOUND` error of a volume (or a snapshot of it).
 *
 * @param ctx - the operation context
 * @param volname - the volume
 * @param snapshot - the snapshot, when the error is about one
 */
export function notFound(ctx: ZfsContext, volname: string, snapshot?: string): StorageError {
  const what = snapshot === undefined ? `volume '${ctx.storeId}:${volname}'` : `snapshot '${snapshot}' of '${ctx.storeId}:${volname}'`;
  return new StorageError('NOT_FOUND', `${what} does not exist`, { details: { volname, ...(snapshot === undefined ? {} : { snapshot }) } });
}

/**
 * Looks a volume up; it must exist, be of its name's kind (a zvol for `vm-`/`base-`, a file
 * system for `subvol-`/`basevol-`) and be whole (not marked `stowage:incomplete`).
 *
 * @param ctx - the operation context
 * @param volume - the parsed volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 */
export async function requireVolume(ctx: ZfsContext, volume: ParsedVolume): Promise<DatasetRecord> {
  const record = await findDataset(ctx, volume.name);
  // an unfinished volume (an import under way, or left by a killed one) is not a volume yet
  if (record === undefined || record.type !== datasetType(volume.format) || record.incomplete !== undefined) throw notFound(ctx, volume.volname);
  return record;
}

/**
 * A volume's snapshots, oldest first.
 *
 * @param ctx - the operation context
 * @param volume - the parsed volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the volume does not exist
 */
export async function loadSnapshots(ctx: ZfsContext, volume: ParsedVolume): Promise<SnapshotRecord[]> {
  try {
    const { stdout } = await runZfs(ctx, zfsListSnapshotsArgs(datasetOf(ctx.config.pool, volume.name)));
    return parseSnapshotList(stdout);
  } catch (e) {
    if (zfsFailureOf(e) === 'missing') throw notFound(ctx, volume.volname);
    throw e;
  }
}

/**
 * The volids of datasets given by full name: volumes of the storage as the listing names them
 * (a clone of a base as `<base>/<name>`), anything else as its dataset name.
 *
 * @param ctx - the operation context
 * @param datasets - full dataset names, e.g. from an error message
 * @returns volids or dataset names, sorted
 */
export async function volidsOf(ctx: ZfsContext, datasets: readonly string[]): Promise<string[]> {
  const prefix = `${ctx.config.pool}/`;
  let children: ReadonlyMap<string, DatasetRecord> = new Map();
  try {
    invalidate(ctx);
    children = await loadChildren(ctx);
  } catch {
    // name them as datasets below
  }
  return datasets
    .map((d) => {
      const name = d.startsWith(prefix) ? d.slice(prefix.length) : undefined;
      if (name === undefined || !isVolumeName(name)) return d;
      return formatVolumeId(ctx.storeId, volnameOf(ctx.config.pool, name, children.get(name)?.origin));
    })
    .sort();
}

/**
 * The pool's free and used bytes, for a `NO_SPACE` error's details; never throws.
 *
 * @param ctx - the operation context
 */
export async function spaceDetails(ctx: ZfsContext): Promise<Record<string, unknown>> {
  try {
    const { stdout } = await runZfs(ctx, zfsGetArgs(['available', 'used'], ctx.config.pool), { cleanup: true });
    const usage = parsePoolUsage(stdout);
    return { available: usage.available, used: usage.used };
  } catch {
    return {};
  }
}

/**
 * Waits, a bounded time, for a zvol's device link to appear (zvols get their `/dev/zd*` device
 * and the udev link asynchronously after `zfs create`/`clone`/`rename`): `test -b`, and while it
 * is missing `udevadm settle --exit-if-exists`, until the link is there or the time is up.
 *
 * @param ctx - the operation context
 * @param path - `/dev/zvol/<pool>/<name>`
 * @param timeoutMs - the bound
 * @throws {@link @stowage/core!index.StorageError | StorageError} `TIMEOUT` naming the link and the time waited
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::zfs_wait_for_zvol_link`
 */
export async function waitForZvolLink(ctx: ZfsContext, path: string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const { exitCode } = await ctx.run(testBlockDeviceArgs(path), { okExitCodes: [0, 1] });
    if (exitCode === 0) return;
    const left = timeoutMs - (Date.now() - started);
    if (left <= 0) {
      throw new StorageError('TIMEOUT', `timeout: no zvol device link for '${path}' found after ${Math.round(timeoutMs / 1000)} s`, {
        details: { path, timeoutMs, attempts: attempt + 1 },
      });
    }
    await ctx.run(udevSettleArgs(path, Math.min(5, left / 1000)), { okExitCodes: [0, 1] }).catch((e: unknown) => {
      ctx.log.debug('udevadm settle failed; polling instead', { error: e instanceof Error ? e.message : String(e) });
    });
    await pause(ctx, Math.min(50 * 2 ** Math.min(attempt, 4), Math.max(0, left)));
  }
}

/**
 * Waits a while, unless the operation is aborted.
 *
 * @param ctx - the operation context
 * @param ms - milliseconds
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ABORTED`
 */
export async function pause(ctx: ZfsContext, ms: number): Promise<void> {
  try {
    await sleep(ms, undefined, { signal: ctx.signal ?? undefined });
  } catch (e) {
    throw new StorageError('ABORTED', 'the operation was aborted', { cause: e });
  }
}

/**
 * Runs a `zfs destroy` command, tried again after a pause while its target is busy (a zvol whose
 * device udev still holds open for a moment after a create or a rename), a bounded number of
 * times.
 *
 * @param ctx - the operation context
 * @param argv - the `zfs destroy` command; its last word names the target
 * @param tuning - retry bounds
 * @param options - `cleanup`: run even when the operation was aborted; `details` of a failure
 * @throws {@link @stowage/core!index.StorageError | StorageError} `BUSY` (`details.dataset`, `details.attempts`), or what the command throws
 */
export async function destroyRetryingBusy(ctx: ZfsContext, argv: readonly string[], tuning: ZfsTuning, options: { cleanup?: boolean; details?: Record<string, unknown> } = {}): Promise<void> {
  const dataset = argv[argv.length - 1];
  for (let attempt = 1; ; attempt++) {
    try {
      await runZfs(ctx, argv, options);
      return;
    } catch (e) {
      if (zfsFailureOf(e) !== 'busy') throw e;
      if (attempt >= tuning.busyAttempts) throw new StorageError('BUSY', `'${dataset}' is busy after ${attempt} tries`, { cause: e, details: { dataset, attempts: attempt } });
      ctx.log.debug('dataset is busy, trying again', { dataset, attempt });
      await pause(ctx, tuning.busyDelayMs);
    }
  }
}

/**
 * Destroys a dataset with its snapshots (`zfs destroy -r`), tried again while it is busy (see
 * {@link destroyRetryingBusy}); one that does not exist counts as destroyed, unless `mustExist`;
 * one that clones depend on is refused with `IN_USE` naming them.
 *
 * @param ctx - the operation context
 * @param name - the volume's name
 * @param tuning - retry bounds
 * @param options - `cleanup`: run even when the operation was aborted; `mustExist`: a dataset
 *   that does not exist is `NOT_FOUND` (the tool's message, classified `missing`)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (with `mustExist`), `IN_USE` (`details.clones`),
 *   `BUSY` (`details.attempts`), `COMMAND_FAILED`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::zfs_delete_zvol`
 */
export async function destroyDataset(ctx: ZfsContext, name: string, tuning: ZfsTuning, options: { cleanup?: boolean; mustExist?: boolean } = {}): Promise<void> {
  try {
    await destroyRetryingBusy(ctx, zfsDestroyArgs(datasetOf(ctx.config.pool, name)), tuning, { cleanup: options.cleanup ?? false });
  } catch (e) {
    const failure = zfsFailureOf(e);
    if (failure === 'dependent-clones') {
      const clones = await volidsOf(ctx, ((e as StorageError).details['listed'] as string[] | undefined) ?? []);
      throw new StorageError('IN_USE', `'${ctx.storeId}:${name}' is still used by linked clones: ${clones.join(', ')}`, { cause: e, details: { name, clones } });
    }
    if (failure !== 'missing' || options.mustExist === true) throw e;
  }
  invalidate(ctx);
}

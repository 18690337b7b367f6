/**
 * Running LVM commands for one storage: the shared `lvs` report, classified errors, the
 * bounded retry on a busy device, and the pool's usage attached to `NO_SPACE`.
 *
 * @module
 */
import { isStorageError, StorageError } from '@stowage/core';
import { type CommandResult, type PluginContext, type RunOptions } from '@stowage/core/plugin';
import { lvchangeActivateArgs, lvremoveArgs, lvsArgs, udevadmSettleArgs, vgsArgs } from './commands.js';
import type { LvmThinConfig } from './config.js';
import { classifyLvmError, lvmFailureOf } from './errors.js';
import { parseLvsReport, parseVgsReport } from './parse.js';
import { PoolView, type PoolUsage } from './pool-view.js';

/** The context every `lvmthin` operation gets. */
export type LvmThinContext = PluginContext<LvmThinConfig>;

/** The key of the `lvs` report in the operation and TTL caches. */
export const LVS_CACHE_KEY = 'lvmthin:lvs';

/** How many times a command that hit a busy device is tried in all. */
export const BUSY_ATTEMPTS = 4;

/** Options of {@link runLvm}. */
export interface RunLvmOptions extends RunOptions {
  /** Retry after `udevadm settle` while the device is busy, up to {@link BUSY_ATTEMPTS} tries. */
  readonly retryBusy?: boolean;
  /** Extra facts for the error's `details`. */
  readonly details?: Readonly<Record<string, unknown>>;
  /**
   * Clean-up after a failure: run even when the operation was aborted (the runner is called
   * without the operation's abort signal).
   */
  readonly cleanup?: boolean;
}

/**
 * Runs an LVM command and classifies its failure (see `classifyLvmError`). On a busy device it
 * waits for udev (`udevadm settle`) and tries again, a bounded number of times; on a full pool
 * it adds the pool's usage to the error's details.
 *
 * @param ctx - the operation context
 * @param argv - the command, from a builder in `commands.ts`
 * @param options - run options, busy retry, details
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `ALREADY_EXISTS`, `BUSY`, `NO_SPACE`, `CANNOT_SHRINK`, `COMMAND_FAILED`
 */
export async function runLvm(ctx: LvmThinContext, argv: readonly string[], options: RunLvmOptions = {}): Promise<CommandResult> {
  const { retryBusy = false, details = {}, cleanup = false, ...runOptions } = options;
  const run = cleanup ? (a: readonly string[], o: RunOptions) => ctx.runner.run(a, o) : ctx.run;
  const base = { vg: ctx.config.vgname, thinpool: ctx.config.thinpool, ...details };
  const attempts = retryBusy ? BUSY_ATTEMPTS : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(argv, runOptions);
    } catch (e) {
      const failure = lvmFailureOf(e);
      if (failure === 'busy' && attempt < attempts) {
        ctx.log.debug('device busy, waiting for udev before trying again', { argv, attempt });
        await settleUdev(ctx, cleanup);
        continue;
      }
      const extra: Record<string, unknown> = { ...base };
      if (failure === 'busy') extra['attempts'] = attempt;
      if (failure === 'pool-full' || failure === 'metadata-full' || failure === 'vg-full') {
        Object.assign(extra, await spaceDetails(ctx));
        // LVM says "free space in thin pool ... reached threshold" for data and metadata alike.
        if (failure === 'pool-full' && metadataIsFull(extra['pool'] as PoolUsage | undefined)) extra['failure'] = 'metadata-full';
      }
      throw classifyLvmError(e, extra);
    }
  }
}

/**
 * Waits for udev to finish its queued events; a failure is logged, not thrown (settling is a
 * courtesy before a retry, not a step that can fail the operation).
 *
 * @param ctx - the operation context
 * @param cleanup - run even when the operation was aborted
 */
export async function settleUdev(ctx: LvmThinContext, cleanup = false): Promise<void> {
  try {
    await ctx.runner.run(udevadmSettleArgs(), { signal: cleanup ? undefined : ctx.signal });
  } catch (e) {
    ctx.log.warn('udevadm settle failed', { error: e instanceof Error ? e.message : String(e) });
  }
}

/**
 * The `lvs` report of the storage's volume group as a {@link PoolView}: one `lvs` per
 * operation, shared between operations through the storage's TTL cache.
 *
 * @param ctx - the operation context
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the volume group does not exist, `COMMAND_FAILED`
 */
export async function loadPoolView(ctx: LvmThinContext): Promise<PoolView> {
  return ctx.cache.shared(LVS_CACHE_KEY, async () => {
    const { stdout } = await runLvm(ctx, lvsArgs(ctx.config.vgname));
    return new PoolView(parseLvsReport(stdout), ctx.config.thinpool);
  });
}

/**
 * Like {@link loadPoolView}, but the thin pool must exist; an inactive pool is activated
 * (`lvchange -ay`, Proxmox's `activate_storage`), which costs nothing when it is active.
 *
 * @param ctx - the operation context
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the volume group or the thin pool does not exist
 */
export async function loadPool(ctx: LvmThinContext): Promise<PoolView> {
  const { vgname, thinpool } = ctx.config;
  const view = await loadPoolView(ctx);
  if (view.pool === undefined) {
    throw new StorageError('NOT_FOUND', `thin pool '${vgname}/${thinpool}' does not exist`, {
      details: { failure: 'pool-missing', vg: vgname, thinpool },
    });
  }
  if (!view.pool.active) {
    await runLvm(ctx, lvchangeActivateArgs(vgname, thinpool), { details: { lv: thinpool } });
    invalidateListing(ctx);
  }
  return view;
}

/**
 * Forgets the cached `lvs` report after a write.
 *
 * @param ctx - the operation context
 */
export function invalidateListing(ctx: LvmThinContext): void {
  ctx.cache.invalidate(LVS_CACHE_KEY);
}

/**
 * Looks a volume up in the report.
 *
 * @param ctx - the operation context
 * @param volname - the volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when it does not exist
 */
export async function requireVolume(ctx: LvmThinContext, volname: string): Promise<{ view: PoolView; lv: NonNullable<ReturnType<PoolView['volumes']['get']>> }> {
  const view = await loadPool(ctx);
  const lv = view.volumes.get(volname);
  if (lv === undefined) {
    throw new StorageError('NOT_FOUND', `volume '${ctx.storeId}:${volname}' does not exist`, { details: { volname } });
  }
  return { view, lv };
}

function metadataIsFull(usage: PoolUsage | undefined): boolean {
  return usage !== undefined && (usage.health === 'metadata-read-only' || (usage.metadataPercent ?? 0) >= 100);
}

/** The thin pool's usage and the volume group's free space, read fresh, for a `NO_SPACE` error. */
async function spaceDetails(ctx: LvmThinContext): Promise<Record<string, unknown>> {
  const { vgname, thinpool } = ctx.config;
  try {
    const [lvs, vgs] = await Promise.all([ctx.run(lvsArgs(vgname, thinpool)), ctx.run(vgsArgs(vgname))]);
    const usage = new PoolView(parseLvsReport(lvs.stdout), thinpool).usage();
    const vg = parseVgsReport(vgs.stdout)[0];
    return { pool: usage, vgFree: vg?.free };
  } catch (e) {
    if (!isStorageError(e)) throw e;
    return { pool: undefined };
  }
}

/**
 * Removes LVs (`lvremove -f`, several in one command). When the device is busy it waits for
 * udev and tries again with the LVs still present, a bounded number of times; LVs that are
 * already gone count as removed.
 *
 * @param ctx - the operation context
 * @param lvs - the LVs to remove, in order
 * @param options - `cleanup`: run even when the operation was aborted
 * @throws {@link @stowage/core!index.StorageError | StorageError} `BUSY` after the last try, `COMMAND_FAILED`
 */
export async function removeLvs(ctx: LvmThinContext, lvs: readonly string[], options: { cleanup?: boolean } = {}): Promise<void> {
  const vg = ctx.config.vgname;
  let pending = [...lvs];
  for (let attempt = 1; pending.length > 0; attempt++) {
    try {
      await runLvm(ctx, lvremoveArgs(vg, pending), { details: { lvs: pending }, cleanup: options.cleanup });
      break;
    } catch (e) {
      const failure = lvmFailureOf(e);
      if ((failure !== 'busy' && failure !== 'lv-missing') || attempt >= BUSY_ATTEMPTS) {
        throw failure === 'busy' ? classifyLvmError(e, { attempts: attempt }) : e;
      }
      if (failure === 'busy') await settleUdev(ctx, options.cleanup);
      const present = new Set(parseLvsReport((await runLvm(ctx, lvsArgs(vg), { cleanup: options.cleanup })).stdout).map((r) => r.name));
      pending = pending.filter((lv) => present.has(lv));
    }
  }
  invalidateListing(ctx);
}

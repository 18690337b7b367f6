/**
 * Export as `lvmthin-delta`: the ranges of a thin snapshot that changed since a base snapshot
 * (or, without a base, every mapped range), found in the thin pool's metadata, not by reading
 * the volumes. The pool's one metadata snapshot is reserved for the short time `thin_delta` (or
 * `thin_dump`) reads it and always released again; then the changed ranges are read from the
 * snapshot's device and framed (see `delta-frame.ts`). Both snapshots are read-only, so what the
 * metadata said still holds while the data is read.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pipeline } from 'node:stream/promises';
import { forwardInto, type VolumeExportRequest } from '@stowage/core/plugin';
import { StorageError } from '@stowage/core';
import { lvchangeActivateArgs, lvchangeDeactivateArgs } from './commands.js';
import { metadataSnapArgs, readRangesArgs, readRangesInput, thinDeltaArgs, thinDumpArgs, tpoolStatusArgs } from './delta-commands.js';
import { deltaEncoder, type DeltaRange } from './delta-frame.js';
import { fullRanges, incrementRanges, parseHeldMetadataRoot, parseThinDelta, parseThinDump } from './delta-parse.js';
import { lvmFailureOf } from './errors.js';
import { invalidateListing, loadPool, runLvm, type LvmThinContext } from './exec.js';
import { lvDevicePath, snapshotLvName } from './names.js';
import type { LvRecord } from './parse.js';

/** How many times reserving the metadata snapshot is tried while another holds it (about 5 s in all). */
export const RESERVE_ATTEMPTS = 8;

/**
 * Runs `fn` while the pool's metadata snapshot is reserved, and releases it afterwards whatever
 * happened (also after an abort). The pool has only one: while another holder has it (another
 * export), reserving is tried again a few times.
 *
 * @param ctx - the operation context
 * @param fn - what reads the metadata snapshot
 * @throws {@link @stowage/core!index.StorageError | StorageError} `BUSY` when it stays held
 *   (`details.heldMetadataRoot`, and the command that releases one left by a killed process)
 */
export async function withMetadataSnapshot<T>(ctx: LvmThinContext, fn: () => Promise<T>): Promise<T> {
  const { vgname: vg, thinpool: pool } = ctx.config;
  for (let attempt = 1; ; attempt++) {
    try {
      await runLvm(ctx, metadataSnapArgs(vg, pool, 'reserve_metadata_snap'));
      break;
    } catch (e) {
      if (lvmFailureOf(e) !== 'busy') throw e;
      if (attempt >= RESERVE_ATTEMPTS) {
        const status = await ctx.run(tpoolStatusArgs(vg, pool)).catch(() => undefined);
        const held = status === undefined ? undefined : parseHeldMetadataRoot(status.stdout);
        const release = metadataSnapArgs(vg, pool, 'release_metadata_snap').join(' ');
        throw new StorageError('BUSY', `the metadata snapshot of thin pool '${vg}/${pool}' stays held; if no transfer is running, a killed one left it: '${release}'`, {
          cause: e,
          details: { vg, thinpool: pool, heldMetadataRoot: held, attempts: attempt },
        });
      }
      await sleep(150 * attempt, undefined, { signal: ctx.signal ?? undefined });
    }
  }
  try {
    return await fn();
  } finally {
    await runLvm(ctx, metadataSnapArgs(vg, pool, 'release_metadata_snap'), { cleanup: true }).catch((e: unknown) =>
      ctx.log.warn('could not release the thin pool metadata snapshot', { vg, thinpool: pool, error: e instanceof Error ? e.message : String(e) }),
    );
  }
}

function thinIdOf(lv: LvRecord): number {
  if (lv.thinId === undefined) throw new StorageError('CORRUPT', `lvs reports no thin id for '${lv.vg}/${lv.name}'`, { details: { lv: lv.name } });
  return lv.thinId;
}

/**
 * The changed ranges of `newer` since `older`, or all of its mapped ranges, and the pool's block
 * size, read from a metadata snapshot.
 *
 * @param ctx - the operation context
 * @param newer - the snapshot sent
 * @param older - the base snapshot the receiver has, for an increment
 */
export async function changedRanges(ctx: LvmThinContext, newer: LvRecord, older: LvRecord | undefined): Promise<{ ranges: DeltaRange[]; blockSize: number }> {
  const { vgname: vg, thinpool: pool } = ctx.config;
  const [right, left] = [thinIdOf(newer), older === undefined ? undefined : thinIdOf(older)];
  return withMetadataSnapshot(ctx, async () => {
    if (left === undefined) {
      const dump = parseThinDump((await runLvm(ctx, thinDumpArgs(vg, pool, right))).stdout, right);
      if (dump.mapped === undefined) throw new StorageError('NOT_FOUND', `the pool's metadata has no thin device ${right} ('${newer.name}')`, { details: { lv: newer.name, thinId: right } });
      return { ranges: fullRanges({ ...dump, mapped: dump.mapped }, newer.size), blockSize: dump.blockSize };
    }
    const delta = parseThinDelta((await runLvm(ctx, thinDeltaArgs(vg, pool, left, right))).stdout);
    if (delta.left !== left || delta.right !== right) {
      throw new StorageError('CORRUPT', `thin_delta compared devices ${delta.left} and ${delta.right}, not ${left} and ${right}`, { details: { left, right } });
    }
    return { ranges: incrementRanges(delta, newer.size), blockSize: delta.blockSize };
  });
}

/**
 * Writes a volume's snapshot as an `lvmthin-delta` stream: the changes since `baseSnapshot`, or
 * every mapped range without one.
 *
 * @param ctx - the operation context
 * @param request - the volume, `snapshot` (required), `baseSnapshot`, output, progress
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (no
 *   snapshot named), `NOT_FOUND` (the volume or a snapshot), `BUSY` (the metadata snapshot stays
 *   held), `CORRUPT` (unexpected tool output; the device gave other than the ranges)
 */
export async function exportDelta(ctx: LvmThinContext, request: VolumeExportRequest): Promise<void> {
  const { volume, snapshot, baseSnapshot } = request;
  const volname = volume.volname;
  if (snapshot === undefined) {
    throw new StorageError('INVALID_ARGUMENT', 'an lvmthin-delta stream is sent from a snapshot: name one', { details: { volname } });
  }
  const vg = ctx.config.vgname;
  const view = await loadPool(ctx);
  const find = (name: string | undefined): LvRecord | undefined => {
    if (name === undefined) return undefined;
    const lv = view.volumes.has(volname) ? view.thinLvs.get(snapshotLvName(volname, name)) : undefined;
    if (lv === undefined) throw new StorageError('NOT_FOUND', `snapshot '${name}' of '${ctx.storeId}:${volname}' does not exist`, { details: { volname, snapshot: name } });
    return lv;
  };
  const newer = find(snapshot)!;
  const older = find(baseSnapshot);
  // an active thin LV also keeps the pool's -tpool device, which the metadata messages go to
  if (!newer.active) {
    await runLvm(ctx, lvchangeActivateArgs(vg, newer.name), { details: { lv: newer.name } });
    invalidateListing(ctx);
  }
  try {
    const { ranges, blockSize } = await changedRanges(ctx, newer, older);
    const framer = deltaEncoder({ size: newer.size, blockSize, incremental: older !== undefined }, ranges);
    let framingError: unknown;
    framer.once('error', (e) => (framingError = e));
    const flowing = pipeline(framer, forwardInto(request.output, request.onProgress).stream);
    flowing.catch(() => undefined); // awaited below
    const reads = readRangesInput(ranges);
    try {
      if (reads !== '') await ctx.run(readRangesArgs(lvDevicePath(vg, newer.name)), { stdin: reads, stdout: framer });
      framer.end();
    } catch (e) {
      framer.destroy(e instanceof Error ? e : new Error(String(e)));
      throw framingError ?? e;
    }
    await flowing;
  } finally {
    if (!newer.active) {
      await runLvm(ctx, lvchangeDeactivateArgs(vg, newer.name), { cleanup: true, retryBusy: true }).catch((e: unknown) =>
        ctx.log.warn('could not deactivate after export', { lv: newer.name, error: e instanceof Error ? e.message : String(e) }),
      );
      invalidateListing(ctx);
    }
  }
}

/**
 * Export and import in `raw+size`: the 8-byte size header, then the device's bytes, copied by
 * `dd` through the runner's streams (so also over ssh).
 *
 * @module
 */
import {
  encodeSizeHeader,
  forwardInto,
  findFreeDiskIndex,
  formatDiskName,
  readSizeHeader,
  runWithExactInput,
  undoing,
  watchInput,
  writeAll,
  type TransferOptions,
  type VolumeExportRequest,
  type VolumeImportRequest,
} from '@stowage/core/plugin';
import { StorageError, type ParsedVolume } from '@stowage/core';
import { blockdevSizeArgs, ddReadArgs, ddWriteArgs, lvchangeActivateArgs, lvchangeDeactivateArgs } from './commands.js';
import { invalidateListing, loadPool, LVS_CACHE_KEY, runLvm, type LvmThinContext } from './exec.js';
import { lvDevicePath, parseLvmThinVolname, targetLvName } from './names.js';
import { assertAllocRequest, makeBase } from './ops-volume.js';
import { parseBlockdevSize } from './parse.js';
import { createUnfinished, markWhole, removeByUuid } from './unfinished.js';

function assertPlain(request: TransferOptions & { format: string }, side: 'export' | 'import'): void {
  if (request.format !== 'raw+size') {
    throw new StorageError('NOT_SUPPORTED', `lvmthin cannot ${side} as '${request.format}', only raw+size`, { details: { format: request.format } });
  }
  if (request.withSnapshots || request.baseSnapshot !== undefined || (side === 'import' && request.snapshot !== undefined)) {
    throw new StorageError('NOT_SUPPORTED', `lvmthin cannot ${side} snapshots or increments in raw+size`, {
      details: { withSnapshots: request.withSnapshots, baseSnapshot: request.baseSnapshot, snapshot: request.snapshot },
    });
  }
}

/**
 * Writes a volume (or one of its snapshots) as `raw+size`. An LV that had to be activated for
 * the copy (a snapshot, a base) is deactivated again afterwards.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (other formats, snapshots), `NOT_FOUND`, `CORRUPT`
 *   (the device gave other than its size), `COMMAND_FAILED`
 * @see Proxmox `PVE::Storage::LVMPlugin::volume_export`
 */
export async function volumeExport(ctx: LvmThinContext, request: VolumeExportRequest): Promise<void> {
  assertPlain(request, 'export');
  const vg = ctx.config.vgname;
  const volname = request.volume.volname;
  const view = await loadPool(ctx);
  // a hidden volume's LV is not named after it
  const lvName = request.snapshot === undefined ? view.lvNameOf(volname) : targetLvName(volname, request.snapshot);
  const lv = view.thinLvs.get(lvName);
  if (lv === undefined || !view.volumes.has(volname)) {
    const what = request.snapshot === undefined ? `volume '${ctx.storeId}:${volname}'` : `snapshot '${request.snapshot}' of '${ctx.storeId}:${volname}'`;
    throw new StorageError('NOT_FOUND', `${what} does not exist`, { details: { volname, snapshot: request.snapshot } });
  }
  if (!lv.active) {
    await runLvm(ctx, lvchangeActivateArgs(vg, lvName), { details: { lv: lvName } });
    invalidateListing(ctx);
  }
  try {
    const path = lvDevicePath(vg, lvName);
    const size = parseBlockdevSize((await ctx.run(blockdevSizeArgs(path))).stdout);
    await writeAll(request.output, encodeSizeHeader(size));
    const sink = forwardInto(request.output, request.onProgress, size);
    await ctx.run(ddReadArgs(path), { stdout: sink.stream });
    const sent = await sink.finish();
    if (sent !== size) {
      throw new StorageError('CORRUPT', `'${path}' gave ${sent} bytes, its size is ${size}`, { details: { path, size, sent } });
    }
  } finally {
    if (!lv.active) {
      await runLvm(ctx, lvchangeDeactivateArgs(vg, lvName), { cleanup: true, retryBusy: true }).catch((e: unknown) =>
        ctx.log.warn('could not deactivate after export', { lv: lvName, error: e instanceof Error ? e.message : String(e) }),
      );
      invalidateListing(ctx);
    }
  }
}

/**
 * Reads a `raw+size` stream into a new volume: the volume is made from the size header, marked
 * unfinished with this process's owner (see `unfinished.ts`; the storage lock goes back then),
 * filled by `dd` (zero blocks skipped), for a `base-` target made a base, and unmarked. A
 * stream shorter or longer than its header, or any failure, removes the LV this call made,
 * chosen by its UUID.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `INVALID_ARGUMENT` (truncated or overlong stream,
 *   zero size), `ALREADY_EXISTS` (unless `allowRename`), `NO_SPACE`
 * @see Proxmox `PVE::Storage::LVMPlugin::volume_import`
 */
export async function volumeImport(ctx: LvmThinContext, request: VolumeImportRequest): Promise<string> {
  assertPlain(request, 'import');
  // A sender that breaks off (also before the data flows) must stop dd, over ssh too: it would
  // wait for more input for ever. Listen from the start, so that no early error is missed.
  const sender = watchInput(request.input);
  const target = parseLvmThinVolname(request.volume.volname);
  const size = await readSizeHeader(request.input, ctx.signal ?? undefined);
  if (size <= 0) throw new StorageError('INVALID_ARGUMENT', 'cannot import an empty volume', { details: { size } });
  const work = await workingName(ctx, target, request.allowRename === true);
  assertAllocRequest({ vmid: work.vmid!, format: 'raw', name: work.volname, size });
  const made = await createUnfinished(ctx, { name: work.volname, size });
  return undoing(ctx, LVS_CACHE_KEY, async (undo) => {
    undo(() => removeByUuid(ctx, made.uuid));
    await runWithExactInput(ctx, ddWriteArgs(lvDevicePath(ctx.config.vgname, made.name)), request.input, size, { sender, onProgress: request.onProgress });
    // a base is made while still marked (the undo removes it by UUID, whatever its name); then unmarked
    const name = target.isBase ? await makeBase(ctx, made.name, () => undefined) : made.name;
    await markWhole(ctx, { ...made, name });
    return name;
  });
}

/**
 * The name the data is written under: the target, or a `vm-` name a base is made from; a free
 * one when the name is taken and renaming is allowed.
 *
 * @param ctx - the operation context
 * @param target - the target volume
 * @param allowRename - pick a free name when the target's is taken
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`
 */
export async function workingName(ctx: LvmThinContext, target: ParsedVolume, allowRename: boolean): Promise<ParsedVolume> {
  const view = await loadPool(ctx);
  const vmName = target.volname.replace(/^base-/, 'vm-');
  const taken = view.isTaken(target.volname) || view.isTaken(vmName);
  if (!taken) return parseLvmThinVolname(vmName);
  if (!allowRename) {
    throw new StorageError('ALREADY_EXISTS', `volume '${ctx.storeId}:${target.volname}' already exists`, { details: { volname: target.volname } });
  }
  const index = findFreeDiskIndex(target.vmid!, view.takenNames());
  return parseLvmThinVolname(formatDiskName({ vmid: target.vmid!, index }));
}

/**
 * Export and import: `zfs` send streams (with snapshots, and increments from a snapshot both
 * sides have: only the changed blocks travel), and `raw+size` (the 8-byte size header, then the
 * zvol's bytes) for copies to and from other kinds of storage.
 *
 * @module
 */
import type { Readable } from 'node:stream';
import {
  encodeSizeHeader,
  forwardInto,
  readSizeHeader,
  runWithExactInput,
  watchInput,
  writeAll,
  type TransferFormatsRequest,
  type VolumeExportRequest,
  type VolumeImportRequest,
  undoing,
} from '@stowage/core/plugin';
import { StorageError, type ParsedVolume, type StreamFormat } from '@stowage/core';
import { ddReadArgs, ddWriteArgs, zfsRecvArgs, zfsRollbackArgs, zfsSendArgs, zfsSnapshotArgs } from './commands.js';
import { zfsFailureOf } from './errors.js';
import {
  datasetType,
  findDataset,
  loadChildren,
  loadSnapshots,
  notFound,
  requireVolume,
  runZfs,
  waitForZvolLink,
  type ZfsContext,
  type ZfsTuning,
} from './exec.js';
import { BASE_SNAPSHOT, datasetOf, freeDiskName, HIDDEN_BASE_SNAPSHOT, parseZfsVolname, snapshotOf, zvolPath } from './names.js';
import { allocImage } from './ops-volume.js';
import { destroyIdentified, identify, incompleteMark, markWhole } from './unfinished.js';

/**
 * The stream formats of a volume, best first: `zfs` always; `raw+size` too for a zvol's current
 * state (no snapshots, no increment). A container volume travels only as `zfs`.
 */
function transferFormats(request: TransferFormatsRequest): StreamFormat[] {
  const plain = request.volume.format === 'raw' && !request.withSnapshots && request.snapshot === undefined && request.baseSnapshot === undefined;
  return plain ? ['zfs', 'raw+size'] : ['zfs'];
}

/**
 * The formats a volume can be exported in: see {@link transferFormats}.
 *
 * @param ctx - the operation context (unused: the answer depends on the request alone)
 * @param request - the volume and what the transfer carries
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_export_formats`
 */
export async function volumeExportFormats(ctx: ZfsContext, request: TransferFormatsRequest): Promise<StreamFormat[]> {
  void ctx;
  return transferFormats(request);
}

/**
 * The formats a volume can be imported from: the same as it exports.
 *
 * @param ctx - the operation context (unused)
 * @param request - the volume and what the transfer carries
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_import_formats`
 */
export async function volumeImportFormats(ctx: ZfsContext, request: TransferFormatsRequest): Promise<StreamFormat[]> {
  void ctx;
  return transferFormats(request);
}

function assertFormat(request: TransferFormatsRequest & { format: StreamFormat }, side: 'export' | 'import'): void {
  const formats = transferFormats(request);
  if (!formats.includes(request.format)) {
    throw new StorageError('NOT_SUPPORTED', `zfspool cannot ${side} this as '${request.format}'; formats: ${formats.join(', ')}`, {
      details: { format: request.format, formats },
    });
  }
}

/**
 * Writes a volume to a stream: `zfs` (`zfs send` of `snapshot`, from `baseSnapshot` when
 * given, every snapshot in between with `withSnapshots`) or `raw+size` (size header, then `dd`
 * of the zvol).
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `INVALID_ARGUMENT` (a `zfs` stream without a
 *   snapshot), `NOT_FOUND`, `CORRUPT` (the device gave other than its size)
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_export`
 */
export async function volumeExport(ctx: ZfsContext, request: VolumeExportRequest, tuning: ZfsTuning): Promise<void> {
  assertFormat(request, 'export');
  const { volume, snapshot, baseSnapshot } = request;
  const { pool } = ctx.config;
  if (request.format === 'zfs') {
    if (snapshot === undefined) {
      throw new StorageError('INVALID_ARGUMENT', 'a zfs stream is sent from a snapshot: name one (the manager uses a temporary one when copying)', { details: { volname: volume.volname } });
    }
    const base = baseSnapshot === undefined ? undefined : snapshotOf(pool, volume.name, baseSnapshot);
    const out = forwardInto(request.output, request.onProgress);
    try {
      await runZfs(ctx, zfsSendArgs({ snapshot: snapshotOf(pool, volume.name, snapshot), base, withSnapshots: request.withSnapshots }), {
        stdout: out.stream,
        details: { volname: volume.volname, snapshot, baseSnapshot },
      });
    } catch (e) {
      if (zfsFailureOf(e) === 'missing') throw new StorageError('NOT_FOUND', `'${ctx.storeId}:${volume.volname}' has no snapshot '${snapshot}'${base ? ` or '${baseSnapshot}'` : ''}`, { cause: e, details: { volname: volume.volname, snapshot, baseSnapshot } });
      throw e;
    }
    await out.finish();
    return;
  }
  const record = await requireVolume(ctx, volume);
  const size = record.volsize ?? 0;
  const path = zvolPath(pool, volume.name);
  await waitForZvolLink(ctx, path, tuning.zvolLinkTimeoutMs);
  await writeAll(request.output, encodeSizeHeader(size));
  const out = forwardInto(request.output, request.onProgress, size + 8, 8);
  await ctx.run(ddReadArgs(path), { stdout: out.stream });
  const sent = await out.finish();
  if (sent !== size) throw new StorageError('CORRUPT', `'${path}' gave ${sent} bytes, its size is ${size}`, { details: { path, size, sent } });
}

/**
 * Reads a volume from a stream. `zfs`: `zfs recv` into a new volume (a failed receive destroys
 * what it made), or with `baseSnapshot` an increment into the existing volume (a failed receive
 * rolls it back to the newest snapshot it had, dropping any snapshot the receive added). `raw+size`: a new zvol of the header's size filled by `dd`. A
 * `base-` target gets its `__base__` snapshot (unless the stream brought it, or a hidden base's `__hidden__`). The name is taken: `ALREADY_EXISTS`, or a free one
 * with `allowRename`.
 *
 * @returns the volname written
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `INVALID_ARGUMENT` (truncated, corrupt or
 *   mismatched stream), `ALREADY_EXISTS`, `NOT_FOUND` (base snapshot), `NO_SPACE`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_import`
 */
export async function volumeImport(ctx: ZfsContext, request: VolumeImportRequest, tuning: ZfsTuning): Promise<string> {
  assertFormat(request, 'import');
  if (request.format === 'zfs' && request.baseSnapshot !== undefined) return receiveIncrement(ctx, request, request.baseSnapshot);
  // A sender that breaks off (also before the data flows) must stop dd, over ssh too: it would
  // wait for more input for ever. Listen from the start, so that no early error is missed.
  const sender = watchInput(request.input);
  const size = request.format === 'raw+size' ? await readSizeHeader(request.input, ctx.signal ?? undefined) : undefined;
  if (size !== undefined && size <= 0) throw new StorageError('INVALID_ARGUMENT', 'cannot import an empty volume', { details: { size } });
  const target = await workingVolume(ctx, request.volume, request.allowRename === true);
  return size === undefined ? receiveFull(ctx, request, target, tuning) : receiveRaw(ctx, request, target, size, tuning, sender);
}

/** The target, or a free name of the same kind when it is taken and renaming is allowed. */
async function workingVolume(ctx: ZfsContext, target: ParsedVolume, allowRename: boolean): Promise<ParsedVolume> {
  if ((await findDataset(ctx, target.name)) === undefined) return parseZfsVolname(target.name);
  if (!allowRename) throw new StorageError('ALREADY_EXISTS', `volume '${ctx.storeId}:${target.volname}' already exists`, { details: { volname: target.volname } });
  const names = (await loadChildren(ctx)).keys();
  return parseZfsVolname(freeDiskName(target.vmid!, names, target.format as 'raw' | 'subvol', target.isBase));
}

/** `zfs recv` with the input as standard input; a name taken meanwhile is `ALREADY_EXISTS`. */
async function receive(ctx: ZfsContext, dataset: string, input: Readable, rollbackFirst: boolean, properties: Record<string, string> = {}): Promise<void> {
  await runZfs(ctx, zfsRecvArgs(dataset, rollbackFirst, properties), { stdin: input, details: { dataset } });
}

async function receiveFull(ctx: ZfsContext, request: VolumeImportRequest, target: ParsedVolume, tuning: ZfsTuning): Promise<string> {
  const { pool } = ctx.config;
  const mark = incompleteMark(ctx);
  // The storage lock stays held while the stream is received: the dataset appears only as the
  // receive goes, so the name is reserved by the lock (a failed full receive leaves nothing).
  try {
    await receive(ctx, datasetOf(pool, target.name), request.input, false, mark);
  } catch (e) {
    // ZFS removes what a failed full receive made; should a marked part of ours be left, it goes
    const left = await identify(ctx, target.name, mark).catch(() => undefined);
    if (left) await destroyIdentified(ctx, left, tuning);
    throw e;
  }
  const made = await identify(ctx, target.name, mark);
  return undoing(ctx, undefined, async (undo) => {
    undo(() => destroyIdentified(ctx, made, tuning));
    const record = await findDataset(ctx, target.name);
    if (record?.type !== datasetType(target.format)) {
      throw new StorageError('INVALID_ARGUMENT', `the stream holds a ${record?.type ?? 'nothing usable'}, not a ${String(target.format)} volume`, { details: { type: record?.type } });
    }
    const snapshots = (await loadSnapshots(ctx, target)).map((s) => s.snapshot);
    if (request.snapshot !== undefined && !snapshots.includes(request.snapshot)) {
      throw new StorageError('INVALID_ARGUMENT', `the stream does not hold snapshot '${request.snapshot}'`, { details: { snapshot: request.snapshot, snapshots } });
    }
    if (target.isBase && !snapshots.includes(BASE_SNAPSHOT) && !snapshots.includes(HIDDEN_BASE_SNAPSHOT)) await runZfs(ctx, zfsSnapshotArgs(snapshotOf(pool, target.name, BASE_SNAPSHOT)));
    if (target.format === 'raw') await waitForZvolLink(ctx, zvolPath(pool, target.name), tuning.zvolLinkTimeoutMs);
    await markWhole(ctx, made);
    return target.name;
  });
}

async function receiveIncrement(ctx: ZfsContext, request: VolumeImportRequest, base: string): Promise<string> {
  const { volume } = request;
  const { pool } = ctx.config;
  const before = await loadSnapshots(ctx, volume);
  if (!before.some((s) => s.snapshot === base)) throw notFound(ctx, volume.volname, base);
  return undoing(ctx, undefined, async (undo) => {
    // On failure, roll back to the newest snapshot the volume had (destroying any the receive
    // added), which restores what was there.
    undo(async () => {
      // `-F` may have replaced snapshots newer than the base: go back to the newest one left.
      const left = new Set((await loadSnapshots(ctx, volume)).map((s) => s.snapshot));
      const target = [...before].reverse().find((s) => left.has(s.snapshot))?.snapshot ?? base;
      await runZfs(ctx, zfsRollbackArgs(snapshotOf(pool, volume.name, target), true), { cleanup: true });
    });
    await receive(ctx, datasetOf(pool, volume.name), request.input, true);
    if (request.snapshot !== undefined && !(await loadSnapshots(ctx, volume)).some((s) => s.snapshot === request.snapshot)) {
      throw new StorageError('INVALID_ARGUMENT', `the stream does not hold snapshot '${request.snapshot}'`, { details: { snapshot: request.snapshot } });
    }
    return volume.volname;
  });
}

async function receiveRaw(ctx: ZfsContext, request: VolumeImportRequest, target: ParsedVolume, size: number, tuning: ZfsTuning, sender: AbortController): Promise<string> {
  const { pool } = ctx.config;
  const mark = incompleteMark(ctx);
  await allocImage(ctx, { vmid: target.vmid!, format: 'raw', name: target.name, size }, tuning, mark);
  const made = await identify(ctx, target.name, mark);
  // the marked zvol holds the name: the storage lock goes back while the data flows
  ctx.nameReserved();
  return undoing(ctx, undefined, async (undo) => {
    undo(() => destroyIdentified(ctx, made, tuning));
    await runWithExactInput(ctx, ddWriteArgs(zvolPath(pool, target.name)), request.input, size, { sender, onProgress: request.onProgress });
    if (target.isBase) await runZfs(ctx, zfsSnapshotArgs(snapshotOf(pool, target.name, BASE_SNAPSHOT)));
    await markWhole(ctx, made);
    return target.name;
  });
}

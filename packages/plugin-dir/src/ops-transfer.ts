/**
 * Export and import of images as `raw+size`, `qcow2+size` and `vmdk+size` streams (an 8-byte
 * little-endian size, then the data), as Proxmox's file storages stream them.
 *
 * Raw images stream natively both ways. A qcow2/vmdk image leaves as `raw+size` through
 * `qemu-nbd` and our NBD client, without a temporary copy (nbd-export.ts). `qemu-img` cannot
 * read from a pipe, so a `raw+size` stream becomes a qcow2/vmdk image through a sparse raw
 * temporary next to it (a `conv` temporary, see temp-name.ts).
 *
 * @module
 */
import { join } from 'node:path';
import {
  encodeSizeHeader,
  exportRawFile,
  readBackRange,
  readSizeHeader,
  SIZE_HEADER_BYTES,
  streamDataFormat,
  trackedReadBack,
  writeAll,
  type TrackedReadBack,
  type TransferFormatsRequest,
  type VolumeExportRequest,
  type VolumeImportRequest,
  type PluginContext,
} from '@stowage/core/plugin';
import { isStorageError, StorageError, type ParsedVolume, type StreamFormat, type VolumeFormat } from '@stowage/core';
import { preallocationFor, qemuImgCheckArgs, qemuImgConvertArgs } from './commands.js';
import type { DirConfig } from './config.js';
import { assertImage, runTool, type DirEnv } from './exec.js';
import { exists } from './fs-util.js';
import { exportViaNbd } from './nbd-export.js';
import { findFreeDiskname } from './ops-read.js';
import { publishVolume, reserveVolume, undoNewVolume, type NewVolume } from './new-volume.js';
import { parseQemuImgCheck } from './parse.js';
import { admitFile, admitImage } from './gate.js';
import { readInside } from './open-inside.js';
import { streamFile, writeSparse } from './stream-io.js';
import { makeTemp, ownerToken, removeOwnTemp, type OwnTemp } from './temp-file.js';
import { backingReference, formatImageVolname } from './names.js';

function unsupported(volume: ParsedVolume, format: StreamFormat, why: string): never {
  throw new StorageError('NOT_SUPPORTED', `cannot transfer '${volume.volname}' as ${format}: ${why}`, { details: { volname: volume.volname, format } });
}

/**
 * Stream formats a volume can be exported in: `raw+size` without snapshots; with snapshots the
 * image's own `qcow2+size` or `vmdk+size` (raw has none); nothing for a snapshot or incremental
 * export, or for a volume that is not an image.
 */
function exportFormats(request: TransferFormatsRequest): StreamFormat[] {
  const { volume } = request;
  if (volume.vtype !== 'images' || request.snapshot !== undefined || request.baseSnapshot !== undefined) return [];
  if (request.withSnapshots) return volume.format === 'qcow2' || volume.format === 'vmdk' ? [`${volume.format}+size`] : [];
  return volume.format === 'subvol' ? [] : ['raw+size'];
}

/**
 * Stream formats a volume can be imported from: as {@link exportFormats}, except that a
 * snapshot name is allowed (it is ignored: file images carry their snapshots inside).
 * `raw+size` also fills a qcow2 or vmdk image (converted on the way).
 */
function importFormats(request: TransferFormatsRequest): StreamFormat[] {
  return exportFormats({ ...request, snapshot: undefined });
}

/**
 * Stream formats a volume can be exported in: `raw+size` without snapshots; with snapshots the
 * image's own `qcow2+size` or `vmdk+size`. Runs nothing.
 *
 * @param ctx - the call's context (unused: the answer depends on the request alone)
 * @param request - the volume and the transfer options
 * @see Proxmox `PVE::Storage::Plugin::volume_export_formats`
 */
export async function volumeExportFormats(ctx: PluginContext<DirConfig>, request: TransferFormatsRequest): Promise<StreamFormat[]> {
  void ctx;
  return exportFormats(request);
}

/**
 * Stream formats a volume can be imported from: as it exports; `raw+size` also fills a qcow2 or
 * vmdk image (converted on the way). Runs nothing.
 *
 * @param ctx - the call's context (unused)
 * @param request - the target volume and the transfer options
 * @see Proxmox `PVE::Storage::Plugin::volume_import_formats`
 */
export async function volumeImportFormats(ctx: PluginContext<DirConfig>, request: TransferFormatsRequest): Promise<StreamFormat[]> {
  void ctx;
  return importFormats(request);
}

/**
 * Writes an image to a stream: the size header, then the raw content (`raw+size`) or the image
 * file as it is, snapshots included (`qcow2+size`, `vmdk+size`). The output is not ended.
 *
 * @param env - the call's environment
 * @param request - the image, the stream format, the output, progress
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (format not offered for this image), `NOT_FOUND`,
 *   `CORRUPT` (the file is not a valid image of its format), `ABORTED`, `COMMAND_FAILED`
 * @see Proxmox `PVE::Storage::Plugin::volume_export`
 */
export async function volumeExport(env: DirEnv, request: VolumeExportRequest): Promise<void> {
  const { volume, format, output } = request;
  if (!exportFormats(request).includes(format)) unsupported(volume, format, `offered: ${exportFormats(request).join(', ') || 'none'}`);
  const { path, probe } = await admitImage(env, volume);
  const signal = env.ctx.signal;
  // the file itself is read from the file as opened and checked there, not from whatever the
  // path names by then
  const image = { volname: volume.volname, what: 'the image' };
  if (format === 'raw+size' && volume.format === 'raw') {
    await readInside(env.rootReal, path, image, ({ handle }) => exportRawFile(handle, output, { onProgress: request.onProgress, signal }));
    return;
  }
  if (format !== 'raw+size') {
    // the image file as it is, after the virtual size (Proxmox's header for these formats)
    await readInside(env.rootReal, path, image, async ({ handle, stat }) => {
      await writeAll(output, encodeSizeHeader(probe.size));
      await streamFile(handle, output, { onProgress: request.onProgress, offsetForProgress: SIZE_HEADER_BYTES, total: SIZE_HEADER_BYTES + stat.size, signal });
    });
    return;
  }
  await exportViaNbd(env, { path, format: volume.format as VolumeFormat }, output, { onProgress: request.onProgress });
}

async function checkImported(env: DirEnv, path: string, volume: ParsedVolume & { vmid: number }, format: VolumeFormat, volname: string): Promise<void> {
  let allowedBacking: string | undefined;
  if (volume.baseVmid !== undefined && volume.baseName !== undefined && (await exists(join(env.layout.imageDir(volume.baseVmid), volume.baseName)))) {
    allowedBacking = backingReference(volume.baseVmid, volume.baseName);
  }
  const admitted = (await admitFile(env, path, format, { volname, origin: 'imported', allowedBacking })).path;
  let result;
  try {
    result = await runTool(env, qemuImgCheckArgs(admitted, format), { okExitCodes: [0, 2, 3] });
  } catch (e) {
    if (e instanceof StorageError && e.code === 'COMMAND_FAILED') {
      throw new StorageError('INVALID_ARGUMENT', `imported image '${volname}' does not pass qemu-img check`, { cause: e, details: { volname } });
    }
    throw e;
  }
  const check = parseQemuImgCheck(result.stdout);
  if (check.corruptions > 0 || check.checkErrors > 0) {
    throw new StorageError('INVALID_ARGUMENT', `imported image '${volname}' is truncated or corrupt (${check.corruptions} corruptions, ${check.checkErrors} check errors)`, {
      details: { volname, ...check },
    });
  }
}

/** Reserves the import's target, or with `allowRename` a free name when the target is taken. */
async function reserveTarget(env: DirEnv, request: VolumeImportRequest): Promise<NewVolume> {
  const volume = request.volume as ParsedVolume & { vmid: number };
  try {
    return await reserveVolume(env, volume.vmid, volume.name, volume.volname);
  } catch (e) {
    if (!request.allowRename || !isStorageError(e, 'ALREADY_EXISTS')) throw e;
  }
  env.log.warn(`volume '${volume.volname}' already exists: importing under another name`);
  const name = await findFreeDiskname(env, { vmid: volume.vmid, format: volume.format as VolumeFormat });
  const volname = formatImageVolname({ vmid: volume.vmid, name, baseVmid: volume.baseVmid, baseName: volume.baseName });
  return reserveVolume(env, volume.vmid, name, volname);
}

/**
 * Reads an image from a stream into a new volume. The target must not exist (unless
 * `allowRename`, then a free name is used). Its name is reserved before the stream is read (a
 * hidden temporary, see new-volume.ts); the data goes to the temporary, which becomes the
 * volume only when the stream is complete and checked. Imported qcow2/vmdk files are checked as
 * untrusted (no data file, no backing file but the linked clone's own base, one extent,
 * `qemu-img check` clean). Any failure removes the temporaries and the directories the import
 * made, and nothing else.
 *
 * @param env - the call's environment
 * @param request - the target, the stream format, the input
 * @returns the volname written
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (format), `ALREADY_EXISTS`, `INVALID_ARGUMENT`
 *   (truncated stream, a format mismatch, an unsafe or corrupt image), `NO_SPACE`, `ABORTED`,
 *   `NOT_FOUND` (the temporary was removed by another process: nothing was imported)
 * @see Proxmox `PVE::Storage::Plugin::volume_import`
 */
export async function volumeImport(env: DirEnv, request: VolumeImportRequest): Promise<string> {
  const { volume, format } = request;
  if (!importFormats(request).includes(format)) unsupported(volume, format, `accepted: ${importFormats(request).join(', ') || 'none'}`);
  assertImage(volume, 'volumeImport');
  const fileFormat = volume.format as VolumeFormat;
  const dataFormat = streamDataFormat(format) as VolumeFormat;
  const made = await reserveTarget(env, request);
  const io = { onProgress: request.onProgress, offsetForProgress: SIZE_HEADER_BYTES, signal: env.ctx.signal };
  let conv: OwnTemp | undefined;
  // a raw file is read back as it is flushed, and the rest once it is published
  const readBack = dataFormat === 'raw' && fileFormat === 'raw' && request.readBack !== undefined ? trackedReadBack(request.readBack) : undefined;
  let size = 0;
  try {
    size = await readSizeHeader(request.input, env.ctx.signal);
    if (dataFormat === 'raw' && fileFormat === 'raw') {
      await writeSparse(env.ctx.fs, made.temp.path, request.input, { ...io, expected: size, total: SIZE_HEADER_BYTES + size, flushBehind: true, readBack });
    } else if (dataFormat === 'raw') {
      conv = await makeTemp(env.ctx.fs, made.path, 'conv', ownerToken(env.ctx.node));
      await writeSparse(env.ctx.fs, conv.path, request.input, { ...io, expected: size, total: SIZE_HEADER_BYTES + size });
      const preallocation = preallocationFor(env.ctx.config.preallocation, fileFormat);
      const source = (await admitFile(env, conv.path, 'raw', { volname: made.volname, origin: 'imported' })).path;
      await runTool(env, qemuImgConvertArgs({ source, sourceFormat: 'raw', target: made.temp.path, targetFormat: fileFormat, preallocation }));
    } else {
      await writeSparse(env.ctx.fs, made.temp.path, request.input, io);
      await checkImported(env, made.temp.path, volume, fileFormat, made.volname);
    }
    if (conv) await removeOwnTemp(env.ctx.fs, conv, env.log);
    await publishVolume(env, made);
  } catch (e) {
    if (conv) await removeOwnTemp(env.ctx.fs, conv, env.log);
    await undoNewVolume(env, made);
    throw e;
  }
  if (readBack !== undefined) await readBackRest(env, made, size, readBack);
  return made.volname;
}

/**
 * Reads back what the import's writes did not (all of it, for an input read as a stream), from
 * the published file as opened and checked. The volume is made by then: a failure here only
 * leaves the read-back short, and the caller reads the volume back itself.
 */
async function readBackRest(env: DirEnv, made: NewVolume, size: number, readBack: TrackedReadBack): Promise<void> {
  try {
    readBack.begin(size);
    await readInside(env.rootReal, made.path, { volname: made.volname, what: 'the new volume' }, ({ handle }) => readBackRange(handle, readBack.done, size, readBack));
  } catch (e) {
    env.log.warn(`'${made.volname}' was imported, but reading it back failed: ${e instanceof Error ? e.message : String(e)}`, { volname: made.volname });
  }
}

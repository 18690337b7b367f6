/**
 * Export and import in the `raw+size` stream format.
 *
 * @module
 */
import { constants } from 'node:fs';
import { exportRawFile, importRawFile, readSizeHeader, type VolumeExportRequest, type VolumeImportRequest } from '@stowage/core/plugin';
import { StorageError } from '@stowage/core';
import { checkedDisk, openDisk } from './disk-file.js';
import type { BtrfsContext } from './exec.js';
import { subvolName } from './names.js';
import { findFreeDiskname } from './ops-read.js';
import { takenNames } from './subvolumes.js';
import { createDisk } from './unfinished.js';

function onlyRawSize(request: VolumeExportRequest | VolumeImportRequest): void {
  if (request.format !== 'raw+size') {
    throw new StorageError('NOT_SUPPORTED', `btrfs storage streams raw+size only, not ${request.format}`, { details: { format: request.format } });
  }
  if (request.withSnapshots || request.baseSnapshot !== undefined) {
    throw new StorageError('NOT_SUPPORTED', 'raw+size carries no snapshots and no increments', { details: { format: request.format } });
  }
}

/**
 * Writes the volume (or one of its snapshots) as `raw+size`.
 *
 * @throws {@link StorageError} `NOT_FOUND`; `CORRUPT` when `disk.raw` is not a regular file (also
 *   when it became something else after the check)
 * @see Proxmox `volume_export`
 */
export async function volumeExport(ctx: BtrfsContext, request: VolumeExportRequest): Promise<void> {
  onlyRawSize(request);
  const { file } = await checkedDisk(ctx.config.path, request.volume, request.snapshot);
  // opened without following a link and checked again: the name may have been swapped since
  const handle = await openDisk(ctx.fs, file, constants.O_RDONLY);
  try {
    await exportRawFile(handle, request.output, { onProgress: request.onProgress, signal: ctx.signal });
  } finally {
    await handle.close();
  }
}

/**
 * Creates a volume from a `raw+size` stream. A taken name is `ALREADY_EXISTS`, or with
 * `allowRename` the next free name. The data goes into a hidden subvolume that is moved into
 * place when complete (see `createDisk`); a template name (`base-`) is made read-only first.
 * On failure nothing is left.
 *
 * @see Proxmox `volume_import`
 */
export async function volumeImport(ctx: BtrfsContext, request: VolumeImportRequest): Promise<string> {
  onlyRawSize(request);
  const { volume } = request;
  if (request.snapshot !== undefined) throw new StorageError('NOT_SUPPORTED', 'raw+size imports the current state only', { details: { snapshot: request.snapshot } });
  const size = await readSizeHeader(request.input, ctx.signal);
  let name = volume.name;
  if ((await takenNames(ctx.config.path, volume.vmid ?? 0)).includes(subvolName(volume))) {
    if (!request.allowRename) {
      throw new StorageError('ALREADY_EXISTS', `volume '${volume.volname}' already exists`, { details: { volname: volume.volname } });
    }
    name = await findFreeDiskname(ctx, { vmid: volume.vmid ?? 0, format: 'raw', base: volume.isBase });
  }
  const fill = (file: string) => importRawFile(request.input, file, size, { onProgress: request.onProgress, signal: ctx.signal, fs: ctx.fs });
  return createDisk(ctx, volume.vmid ?? 0, name, size, { fill, readonly: volume.isBase });
}

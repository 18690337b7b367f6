/**
 * Export and import in the `raw+size` stream format.
 *
 * @module
 */
import { exportRawFile, importRawFile, readSizeHeader, StorageError, type PluginContext, type VolumeExportRequest, type VolumeImportRequest } from '@stowage/core';
import { setReadonlyArgs } from './commands.js';
import type { BtrfsConfig } from './config.js';
import { diskFile, subvolPath } from './names.js';
import { runBtrfs } from './run.js';
import { createDisk, exists } from './volumes.js';
import { deleteSubvolumes } from './subvolumes.js';

function onlyRawSize(request: VolumeExportRequest | VolumeImportRequest): void {
  if (request.format !== 'raw+size') {
    throw new StorageError('NOT_SUPPORTED', `btrfs storage streams raw+size only, not ${request.format}`, { details: { format: request.format } });
  }
  if (request.withSnapshots || request.baseSnapshot !== undefined) {
    throw new StorageError('NOT_SUPPORTED', 'raw+size carries no snapshots and no increments', { details: { format: request.format } });
  }
}

/** Writes the volume (or one of its snapshots) as `raw+size`. @see Proxmox `volume_export` */
export async function volumeExport(ctx: PluginContext<BtrfsConfig>, request: VolumeExportRequest): Promise<void> {
  onlyRawSize(request);
  const subvol = subvolPath(ctx.config.path, request.volume, request.snapshot);
  if (!(await exists(subvol))) {
    throw new StorageError('NOT_FOUND', `${request.snapshot ? `snapshot '${request.snapshot}' of ` : ''}volume '${request.volume.volname}' does not exist`, {
      details: { volname: request.volume.volname, snapshot: request.snapshot },
    });
  }
  await exportRawFile(diskFile(subvol), request.output, { onProgress: request.onProgress, signal: ctx.signal });
}

/**
 * Creates a volume from a `raw+size` stream. A taken name is `ALREADY_EXISTS`, or with
 * `allowRename` the next free name. A template name (`base-`) is made read-only at the end.
 * On failure nothing is left.
 *
 * @see Proxmox `volume_import`
 */
export async function volumeImport(ctx: PluginContext<BtrfsConfig>, request: VolumeImportRequest, freeName: () => Promise<string>): Promise<string> {
  onlyRawSize(request);
  const { volume } = request;
  if (request.snapshot !== undefined) throw new StorageError('NOT_SUPPORTED', 'raw+size imports the current state only', { details: { snapshot: request.snapshot } });
  const size = await readSizeHeader(request.input, ctx.signal);
  let name = volume.name;
  if (await exists(subvolPath(ctx.config.path, volume))) {
    if (!request.allowRename) {
      throw new StorageError('ALREADY_EXISTS', `volume '${volume.volname}' already exists`, { details: { volname: volume.volname } });
    }
    name = await freeName();
  }
  const volname = await createDisk(ctx, volume.vmid ?? 0, name, size, (file) => importRawFile(request.input, file, size, { onProgress: request.onProgress, signal: ctx.signal }));
  if (volume.isBase) {
    const subvol = subvolPath(ctx.config.path, { ...volume, name, volname });
    try {
      await runBtrfs(ctx, setReadonlyArgs(subvol, true));
    } catch (e) {
      await deleteSubvolumes(ctx, [subvol], subvol.slice(0, subvol.lastIndexOf('/'))).catch(() => undefined);
      throw e;
    }
  }
  return volname;
}

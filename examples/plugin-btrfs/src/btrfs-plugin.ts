/**
 * The `btrfs` storage plugin class.
 *
 * @module
 */
import { statfs } from 'node:fs/promises';
import {
  API_VERSION,
  isStorageError,
  StorageError,
  type GarbageReport,
  type ImageInfo,
  type ParsedVolume,
  type SnapshotInfo,
  type StorageStatus,
  type VolumeFormat,
  type VolumePath,
  type VolumeSizeInfo,
} from '@stowage/core';
import {
  findFreeDiskIndex,
  formatDiskName,
  StoragePlugin,
  type ActivateVolumeRequest,
  type AllocImageRequest,
  type CloneImageRequest,
  type CollectGarbageRequest,
  type CreateBaseRequest,
  type FindFreeDisknameRequest,
  type FreeImageRequest,
  type ListImagesRequest,
  type PathRequest,
  type PluginContext,
  type RenameVolumeRequest,
  type SnapshotDeleteRequest,
  type SnapshotRequest,
  type SnapshotRollbackRequest,
  type VolumeExportRequest,
  type VolumeImportRequest,
  type VolumeRequest,
  type VolumeResizeRequest,
} from '@stowage/core/plugin';
import { btrfsCapabilities, btrfsConfigSchema, type BtrfsConfig } from './config.js';
import { checkedDisk } from './disk-file.js';
import * as listing from './listing.js';
import { diskFile, parseBtrfsVolname, subvolPath } from './names.js';
import * as snapshots from './snapshots.js';
import { takenNames } from './subvolumes.js';
import * as transfer from './transfer.js';
import { collectUnfinished } from './unfinished.js';
import * as volumes from './volumes.js';

/** `statfs` type of a btrfs filesystem. */
const BTRFS_MAGIC = 0x9123683e;

/**
 * Storage on a btrfs filesystem, like Proxmox's `btrfs` type: each raw image lives in its own
 * subvolume (`images/<vmid>/vm-<vmid>-disk-<n>/disk.raw`), snapshots are read-only subvolume
 * snapshots next to it (`...@<snap>`), a template is a read-only subvolume, and linked clones are
 * writable snapshots of a template or of any snapshot. Every snapshot can be rolled back to.
 *
 * Runs `btrfs` through the context's runner, and works on files with `node:fs`, so the storage
 * must be local to this process (capabilities `shared: false`).
 *
 * @example
 * ```ts
 * import { StorageManager } from '@stowage/core';
 * import { BtrfsPlugin } from 'stowage-plugin-btrfs';
 *
 * const storages = await StorageManager.open({
 *   plugins: [BtrfsPlugin],
 *   config: [{ type: 'btrfs', storage: 'fast', path: '/mnt/btrfs/stowage' }],
 * });
 * const disk = await storages.allocImage('fast', { vmid: 100, size: 8 * 1024 ** 3 });
 * await storages.volumeSnapshot(disk, 'clean');
 * ```
 * @see Proxmox `PVE::Storage::BTRFSPlugin`
 */
export class BtrfsPlugin extends StoragePlugin<BtrfsConfig> {
  /** The type id in `storage.cfg`. */
  static override readonly type = 'btrfs';
  /** Written for plugin API version 1. */
  static override readonly apiVersion = API_VERSION;
  /** `path` plus the base options. */
  static override readonly configSchema = btrfsConfigSchema;
  /** Raw images, snapshots, templates, clones from templates and snapshots, `raw+size`. */
  static override readonly capabilities = btrfsCapabilities;

  /** @see Proxmox `parse_volname` */
  override parseVolname(volname: string): ParsedVolume {
    return parseBtrfsVolname(volname);
  }

  /** New disk names end in `.raw`. */
  override diskNameExtension(format: VolumeFormat | undefined): string {
    void format;
    return 'raw';
  }

  /**
   * Checks that the storage's path exists and is on btrfs.
   *
   * @throws {@link StorageError} `UNAVAILABLE` otherwise
   * @see Proxmox `activate_storage`
   */
  override async activateStorage(ctx: PluginContext<BtrfsConfig>): Promise<void> {
    let type: number;
    try {
      type = (await statfs(ctx.config.path)).type;
    } catch (e) {
      throw new StorageError('UNAVAILABLE', `storage path '${ctx.config.path}' is not usable: ${(e as Error).message}`, { cause: e, details: { path: ctx.config.path } });
    }
    if (type !== BTRFS_MAGIC) {
      throw new StorageError('UNAVAILABLE', `'${ctx.config.path}' is not on a btrfs filesystem`, { details: { path: ctx.config.path, fsType: type } });
    }
  }

  /** Capacity of the filesystem holding the path (as `df`). @see Proxmox `status` */
  override async status(ctx: PluginContext<BtrfsConfig>): Promise<StorageStatus> {
    try {
      const s = await statfs(ctx.config.path);
      return { total: s.blocks * s.bsize, available: s.bavail * s.bsize, used: (s.blocks - s.bfree) * s.bsize, active: s.type === BTRFS_MAGIC };
    } catch {
      return { total: 0, available: 0, used: 0, active: false };
    }
  }

  /** @see Proxmox `list_images` */
  override listImages(ctx: PluginContext<BtrfsConfig>, request: ListImagesRequest): Promise<ImageInfo[]> {
    return listing.listImages(ctx, request);
  }

  /** @see Proxmox `alloc_image` */
  override allocImage(ctx: PluginContext<BtrfsConfig>, request: AllocImageRequest): Promise<string> {
    return volumes.allocImage(ctx, request);
  }

  /** `NOT_FOUND` when the volume does not exist. @see Proxmox `free_image` */
  override freeImage(ctx: PluginContext<BtrfsConfig>, request: FreeImageRequest): Promise<void> {
    return volumes.freeImage(ctx, request.volume);
  }

  /**
   * `.../disk.raw` of the volume or of a snapshot (whether or not it exists yet).
   *
   * @throws {@link StorageError} `CORRUPT` when something there is not a regular file
   * @see Proxmox `path`, `filesystem_path`
   */
  override async path(ctx: PluginContext<BtrfsConfig>, request: PathRequest): Promise<VolumePath> {
    await checkedDisk(ctx.config.path, request.volume, request.snapshot).catch((e: unknown) => {
      if (!isStorageError(e, 'NOT_FOUND')) throw e;
    });
    return { path: diskFile(subvolPath(ctx.config.path, request.volume, request.snapshot)), vmid: request.volume.vmid, vtype: 'images' };
  }

  /**
   * Nothing to attach: checks that the raw file is there and is a regular file.
   *
   * @throws {@link StorageError} `NOT_FOUND`, `CORRUPT`
   * @see Proxmox `activate_volume`
   */
  override async activateVolume(ctx: PluginContext<BtrfsConfig>, request: ActivateVolumeRequest): Promise<void> {
    await checkedDisk(ctx.config.path, request.volume, request.snapshot);
  }

  /**
   * The lowest free disk name of a guest, counting every entry named like a disk (even one the
   * listing skips) and volumes still being made.
   *
   * @see Proxmox `find_free_diskname`
   */
  override async findFreeDiskname(ctx: PluginContext<BtrfsConfig>, request: FindFreeDisknameRequest): Promise<string> {
    const index = findFreeDiskIndex(request.vmid, await takenNames(ctx.config.path, request.vmid));
    return formatDiskName({ isBase: request.base, vmid: request.vmid, index, ext: this.diskNameExtension(request.format) });
  }

  /**
   * Removes the hidden subvolumes of volumes whose making was cut short (the process died),
   * each checked by subvolume id; reports those of running processes and of other nodes.
   */
  override collectGarbage(ctx: PluginContext<BtrfsConfig>, request: CollectGarbageRequest): Promise<GarbageReport> {
    return collectUnfinished(ctx, request.dryRun === true);
  }

  /** @see Proxmox `create_base` */
  override createBase(ctx: PluginContext<BtrfsConfig>, request: CreateBaseRequest): Promise<string> {
    return volumes.createBase(ctx, request.volume);
  }

  /** @see Proxmox `clone_image` */
  override cloneImage(ctx: PluginContext<BtrfsConfig>, request: CloneImageRequest): Promise<string> {
    return volumes.cloneImage(ctx, request);
  }

  /** @see Proxmox `volume_size_info` */
  override volumeSizeInfo(ctx: PluginContext<BtrfsConfig>, request: VolumeRequest): Promise<VolumeSizeInfo> {
    return listing.volumeSizeInfo(ctx, request.volume);
  }

  /** @see Proxmox `volume_resize` */
  override volumeResize(ctx: PluginContext<BtrfsConfig>, request: VolumeResizeRequest): Promise<void> {
    return volumes.volumeResize(ctx, request);
  }

  /** @see Proxmox `volume_snapshot` */
  override volumeSnapshot(ctx: PluginContext<BtrfsConfig>, request: SnapshotRequest): Promise<void> {
    return snapshots.volumeSnapshot(ctx, request);
  }

  /** @see Proxmox `volume_snapshot_rollback` */
  override volumeSnapshotRollback(ctx: PluginContext<BtrfsConfig>, request: SnapshotRollbackRequest): Promise<void> {
    return snapshots.volumeSnapshotRollback(ctx, request);
  }

  /** @see Proxmox `volume_snapshot_delete` */
  override volumeSnapshotDelete(ctx: PluginContext<BtrfsConfig>, request: SnapshotDeleteRequest): Promise<void> {
    return snapshots.volumeSnapshotDelete(ctx, request);
  }

  /** @see Proxmox `volume_snapshot_info` */
  override volumeSnapshotInfo(ctx: PluginContext<BtrfsConfig>, request: VolumeRequest): Promise<SnapshotInfo[]> {
    return snapshots.volumeSnapshotInfo(ctx, request.volume);
  }

  /** @see Proxmox `rename_volume` */
  override renameVolume(ctx: PluginContext<BtrfsConfig>, request: RenameVolumeRequest): Promise<string> {
    return volumes.renameVolume(ctx, request);
  }

  /** @see Proxmox `volume_export` */
  override volumeExport(ctx: PluginContext<BtrfsConfig>, request: VolumeExportRequest): Promise<void> {
    return transfer.volumeExport(ctx, request);
  }

  /** @see Proxmox `volume_import` */
  override volumeImport(ctx: PluginContext<BtrfsConfig>, request: VolumeImportRequest): Promise<string> {
    return transfer.volumeImport(ctx, request, async () =>
      this.findFreeDiskname(ctx, { vmid: request.volume.vmid ?? 0, format: 'raw', base: request.volume.isBase }),
    );
  }
}


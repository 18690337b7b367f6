/**
 * The `btrfs` storage plugin class.
 *
 * @module
 */
import {
  API_VERSION,
  type AttributeValue,
  type ConfigSchemaLoader,
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
  StoragePlugin,
  type ActivateVolumeRequest,
  type AllocImageRequest,
  type CloneImageRequest,
  type CollectGarbageRequest,
  type CreateBaseRequest,
  type FindFreeDisknameRequest,
  type FlattenImageRequest,
  type FreeImageRequest,
  type GetAttributeRequest,
  type ListImagesRequest,
  type PathRequest,
  type RenameVolumeRequest,
  type SnapshotDeleteRequest,
  type SnapshotFlattenRequest,
  type SnapshotRequest,
  type SnapshotRollbackRequest,
  type UpdateAttributeRequest,
  type VolumeExportRequest,
  type VolumeImportRequest,
  type VolumeRequest,
  type VolumeResizeRequest,
} from '@stowage/core/plugin';
import * as attributes from './attributes.js';
import { btrfsCapabilities } from './capabilities.js';
import type { BtrfsConfig } from './config.js';
import type { BtrfsContext } from './exec.js';
import { parseBtrfsVolname } from './names.js';
import * as flatten from './ops-flatten.js';
import * as read from './ops-read.js';
import * as snapshots from './ops-snapshot.js';
import * as transfer from './ops-transfer.js';
import * as volumes from './ops-volume.js';

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
  /**
   * `path` plus the base options: a loader of `btrfsConfigSchema`
   * (`stowage-plugin-btrfs/config-schema`), so that zod is loaded only when a config is validated.
   */
  static override readonly configSchema: ConfigSchemaLoader = async () => (await import('./config-schema.js')).btrfsConfigSchema;
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
   * @throws `StorageError` `UNAVAILABLE` otherwise
   * @see Proxmox `activate_storage`
   */
  override activateStorage(ctx: BtrfsContext): Promise<void> {
    return read.activateStorage(ctx);
  }

  /** Capacity of the filesystem holding the path (as `df`). @see Proxmox `status` */
  override status(ctx: BtrfsContext): Promise<StorageStatus> {
    return read.status(ctx);
  }

  /** @see Proxmox `list_images` */
  override listImages(ctx: BtrfsContext, request: ListImagesRequest): Promise<ImageInfo[]> {
    return read.listImages(ctx, request);
  }

  /** @see Proxmox `alloc_image` */
  override allocImage(ctx: BtrfsContext, request: AllocImageRequest): Promise<string> {
    return volumes.allocImage(ctx, request);
  }

  /** `NOT_FOUND` when the volume does not exist. @see Proxmox `free_image` */
  override freeImage(ctx: BtrfsContext, request: FreeImageRequest): Promise<void> {
    return volumes.freeImage(ctx, request);
  }

  /**
   * `.../disk.raw` of the volume or of a snapshot (whether or not it exists yet).
   *
   * @throws `StorageError` `CORRUPT` when something there is not a regular file
   * @see Proxmox `path`, `filesystem_path`
   */
  override path(ctx: BtrfsContext, request: PathRequest): Promise<VolumePath> {
    return read.path(ctx, request);
  }

  /**
   * Nothing to attach: checks that the raw file is there and is a regular file.
   *
   * @throws `StorageError` `NOT_FOUND`, `CORRUPT`
   * @see Proxmox `activate_volume`
   */
  override activateVolume(ctx: BtrfsContext, request: ActivateVolumeRequest): Promise<void> {
    return read.activateVolume(ctx, request);
  }

  /**
   * The lowest free disk name of a guest, counting every entry named like a disk (even one the
   * listing skips) and volumes still being made.
   *
   * @see Proxmox `find_free_diskname`
   */
  override findFreeDiskname(ctx: BtrfsContext, request: FindFreeDisknameRequest): Promise<string> {
    return read.findFreeDiskname(ctx, request);
  }

  /**
   * Removes the hidden subvolumes of volumes whose making was cut short (the process died),
   * each checked by subvolume id; reports those of running processes and of other nodes.
   */
  override collectGarbage(ctx: BtrfsContext, request: CollectGarbageRequest): Promise<GarbageReport> {
    return volumes.collectGarbage(ctx, request);
  }

  /** @see Proxmox `create_base` */
  override createBase(ctx: BtrfsContext, request: CreateBaseRequest): Promise<string> {
    return volumes.createBase(ctx, request);
  }

  /** @see Proxmox `clone_image` */
  override cloneImage(ctx: BtrfsContext, request: CloneImageRequest): Promise<string> {
    return volumes.cloneImage(ctx, request);
  }

  /** Detaches a clone from its template: a writable snapshot of it swapped in (no data copied; see ops-flatten.ts). @see Ceph RBD `flatten` */
  override flattenImage(ctx: BtrfsContext, request: FlattenImageRequest): Promise<string> {
    return flatten.flattenImage(ctx, request);
  }

  /** Takes a volume back to a snapshot and deletes all its snapshots (see ops-flatten.ts). @see OpenNebula `snap_flatten` */
  override volumeSnapshotFlatten(ctx: BtrfsContext, request: SnapshotFlattenRequest): Promise<void> {
    return flatten.volumeSnapshotFlatten(ctx, request);
  }

  /** Reads `hidden` (a marker file next to the subvolume). @see Proxmox `get_volume_attribute` */
  override getVolumeAttribute(ctx: BtrfsContext, request: GetAttributeRequest): Promise<AttributeValue> {
    return attributes.getVolumeAttribute(ctx, request);
  }

  /** Sets or clears `hidden`. @see Proxmox `update_volume_attribute` */
  override updateVolumeAttribute(ctx: BtrfsContext, request: UpdateAttributeRequest): Promise<void> {
    return attributes.updateVolumeAttribute(ctx, request);
  }

  /** @see Proxmox `volume_size_info` */
  override volumeSizeInfo(ctx: BtrfsContext, request: VolumeRequest): Promise<VolumeSizeInfo> {
    return read.volumeSizeInfo(ctx, request);
  }

  /** @see Proxmox `volume_resize` */
  override volumeResize(ctx: BtrfsContext, request: VolumeResizeRequest): Promise<void> {
    return volumes.volumeResize(ctx, request);
  }

  /** @see Proxmox `volume_snapshot` */
  override volumeSnapshot(ctx: BtrfsContext, request: SnapshotRequest): Promise<void> {
    return snapshots.volumeSnapshot(ctx, request);
  }

  /** @see Proxmox `volume_snapshot_rollback` */
  override volumeSnapshotRollback(ctx: BtrfsContext, request: SnapshotRollbackRequest): Promise<void> {
    return snapshots.volumeSnapshotRollback(ctx, request);
  }

  /** @see Proxmox `volume_snapshot_delete` */
  override volumeSnapshotDelete(ctx: BtrfsContext, request: SnapshotDeleteRequest): Promise<void> {
    return snapshots.volumeSnapshotDelete(ctx, request);
  }

  /** @see Proxmox `volume_snapshot_info` */
  override volumeSnapshotInfo(ctx: BtrfsContext, request: VolumeRequest): Promise<SnapshotInfo[]> {
    return snapshots.volumeSnapshotInfo(ctx, request);
  }

  /** @see Proxmox `rename_volume` */
  override renameVolume(ctx: BtrfsContext, request: RenameVolumeRequest): Promise<string> {
    return volumes.renameVolume(ctx, request);
  }

  /** @see Proxmox `volume_export` */
  override volumeExport(ctx: BtrfsContext, request: VolumeExportRequest): Promise<void> {
    return transfer.volumeExport(ctx, request);
  }

  /** @see Proxmox `volume_import` */
  override volumeImport(ctx: BtrfsContext, request: VolumeImportRequest): Promise<string> {
    return transfer.volumeImport(ctx, request);
  }
}


/**
 * The `dir` storage plugin class.
 *
 * @module
 */
import {
  API_VERSION,
  type ConfigSchemaLoader,
  type PluginCapabilities,
  type AttributeValue,
  type GarbageReport,
  type ImageInfo,
  type ParsedVolume,
  type SnapshotInfo,
  type StorageStatus,
  type StreamFormat,
  type VolumeFormat,
  type VolumeListEntry,
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
  type ListVolumesRequest,
  type PathRequest,
  type PathToVolnameRequest,
  type PluginContext,
  type RenameVolumeRequest,
  type SnapshotDeleteRequest,
  type SnapshotFlattenRequest,
  type SnapshotRequest,
  type SnapshotRollbackRequest,
  type TransferFormatsRequest,
  type UpdateAttributeRequest,
  type VolumeExportRequest,
  type VolumeImportRequest,
  type VolumeRequest,
  type VolumeResizeRequest,
} from '@stowage/core/plugin';
import { dirCapabilities } from './capabilities.js';
import type { DirConfig } from './config.js';
import { dirEnv } from './exec.js';
import { parseDirVolname } from './names.js';
import * as read from './ops-read.js';

// What changes volumes and moves data (and qemu-img's NBD export) is imported by the methods on
// first use: a command that only lists loads the listing code alone.

/**
 * Directory storage (Proxmox's `dir`): qcow2, raw and vmdk files under
 * `<path>/images/<vmid>/`, templates as `base-…` files, linked clones as qcow2 overlays with a
 * relative backing file, qcow2 internal snapshots, and ISO images, container templates,
 * backups, snippets and import sources in their own directories.
 *
 * Listing reads image headers natively (no `qemu-img` per file). Every path is confined to the
 * storage directory, symlinks included. A failed allocation, clone or import leaves nothing behind.
 *
 * @example
 * ```ts
 * import { StorageManager } from '@stowage/core';
 * import { DirPlugin } from '@stowage/plugin-dir';
 *
 * const storages = await StorageManager.open({
 *   plugins: [DirPlugin],
 *   config: [{ type: 'dir', storage: 'local', path: '/var/lib/vz', content: 'images,iso' }],
 * });
 * const volid = await storages.allocImage('local', { vmid: 100, size: 4 * 2 ** 30, format: 'qcow2' });
 * // 'local:100/vm-100-disk-0.qcow2'
 * ```
 * @see Proxmox `PVE::Storage::DirPlugin`
 */
export class DirPlugin extends StoragePlugin<DirConfig> {
  /** The type id, `dir`. */
  static override readonly type = 'dir';
  /** The plugin API version this plugin implements. */
  static override readonly apiVersion = API_VERSION;
  /** The config schema: a loader of `dirConfigSchema` (`@stowage/plugin-dir/config-schema`). */
  static override readonly configSchema: ConfigSchemaLoader = async () => (await import('./config-schema.js')).dirConfigSchema;
  /** The capabilities ({@link dirCapabilities}). */
  static override readonly capabilities: PluginCapabilities = dirCapabilities;

  /**
   * Parses a volume name as Proxmox's directory plugin does ({@link parseDirVolname}).
   *
   * @param volname - the part of the volid after the first `:`
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID`
   * @see Proxmox `parse_volname`
   */
  override parseVolname(volname: string): ParsedVolume {
    return parseDirVolname(volname);
  }

  /**
   * The lowest free disk name, from one `readdir` of the guest's directory: every entry named
   * like one of its disks takes its index, also those the listing skips (a symlink leading
   * outside, a directory, a FIFO), so allocation never keeps failing on one; so does every name
   * that a temporary of a live operation reserves.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NO_SPACE` when indexes 0..1023 are taken, `INVALID_VOLUME_ID`
   * @see Proxmox `find_free_diskname`
   */
  override async findFreeDiskname(ctx: PluginContext<DirConfig>, request: FindFreeDisknameRequest): Promise<string> {
    return read.findFreeDiskname(await dirEnv(ctx), request);
  }

  /**
   * New disk names get the format as extension (`vm-100-disk-0.qcow2`).
   *
   * @param format - the image format
   */
  override diskNameExtension(format: VolumeFormat | undefined): string | undefined {
    return format;
  }

  /**
   * Lists images by reading directories and image headers natively (see `listImageInfos` in list.ts).
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` when the images directory leads outside the storage
   * @see Proxmox `list_images`
   */
  override async listImages(ctx: PluginContext<DirConfig>, request: ListImagesRequest): Promise<ImageInfo[]> {
    return read.listImages(await dirEnv(ctx), request);
  }

  /**
   * Lists volumes of the content types asked for (default: the storage's), images included.
   * Images are content `images`, or `rootdir` for the guests `request.guests` names as
   * containers; without a guest list every image is `images`.
   *
   * @see Proxmox `list_volumes`
   */
  override async listVolumes(ctx: PluginContext<DirConfig>, request: ListVolumesRequest): Promise<VolumeListEntry[]> {
    return read.listVolumes(await dirEnv(ctx), request);
  }

  /**
   * The volume a path names: an image, container
   * subvolume, ISO image, template, backup, snippet or import source of this storage.
   *
   * @see Proxmox `PVE::Storage::path_to_volume_id`
   */
  override async pathToVolname(ctx: PluginContext<DirConfig>, request: PathToVolnameRequest): Promise<string | undefined> {
    return read.pathToVolname(await dirEnv(ctx), request);
  }

  /** Allocates an image (see `allocImage` in ops-volume.ts). @see Proxmox `alloc_image` */
  override async allocImage(ctx: PluginContext<DirConfig>, request: AllocImageRequest): Promise<string> {
    return (await import('./ops-volume.js')).allocImage(await dirEnv(ctx), request);
  }

  /** Frees a volume (see `freeImage` in ops-volume.ts). @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `PROTECTED` @see Proxmox `free_image` */
  override async freeImage(ctx: PluginContext<DirConfig>, request: FreeImageRequest): Promise<void> {
    return (await import('./ops-volume.js')).freeImage(await dirEnv(ctx), request);
  }

  /** Capacity from `statfs`. @see Proxmox `status` */
  override status(ctx: PluginContext<DirConfig>): Promise<StorageStatus> {
    return read.status(ctx);
  }

  /** The file path of a volume, confined to the storage. @see Proxmox `path` */
  override async path(ctx: PluginContext<DirConfig>, request: PathRequest): Promise<VolumePath> {
    return read.path(await dirEnv(ctx), request);
  }

  /** Creates the base path and content directories, checks the mount point. @see Proxmox `activate_storage` */
  override activateStorage(ctx: PluginContext<DirConfig>): Promise<void> {
    return read.activateStorage(ctx);
  }

  /** Checks a volume exists and, for an image, that it is safe to use. @see Proxmox `activate_volume` */
  override async activateVolume(ctx: PluginContext<DirConfig>, request: ActivateVolumeRequest): Promise<void> {
    return read.activateVolume(await dirEnv(ctx), request);
  }

  /** Turns an image into a read-only, immutable base. @see Proxmox `create_base` */
  override async createBase(ctx: PluginContext<DirConfig>, request: CreateBaseRequest): Promise<string> {
    return (await import('./ops-volume.js')).createBase(await dirEnv(ctx), request);
  }

  /** Makes a qcow2 linked clone of a base. @see Proxmox `clone_image` */
  override async cloneImage(ctx: PluginContext<DirConfig>, request: CloneImageRequest): Promise<string> {
    return (await import('./ops-volume.js')).cloneImage(await dirEnv(ctx), request);
  }

  /**
   * Detaches a qcow2 linked clone from its base: a copy through `qemu-img convert` into a
   * temporary next to it, renamed over it (see `flattenImage` in ops-flatten.ts). The storage
   * lock goes back for the copy. A clone with internal snapshots is refused (`INVALID_STATE`).
   *
   * @returns `<vmid>/<name>`, the same file without the base prefix
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `INVALID_STATE`, `NOT_FOUND`, `CORRUPT`, `BUSY`, `NO_SPACE`, `ABORTED`, `COMMAND_FAILED`
   * @see Ceph RBD `flatten`
   */
  override async flattenImage(ctx: PluginContext<DirConfig>, request: FlattenImageRequest): Promise<string> {
    return (await import('./ops-flatten.js')).flattenImage(await dirEnv(ctx), request);
  }

  /**
   * Takes a qcow2 image back to one of its snapshots and drops them all: the snapshot copied
   * into a temporary and renamed over the image (see `volumeSnapshotFlatten` in ops-flatten.ts).
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `NOT_SUPPORTED`, `INVALID_STATE`, `CORRUPT`, `BUSY`, `NO_SPACE`, `ABORTED`, `COMMAND_FAILED`
   * @see OpenNebula `snap_flatten`
   */
  override async volumeSnapshotFlatten(ctx: PluginContext<DirConfig>, request: SnapshotFlattenRequest): Promise<void> {
    return (await import('./ops-flatten.js')).volumeSnapshotFlatten(await dirEnv(ctx), request);
  }

  /** Size, format, usage, parent and ctime, read natively. @see Proxmox `volume_size_info` */
  override async volumeSizeInfo(ctx: PluginContext<DirConfig>, request: VolumeRequest): Promise<VolumeSizeInfo> {
    return read.volumeSizeInfo(await dirEnv(ctx), request);
  }

  /** Grows a raw or qcow2 image. @throws {@link @stowage/core!index.StorageError | StorageError} `CANNOT_SHRINK` @see Proxmox `volume_resize` */
  override async volumeResize(ctx: PluginContext<DirConfig>, request: VolumeResizeRequest): Promise<void> {
    return (await import('./ops-volume.js')).volumeResize(await dirEnv(ctx), request);
  }

  /** Takes a qcow2 internal snapshot. @see Proxmox `volume_snapshot` */
  override async volumeSnapshot(ctx: PluginContext<DirConfig>, request: SnapshotRequest): Promise<void> {
    return (await import('./ops-snapshot.js')).volumeSnapshot(await dirEnv(ctx), request);
  }

  /** Rolls back to any snapshot (newer ones are kept). @see Proxmox `volume_snapshot_rollback` */
  override async volumeSnapshotRollback(ctx: PluginContext<DirConfig>, request: SnapshotRollbackRequest): Promise<void> {
    return (await import('./ops-snapshot.js')).volumeSnapshotRollback(await dirEnv(ctx), request);
  }

  /** Deletes a snapshot. @see Proxmox `volume_snapshot_delete` */
  override async volumeSnapshotDelete(ctx: PluginContext<DirConfig>, request: SnapshotDeleteRequest): Promise<void> {
    return (await import('./ops-snapshot.js')).volumeSnapshotDelete(await dirEnv(ctx), request);
  }

  /** The snapshots of a qcow2 image, oldest first, with creation times. @see Proxmox `volume_snapshot_info` */
  override async volumeSnapshotInfo(ctx: PluginContext<DirConfig>, request: VolumeRequest): Promise<SnapshotInfo[]> {
    return (await import('./ops-snapshot.js')).volumeSnapshotInfo(await dirEnv(ctx), request);
  }

  /** Moves an image to another guest. @see Proxmox `rename_volume` */
  override async renameVolume(ctx: PluginContext<DirConfig>, request: RenameVolumeRequest): Promise<string> {
    return (await import('./ops-volume.js')).renameVolume(await dirEnv(ctx), request);
  }

  /** `raw+size`, or with snapshots the image's own `qcow2+size`/`vmdk+size`. @see Proxmox `volume_export_formats` */
  override async volumeExportFormats(ctx: PluginContext<DirConfig>, request: TransferFormatsRequest): Promise<StreamFormat[]> {
    return (await import('./ops-transfer.js')).volumeExportFormats(ctx, request);
  }

  /** As the export formats; `raw+size` also fills qcow2/vmdk images. @see Proxmox `volume_import_formats` */
  override async volumeImportFormats(ctx: PluginContext<DirConfig>, request: TransferFormatsRequest): Promise<StreamFormat[]> {
    return (await import('./ops-transfer.js')).volumeImportFormats(ctx, request);
  }

  /** Writes an image to a stream. @see Proxmox `volume_export` */
  override async volumeExport(ctx: PluginContext<DirConfig>, request: VolumeExportRequest): Promise<void> {
    return (await import('./ops-transfer.js')).volumeExport(await dirEnv(ctx), request);
  }

  /** Reads an image from a stream into a new volume. @see Proxmox `volume_import` */
  override async volumeImport(ctx: PluginContext<DirConfig>, request: VolumeImportRequest): Promise<string> {
    return (await import('./ops-transfer.js')).volumeImport(await dirEnv(ctx), request);
  }

  /** Reads `notes`, `protected` or `hidden`. @see Proxmox `get_volume_attribute` */
  override async getVolumeAttribute(ctx: PluginContext<DirConfig>, request: GetAttributeRequest): Promise<AttributeValue> {
    return read.getVolumeAttribute(await dirEnv(ctx), request);
  }

  /** Sets `notes`, `protected` or `hidden`. @see Proxmox `update_volume_attribute` */
  override async updateVolumeAttribute(ctx: PluginContext<DirConfig>, request: UpdateAttributeRequest): Promise<void> {
    return (await import('./ops-volume.js')).updateVolumeAttribute(await dirEnv(ctx), request);
  }

  /**
   * Removes the temporaries of operations whose process died (see `collectGarbage` in garbage.ts):
   * `.stowage-<purpose>~<final>~<owner>~<nonce>` files whose owner is dead; those of live
   * processes and of other nodes are kept and reported.
   */
  override async collectGarbage(ctx: PluginContext<DirConfig>, request: CollectGarbageRequest): Promise<GarbageReport> {
    return (await import('./garbage.js')).collectGarbage(await dirEnv(ctx), request);
  }
}

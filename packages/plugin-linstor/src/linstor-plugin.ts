/**
 * The `linstor` storage plugin: DRBD-replicated raw volumes managed through the LINSTOR
 * controller's REST API. Each method here checks its request and hands over to `ops/`.
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
  type PluginContext,
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
import { linstorCapabilities } from './capabilities.js';
import type { LinstorConfig } from './config.js';
import { LinstorSession } from './exec.js';
import { parseLinstorVolname } from './names.js';
import * as flatten from './ops-flatten.js';
import * as read from './ops-read.js';
import * as snapshots from './ops-snapshot.js';
import * as transfer from './ops-transfer.js';
import * as volumes from './ops-volume.js';

/**
 * LINSTOR storage. Volumes are resource definitions spawned from the configured resource group
 * under random LINSTOR names; the user-visible name lives in `Aux/stowage/name`, so a rename only
 * rewrites a property. Beyond linstor-proxmox it makes templates and clones (LINSTOR's clone API).
 *
 * @example
 * ```ts
 * const storages = await StorageManager.open({
 *   plugins: [LinstorPlugin],
 *   config: [{ type: 'linstor', storage: 'drbd', controller: ['ctrl1', 'ctrl2'], resourceGroup: 'vmgroup' }],
 * });
 * const volid = await storages.allocImage('drbd', { vmid: 100, size: 8 * 2 ** 30 });
 * ```
 * @see Proxmox `PVE::Storage::Custom::LINSTORPlugin`
 */
export class LinstorPlugin extends StoragePlugin<LinstorConfig> {
  /** The type id. */
  static override readonly type = 'linstor';
  /** The plugin API version. */
  static override readonly apiVersion = API_VERSION;
  /** The config schema: a loader of `linstorConfigSchema` (`@stowage/plugin-linstor/config-schema`). */
  static override readonly configSchema: ConfigSchemaLoader = async () => (await import('./config-schema.js')).linstorConfigSchema;
  /** The capabilities. */
  static override readonly capabilities = linstorCapabilities;

  readonly #session = new LinstorSession();

  /** @inheritDoc */
  override parseVolname(volname: string): ParsedVolume {
    return parseLinstorVolname(volname);
  }

  /**
   * Lists the volumes of the resource group that carry a stowage name.
   *
   * @see Proxmox `LINSTORPlugin::list_images`
   */
  override async listImages(ctx: PluginContext<LinstorConfig>, request: ListImagesRequest): Promise<ImageInfo[]> {
    return read.listImages(await this.#session.env(ctx), request);
  }

  /**
   * Spawns a volume from the resource group, marked unfinished until it is placed (the name is
   * reserved once the definition exists, so the storage lock goes back during placement), and
   * places it (a local diskful replica first with `preferLocal`). On failure nothing is left.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`, `NOT_FOUND` (group), `NO_SPACE`, `INVALID_ARGUMENT`
   * @see Proxmox `LINSTORPlugin::alloc_image`
   */
  override async allocImage(ctx: PluginContext<LinstorConfig>, request: AllocImageRequest): Promise<string> {
    return volumes.allocImage(await this.#session.env(ctx), request);
  }

  /**
   * Frees a volume: refuses a base with clones, waits a bounded time while it is in use, deletes
   * its snapshots, then the resource definition.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (also for a volume being imported), `IN_USE`
   * @see Proxmox `LINSTORPlugin::free_image`
   */
  override async freeImage(ctx: PluginContext<LinstorConfig>, request: FreeImageRequest): Promise<void> {
    return volumes.freeImage(await this.#session.env(ctx), request);
  }

  /**
   * The resource group's capacity, cached for `statusCacheSeconds`; `active: false` when the
   * controller or the group cannot be reached.
   *
   * @see Proxmox `LINSTORPlugin::status`
   */
  override async status(ctx: PluginContext<LinstorConfig>): Promise<StorageStatus> {
    return read.status(await this.#session.env(ctx));
  }

  /**
   * The local DRBD device, `/dev/drbd/by-res/<res>/0`; for a snapshot, the device of the
   * definition it is restored into on activation.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
   * @see Proxmox `LINSTORPlugin::path`
   */
  override async path(ctx: PluginContext<LinstorConfig>, request: PathRequest): Promise<VolumePath> {
    return read.path(await this.#session.env(ctx), request);
  }

  /**
   * Makes the volume usable here, or on `request.node` (a diskless replica when there is no
   * replica there). A snapshot is first restored into its own definition.
   *
   * @see Proxmox `LINSTORPlugin::activate_volume`
   */
  override async activateVolume(ctx: PluginContext<LinstorConfig>, request: ActivateVolumeRequest): Promise<void> {
    return read.activateVolume(await this.#session.env(ctx), request);
  }

  /**
   * Removes this node's replica (or `request.node`'s) if it is one this plugin made diskless for
   * an activation; for a snapshot, removes the definition it was restored into.
   *
   * @see Proxmox `LINSTORPlugin::deactivate_volume`
   */
  override async deactivateVolume(ctx: PluginContext<LinstorConfig>, request: ActivateVolumeRequest): Promise<void> {
    return read.deactivateVolume(await this.#session.env(ctx), request);
  }

  /**
   * Turns a volume into a read-only base (its name becomes `base-…`).
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`, `ALREADY_EXISTS`
   * @see Proxmox `create_base`
   */
  override async createBase(ctx: PluginContext<LinstorConfig>, request: CreateBaseRequest): Promise<string> {
    return volumes.createBase(await this.#session.env(ctx), request);
  }

  /**
   * Clones a base through LINSTOR's clone API, polled to `COMPLETE` or `FAILED`.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (not a base), `NOT_SUPPORTED` (from a snapshot), `COMMAND_FAILED`, `TIMEOUT`
   * @see Proxmox `clone_image`
   */
  override async cloneImage(ctx: PluginContext<LinstorConfig>, request: CloneImageRequest): Promise<string> {
    return volumes.cloneImage(await this.#session.env(ctx), request);
  }

  /**
   * Detaches a linked clone from its base: drops the link where the data does not need the base
   * (LVM-thin), else copies the clone by send/receive beside it and swaps (a ZFS clone made with
   * `use_zfs_clone`; it must have no snapshots). The volname loses its base prefix.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (not a clone), `INVALID_STATE` (a ZFS clone with snapshots), `COMMAND_FAILED`, `TIMEOUT`
   * @see Ceph RBD `flatten`
   */
  override async flattenImage(ctx: PluginContext<LinstorConfig>, request: FlattenImageRequest): Promise<string> {
    return flatten.flattenImage(await this.#session.env(ctx), request);
  }

  /**
   * Takes a volume back to a snapshot and drops all its snapshots: the snapshot is restored
   * beside the volume into a definition that then replaces it in one property change.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `INVALID_ARGUMENT` (a base)
   * @see OpenNebula `snap_flatten`
   */
  override async volumeSnapshotFlatten(ctx: PluginContext<LinstorConfig>, request: SnapshotFlattenRequest): Promise<void> {
    return flatten.volumeSnapshotFlatten(await this.#session.env(ctx), request);
  }

  /** Reads the `hidden` attribute (a definition property). @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (other attributes) @see Proxmox `get_volume_attribute` */
  override async getVolumeAttribute(ctx: PluginContext<LinstorConfig>, request: GetAttributeRequest): Promise<AttributeValue> {
    return attributes.getVolumeAttribute(await this.#session.env(ctx), request);
  }

  /** Sets or clears the `hidden` attribute. @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (other attributes) @see Proxmox `update_volume_attribute` */
  override async updateVolumeAttribute(ctx: PluginContext<LinstorConfig>, request: UpdateAttributeRequest): Promise<void> {
    return attributes.updateVolumeAttribute(await this.#session.env(ctx), request);
  }

  /** Size, usage and parent of a volume. @see Proxmox `volume_size_info` */
  override async volumeSizeInfo(ctx: PluginContext<LinstorConfig>, request: VolumeRequest): Promise<VolumeSizeInfo> {
    return read.volumeSizeInfo(await this.#session.env(ctx), request);
  }

  /**
   * Grows volume 0 of the definition.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `CANNOT_SHRINK`, `INVALID_ARGUMENT` (a base is read-only)
   * @see Proxmox `LINSTORPlugin::volume_resize`
   */
  override async volumeResize(ctx: PluginContext<LinstorConfig>, request: VolumeResizeRequest): Promise<void> {
    return volumes.volumeResize(await this.#session.env(ctx), request);
  }

  /** Takes a snapshot (`snap_<name>` in LINSTOR). @see Proxmox `LINSTORPlugin::volume_snapshot` */
  override async volumeSnapshot(ctx: PluginContext<LinstorConfig>, request: SnapshotRequest): Promise<void> {
    return snapshots.volumeSnapshot(await this.#session.env(ctx), request);
  }

  /**
   * Rolls back to the most recent snapshot (newer ones are blockers).
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `SNAPSHOT_BLOCKERS`, `NOT_FOUND`, `IN_USE`, `INVALID_ARGUMENT` (base)
   * @see Proxmox `LINSTORPlugin::volume_snapshot_rollback`
   */
  override async volumeSnapshotRollback(ctx: PluginContext<LinstorConfig>, request: SnapshotRollbackRequest): Promise<void> {
    return snapshots.volumeSnapshotRollback(await this.#session.env(ctx), request);
  }

  /** Deletes a snapshot. @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` @see Proxmox `LINSTORPlugin::volume_snapshot_delete` */
  override async volumeSnapshotDelete(ctx: PluginContext<LinstorConfig>, request: SnapshotDeleteRequest): Promise<void> {
    return snapshots.volumeSnapshotDelete(await this.#session.env(ctx), request);
  }

  /** The volume's snapshots, oldest first. @see Proxmox `volume_snapshot_info` */
  override async volumeSnapshotInfo(ctx: PluginContext<LinstorConfig>, request: VolumeRequest): Promise<SnapshotInfo[]> {
    return snapshots.volumeSnapshotInfo(await this.#session.env(ctx), request);
  }

  /**
   * Moves a volume to another guest by rewriting its name properties; the LINSTOR resource keeps its name.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`
   * @see Proxmox `LINSTORPlugin::rename_volume`
   */
  override async renameVolume(ctx: PluginContext<LinstorConfig>, request: RenameVolumeRequest): Promise<string> {
    return volumes.renameVolume(await this.#session.env(ctx), request);
  }

  /**
   * Writes `raw+size` from the local device (of the volume, or of a snapshot restored for the export).
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (other formats, snapshots in the stream), `NOT_FOUND`
   * @see Proxmox `volume_export`
   */
  override async volumeExport(ctx: PluginContext<LinstorConfig>, request: VolumeExportRequest): Promise<void> {
    return transfer.volumeExport(await this.#session.env(ctx), request);
  }

  /**
   * Reads `raw+size` onto a new volume through its local device. The volume is marked unfinished
   * (hidden from listings, its name taken) until the last byte is written; on failure it is
   * removed, checked by uuid.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS` (without `allowRename`), `INVALID_ARGUMENT` (truncated stream), `NOT_SUPPORTED`
   * @see Proxmox `volume_import`
   */
  override async volumeImport(ctx: PluginContext<LinstorConfig>, request: VolumeImportRequest): Promise<string> {
    return transfer.volumeImport(await this.#session.env(ctx), request);
  }

  /**
   * The lowest free disk name of a guest, counting unfinished volumes (their names are taken).
   *
   * @see Proxmox `find_free_diskname`
   */
  override async findFreeDiskname(ctx: PluginContext<LinstorConfig>, request: FindFreeDisknameRequest): Promise<string> {
    return read.findFreeDiskname(await this.#session.env(ctx), request);
  }

  /**
   * Deletes the unfinished volumes (definitions marked `Aux/stowage/incomplete`) whose owner
   * process is dead, each checked by its uuid, and the definitions a dead flatten replaced but
   * did not delete; reports those of live owners and of other nodes.
   */
  override async collectGarbage(ctx: PluginContext<LinstorConfig>, request: CollectGarbageRequest): Promise<GarbageReport> {
    return volumes.collectGarbage(await this.#session.env(ctx), request);
  }

  /** Closes the connection pool of this storage. @see Proxmox `deactivate_storage` */
  override deactivateStorage(ctx: PluginContext<LinstorConfig>): Promise<void> {
    return this.#session.close(ctx);
  }
}

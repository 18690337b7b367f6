/**
 * The `lvmthin` storage plugin class. The work is done in `ops-*.ts`, one file per concern.
 *
 * @module
 */
import {
  API_VERSION,
  type AttributeValue,
  type ConfigSchemaLoader,
  type ImageInfo,
  type StreamFormat,
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
  type TransferFormatsRequest,
  type UpdateAttributeRequest,
  type VolumeExportRequest,
  type VolumeImportRequest,
  type VolumeRequest,
  type VolumeResizeRequest,
} from '@stowage/core/plugin';
import { type GarbageReport } from '@stowage/core';
import { lvmThinCapabilities } from './capabilities.js';
import type { LvmThinConfig } from './config.js';
import { parseLvmThinVolname } from './names.js';
import * as flatten from './ops-flatten.js';
import * as read from './ops-read.js';
import * as snapshots from './ops-snapshot.js';
import * as transfer from './ops-transfer.js';
import { exportDelta } from './delta-export.js';
import { importDelta } from './delta-import.js';
import { exportFormats, importFormats } from './transfer-formats.js';
import * as volumes from './ops-volume.js';

/**
 * LVM-thin storage (Proxmox's `lvmthin`): raw volumes as thin LVs of one thin pool, templates
 * and linked clones as thin snapshots. Every command is an argv from `commands.ts`, run by the
 * context's runner (locally, or over ssh); one `lvs` report per operation, shared between
 * operations through the storage's TTL cache.
 *
 * Differences from Proxmox: linked clones are found through each thin LV's `origin`, so freeing a
 * base (or a volume whose snapshot was cloned) that still has clones is refused with `IN_USE`;
 * clones can be made from any snapshot; a rollback builds the new state before it removes the
 * old one; renaming a volume renames its snapshots with it. `activateStorage` runs no command
 * of its own (the base class's): every operation's own `lvs` report finds a missing volume
 * group or pool (`NOT_FOUND`), and an inactive pool is activated when an operation meets it, so
 * an operation through the manager costs one `lvs`, not two.
 *
 * @example
 * ```ts
 * import { StorageManager } from '@stowage/core';
 * import { LvmThinPlugin } from '@stowage/plugin-lvmthin';
 *
 * const storages = await StorageManager.open({
 *   plugins: [LvmThinPlugin],
 *   config: [{ type: 'lvmthin', storage: 'thin', vgname: 'pve', thinpool: 'data' }],
 * });
 * const volid = await storages.allocImage('thin', { vmid: 100, size: 4 * 2 ** 30 });
 * ```
 * @see Proxmox `PVE::Storage::LvmThinPlugin`
 */
export class LvmThinPlugin extends StoragePlugin<LvmThinConfig> {
  /** The type id, `lvmthin`. */
  static override readonly type = 'lvmthin';
  /** The plugin API version this plugin was written for. */
  static override readonly apiVersion = API_VERSION;
  /** The config schema: a loader of `lvmThinConfigSchema` (`@stowage/plugin-lvmthin/config-schema`). */
  static override readonly configSchema: ConfigSchemaLoader = async () => (await import('./config-schema.js')).lvmThinConfigSchema;
  /** Raw images and container volumes; snapshots, templates, clones, `raw+size` transfer. */
  static override readonly capabilities = lvmThinCapabilities;

  /**
   * Parses `vm-<vmid>-…` / `base-<vmid>-…`.
   *
   * @param volname - the volume name
   * @returns the parsed volume (format `raw`)
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID`
   * @see Proxmox `parse_volname`
   */
  override parseVolname(volname: string): ParsedVolume {
    return parseLvmThinVolname(volname);
  }

  /**
   * Lists the thin LVs of the pool named like volumes, from one `lvs` report; linked clones carry
   * their parent (`storeid:base-…`, or `storeid:vol@snap` for a clone of a snapshot).
   *
   * @param ctx - the operation context
   * @param request - vmid or volname filter
   * @returns the images, in `lvs` order
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (volume group or pool missing), `COMMAND_FAILED`
   * @see Proxmox `list_images`
   */
  override listImages(ctx: PluginContext<LvmThinConfig>, request: ListImagesRequest): Promise<ImageInfo[]> {
    return read.listImages(ctx, request);
  }

  /**
   * Creates a thin LV of the requested size (rounded up to KiB, then by LVM to whole extents),
   * active now and skipped by boot-time activation (LVM activation skip flag, one `lvcreate`).
   *
   * @param ctx - the operation context
   * @param request - vmid, format (`raw`), name (`vm-<vmid>-…`), size in bytes
   * @returns the volname
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`, `ALREADY_EXISTS` (nothing removed), `NOT_FOUND`, `NO_SPACE` (pool usage in `details`)
   * @see Proxmox `alloc_image`
   */
  override allocImage(ctx: PluginContext<LvmThinConfig>, request: AllocImageRequest): Promise<string> {
    return volumes.allocImage(ctx, request);
  }

  /**
   * The lowest free `vm-<vmid>-disk-N` (or `base-…`) name, from one `lvs` report; the names of
   * unfinished volumes (imports under way) and of `request.taken` count as taken.
   *
   * @param ctx - the operation context
   * @param request - the guest, and whether a base name is wanted
   * @returns the name
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (volume group or pool missing)
   * @see Proxmox `find_free_diskname`
   */
  override findFreeDiskname(ctx: PluginContext<LvmThinConfig>, request: FindFreeDisknameRequest): Promise<string> {
    return read.findFreeDiskname(ctx, request);
  }

  /**
   * Finishes or takes back flattens whose owner died (`stowage-flatten=<owner>` tags), and
   * removes the unfinished volumes (thin LVs tagged `stowage-incomplete=<owner>`) whose owner is
   * dead, each by the UUID it was listed with (`lvremove -S lv_uuid=…`); a live owner's and
   * another node's are kept.
   *
   * @param ctx - the operation context
   * @param request - `dryRun`: report only
   * @returns what was removed and what was kept
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (volume group or pool missing), `BUSY`
   */
  override collectGarbage(ctx: PluginContext<LvmThinConfig>, request: CollectGarbageRequest): Promise<GarbageReport> {
    return volumes.collectGarbage(ctx, request);
  }

  /**
   * Takes a volume back to a snapshot without its snapshots: a thin snapshot of the snapshot
   * swapped in by name, then one `lvremove` of the old state and every snapshot; no data copied.
   * A failed step is undone; a killed one is finished or taken back by
   * {@link LvmThinPlugin.collectGarbage}.
   *
   * @param ctx - the operation context
   * @param request - the volume and the snapshot
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE`, `INVALID_ARGUMENT`, `ALREADY_EXISTS`, `BUSY`, `NO_SPACE`
   * @see OpenNebula `snap_flatten`
   */
  override volumeSnapshotFlatten(ctx: PluginContext<LvmThinConfig>, request: SnapshotFlattenRequest): Promise<void> {
    return flatten.volumeSnapshotFlatten(ctx, request);
  }

  /**
   * Flattens a linked clone off its origin with a `stowage-detached` tag: thin clones never
   * depended on their origin's blocks, so only the reported `parent` (and the `IN_USE` rule that
   * follows it) goes. Nothing copied; snapshots and volname kept.
   *
   * @param ctx - the operation context
   * @param request - the clone
   * @returns the volname (unchanged)
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `INVALID_STATE`
   * @see Ceph RBD `flatten`
   */
  override flattenImage(ctx: PluginContext<LvmThinConfig>, request: FlattenImageRequest): Promise<string> {
    return flatten.flattenImage(ctx, request);
  }

  /**
   * Reads `hidden`: whether the volume's LV is renamed `stowage_hidden_<volname>`.
   *
   * @param ctx - the operation context
   * @param request - the volume and the attribute
   * @returns `true` when hidden
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `NOT_FOUND`
   * @see Proxmox `get_volume_attribute`
   */
  override getVolumeAttribute(ctx: PluginContext<LvmThinConfig>, request: GetAttributeRequest): Promise<AttributeValue> {
    return volumes.getVolumeAttribute(ctx, request);
  }

  /**
   * Sets or clears `hidden`: one `lvrename` of the volume's LV to `stowage_hidden_<volname>` or
   * back, so that `lvcreate -s` of a hidden template fails by itself (`cloneRefusesHidden`).
   *
   * @param ctx - the operation context
   * @param request - the volume, the attribute and its value
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `NOT_FOUND`, `INVALID_ARGUMENT` (a volname too
   *   long to hide), `ALREADY_EXISTS` (showing it again while its name is taken)
   * @see Proxmox `update_volume_attribute`
   */
  override updateVolumeAttribute(ctx: PluginContext<LvmThinConfig>, request: UpdateAttributeRequest): Promise<void> {
    return volumes.updateVolumeAttribute(ctx, request);
  }

  /**
   * Removes a volume's snapshots, then the volume.
   *
   * @param ctx - the operation context
   * @param request - the volume
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE` (linked clones, named in `details.clones`), `BUSY`
   * @see Proxmox `free_image`
   */
  override freeImage(ctx: PluginContext<LvmThinConfig>, request: FreeImageRequest): Promise<void> {
    return volumes.freeImage(ctx, request);
  }

  /**
   * The thin pool's size and data usage; metadata usage in `details`. A missing volume group or
   * pool is reported `active: false`.
   *
   * @param ctx - the operation context
   * @returns the status
   * @see Proxmox `status`
   */
  override status(ctx: PluginContext<LvmThinConfig>): Promise<StorageStatus> {
    return read.status(ctx);
  }

  /**
   * `/dev/<vg>/<lv>`, or `/dev/<vg>/snap_<lv>_<snap>` for a snapshot. Runs no command.
   *
   * @param ctx - the operation context
   * @param request - the volume and an optional snapshot
   * @returns the path
   * @see Proxmox `path`, `filesystem_path`
   */
  override path(ctx: PluginContext<LvmThinConfig>, request: PathRequest): Promise<VolumePath> {
    return read.path(ctx, request);
  }

  /**
   * Activates a volume or a snapshot (`lvchange -ay -K`) unless active.
   *
   * @param ctx - the operation context
   * @param request - the volume and an optional snapshot
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
   * @see Proxmox `activate_volume`
   */
  override activateVolume(ctx: PluginContext<LvmThinConfig>, request: ActivateVolumeRequest): Promise<void> {
    return read.activateVolume(ctx, request);
  }

  /**
   * Deactivates a volume or a snapshot (`lvchange -an`) unless inactive; retries after
   * `udevadm settle` while the device is busy.
   *
   * @param ctx - the operation context
   * @param request - the volume and an optional snapshot
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `BUSY`
   * @see Proxmox `deactivate_volume`
   */
  override deactivateVolume(ctx: PluginContext<LvmThinConfig>, request: ActivateVolumeRequest): Promise<void> {
    return read.deactivateVolume(ctx, request);
  }

  /**
   * Renames `vm-…` to `base-…`, read-only, activation skip, inactive. Refused while the volume has snapshots.
   *
   * @param ctx - the operation context
   * @param request - the volume
   * @returns the base's volname
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`, `NOT_FOUND`, `IN_USE`, `ALREADY_EXISTS`
   * @see Proxmox `create_base`
   */
  override createBase(ctx: PluginContext<LvmThinConfig>, request: CreateBaseRequest): Promise<string> {
    return volumes.createBase(ctx, request);
  }

  /**
   * A writable thin snapshot of a base or of a volume's snapshot.
   *
   * @param ctx - the operation context
   * @param request - the source, an optional snapshot, the new vmid and name
   * @returns the clone's volname
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (neither a base nor a snapshot), `INVALID_ARGUMENT`, `NOT_FOUND`, `ALREADY_EXISTS`, `NO_SPACE`
   * @see Proxmox `clone_image`
   */
  override cloneImage(ctx: PluginContext<LvmThinConfig>, request: CloneImageRequest): Promise<string> {
    return volumes.cloneImage(ctx, request);
  }

  /**
   * Size, usage (from the LV's data percentage), parent and creation time.
   *
   * @param ctx - the operation context
   * @param request - the volume
   * @returns the size info
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
   * @see Proxmox `volume_size_info`
   */
  override volumeSizeInfo(ctx: PluginContext<LvmThinConfig>, request: VolumeRequest): Promise<VolumeSizeInfo> {
    return read.volumeSizeInfo(ctx, request);
  }

  /**
   * Grows a volume (`lvextend`); a smaller size than it has is refused.
   *
   * @param ctx - the operation context
   * @param request - the volume and its new size in bytes
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `CANNOT_SHRINK`, `NO_SPACE`
   * @see Proxmox `volume_resize`
   */
  override volumeResize(ctx: PluginContext<LvmThinConfig>, request: VolumeResizeRequest): Promise<void> {
    return volumes.volumeResize(ctx, request);
  }

  /**
   * Takes a read-only thin snapshot `snap_<vol>_<snap>`.
   *
   * @param ctx - the operation context
   * @param request - the volume and the snapshot name
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (a base), `NOT_FOUND`, `ALREADY_EXISTS`, `NO_SPACE`
   * @see Proxmox `volume_snapshot`
   */
  override volumeSnapshot(ctx: PluginContext<LvmThinConfig>, request: SnapshotRequest): Promise<void> {
    return snapshots.volumeSnapshot(ctx, request);
  }

  /**
   * Rolls back to any snapshot; newer snapshots stay.
   *
   * @param ctx - the operation context
   * @param request - the volume and the snapshot
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `BUSY`, `NO_SPACE`
   * @see Proxmox `volume_snapshot_rollback`
   */
  override volumeSnapshotRollback(ctx: PluginContext<LvmThinConfig>, request: SnapshotRollbackRequest): Promise<void> {
    return snapshots.volumeSnapshotRollback(ctx, request);
  }

  /**
   * Deletes a snapshot; refused while a clone was made from it.
   *
   * @param ctx - the operation context
   * @param request - the volume and the snapshot
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE`, `BUSY`
   * @see Proxmox `volume_snapshot_delete`
   */
  override volumeSnapshotDelete(ctx: PluginContext<LvmThinConfig>, request: SnapshotDeleteRequest): Promise<void> {
    return snapshots.volumeSnapshotDelete(ctx, request);
  }

  /**
   * A volume's snapshots, oldest first, with creation times.
   *
   * @param ctx - the operation context
   * @param request - the volume
   * @returns the snapshots
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
   * @see Proxmox `volume_snapshot_info`
   */
  override volumeSnapshotInfo(ctx: PluginContext<LvmThinConfig>, request: VolumeRequest): Promise<SnapshotInfo[]> {
    return snapshots.volumeSnapshotInfo(ctx, request);
  }

  /**
   * Renames a volume and its snapshots for another guest.
   *
   * @param ctx - the operation context
   * @param request - the volume, the target vmid and name
   * @returns the new volname
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`, `NOT_FOUND`, `ALREADY_EXISTS`
   * @see Proxmox `rename_volume`
   */
  override renameVolume(ctx: PluginContext<LvmThinConfig>, request: RenameVolumeRequest): Promise<string> {
    return volumes.renameVolume(ctx, request);
  }

  /**
   * `raw+size` for a volume or a snapshot; `lvmthin-delta` for a snapshot, or the increment
   * between two.
   *
   * @param ctx - the operation context
   * @param request - the volume and what the transfer carries
   * @returns the formats, best first
   * @see Proxmox `volume_export_formats`
   */
  override async volumeExportFormats(ctx: PluginContext<LvmThinConfig>, request: TransferFormatsRequest): Promise<StreamFormat[]> {
    return exportFormats(request);
  }

  /**
   * `raw+size` into a new volume; `lvmthin-delta` for an import that ends in a snapshot or
   * applies an increment.
   *
   * @param ctx - the operation context
   * @param request - the target and what the transfer carries
   * @returns the formats, best first
   * @see Proxmox `volume_import_formats`
   */
  override async volumeImportFormats(ctx: PluginContext<LvmThinConfig>, request: TransferFormatsRequest): Promise<StreamFormat[]> {
    return importFormats(request);
  }

  /**
   * Writes `raw+size` (the size header, then the device's bytes, `dd`) or `lvmthin-delta` (a
   * snapshot's changed ranges since `baseSnapshot`, or all its mapped ranges, found with
   * `thin_delta`/`thin_dump` on a metadata snapshot).
   *
   * @param ctx - the operation context
   * @param request - the volume, an optional snapshot and base snapshot, the output stream
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `NOT_FOUND`, `CORRUPT`, `BUSY`
   * @see Proxmox `volume_export`
   */
  override volumeExport(ctx: PluginContext<LvmThinConfig>, request: VolumeExportRequest): Promise<void> {
    return request.format === 'lvmthin-delta' ? exportDelta(ctx, request) : transfer.volumeExport(ctx, request);
  }

  /**
   * Reads `raw+size` into a new volume (a `base-` target becomes a base), or `lvmthin-delta`
   * into a new volume or onto a base snapshot (see `delta-import.ts`). The volume is created
   * under the storage lock, tagged unfinished with this process's owner token (hidden from
   * listings, not freeable, its name taken), and untagged only when whole; a failure removes it
   * by its UUID, and one left by a killed process goes with {@link LvmThinPlugin.collectGarbage}.
   *
   * @param ctx - the operation context
   * @param request - the target volume, the input stream, `allowRename`
   * @returns the volname written
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `INVALID_ARGUMENT`, `ALREADY_EXISTS`, `NO_SPACE`
   * @see Proxmox `volume_import`
   */
  override volumeImport(ctx: PluginContext<LvmThinConfig>, request: VolumeImportRequest): Promise<string> {
    return request.format === 'lvmthin-delta' ? importDelta(ctx, request) : transfer.volumeImport(ctx, request);
  }
}

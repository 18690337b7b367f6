/**
 * The `zfspool` storage plugin class. The work is done in `ops-*.ts`, one file per concern.
 *
 * @module
 */
import { API_VERSION, type ConfigSchemaLoader, type ParsedVolume, type StreamFormat } from '@stowage/core';
import { StoragePlugin } from '@stowage/core/plugin';
import type * as T from '@stowage/core';
import type * as P from '@stowage/core/plugin';
import { zfsPoolCapabilities } from './capabilities.js';
import type { ZfsPoolConfig } from './config.js';
import { DEFAULT_TUNING, type ZfsTuning } from './exec.js';
import { parseZfsVolname } from './names.js';
import * as flatten from './ops-flatten.js';
import * as read from './ops-read.js';
import * as snapshots from './ops-snapshot.js';
import * as transfer from './ops-transfer.js';
import * as volumes from './ops-volume.js';

/**
 * ZFS pool storage (Proxmox's `zfspool`): VM disks as zvols (`/dev/zvol/<pool>/<name>`),
 * container volumes as file systems with a `refquota`, all direct children of `pool` (a pool or
 * a dataset in one). Templates are `base-` volumes with a `__base__` snapshot; linked clones are
 * `zfs clone`s named `<base>/<name>`. Every command is an argv from `commands.ts`, run by the
 * context's runner (locally, or over ssh); one `zfs list -d1` per listing, shared between
 * operations through the storage's TTL cache.
 *
 * Beyond Proxmox: clones of any snapshot (reported with `parent` `storeid:<volume>@<snapshot>`);
 * deleting a snapshot that clones depend on, or freeing a volume they depend on, is refused with
 * `IN_USE` naming them; a rollback that would destroy newer snapshots needs `destroyBlockers`;
 * `raw+size` export and import of zvols for copies to and from other storage types; a new
 * zvol is only returned once its device link exists.
 *
 * @example
 * ```ts
 * import { StorageManager } from '@stowage/core';
 * import { ZfsPoolPlugin } from '@stowage/plugin-zfs';
 *
 * const storages = await StorageManager.open({
 *   plugins: [ZfsPoolPlugin],
 *   config: [{ type: 'zfspool', storage: 'tank', pool: 'tank/vmdata', sparse: true }],
 * });
 * const volid = await storages.allocImage('tank', { vmid: 100, size: 32 * 2 ** 30 }); // 'tank:vm-100-disk-0'
 * ```
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin`
 */
export class ZfsPoolPlugin extends StoragePlugin<ZfsPoolConfig> {
  /** The type id, `zfspool`. */
  static override readonly type = 'zfspool';
  /** The plugin API version this plugin was written for. */
  static override readonly apiVersion = API_VERSION;
  /** The config schema: a loader of `zfsPoolConfigSchema` (`@stowage/plugin-zfs/config-schema`). */
  static override readonly configSchema: ConfigSchemaLoader = async () => (await import('./config-schema.js')).zfsPoolConfigSchema;
  /** zvols and container file systems; snapshots, templates, clones, `zfs` and `raw+size` streams. */
  static override readonly capabilities = zfsPoolCapabilities;

  /**
   * Bounds of this instance's waits and retries: the zvol link wait, the tries of a busy
   * `zfs destroy`, the `zpool import` time limit. Change them on the instance (for example from
   * `StorageManager.pluginFor(id)`) for slow machines.
   */
  tuning: ZfsTuning = { ...DEFAULT_TUNING };

  /**
   * Parses `[base-<vmid>-…/](vm|base|subvol|basevol)-<vmid>-…`.
   *
   * @param volname - the volume name
   * @returns the parsed volume (format `raw` for zvols, `subvol` for file systems)
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID`
   * @see Proxmox `parse_volname`
   */
  override parseVolname(volname: string): ParsedVolume {
    return parseZfsVolname(volname);
  }

  /**
   * Lists the volumes from one `zfs list -d1`; linked clones carry their parent.
   *
   * @param ctx - the operation context
   * @param request - vmid or volname filter
   * @returns the images, in listing order
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (pool), `COMMAND_FAILED`
   * @see Proxmox `list_images`
   */
  override listImages(ctx: P.PluginContext<ZfsPoolConfig>, request: P.ListImagesRequest): Promise<T.ImageInfo[]> {
    return read.listImages(ctx, request);
  }

  /**
   * Lists zvols as `images` and file systems as `rootdir`, as the storage's `content` allows.
   *
   * @param ctx - the operation context
   * @param request - vmid and content filter
   * @returns the volumes
   * @see Proxmox `list_volumes`
   */
  override listVolumes(ctx: P.PluginContext<ZfsPoolConfig>, request: P.ListVolumesRequest): Promise<T.VolumeListEntry[]> {
    return read.listVolumes(ctx, request);
  }

  /**
   * The lowest free `vm-`/`base-` (zvol) or `subvol-`/`basevol-` (file system) name of a guest.
   *
   * @param ctx - the operation context
   * @param request - vmid, format, base
   * @returns the name
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NO_SPACE` when indexes 0..1023 are taken
   * @see Proxmox `find_free_diskname`
   */
  override findFreeDiskname(ctx: P.PluginContext<ZfsPoolConfig>, request: P.FindFreeDisknameRequest): Promise<string> {
    return read.findFreeDiskname(ctx, request);
  }

  /**
   * Creates a zvol (size rounded up to 1 MiB; `sparse` and `blocksize` from the config) and
   * waits for its device link, or a file system with a quota.
   *
   * @param ctx - the operation context
   * @param request - vmid, format, name, size in bytes
   * @returns the volname
   * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS` (nothing removed), `NOT_FOUND`, `NO_SPACE`, `TIMEOUT`
   * @see Proxmox `alloc_image`
   */
  override allocImage(ctx: P.PluginContext<ZfsPoolConfig>, request: P.AllocImageRequest): Promise<string> {
    return volumes.allocImage(ctx, request, this.tuning);
  }

  /**
   * `zfs destroy -r`, tried again while busy; a missing volume counts as freed.
   *
   * @param ctx - the operation context
   * @param request - the volume
   * @throws {@link @stowage/core!index.StorageError | StorageError} `IN_USE` (clones in `details.clones`), `BUSY`
   * @see Proxmox `free_image`
   */
  override freeImage(ctx: P.PluginContext<ZfsPoolConfig>, request: P.FreeImageRequest): Promise<void> {
    return volumes.freeImage(ctx, request, this.tuning);
  }

  /**
   * The pool's free and used bytes; `active: false` when it cannot be read.
   *
   * @param ctx - the operation context
   * @returns the status
   * @see Proxmox `status`
   */
  override status(ctx: P.PluginContext<ZfsPoolConfig>): Promise<T.StorageStatus> {
    return read.status(ctx);
  }

  /**
   * `/dev/zvol/<pool>/<name>[@snap]`, or `<mountpoint>/<name>` for a file system. Runs no command.
   *
   * @param ctx - the operation context
   * @param request - the volume and an optional snapshot
   * @returns the path
   * @see Proxmox `path`
   */
  override path(ctx: P.PluginContext<ZfsPoolConfig>, request: P.PathRequest): Promise<T.VolumePath> {
    return read.path(ctx, request);
  }

  /**
   * Imports the pool when it is not imported.
   *
   * @param ctx - the operation context
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
   * @see Proxmox `activate_storage`
   */
  override activateStorage(ctx: P.PluginContext<ZfsPoolConfig>): Promise<void> {
    return read.activateStorage(ctx, this.tuning);
  }

  /**
   * Waits for a zvol's link, or mounts a file system.
   *
   * @param ctx - the operation context
   * @param request - the volume and an optional snapshot
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `TIMEOUT`
   * @see Proxmox `activate_volume`
   */
  override activateVolume(ctx: P.PluginContext<ZfsPoolConfig>, request: P.ActivateVolumeRequest): Promise<void> {
    return read.activateVolume(ctx, request, this.tuning);
  }

  /**
   * Renames to `base-`/`basevol-` and snapshots `@__base__`.
   *
   * @param ctx - the operation context
   * @param request - the volume
   * @returns the base's volname
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`, `NOT_FOUND`, `ALREADY_EXISTS`
   * @see Proxmox `create_base`
   */
  override createBase(ctx: P.PluginContext<ZfsPoolConfig>, request: P.CreateBaseRequest): Promise<string> {
    return volumes.createBase(ctx, request);
  }

  /**
   * `zfs clone` of a base's `__base__` or of a named snapshot.
   *
   * @param ctx - the operation context
   * @param request - the source, an optional snapshot, the new vmid and name
   * @returns the clone's volname
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `NOT_FOUND`, `ALREADY_EXISTS`, `NO_SPACE`, `TIMEOUT`
   * @see Proxmox `clone_image`
   */
  override cloneImage(ctx: P.PluginContext<ZfsPoolConfig>, request: P.CloneImageRequest): Promise<string> {
    return volumes.cloneImage(ctx, request, this.tuning);
  }

  /**
   * Takes a zvol back to a snapshot without its snapshots: `zfs clone`, `zfs promote`, a name
   * swap, one `zfs destroy -R`; no data copied. A failed step is undone; a killed one is finished
   * or taken back by {@link ZfsPoolPlugin.collectGarbage}.
   *
   * @param ctx - the operation context
   * @param request - the volume and the snapshot
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE`, `ALREADY_EXISTS`, `BUSY`
   * @see OpenNebula `snap_flatten`
   */
  override volumeSnapshotFlatten(ctx: P.PluginContext<ZfsPoolConfig>, request: P.SnapshotFlattenRequest): Promise<void> {
    return flatten.volumeSnapshotFlatten(ctx, request, this.tuning);
  }

  /**
   * Detaches a linked clone from its base by `zfs send | zfs recv` into a new dataset (with its
   * snapshots) and a name swap; the storage lock is given back during the copy.
   *
   * @param ctx - the operation context
   * @param request - the clone and a progress callback
   * @returns the volname without its base part
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_STATE`, `NOT_FOUND`, `IN_USE`, `ALREADY_EXISTS`, `NO_SPACE`
   * @see Ceph RBD `flatten`
   */
  override flattenImage(ctx: P.PluginContext<ZfsPoolConfig>, request: P.FlattenImageRequest): Promise<string> {
    return flatten.flattenImage(ctx, request, this.tuning);
  }

  /**
   * Reads `hidden` (the user property `stowage:hidden`).
   *
   * @param ctx - the operation context
   * @param request - the volume and the attribute
   * @returns `true` when hidden
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `NOT_FOUND`
   * @see Proxmox `get_volume_attribute`
   */
  override getVolumeAttribute(ctx: P.PluginContext<ZfsPoolConfig>, request: P.GetAttributeRequest): Promise<T.AttributeValue> {
    return volumes.getVolumeAttribute(ctx, request);
  }

  /**
   * Sets or clears `hidden` (the user property `stowage:hidden`).
   *
   * @param ctx - the operation context
   * @param request - the volume, the attribute and its value
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `NOT_FOUND`
   * @see Proxmox `update_volume_attribute`
   */
  override updateVolumeAttribute(ctx: P.PluginContext<ZfsPoolConfig>, request: P.UpdateAttributeRequest): Promise<void> {
    return volumes.updateVolumeAttribute(ctx, request);
  }

  /**
   * Size, bytes used by the volume, parent, creation time.
   *
   * @param ctx - the operation context
   * @param request - the volume
   * @returns the size info
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
   * @see Proxmox `volume_size_info`
   */
  override volumeSizeInfo(ctx: P.PluginContext<ZfsPoolConfig>, request: P.VolumeRequest): Promise<T.VolumeSizeInfo> {
    return read.volumeSizeInfo(ctx, request);
  }

  /**
   * Grows `volsize` (1 MiB steps) or `refquota`; shrinking is refused.
   *
   * @param ctx - the operation context
   * @param request - the volume and its new size in bytes
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `CANNOT_SHRINK`, `NO_SPACE`
   * @see Proxmox `volume_resize`
   */
  override volumeResize(ctx: P.PluginContext<ZfsPoolConfig>, request: P.VolumeResizeRequest): Promise<void> {
    return volumes.volumeResize(ctx, request);
  }

  /**
   * `zfs snapshot`.
   *
   * @param ctx - the operation context
   * @param request - the volume and the snapshot name
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `ALREADY_EXISTS`
   * @see Proxmox `volume_snapshot`
   */
  override volumeSnapshot(ctx: P.PluginContext<ZfsPoolConfig>, request: P.SnapshotRequest): Promise<void> {
    return snapshots.volumeSnapshot(ctx, request);
  }

  /**
   * The snapshots newer than the one named, which block a rollback to it.
   *
   * @param ctx - the operation context
   * @param request - the volume and the snapshot
   * @returns their names, oldest first
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
   * @see Proxmox `volume_rollback_is_possible`
   */
  override volumeRollbackIsPossible(ctx: P.PluginContext<ZfsPoolConfig>, request: P.SnapshotRequest): Promise<string[]> {
    return snapshots.volumeRollbackIsPossible(ctx, request);
  }

  /**
   * `zfs rollback`, with `-r` only when `destroyBlockers` allows destroying newer snapshots.
   *
   * @param ctx - the operation context
   * @param request - the volume, the snapshot, `destroyBlockers`
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `SNAPSHOT_BLOCKERS`, `IN_USE`
   * @see Proxmox `volume_snapshot_rollback`
   */
  override volumeSnapshotRollback(ctx: P.PluginContext<ZfsPoolConfig>, request: P.SnapshotRollbackRequest): Promise<void> {
    return snapshots.volumeSnapshotRollback(ctx, request);
  }

  /**
   * `zfs destroy <volume>@<snapshot>`; refused while clones depend on it.
   *
   * @param ctx - the operation context
   * @param request - the volume and the snapshot
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE`
   * @see Proxmox `volume_snapshot_delete`
   */
  override volumeSnapshotDelete(ctx: P.PluginContext<ZfsPoolConfig>, request: P.SnapshotDeleteRequest): Promise<void> {
    return snapshots.volumeSnapshotDelete(ctx, request);
  }

  /**
   * The snapshots, oldest first, with `guid` and creation time.
   *
   * @param ctx - the operation context
   * @param request - the volume
   * @returns the snapshots
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
   * @see Proxmox `volume_snapshot_info`
   */
  override volumeSnapshotInfo(ctx: P.PluginContext<ZfsPoolConfig>, request: P.VolumeRequest): Promise<T.SnapshotInfo[]> {
    return snapshots.volumeSnapshotInfo(ctx, request);
  }

  /**
   * `zfs rename` to the name given, for another guest.
   *
   * @param ctx - the operation context
   * @param request - the volume, the target vmid and name
   * @returns the new volname
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`, `NOT_FOUND`, `ALREADY_EXISTS`
   * @see Proxmox `rename_volume`
   */
  override renameVolume(ctx: P.PluginContext<ZfsPoolConfig>, request: P.RenameVolumeRequest): Promise<string> {
    return volumes.renameVolume(ctx, request);
  }

  /**
   * `zfs`, and `raw+size` for a zvol's current state.
   *
   * @param ctx - the operation context
   * @param request - the volume and what the transfer carries
   * @returns the formats, best first
   * @see Proxmox `volume_export_formats`
   */
  override volumeExportFormats(ctx: P.PluginContext<ZfsPoolConfig>, request: P.TransferFormatsRequest): Promise<StreamFormat[]> {
    return transfer.volumeExportFormats(ctx, request);
  }

  /**
   * `zfs`, and `raw+size` for a zvol's current state.
   *
   * @param ctx - the operation context
   * @param request - the volume and what the transfer carries
   * @returns the formats, best first
   * @see Proxmox `volume_import_formats`
   */
  override volumeImportFormats(ctx: P.PluginContext<ZfsPoolConfig>, request: P.TransferFormatsRequest): Promise<StreamFormat[]> {
    return transfer.volumeImportFormats(ctx, request);
  }

  /**
   * `zfs send` (from a snapshot, optionally incremental) or `raw+size` (`dd` of the zvol).
   *
   * @param ctx - the operation context
   * @param request - the volume, format, snapshot, base snapshot, output
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `INVALID_ARGUMENT`, `NOT_FOUND`, `CORRUPT`
   * @see Proxmox `volume_export`
   */
  override volumeExport(ctx: P.PluginContext<ZfsPoolConfig>, request: P.VolumeExportRequest): Promise<void> {
    return transfer.volumeExport(ctx, request, this.tuning);
  }

  /**
   * `zfs recv` (new volume, or an increment onto a base snapshot) or `raw+size` into a new zvol.
   * A new volume carries `stowage:incomplete=<owner>` from the command that creates it until it
   * is whole: hidden from listings, not freeable, its name taken (a `raw+size` import gives the
   * storage lock back once the marked zvol exists). A failure destroys it, checked by `guid`; one
   * left by a killed process goes with {@link ZfsPoolPlugin.collectGarbage}.
   *
   * @param ctx - the operation context
   * @param request - the target, format, input, base snapshot, `allowRename`
   * @returns the volname written
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `INVALID_ARGUMENT`, `ALREADY_EXISTS`, `NOT_FOUND`, `NO_SPACE`
   * @see Proxmox `volume_import`
   */
  override volumeImport(ctx: P.PluginContext<ZfsPoolConfig>, request: P.VolumeImportRequest): Promise<string> {
    return transfer.volumeImport(ctx, request, this.tuning);
  }

  /**
   * Finishes or takes back flattens whose owner died (`stowage:flatten` marks), and destroys the
   * unfinished volumes (datasets marked `stowage:incomplete=<owner>`) whose owner is dead, each after a fresh lookup shows the `guid` it was listed with; a live owner's and
   * another node's are kept. One `zfs list` when there is nothing to remove.
   *
   * @param ctx - the operation context
   * @param request - `dryRun`: report only
   * @returns what was removed and what was kept
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (pool), `BUSY`
   */
  override collectGarbage(ctx: P.PluginContext<ZfsPoolConfig>, request: P.CollectGarbageRequest): Promise<T.GarbageReport> {
    return volumes.collectGarbage(ctx, request, this.tuning);
  }
}

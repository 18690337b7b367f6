/**
 * The contract every storage backend implements.
 *
 * @module
 */
import { hasFeature, type PluginCapabilities, type StreamFormat, type VolumeFormat } from './capabilities.js';
import type { StorageConfig } from './config/base-schema.js';
import type { ConfigSchemaSource, StorageConfigSchema } from './config/schema-source.js';
import { StorageError } from './errors.js';
import { imageListEntries } from './guests.js';
import type {
  ActivateVolumeRequest,
  AllocImageRequest,
  AttributeValue,
  CloneImageRequest,
  CollectGarbageRequest,
  CreateBaseRequest,
  FindFreeDisknameRequest,
  FlattenImageRequest,
  FreeImageRequest,
  GarbageReport,
  GetAttributeRequest,
  HasFeatureRequest,
  ImageInfo,
  ListImagesRequest,
  ListVolumesRequest,
  ParsedVolume,
  PathRequest,
  PathToVolnameRequest,
  PluginContext,
  RenameVolumeRequest,
  SnapshotDeleteRequest,
  SnapshotFlattenRequest,
  SnapshotInfo,
  SnapshotRequest,
  SnapshotRollbackRequest,
  StorageStatus,
  TransferFormatsRequest,
  UpdateAttributeRequest,
  VolumeExportRequest,
  VolumeImportRequest,
  VolumePath,
  VolumeRequest,
  VolumeResizeRequest,
  VolumeSizeInfo,
  VolumeListEntry,
} from './plugin-types.js';
import { findFreeDiskIndex, formatDiskName } from './volume-id.js';

/**
 * The static side of a plugin class: what `register()` reads.
 *
 * @typeParam P - the instance type
 */
export interface StoragePluginClass<P extends StoragePlugin = StoragePlugin> {
  /** Makes one instance per configured storage. */
  new (): P;
  /** The type id, e.g. `dir`; lowercase, as in `storage.cfg`. */
  readonly type: string;
  /** The plugin API version the plugin was written for. */
  readonly apiVersion: number;
  /**
   * The zod schema of its config, extending `baseStorageConfigSchema`; or a function that loads
   * it (`async () => (await import('./config-schema.js')).mySchema`), so that a command that
   * only reads a configuration it validated before does not load zod at all.
   */
  readonly configSchema: ConfigSchemaSource;
  /** What it can do. */
  readonly capabilities: PluginCapabilities;
}

/** Loads the base schema: the default `configSchema` of {@link StoragePlugin}. */
async function loadBaseConfigSchema(): Promise<StorageConfigSchema> {
  return (await import('./config/base-schema.js')).baseStorageConfigSchema;
}

function notSupported(type: string, method: string): never {
  throw new StorageError('NOT_SUPPORTED', `storage type '${type}' does not support ${method}`, { details: { type, method } });
}

/**
 * The base class of every storage plugin (Proxmox's `PVE::Storage::Plugin`).
 *
 * Subclasses set the static metadata and implement the abstract methods; every optional method
 * throws `NOT_SUPPORTED` until overridden, never silently does nothing. Methods take
 * `(ctx, request)` and are called by the {@link @stowage/core!index.StorageManager | StorageManager}, which has already parsed the volume id,
 * validated the request, taken the storage lock where the contract needs one, and made a fresh
 * per-operation cache. Sizes are bytes.
 *
 * One instance is made per configured storage, so an instance may keep per-storage state (a
 * connection, a client) but must not assume it is the only user of the storage.
 *
 * @typeParam C - the plugin's config type (`z.infer` of its schema)
 * @example
 * ```ts
 * export class MemoryPlugin extends StoragePlugin<MemoryConfig> {
 *   static override readonly type = 'memory';
 *   static override readonly apiVersion = API_VERSION;
 *   static override readonly configSchema = memoryConfigSchema;
 *   static override readonly capabilities = memoryCapabilities;
 *   override parseVolname(volname: string): ParsedVolume { ... }
 *   // listImages, allocImage, freeImage, status, path ...
 * }
 * ```
 */
export abstract class StoragePlugin<C extends StorageConfig = StorageConfig> {
  /** The type id. Subclasses must override. */
  static readonly type: string = '';
  /** The plugin API version the subclass was written for. Subclasses must override. */
  static readonly apiVersion: number = 0;
  /**
   * The config schema, or a function that loads it. Subclasses override with a schema that
   * extends the base one (or its loader); this default loads the base schema itself.
   */
  static readonly configSchema: ConfigSchemaSource = loadBaseConfigSchema;
  /** The capabilities. Subclasses must override. */
  static readonly capabilities: PluginCapabilities;

  /** The static side of this instance's class. */
  get pluginClass(): StoragePluginClass {
    return this.constructor as StoragePluginClass;
  }

  /** Shortcut for the class's capabilities. */
  get capabilities(): PluginCapabilities {
    return this.pluginClass.capabilities;
  }

  // ---- required ----------------------------------------------------------------------------

  /**
   * Parses a volume name of this storage type. Pure; must accept exactly the names Proxmox's
   * plugin of the same type accepts.
   *
   * @param volname - the part of the volid after the first `:`
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` when the name is not one of this storage's
   * @see Proxmox `parse_volname`
   */
  abstract parseVolname(volname: string): ParsedVolume;

  /**
   * Lists the disk images on the storage.
   *
   * @see Proxmox `list_images`
   */
  abstract listImages(ctx: PluginContext<C>, request: ListImagesRequest): Promise<ImageInfo[]>;

  /**
   * Creates a new image with the exact name given. Runs under the storage lock. On failure it
   * must leave nothing behind.
   *
   * @returns the new volname
   * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`, `NO_SPACE`, `COMMAND_FAILED`
   * @see Proxmox `alloc_image`
   */
  abstract allocImage(ctx: PluginContext<C>, request: AllocImageRequest): Promise<string>;

  /**
   * Removes an image. Runs under the storage lock, after the manager checked it is not a base
   * with linked clones and not protected.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the volume does not exist (never made, or freed
   *   already), with nothing changed
   * @see Proxmox `free_image`
   */
  abstract freeImage(ctx: PluginContext<C>, request: FreeImageRequest): Promise<void>;

  /**
   * Reports the storage's capacity. An unreachable storage is reported `active: false`, not thrown.
   *
   * @see Proxmox `status`
   */
  abstract status(ctx: PluginContext<C>): Promise<StorageStatus>;

  /**
   * Returns the path (or URL) through which a guest reaches the volume.
   *
   * @see Proxmox `path`, `filesystem_path`
   */
  abstract path(ctx: PluginContext<C>, request: PathRequest): Promise<VolumePath>;

  // ---- provided ----------------------------------------------------------------------------

  /**
   * The lowest free `vm-<vmid>-disk-<n>` (or `base-`) name, counting `vm-` and `base-` names alike,
   * and the names of `request.taken`. Not atomic by itself: the manager calls it under the
   * storage lock, or, for a plugin that declares `capabilities.exclusiveCreate`, with a listing
   * that may be stale (the create refuses a taken name).
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NO_SPACE` when indexes 0..1023 are all taken
   * @see Proxmox `find_free_diskname`
   */
  async findFreeDiskname(ctx: PluginContext<C>, request: FindFreeDisknameRequest): Promise<string> {
    const images = await this.listImages(ctx, { vmid: request.vmid });
    const names = [...images.map((i) => lastSegment(i.volname)), ...(request.taken ?? [])].map((n) => n.replace(/\.[a-z0-9]+$/, ''));
    const index = findFreeDiskIndex(request.vmid, names);
    return formatDiskName({ isBase: request.base, vmid: request.vmid, index, ext: this.diskNameExtension(request.format) });
  }

  /**
   * The file extension a new disk name gets for a format; `undefined` (no extension) by default.
   * Path-based storages return the format.
   *
   * @param format - the image format
   */
  diskNameExtension(format: VolumeFormat | undefined): string | undefined {
    void format;
    return undefined;
  }

  /**
   * The volname a new image called `name` (as `findFreeDiskname` makes it) of guest `vmid` has
   * on this storage: what `allocImage` would return, and what the manager imports into when it
   * copies a volume here. By default `name` itself when `parseVolname` accepts it, else
   * `<vmid>/<name>` (the layout of path storages) when that parses. Override when neither fits.
   *
   * @param request - the guest and the disk name
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` when no volname for the name is found
   */
  imageVolname(request: { readonly vmid: number; readonly name: string }): string {
    for (const candidate of [request.name, `${request.vmid}/${request.name}`]) {
      try {
        this.parseVolname(candidate);
        return candidate;
      } catch {
        // try the next layout
      }
    }
    throw new StorageError('INVALID_ARGUMENT', `no volume name for disk '${request.name}' of guest ${request.vmid} on storage type '${this.pluginClass.type}'`, {
      details: { name: request.name, vmid: request.vmid },
    });
  }

  /**
   * Tells whether the volume has a feature, by default from the capabilities' feature matrix.
   *
   * @see Proxmox `volume_has_feature`
   */
  async volumeHasFeature(ctx: PluginContext<C>, request: HasFeatureRequest): Promise<boolean> {
    void ctx;
    const format = request.volume.format as VolumeFormat;
    return hasFeature(this.capabilities.features, { feature: request.feature, format, isBase: request.volume.isBase, snapshot: request.snapshot });
  }

  /**
   * Returns the snapshots that block a rollback to `snapshot` (those newer than it), empty when
   * the rollback is possible. By default: none when the plugin can roll back to any snapshot,
   * else the snapshots listed after it by `volumeSnapshotInfo`.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the snapshot does not exist
   * @see Proxmox `volume_rollback_is_possible`
   */
  async volumeRollbackIsPossible(ctx: PluginContext<C>, request: SnapshotRequest): Promise<string[]> {
    const snaps = await this.volumeSnapshotInfo(ctx, request);
    const i = snaps.findIndex((s) => s.name === request.snapshot);
    if (i < 0) {
      throw new StorageError('NOT_FOUND', `snapshot '${request.snapshot}' of '${request.volume.volname}' does not exist`, {
        details: { volname: request.volume.volname, snapshot: request.snapshot },
      });
    }
    return this.capabilities.rollbackAnySnapshot ? [] : snaps.slice(i + 1).map((s) => s.name);
  }

  /**
   * Stream formats the volume can be exported in, best first. By default the capabilities'
   * `exportFormats`, without `raw+size` when snapshots are asked for.
   *
   * @see Proxmox `volume_export_formats`
   */
  async volumeExportFormats(ctx: PluginContext<C>, request: TransferFormatsRequest): Promise<StreamFormat[]> {
    void ctx;
    return this.capabilities.exportFormats.filter((f) => !(request.withSnapshots && f === 'raw+size'));
  }

  /**
   * Stream formats a volume can be imported from, best first. By default the capabilities'
   * `importFormats`, without `raw+size` when snapshots are asked for.
   *
   * @see Proxmox `volume_import_formats`
   */
  async volumeImportFormats(ctx: PluginContext<C>, request: TransferFormatsRequest): Promise<StreamFormat[]> {
    void ctx;
    return this.capabilities.importFormats.filter((f) => !(request.withSnapshots && f === 'raw+size'));
  }

  /**
   * Lists volumes of every content type. By default, the images from `listImages`, as content
   * `images`, or `rootdir` for the guests `request.guests` names as containers.
   *
   * @see Proxmox `list_volumes`
   */
  async listVolumes(ctx: PluginContext<C>, request: ListVolumesRequest): Promise<VolumeListEntry[]> {
    const wanted = request.content ?? ['images', 'rootdir'];
    if (!wanted.includes('images') && !wanted.includes('rootdir')) return [];
    const images = await this.listImages(ctx, { vmid: request.vmid });
    return imageListEntries(images, wanted, request.guests);
  }

  /** Makes the storage usable (mount, import a pool, ...). Default: nothing to do. @see Proxmox `activate_storage` */
  async activateStorage(ctx: PluginContext<C>): Promise<void> {
    void ctx;
  }

  /** Releases the storage. Default: nothing to do. @see Proxmox `deactivate_storage` */
  async deactivateStorage(ctx: PluginContext<C>): Promise<void> {
    void ctx;
  }

  /** Makes a volume usable (activate an LV, attach a device). Default: nothing to do. @see Proxmox `activate_volume` */
  async activateVolume(ctx: PluginContext<C>, request: ActivateVolumeRequest): Promise<void> {
    void ctx;
    void request;
  }

  /** Releases a volume. Default: nothing to do. @see Proxmox `deactivate_volume` */
  async deactivateVolume(ctx: PluginContext<C>, request: ActivateVolumeRequest): Promise<void> {
    void ctx;
    void request;
  }

  /**
   * The volume of this storage a filesystem path names, when it names one. Default: none (a
   * storage whose volumes are not files, or that does not map paths, answers `undefined`).
   *
   * @param ctx - the call's context
   * @param request - the path (absolute, normalised)
   * @returns the volname, or `undefined` when the path is no volume of this storage
   * @see Proxmox `PVE::Storage::path_to_volume_id`
   */
  async pathToVolname(ctx: PluginContext<C>, request: PathToVolnameRequest): Promise<string | undefined> {
    void ctx;
    void request;
    return undefined;
  }

  /** Called when a storage of this type is added, before the config is written; throw to refuse. @see Proxmox `on_add_hook` */
  async onAddHook(ctx: PluginContext<C>): Promise<void> {
    void ctx;
  }

  /** Called when a storage's config changes, before it is written; throw to refuse. @see Proxmox `on_update_hook` */
  async onUpdateHook(ctx: PluginContext<C>, previous: C): Promise<void> {
    void ctx;
    void previous;
  }

  /** Called when a storage is removed from the config. @see Proxmox `on_delete_hook` */
  async onDeleteHook(ctx: PluginContext<C>): Promise<void> {
    void ctx;
  }

  // ---- optional: NOT_SUPPORTED until overridden --------------------------------------------

  /** Turns a volume into a read-only base (template). Under the storage lock. @returns the new volname @see Proxmox `create_base` */
  async createBase(ctx: PluginContext<C>, request: CreateBaseRequest): Promise<string> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'createBase');
  }

  /**
   * Makes a linked clone of a base (or of a snapshot, where supported). Under the storage lock.
   * With `capabilities.cloneRefusesHidden`, the clone of a hidden base must fail by itself with
   * `hiddenTemplateError` and make nothing (the manager does not check). @returns the new volname
   * @see Proxmox `clone_image`
   */
  async cloneImage(ctx: PluginContext<C>, request: CloneImageRequest): Promise<string> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'cloneImage');
  }

  /**
   * Detaches a linked clone from its base: afterwards the volume reads the same bytes, no longer
   * depends on the base (`listImages` reports no `parent` for it, so the base can be freed), and
   * keeps its snapshots when `capabilities.flatten.cloneKeepsSnapshots` says so. Killed at any
   * point, the volume is either the clone it was or the flattened volume, never neither. The
   * manager calls it under the storage lock; a plugin that copies data reserves what it makes
   * and calls `ctx.nameReserved()` so that the lock is not held around the copy.
   *
   * @returns the volname afterwards (a clone's volname often names its base: `base-100-disk-0/vm-101-disk-0` becomes `vm-101-disk-0`)
   * @see OpenNebula/Ceph `flatten`, libvirt block-pull
   */
  async flattenImage(ctx: PluginContext<C>, request: FlattenImageRequest): Promise<string> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'flattenImage');
  }

  /**
   * Takes a volume back to one of its snapshots and drops all its snapshots: afterwards the volume
   * holds exactly the bytes (and size) it had at that snapshot and has no snapshots. Atomic from
   * the caller's view: killed at any point, the volume is as before or as after. Where a backend
   * rolls back only to the newest snapshot, build the new state beside the old one and swap.
   * Under the volume's lock; the manager has checked that the snapshot exists and that no clone
   * uses a snapshot of the volume.
   *
   * @see OpenNebula `snap_flatten`
   */
  async volumeSnapshotFlatten(ctx: PluginContext<C>, request: SnapshotFlattenRequest): Promise<void> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'volumeSnapshotFlatten');
  }

  /** Size, format, usage and parent of a volume. @see Proxmox `volume_size_info` */
  async volumeSizeInfo(ctx: PluginContext<C>, request: VolumeRequest): Promise<VolumeSizeInfo> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'volumeSizeInfo');
  }

  /** Grows a volume to `size` bytes. @throws {@link @stowage/core!index.StorageError | StorageError} `CANNOT_SHRINK` @see Proxmox `volume_resize` */
  async volumeResize(ctx: PluginContext<C>, request: VolumeResizeRequest): Promise<void> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'volumeResize');
  }

  /** Takes a snapshot. @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS` @see Proxmox `volume_snapshot` */
  async volumeSnapshot(ctx: PluginContext<C>, request: SnapshotRequest): Promise<void> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'volumeSnapshot');
  }

  /** Rolls a volume back to a snapshot. @throws {@link @stowage/core!index.StorageError | StorageError} `SNAPSHOT_BLOCKERS` @see Proxmox `volume_snapshot_rollback` */
  async volumeSnapshotRollback(ctx: PluginContext<C>, request: SnapshotRollbackRequest): Promise<void> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'volumeSnapshotRollback');
  }

  /** Deletes a snapshot. @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE` @see Proxmox `volume_snapshot_delete` */
  async volumeSnapshotDelete(ctx: PluginContext<C>, request: SnapshotDeleteRequest): Promise<void> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'volumeSnapshotDelete');
  }

  /** Lists a volume's snapshots, oldest first. @see Proxmox `volume_snapshot_info` */
  async volumeSnapshotInfo(ctx: PluginContext<C>, request: VolumeRequest): Promise<SnapshotInfo[]> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'volumeSnapshotInfo');
  }

  /** Moves a volume to another guest under the name given. Under the storage lock. @returns the new volname @see Proxmox `rename_volume` */
  async renameVolume(ctx: PluginContext<C>, request: RenameVolumeRequest): Promise<string> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'renameVolume');
  }

  /** Writes a volume to a stream in one of its export formats. @see Proxmox `volume_export` */
  async volumeExport(ctx: PluginContext<C>, request: VolumeExportRequest): Promise<void> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'volumeExport');
  }

  /** Reads a volume from a stream; on failure nothing is left behind. @returns the volname written @see Proxmox `volume_import` */
  async volumeImport(ctx: PluginContext<C>, request: VolumeImportRequest): Promise<string> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'volumeImport');
  }

  /** Reads a volume attribute (`notes`, `protected`). @see Proxmox `get_volume_attribute` */
  async getVolumeAttribute(ctx: PluginContext<C>, request: GetAttributeRequest): Promise<AttributeValue> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'getVolumeAttribute');
  }

  /** Sets a volume attribute. @see Proxmox `update_volume_attribute` */
  async updateVolumeAttribute(ctx: PluginContext<C>, request: UpdateAttributeRequest): Promise<void> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'updateVolumeAttribute');
  }

  /**
   * Removes the temporaries and unfinished volumes that operations left when their process
   * died (killed mid-import, a power cut): only those whose owner token says their owner is
   * dead (see `ownerState`), each checked by identity (inode, LV UUID, ZFS guid, ...) right
   * before removal, never by name alone. Another node's are kept. The manager calls it before
   * the first operation on a storage, and then at most every `gcIntervalMs`.
   *
   * @param ctx - the operation context
   * @param request - `dryRun`: report only
   * @returns what was removed and what was kept
   */
  async collectGarbage(ctx: PluginContext<C>, request: CollectGarbageRequest): Promise<GarbageReport> {
    void ctx;
    void request;
    return notSupported(this.pluginClass.type, 'collectGarbage');
  }
}

function lastSegment(volname: string): string {
  const i = volname.lastIndexOf('/');
  return i < 0 ? volname : volname.slice(i + 1);
}

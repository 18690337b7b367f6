/**
 * The `memory` reference plugin: every method of the contract, implemented on an in-memory store
 * reached through commands, the way a real plugin reaches its storage through its tools.
 *
 * @module
 */
import { API_VERSION } from '../../api-version.js';
import type { PluginCapabilities } from '../../capabilities.js';
import type {
  ActivateVolumeRequest,
  AllocImageRequest,
  AttributeValue,
  CloneImageRequest,
  CollectGarbageRequest,
  CreateBaseRequest,
  FlattenImageRequest,
  FindFreeDisknameRequest,
  FreeImageRequest,
  GarbageReport,
  GetAttributeRequest,
  ImageInfo,
  ListImagesRequest,
  ParsedVolume,
  PathRequest,
  PluginContext,
  RenameVolumeRequest,
  SnapshotDeleteRequest,
  SnapshotFlattenRequest,
  SnapshotInfo,
  SnapshotRequest,
  SnapshotRollbackRequest,
  StorageStatus,
  UpdateAttributeRequest,
  VolumeExportRequest,
  VolumeImportRequest,
  VolumePath,
  VolumeRequest,
  VolumeResizeRequest,
  VolumeSizeInfo,
} from '../../plugin-types.js';
import { StoragePlugin } from '../../storage-plugin.js';
import { memoryCapabilities } from './capabilities.js';
import { memoryConfigSchema, type MemoryConfig } from './config.js';
import { find, memoryContext, snapshots } from './exec.js';
import { parseMemoryVolname } from './names.js';
import * as flatten from './ops-flatten.js';
import * as read from './ops-read.js';
import * as snapshot from './ops-snapshot.js';
import * as transfer from './ops-transfer.js';
import * as volumes from './ops-volume.js';
import type { MemorySnapshotRecord, MemoryVolumeRecord } from './store.js';

/**
 * The in-memory reference plugin (type `memory`). It implements every method of the contract
 * with Proxmox's semantics and ZFS-style names (`vm-100-disk-0`, `base-100-disk-0`, linked clones
 * `base-100-disk-0/vm-101-disk-0`); its data lives in a {@link MemoryStore} that it reaches only
 * through `stowage-memory` commands run by the context's runner (a {@link MemoryRunner}), so
 * failures can be injected into any step with a `FaultInjectingRunner`.
 *
 * Read it as a worked example of a plugin; use it to test code built on the manager without real
 * storage. Variants with fewer capabilities come from {@link defineMemoryPlugin}.
 *
 * @example
 * ```ts
 * const storages = await StorageManager.open({
 *   plugins: [MemoryPlugin],
 *   config: [{ type: 'memory', storage: 'mem' }],
 *   runner: new MemoryRunner(),
 * });
 * const volid = await storages.allocImage('mem', { vmid: 100, size: 64 * 1024 ** 2 }); // 'mem:vm-100-disk-0'
 * ```
 */
export class MemoryPlugin extends StoragePlugin<MemoryConfig> {
  /** `memory`. */
  static override readonly type: string = 'memory';
  /** Written for this core's API version. */
  static override readonly apiVersion: number = API_VERSION;
  /** The base options plus `pool`. */
  static override readonly configSchema = memoryConfigSchema;
  /** Everything on: any-snapshot rollback, clone from snapshot, shrink, notes, protected and hidden, flatten. */
  static override readonly capabilities: PluginCapabilities = memoryCapabilities();

  /** @see Proxmox `parse_volname` */
  override parseVolname(volname: string): ParsedVolume {
    return parseMemoryVolname(volname);
  }

  /**
   * The pool entry of an existing volume, for variants that do things their own way; the
   * volname must match the listed one exactly.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
   */
  find(ctx: PluginContext<MemoryConfig>, volume: ParsedVolume): Promise<MemoryVolumeRecord> {
    return find(ctx, volume);
  }

  /** A volume's snapshots, oldest first, for variants. @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` */
  snapshots(ctx: PluginContext<MemoryConfig>, volume: ParsedVolume): Promise<MemorySnapshotRecord[]> {
    return snapshots(ctx, volume);
  }

  /** The lowest free disk name, counting unfinished volumes too. @see Proxmox `find_free_diskname` */
  override findFreeDiskname(ctx: PluginContext<MemoryConfig>, request: FindFreeDisknameRequest): Promise<string> {
    return read.findFreeDiskname(memoryContext(ctx, this), request);
  }

  /** Destroys the unfinished volumes of dead owners, each checked by guid. */
  override collectGarbage(ctx: PluginContext<MemoryConfig>, request: CollectGarbageRequest): Promise<GarbageReport> {
    return volumes.collectGarbage(memoryContext(ctx, this), request);
  }

  /** @see Proxmox `list_images` */
  override listImages(ctx: PluginContext<MemoryConfig>, request: ListImagesRequest): Promise<ImageInfo[]> {
    return read.listImages(memoryContext(ctx, this), request);
  }

  /** @see Proxmox `alloc_image` */
  override allocImage(ctx: PluginContext<MemoryConfig>, request: AllocImageRequest): Promise<string> {
    return volumes.allocImage(memoryContext(ctx, this), request);
  }

  /** Removes the volume and its snapshots (checked by guid); `NOT_FOUND` when it does not exist. @see Proxmox `free_image` */
  override freeImage(ctx: PluginContext<MemoryConfig>, request: FreeImageRequest): Promise<void> {
    return volumes.freeImage(memoryContext(ctx, this), request);
  }

  /** @see Proxmox `status` */
  override status(ctx: PluginContext<MemoryConfig>): Promise<StorageStatus> {
    return read.status(memoryContext(ctx, this));
  }

  /** `memory://<pool>/<name>[@<snapshot>]`; does not check that the volume exists. @see Proxmox `path` */
  override path(ctx: PluginContext<MemoryConfig>, request: PathRequest): Promise<VolumePath> {
    return read.path(memoryContext(ctx, this), request);
  }

  /** Renames `vm-` to `base-` and makes the volume read-only; undoes the rename if that fails. @see Proxmox `create_base` */
  override createBase(ctx: PluginContext<MemoryConfig>, request: CreateBaseRequest): Promise<string> {
    return volumes.createBase(memoryContext(ctx, this), request);
  }

  /** A linked clone of a base, or of a snapshot when the variant supports it. @see Proxmox `clone_image` */
  override cloneImage(ctx: PluginContext<MemoryConfig>, request: CloneImageRequest): Promise<string> {
    return volumes.cloneImage(memoryContext(ctx, this), request);
  }

  /** @see Proxmox `volume_size_info` */
  override volumeSizeInfo(ctx: PluginContext<MemoryConfig>, request: VolumeRequest): Promise<VolumeSizeInfo> {
    return read.volumeSizeInfo(memoryContext(ctx, this), request);
  }

  /** Grows (or, when the variant allows, shrinks) a volume. @see Proxmox `volume_resize` */
  override volumeResize(ctx: PluginContext<MemoryConfig>, request: VolumeResizeRequest): Promise<void> {
    return volumes.volumeResize(memoryContext(ctx, this), request);
  }

  /** @see Proxmox `volume_snapshot` */
  override volumeSnapshot(ctx: PluginContext<MemoryConfig>, request: SnapshotRequest): Promise<void> {
    return snapshot.volumeSnapshot(memoryContext(ctx, this), request);
  }

  /** @see Proxmox `volume_snapshot_info` */
  override volumeSnapshotInfo(ctx: PluginContext<MemoryConfig>, request: VolumeRequest): Promise<SnapshotInfo[]> {
    return snapshot.volumeSnapshotInfo(memoryContext(ctx, this), request);
  }

  /**
   * Rolls back; when only the newest snapshot can be rolled back to, newer ones are destroyed
   * if `destroyBlockers` is set and otherwise refused with `SNAPSHOT_BLOCKERS`.
   *
   * @see Proxmox `volume_snapshot_rollback`
   */
  override volumeSnapshotRollback(ctx: PluginContext<MemoryConfig>, request: SnapshotRollbackRequest): Promise<void> {
    return snapshot.volumeSnapshotRollback(memoryContext(ctx, this), request);
  }

  /** @see Proxmox `volume_snapshot_delete` */
  override volumeSnapshotDelete(ctx: PluginContext<MemoryConfig>, request: SnapshotDeleteRequest): Promise<void> {
    return snapshot.volumeSnapshotDelete(memoryContext(ctx, this), request);
  }

  /** Takes the volume back to a snapshot and drops every snapshot, in one store command. @see OpenNebula `snap_flatten` */
  override volumeSnapshotFlatten(ctx: PluginContext<MemoryConfig>, request: SnapshotFlattenRequest): Promise<void> {
    return flatten.volumeSnapshotFlatten(memoryContext(ctx, this), request);
  }

  /** Detaches a linked clone from its origin in one store command, keeping its snapshots. @see Ceph `rbd flatten` */
  override flattenImage(ctx: PluginContext<MemoryConfig>, request: FlattenImageRequest): Promise<string> {
    return flatten.flattenImage(memoryContext(ctx, this), request);
  }

  /** Moves a (non-base) volume to another guest under the name given. @see Proxmox `rename_volume` */
  override renameVolume(ctx: PluginContext<MemoryConfig>, request: RenameVolumeRequest): Promise<string> {
    return volumes.renameVolume(memoryContext(ctx, this), request);
  }

  /** Checks that the volume (and snapshot) exist; there is nothing else to activate. @see Proxmox `activate_volume` */
  override activateVolume(ctx: PluginContext<MemoryConfig>, request: ActivateVolumeRequest): Promise<void> {
    return read.activateVolume(memoryContext(ctx, this), request);
  }

  /** `raw+size` of the volume or one of its snapshots. @see Proxmox `volume_export` */
  override volumeExport(ctx: PluginContext<MemoryConfig>, request: VolumeExportRequest): Promise<void> {
    return transfer.volumeExport(memoryContext(ctx, this), request);
  }

  /** A new volume from a `raw+size` stream; nothing is left behind on failure. @see Proxmox `volume_import` */
  override volumeImport(ctx: PluginContext<MemoryConfig>, request: VolumeImportRequest): Promise<string> {
    return transfer.volumeImport(memoryContext(ctx, this), request);
  }

  /** `notes` (text), `protected` and `hidden` (booleans), as the variant's capabilities allow. @see Proxmox `get_volume_attribute` */
  override getVolumeAttribute(ctx: PluginContext<MemoryConfig>, request: GetAttributeRequest): Promise<AttributeValue> {
    return read.getVolumeAttribute(memoryContext(ctx, this), request);
  }

  /** @see Proxmox `update_volume_attribute` */
  override updateVolumeAttribute(ctx: PluginContext<MemoryConfig>, request: UpdateAttributeRequest): Promise<void> {
    return volumes.updateVolumeAttribute(memoryContext(ctx, this), request);
  }
}

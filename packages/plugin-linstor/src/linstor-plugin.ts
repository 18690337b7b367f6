/**
 * The `linstor` storage plugin: DRBD-replicated raw volumes managed through the LINSTOR
 * controller's REST API. Each method here checks its request and hands over to `ops/`.
 *
 * @module
 */
import {
  API_VERSION,
  StorageError,
  formatVolumeId,
  type GarbageReport,
  type ImageInfo,
  type ParsedVolume,
  type SnapshotInfo,
  type StorageStatus,
  type VolumePath,
  type VolumeSizeInfo,
} from '@stowage/core';
import {
  findFreeDiskIndex,
  formatDiskName,
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
import { StoragePlugin } from '@stowage/core/plugin';
import { modifyResourceDefinition, resizeVolume } from './client/api.js';
import { clientFromConfig, connectionKey } from './client/from-config.js';
import type { LinstorClient } from './client/linstor-client.js';
import { linstorCapabilities } from './capabilities.js';
import { linstorConfigSchema, type LinstorConfig } from './config.js';
import { formatLinstorVolname, parseLinstorVolname, PROP_NAME, PROP_VMID, toKib } from './names.js';
import { activate, deactivate, devicePath } from './ops/activate.js';
import { createVolume, freeVolume } from './ops/alloc-free.js';
import { cloneBase, makeBase } from './ops/base-clone.js';
import type { LinstorEnv } from './ops/env.js';
import { snapshotInfo } from './ops/snapshot-info.js';
import { removeSnapshot, rollbackTo, takeSnapshot } from './ops/snapshots.js';
import { StatusCache } from './ops/status.js';
import { exportRaw, exportSnapshotRaw, importVolume } from './ops/transfer.js';
import { collectUnfinished } from './ops/unfinished.js';
import { dropSnapshotVolume, openSnapshotVolume, snapshotVolumeName } from './ops/snapshot-volume.js';
import { assertNameFree, forgetView, loadAll, loadVolumes, requireVolume, type LinstorVolume } from './ops/view.js';

function notSupported(what: string): never {
  throw new StorageError('NOT_SUPPORTED', `storage type 'linstor' does not support ${what}`, { details: { type: 'linstor', what } });
}

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
  /** The config schema. */
  static override readonly configSchema = linstorConfigSchema;
  /** The capabilities. */
  static override readonly capabilities = linstorCapabilities;

  #client: { key: string; client: Promise<LinstorClient> } | undefined;
  readonly #status = new StatusCache();

  async #env(ctx: PluginContext<LinstorConfig>): Promise<LinstorEnv> {
    const config = linstorConfigSchema.parse(ctx.config) as LinstorConfig;
    const key = connectionKey(config);
    if (this.#client?.key !== key) {
      const old = this.#client;
      const client = clientFromConfig(config);
      client.catch(() => undefined);
      this.#client = { key, client };
      if (old) void old.client.then((c) => c.close()).catch(() => undefined);
    }
    let client: LinstorClient;
    try {
      client = await this.#client.client;
    } catch (e) {
      this.#client = undefined;
      throw e;
    }
    return { ctx, client, config, node: config.node ?? ctx.node, call: { signal: ctx.signal, log: ctx.log } };
  }

  #written(env: LinstorEnv): void {
    forgetView(env);
    this.#status.clear();
  }

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
    const env = await this.#env(ctx);
    const all = await loadVolumes(env);
    let vols = all;
    if (request.volnames) {
      const want = new Set(request.volnames);
      vols = vols.filter((v) => want.has(v.volname));
    } else if (request.vmid !== undefined) vols = vols.filter((v) => v.vmid === request.vmid);
    return vols.map((v) => this.#imageInfo(ctx, v, all));
  }

  #imageInfo(ctx: PluginContext<LinstorConfig>, v: LinstorVolume, all: readonly LinstorVolume[]): ImageInfo {
    const base = v.baseRd ? all.find((o) => o.rd.toLowerCase() === v.baseRd?.toLowerCase()) : undefined;
    return {
      volid: formatVolumeId(ctx.storeId, v.volname),
      volname: v.volname,
      format: 'raw',
      size: v.size,
      used: v.used,
      vmid: v.vmid,
      isBase: v.isBase,
      parent: base ? formatVolumeId(ctx.storeId, base.volname) : undefined,
      ctime: v.ctime,
    };
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
    if (request.format !== 'raw') throw new StorageError('INVALID_ARGUMENT', `linstor volumes are raw, not ${request.format}`, { details: { format: request.format } });
    const parsed = parseLinstorVolname(request.name);
    if (parsed.baseName) throw new StorageError('INVALID_ARGUMENT', `cannot allocate a linked clone name '${request.name}'`, { details: { name: request.name } });
    const env = await this.#env(ctx);
    await createVolume(env, { name: parsed.name, vmid: request.vmid, size: request.size });
    this.#written(env);
    return parsed.name;
  }

  /**
   * Frees a volume: refuses a base with clones, waits a bounded time while it is in use, deletes
   * its snapshots, then the resource definition.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (also for a volume being imported), `IN_USE`
   * @see Proxmox `LINSTORPlugin::free_image`
   */
  override async freeImage(ctx: PluginContext<LinstorConfig>, request: FreeImageRequest): Promise<void> {
    const env = await this.#env(ctx);
    await freeVolume(env, request.volume);
    this.#written(env);
  }

  /**
   * The resource group's capacity, cached for `statusCacheSeconds`; `active: false` when the
   * controller or the group cannot be reached.
   *
   * @see Proxmox `LINSTORPlugin::status`
   */
  override async status(ctx: PluginContext<LinstorConfig>): Promise<StorageStatus> {
    return this.#status.get(await this.#env(ctx));
  }

  /**
   * The local DRBD device, `/dev/drbd/by-res/<res>/0`; for a snapshot, the device of the
   * definition it is restored into on activation.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
   * @see Proxmox `LINSTORPlugin::path`
   */
  override async path(ctx: PluginContext<LinstorConfig>, request: PathRequest): Promise<VolumePath> {
    const env = await this.#env(ctx);
    const v = await requireVolume(env, request.volume);
    const rd = request.snapshot ? snapshotVolumeName(v.rd, request.snapshot) : v.rd;
    return { path: devicePath(env, rd), vmid: v.vmid, vtype: 'images' };
  }

  /**
   * Makes the volume usable here, or on `request.node` (a diskless replica when there is no
   * replica there). A snapshot is first restored into its own definition.
   *
   * @see Proxmox `LINSTORPlugin::activate_volume`
   */
  override async activateVolume(ctx: PluginContext<LinstorConfig>, request: ActivateVolumeRequest): Promise<void> {
    const env = await this.#env(ctx);
    const v = await requireVolume(env, request.volume);
    await activate(env, request.snapshot ? (await openSnapshotVolume(env, v, request.snapshot)).volume : v, request.node);
  }

  /**
   * Removes this node's replica (or `request.node`'s) if it is one this plugin made diskless for
   * an activation; for a snapshot, removes the definition it was restored into.
   *
   * @see Proxmox `LINSTORPlugin::deactivate_volume`
   */
  override async deactivateVolume(ctx: PluginContext<LinstorConfig>, request: ActivateVolumeRequest): Promise<void> {
    const env = await this.#env(ctx);
    const v = await requireVolume(env, request.volume);
    if (request.snapshot) await dropSnapshotVolume(env, v.rd, request.snapshot);
    else await deactivate(env, v, request.node);
  }

  /**
   * Turns a volume into a read-only base (its name becomes `base-…`).
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`, `ALREADY_EXISTS`
   * @see Proxmox `create_base`
   */
  override async createBase(ctx: PluginContext<LinstorConfig>, request: CreateBaseRequest): Promise<string> {
    const env = await this.#env(ctx);
    const name = await makeBase(env, await requireVolume(env, request.volume));
    this.#written(env);
    return name;
  }

  /**
   * Clones a base through LINSTOR's clone API, polled to `COMPLETE` or `FAILED`.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (not a base), `NOT_SUPPORTED` (from a snapshot), `COMMAND_FAILED`, `TIMEOUT`
   * @see Proxmox `clone_image`
   */
  override async cloneImage(ctx: PluginContext<LinstorConfig>, request: CloneImageRequest): Promise<string> {
    if (request.snapshot) notSupported('cloning from a snapshot');
    const own = request.name.split('/').pop() as string;
    parseLinstorVolname(own);
    const env = await this.#env(ctx);
    const volname = await cloneBase(env, await requireVolume(env, request.volume), { name: own, vmid: request.vmid });
    this.#written(env);
    return volname;
  }

  /** Size, usage and parent of a volume. @see Proxmox `volume_size_info` */
  override async volumeSizeInfo(ctx: PluginContext<LinstorConfig>, request: VolumeRequest): Promise<VolumeSizeInfo> {
    const env = await this.#env(ctx);
    const v = await requireVolume(env, request.volume);
    const all = await loadVolumes(env);
    return { size: v.size, format: 'raw', used: v.used, parent: this.#imageInfo(ctx, v, all).parent, ctime: v.ctime };
  }

  /**
   * Grows volume 0 of the definition.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `CANNOT_SHRINK`, `INVALID_ARGUMENT` (a base is read-only)
   * @see Proxmox `LINSTORPlugin::volume_resize`
   */
  override async volumeResize(ctx: PluginContext<LinstorConfig>, request: VolumeResizeRequest): Promise<void> {
    const env = await this.#env(ctx);
    const v = await requireVolume(env, request.volume);
    if (v.isBase) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is a base volume and read-only`, { details: { volname: v.volname } });
    const current = v.definition.volume_definitions?.find((d) => (d.volume_number ?? 0) === 0)?.size_kib ?? toKib(v.size);
    const wanted = toKib(request.size);
    if (wanted < current) {
      throw new StorageError('CANNOT_SHRINK', `cannot shrink '${v.volname}' from ${current * 1024} to ${request.size} bytes`, {
        details: { volname: v.volname, size: current * 1024, requested: request.size },
      });
    }
    if (wanted === current) return;
    await resizeVolume(env.client, env.call, v.rd, wanted);
    this.#written(env);
  }

  /** Takes a snapshot (`snap_<name>` in LINSTOR). @see Proxmox `LINSTORPlugin::volume_snapshot` */
  override async volumeSnapshot(ctx: PluginContext<LinstorConfig>, request: SnapshotRequest): Promise<void> {
    const env = await this.#env(ctx);
    await takeSnapshot(env, await requireVolume(env, request.volume), request.snapshot);
    this.#written(env);
  }

  /**
   * Rolls back to the most recent snapshot (newer ones are blockers).
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `SNAPSHOT_BLOCKERS`, `NOT_FOUND`, `IN_USE`, `INVALID_ARGUMENT` (base)
   * @see Proxmox `LINSTORPlugin::volume_snapshot_rollback`
   */
  override async volumeSnapshotRollback(ctx: PluginContext<LinstorConfig>, request: SnapshotRollbackRequest): Promise<void> {
    const env = await this.#env(ctx);
    const v = await requireVolume(env, request.volume);
    if (v.isBase) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is a base volume and read-only`, { details: { volname: v.volname } });
    await rollbackTo(env, v, request.snapshot, request.destroyBlockers ?? false);
    this.#written(env);
  }

  /** Deletes a snapshot. @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` @see Proxmox `LINSTORPlugin::volume_snapshot_delete` */
  override async volumeSnapshotDelete(ctx: PluginContext<LinstorConfig>, request: SnapshotDeleteRequest): Promise<void> {
    const env = await this.#env(ctx);
    await removeSnapshot(env, await requireVolume(env, request.volume), request.snapshot);
    this.#written(env);
  }

  /** The volume's snapshots, oldest first. @see Proxmox `volume_snapshot_info` */
  override async volumeSnapshotInfo(ctx: PluginContext<LinstorConfig>, request: VolumeRequest): Promise<SnapshotInfo[]> {
    const env = await this.#env(ctx);
    return snapshotInfo(env, await requireVolume(env, request.volume));
  }

  /**
   * Moves a volume to another guest by rewriting its name properties; the LINSTOR resource keeps its name.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`
   * @see Proxmox `LINSTORPlugin::rename_volume`
   */
  override async renameVolume(ctx: PluginContext<LinstorConfig>, request: RenameVolumeRequest): Promise<string> {
    const own = request.targetName.split('/').pop() as string;
    const target = parseLinstorVolname(own);
    const env = await this.#env(ctx);
    const v = await requireVolume(env, request.volume);
    await assertNameFree(env, target.name);
    await modifyResourceDefinition(env.client, env.call, v.rd, { override_props: { [PROP_NAME]: target.name, [PROP_VMID]: String(request.targetVmid) } });
    this.#written(env);
    return formatLinstorVolname(target.name, v.baseName);
  }

  /**
   * Writes `raw+size` from the local device (of the volume, or of a snapshot restored for the export).
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (other formats, snapshots in the stream), `NOT_FOUND`
   * @see Proxmox `volume_export`
   */
  override async volumeExport(ctx: PluginContext<LinstorConfig>, request: VolumeExportRequest): Promise<void> {
    if (request.format !== 'raw+size') notSupported(`export format ${request.format}`);
    if (request.baseSnapshot || request.withSnapshots) notSupported('exporting snapshots in the stream');
    const env = await this.#env(ctx);
    const v = await requireVolume(env, request.volume);
    if (request.snapshot) await exportSnapshotRaw(env, v, request.snapshot, request.output, request.onProgress);
    else await exportRaw(env, v, request.output, request.onProgress);
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
    if (request.format !== 'raw+size') notSupported(`import format ${request.format}`);
    if (request.snapshot || request.baseSnapshot || request.withSnapshots) notSupported('importing snapshots');
    if (request.volume.baseName) throw new StorageError('INVALID_ARGUMENT', `cannot import into a linked clone name '${request.volume.volname}'`);
    const env = await this.#env(ctx);
    try {
      return await importVolume(env, request, () => this.findFreeDiskname(ctx, { vmid: request.volume.vmid as number, base: request.volume.isBase }));
    } finally {
      this.#written(env);
    }
  }

  /**
   * The lowest free disk name of a guest, counting unfinished volumes (their names are taken).
   *
   * @see Proxmox `find_free_diskname`
   */
  override async findFreeDiskname(ctx: PluginContext<LinstorConfig>, request: FindFreeDisknameRequest): Promise<string> {
    const taken = (await loadAll(await this.#env(ctx))).map((v) => v.name);
    return formatDiskName({ isBase: request.base, vmid: request.vmid, index: findFreeDiskIndex(request.vmid, taken) });
  }

  /**
   * Deletes the unfinished volumes (definitions marked `Aux/stowage/incomplete`) whose owner
   * process is dead, each checked by its uuid; reports those of live owners and of other nodes.
   */
  override async collectGarbage(ctx: PluginContext<LinstorConfig>, request: CollectGarbageRequest): Promise<GarbageReport> {
    const env = await this.#env(ctx);
    const report = await collectUnfinished(env, request.dryRun === true);
    if (report.removed.length > 0) this.#written(env);
    return report;
  }

  /** Closes the connection pool of this storage. @see Proxmox `deactivate_storage` */
  override async deactivateStorage(ctx: PluginContext<LinstorConfig>): Promise<void> {
    void ctx;
    const c = this.#client;
    this.#client = undefined;
    if (c) await (await c.client).close();
  }
}

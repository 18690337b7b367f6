/**
 * The `memory` reference plugin: every method of the contract, implemented on an in-memory store
 * reached through commands, the way a real plugin reaches its storage through its tools.
 *
 * @module
 */
import { API_VERSION } from '../../api-version.js';
import type { PluginCapabilities } from '../../capabilities.js';
import { StorageError } from '../../errors.js';
import type {
  ActivateVolumeRequest,
  AllocImageRequest,
  AttributeValue,
  CloneImageRequest,
  CollectGarbageRequest,
  CreateBaseRequest,
  FindFreeDisknameRequest,
  FreeImageRequest,
  GarbageItem,
  GarbageReport,
  GetAttributeRequest,
  ImageInfo,
  ListImagesRequest,
  ParsedVolume,
  PathRequest,
  PluginContext,
  RenameVolumeRequest,
  SnapshotDeleteRequest,
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
import { ownerState } from '../../owner.js';
import { findFreeDiskIndex, formatDiskName, formatVolumeId } from '../../volume-id.js';
import {
  cloneArgs,
  createArgs,
  destroyArgs,
  destroyIdentifiedArgs,
  dfArgs,
  listArgs,
  renameArgs,
  resizeArgs,
  rollbackArgs,
  setArgs,
  snapshotArgs,
  snapshotsArgs,
} from './commands.js';
import { INCOMPLETE_PROP, memoryCapabilities, memoryConfigSchema, memoryPool, type MemoryConfig } from './config.js';
import { assertNewVolumeName, isImageName, listedVolname, parseMemoryVolname } from './names.js';
import { parseSnapshotList, parseUsage, parseVolumeList, rethrowClassified } from './parse.js';
import type { MemorySnapshotRecord, MemoryVolumeRecord } from './store.js';
import { exportRaw, importRaw } from './transfer.js';

/** A pool entry with the volname it is listed under. */
export interface MemoryListedVolume {
  /** The pool entry. */
  readonly record: MemoryVolumeRecord;
  /** Its volname (`base-.../vm-...` for a linked clone of a base). */
  readonly volname: string;
}

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
  /** Everything on: any-snapshot rollback, clone from snapshot, shrink, notes and protected. */
  static override readonly capabilities: PluginCapabilities = memoryCapabilities();

  /** @see Proxmox `parse_volname` */
  override parseVolname(volname: string): ParsedVolume {
    return parseMemoryVolname(volname);
  }

  /** Every volume in the pool, finished or not (one `list` per operation). */
  async records(ctx: PluginContext<MemoryConfig>): Promise<MemoryVolumeRecord[]> {
    const pool = memoryPool(ctx);
    return ctx.cache.shared(`memory:list:${pool}`, async () => parseVolumeList((await ctx.run(listArgs(pool))).stdout));
  }

  /** Every finished image in the pool with the volname it is listed under; unfinished ones (being imported) are left out. */
  async listed(ctx: PluginContext<MemoryConfig>): Promise<MemoryListedVolume[]> {
    return (await this.records(ctx))
      .filter((r) => isImageName(r.name) && r.props[INCOMPLETE_PROP] === undefined)
      .map((record) => ({ record, volname: listedVolname(record.name, record.origin) }));
  }

  /**
   * The lowest free disk name, counting unfinished volumes too (their names are taken), and the
   * names of `request.taken`.
   *
   * @see Proxmox `find_free_diskname`
   */
  override async findFreeDiskname(ctx: PluginContext<MemoryConfig>, request: FindFreeDisknameRequest): Promise<string> {
    const taken = [...(await this.records(ctx)).map((r) => r.name), ...(request.taken ?? [])];
    return formatDiskName({ isBase: request.base, vmid: request.vmid, index: findFreeDiskIndex(request.vmid, taken) });
  }

  /**
   * Destroys unfinished volumes (imports whose process died) whose owner is dead, each only if
   * it still has the guid it was listed with.
   */
  override async collectGarbage(ctx: PluginContext<MemoryConfig>, request: CollectGarbageRequest): Promise<GarbageReport> {
    const removed: GarbageItem[] = [];
    const kept: GarbageItem[] = [];
    for (const r of await this.records(ctx)) {
      const owner = r.props[INCOMPLETE_PROP];
      if (owner === undefined) continue;
      const state = ownerState(owner, ctx.node);
      const item: GarbageItem = { name: r.name, owner, reason: `owner-${state}` };
      if (state !== 'dead') {
        kept.push(item);
        continue;
      }
      if (request.dryRun !== true) {
        await ctx.run(destroyIdentifiedArgs(memoryPool(ctx), r.name, r.guid)).catch((e: unknown) => rethrowClassified(e, { name: r.name }));
        ctx.cache.invalidate();
      }
      removed.push(item);
    }
    return { removed, kept };
  }

  /**
   * The pool entry of an existing volume; the volname must match the listed one exactly.
   *
   * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
   */
  async find(ctx: PluginContext<MemoryConfig>, volume: ParsedVolume): Promise<MemoryVolumeRecord> {
    const hit = (await this.listed(ctx)).find((l) => l.volname === volume.volname);
    if (!hit) throw volumeNotFound(ctx, volume);
    return hit.record;
  }

  /** @see Proxmox `list_images` */
  override async listImages(ctx: PluginContext<MemoryConfig>, request: ListImagesRequest): Promise<ImageInfo[]> {
    const all = await this.listed(ctx);
    const volnameOf = new Map(all.map((l) => [l.record.name, l.volname]));
    const parentOf = (origin: string | undefined): string | undefined => {
      if (origin === undefined) return undefined;
      const [name = '', snap] = origin.split('@');
      const volname = volnameOf.get(name) ?? name;
      return formatVolumeId(ctx.storeId, snap === undefined ? volname : `${volname}@${snap}`);
    };
    return all
      .map(({ record: r, volname }): ImageInfo => {
        const p = parseMemoryVolname(volname);
        return {
          volid: formatVolumeId(ctx.storeId, volname),
          volname,
          format: 'raw',
          size: r.size,
          used: r.used,
          vmid: p.vmid!,
          isBase: p.isBase,
          parent: parentOf(r.origin),
          ctime: r.ctime,
        };
      })
      .filter((i) => (request.volnames ? request.volnames.includes(i.volname) : request.vmid === undefined || i.vmid === request.vmid))
      .sort((a, b) => (a.volid < b.volid ? -1 : a.volid > b.volid ? 1 : 0));
  }

  /** @see Proxmox `alloc_image` */
  override async allocImage(ctx: PluginContext<MemoryConfig>, request: AllocImageRequest): Promise<string> {
    if (request.format !== 'raw') {
      throw new StorageError('INVALID_ARGUMENT', `format '${request.format}' is not supported by memory storage`, { details: { format: request.format } });
    }
    assertSize(request.size);
    assertNewVolumeName(request.name, request.vmid);
    await ctx.run(createArgs(memoryPool(ctx), request.name, request.size)).catch((e: unknown) => rethrowClassified(e, { name: request.name }));
    return request.name;
  }

  /** Removes the volume and its snapshots (checked by guid); `NOT_FOUND` when it does not exist. @see Proxmox `free_image` */
  override async freeImage(ctx: PluginContext<MemoryConfig>, request: FreeImageRequest): Promise<void> {
    const record = await this.find(ctx, request.volume);
    await ctx.run(destroyIdentifiedArgs(memoryPool(ctx), record.name, record.guid)).catch((e: unknown) => rethrowClassified(e, { volname: request.volume.volname }));
  }

  /** @see Proxmox `status` */
  override async status(ctx: PluginContext<MemoryConfig>): Promise<StorageStatus> {
    const u = await ctx.cache.shared('memory:df', async () => parseUsage((await ctx.run(dfArgs())).stdout));
    return { total: u.total, used: u.used, available: u.available, active: true };
  }

  /** `memory://<pool>/<name>[@<snapshot>]`; does not check that the volume exists. @see Proxmox `path` */
  override async path(ctx: PluginContext<MemoryConfig>, request: PathRequest): Promise<VolumePath> {
    const v = request.volume;
    const at = request.snapshot === undefined ? '' : `@${request.snapshot}`;
    return { path: `memory://${memoryPool(ctx)}/${v.name}${at}`, vmid: v.vmid, vtype: v.vtype };
  }

  /** Renames `vm-` to `base-` and makes the volume read-only; undoes the rename if that fails. @see Proxmox `create_base` */
  override async createBase(ctx: PluginContext<MemoryConfig>, request: CreateBaseRequest): Promise<string> {
    const v = request.volume;
    if (v.isBase) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is already a base`, { details: { volname: v.volname } });
    await this.find(ctx, v);
    const pool = memoryPool(ctx);
    const baseName = `base-${v.name.slice('vm-'.length)}`;
    await ctx.run(renameArgs(pool, v.name, baseName)).catch((e: unknown) => rethrowClassified(e, { volname: v.volname }));
    try {
      await ctx.run(setArgs(pool, baseName, 'readonly', '1'));
    } catch (e) {
      await ctx.run(renameArgs(pool, baseName, v.name)).catch((undo: unknown) => {
        ctx.log.warn('could not undo the rename of a failed createBase', { volname: v.volname, error: String(undo) });
      });
      rethrowClassified(e, { volname: v.volname });
    }
    ctx.cache.invalidate();
    return v.baseName === undefined ? baseName : `${v.baseName}/${baseName}`;
  }

  /** A linked clone of a base, or of a snapshot when the variant supports it. @see Proxmox `clone_image` */
  override async cloneImage(ctx: PluginContext<MemoryConfig>, request: CloneImageRequest): Promise<string> {
    const v = request.volume;
    assertNewVolumeName(request.name, request.vmid);
    if (request.snapshot !== undefined && !this.capabilities.cloneFromSnapshot) {
      throw new StorageError('NOT_SUPPORTED', `storage type '${this.pluginClass.type}' cannot clone from a snapshot`, { details: { volname: v.volname } });
    }
    if (request.snapshot === undefined && !v.isBase) {
      throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is not a base: clone a base, or name a snapshot`, { details: { volname: v.volname } });
    }
    await this.find(ctx, v);
    await ctx
      .run(cloneArgs(memoryPool(ctx), v.name, request.snapshot, request.name))
      .catch((e: unknown) => rethrowClassified(e, { volname: v.volname, snapshot: request.snapshot }));
    return request.snapshot === undefined ? `${v.name}/${request.name}` : request.name;
  }

  /** @see Proxmox `volume_size_info` */
  override async volumeSizeInfo(ctx: PluginContext<MemoryConfig>, request: VolumeRequest): Promise<VolumeSizeInfo> {
    const [info] = await this.listImages(ctx, { volnames: [request.volume.volname] });
    if (!info) throw volumeNotFound(ctx, request.volume);
    return { size: info.size, format: info.format, used: info.used, parent: info.parent, ctime: info.ctime };
  }

  /** Grows (or, when the variant allows, shrinks) a volume. @see Proxmox `volume_resize` */
  override async volumeResize(ctx: PluginContext<MemoryConfig>, request: VolumeResizeRequest): Promise<void> {
    assertSize(request.size);
    const r = await this.find(ctx, request.volume);
    if (request.size === r.size) return;
    if (request.size < r.size && !this.capabilities.shrink) {
      throw new StorageError('CANNOT_SHRINK', `cannot shrink '${request.volume.volname}' from ${r.size} to ${request.size} bytes`, {
        details: { volname: request.volume.volname, size: r.size, requested: request.size },
      });
    }
    await ctx.run(resizeArgs(memoryPool(ctx), r.name, request.size)).catch((e: unknown) => rethrowClassified(e, { volname: request.volume.volname }));
  }

  /** @see Proxmox `volume_snapshot` */
  override async volumeSnapshot(ctx: PluginContext<MemoryConfig>, request: SnapshotRequest): Promise<void> {
    const r = await this.find(ctx, request.volume);
    await ctx.run(snapshotArgs(memoryPool(ctx), r.name, request.snapshot)).catch((e: unknown) => rethrowClassified(e, { snapshot: request.snapshot }));
  }

  /** @see Proxmox `volume_snapshot_info` */
  override async volumeSnapshotInfo(ctx: PluginContext<MemoryConfig>, request: VolumeRequest): Promise<SnapshotInfo[]> {
    return (await this.snapshots(ctx, request.volume)).map((s) => ({ name: s.name, id: s.guid, timestamp: s.ctime }));
  }

  /**
   * Rolls back; when only the newest snapshot can be rolled back to, newer ones are destroyed
   * if `destroyBlockers` is set and otherwise refused with `SNAPSHOT_BLOCKERS`.
   *
   * @see Proxmox `volume_snapshot_rollback`
   */
  override async volumeSnapshotRollback(ctx: PluginContext<MemoryConfig>, request: SnapshotRollbackRequest): Promise<void> {
    const snaps = await this.snapshots(ctx, request.volume);
    const i = snaps.findIndex((s) => s.name === request.snapshot);
    if (i < 0) throw snapshotNotFound(request);
    const pool = memoryPool(ctx);
    const name = request.volume.name;
    const blockers = this.capabilities.rollbackAnySnapshot ? [] : snaps.slice(i + 1).map((s) => s.name);
    if (blockers.length > 0 && !request.destroyBlockers) {
      throw new StorageError('SNAPSHOT_BLOCKERS', `can't roll back: '${request.snapshot}' is not the newest snapshot of '${request.volume.volname}'`, {
        details: { volname: request.volume.volname, snapshot: request.snapshot, blockers },
      });
    }
    for (const b of blockers.reverse()) {
      await ctx.run(destroyArgs(pool, name, b)).catch((e: unknown) => rethrowClassified(e, { snapshot: b }));
    }
    await ctx.run(rollbackArgs(pool, name, request.snapshot)).catch((e: unknown) => rethrowClassified(e, { snapshot: request.snapshot }));
  }

  /** @see Proxmox `volume_snapshot_delete` */
  override async volumeSnapshotDelete(ctx: PluginContext<MemoryConfig>, request: SnapshotDeleteRequest): Promise<void> {
    const r = await this.find(ctx, request.volume);
    await ctx
      .run(destroyArgs(memoryPool(ctx), r.name, request.snapshot))
      .catch((e: unknown) => rethrowClassified(e, { volname: request.volume.volname, snapshot: request.snapshot }));
  }

  /** Moves a (non-base) volume to another guest under the name given. @see Proxmox `rename_volume` */
  override async renameVolume(ctx: PluginContext<MemoryConfig>, request: RenameVolumeRequest): Promise<string> {
    const v = request.volume;
    if (v.isBase) throw new StorageError('NOT_SUPPORTED', `renaming the base '${v.volname}' is not supported`, { details: { volname: v.volname } });
    assertNewVolumeName(request.targetName, request.targetVmid);
    const r = await this.find(ctx, v);
    await ctx.run(renameArgs(memoryPool(ctx), r.name, request.targetName)).catch((e: unknown) => rethrowClassified(e, { volname: v.volname }));
    return v.baseName === undefined ? request.targetName : `${v.baseName}/${request.targetName}`;
  }

  /** Checks that the volume (and snapshot) exist; there is nothing else to activate. @see Proxmox `activate_volume` */
  override async activateVolume(ctx: PluginContext<MemoryConfig>, request: ActivateVolumeRequest): Promise<void> {
    if (request.snapshot === undefined) await this.find(ctx, request.volume);
    else if (!(await this.snapshots(ctx, request.volume)).some((s) => s.name === request.snapshot)) throw snapshotNotFound({ ...request, snapshot: request.snapshot });
  }

  /** `raw+size` of the volume or one of its snapshots. @see Proxmox `volume_export` */
  override async volumeExport(ctx: PluginContext<MemoryConfig>, request: VolumeExportRequest): Promise<void> {
    await exportRaw(this, ctx, request);
  }

  /** A new volume from a `raw+size` stream; nothing is left behind on failure. @see Proxmox `volume_import` */
  override async volumeImport(ctx: PluginContext<MemoryConfig>, request: VolumeImportRequest): Promise<string> {
    return importRaw(this, ctx, request);
  }

  /** `notes` (text) and `protected` (boolean), as the variant's capabilities allow. @see Proxmox `get_volume_attribute` */
  override async getVolumeAttribute(ctx: PluginContext<MemoryConfig>, request: GetAttributeRequest): Promise<AttributeValue> {
    this.#assertAttribute(request.attribute);
    const r = await this.find(ctx, request.volume);
    return request.attribute === 'protected' ? r.props.protected === '1' : r.props.notes;
  }

  /** @see Proxmox `update_volume_attribute` */
  override async updateVolumeAttribute(ctx: PluginContext<MemoryConfig>, request: UpdateAttributeRequest): Promise<void> {
    this.#assertAttribute(request.attribute);
    const { attribute, value } = request;
    const ok = value === undefined || (attribute === 'notes' ? typeof value === 'string' : typeof value === 'boolean');
    if (!ok) throw new StorageError('INVALID_ARGUMENT', `invalid value for '${attribute}'`, { details: { attribute } });
    const r = await this.find(ctx, request.volume);
    const text = value === undefined || value === false || value === '' ? undefined : value === true ? '1' : value;
    await ctx.run(setArgs(memoryPool(ctx), r.name, attribute, text)).catch((e: unknown) => rethrowClassified(e, { volname: request.volume.volname }));
  }

  /** A volume's snapshots, oldest first. @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` */
  async snapshots(ctx: PluginContext<MemoryConfig>, volume: ParsedVolume): Promise<MemorySnapshotRecord[]> {
    const r = await this.find(ctx, volume);
    const out = await ctx.run(snapshotsArgs(memoryPool(ctx), r.name)).catch((e: unknown) => rethrowClassified(e, { volname: volume.volname }));
    return parseSnapshotList(out.stdout);
  }

  #assertAttribute(attribute: string): void {
    if (!this.capabilities.attributes.includes(attribute as never)) {
      throw new StorageError('NOT_SUPPORTED', `storage type '${this.pluginClass.type}' does not keep '${attribute}'`, { details: { attribute } });
    }
  }
}

function assertSize(size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0) throw new StorageError('INVALID_ARGUMENT', `invalid size ${String(size)}`, { details: { size } });
}

function snapshotNotFound(request: SnapshotRequest): StorageError {
  return new StorageError('NOT_FOUND', `snapshot '${request.snapshot}' of '${request.volume.volname}' does not exist`, {
    details: { volname: request.volume.volname, snapshot: request.snapshot },
  });
}

function volumeNotFound(ctx: PluginContext<MemoryConfig>, volume: ParsedVolume): StorageError {
  const volid = formatVolumeId(ctx.storeId, volume.volname);
  return new StorageError('NOT_FOUND', `volume '${volid}' does not exist`, { details: { volid } });
}

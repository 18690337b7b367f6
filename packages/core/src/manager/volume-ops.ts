/**
 * The manager's operations that take the storage lock (Proxmox's `vdisk_alloc`,
 * `vdisk_create_base`, `vdisk_clone`, `rename_volume`), and the rollback and resize checks.
 * Every input check runs before the lock is taken.
 *
 * @module
 */
import type { Feature, VolumeFormat } from '../capabilities.js';
import { StorageError, isStorageError } from '../errors.js';
import type { ParsedVolume, PluginContext } from '../plugin-types.js';
import type { StoragePlugin } from '../storage-plugin.js';
import { assertValidVmid } from '../volume-id.js';
import { createWithFreeName, rememberMade, type CreateUnder, type FreeNameCreateOptions } from './free-names.js';
import { cloneUnlessHidden } from './hidden.js';
import { assertDiskNameFor, assertSizeFor, assertValidSize, assertValidSnapshotName } from './input.js';
import type { ManagerState, ResolvedVolume, StorageEntry } from './state.js';

/** Options of {@link StorageManager.allocImage}. */
export interface AllocImageOptions {
  /** The owning guest. */
  readonly vmid: number;
  /** Size in bytes; 0 only for a `subvol` (a container volume without quota, as Proxmox allocates one). */
  readonly size: number;
  /** Image format; the storage's `format` option, else the plugin's default. */
  readonly format?: VolumeFormat | undefined;
  /** The disk name (`vm-<vmid>-...`); the lowest free `vm-<vmid>-disk-<n>` by default. */
  readonly name?: string | undefined;
  /** Aborts the call. */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link StorageManager.cloneImage}. */
export interface CloneImageOptions {
  /** The guest that owns the clone. */
  readonly vmid: number;
  /** Clone this snapshot of the volume instead of a base (where the plugin can). */
  readonly snapshot?: string | undefined;
  /** The clone's disk name (`vm-<vmid>-...`); the lowest free one by default. */
  readonly name?: string | undefined;
}

function allocFormat(entry: StorageEntry, asked: VolumeFormat | undefined): VolumeFormat {
  const caps = entry.cls.capabilities;
  const configured = typeof entry.config['format'] === 'string' ? (entry.config['format'] as VolumeFormat) : undefined;
  const format = asked ?? configured ?? caps.defaultFormat;
  if (!caps.formats.includes(format)) {
    throw new StorageError('NOT_SUPPORTED', `storage '${entry.id}' cannot allocate format '${String(format)}'`, {
      details: { storeId: entry.id, format: String(format), formats: [...caps.formats] },
    });
  }
  return format;
}

/**
 * Throws `NOT_SUPPORTED` unless the plugin says the volume (or snapshot) has the feature.
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param feature - the feature
 * @param snapshot - ask about this snapshot
 */
export async function requireFeature(state: ManagerState, r: ResolvedVolume, feature: Feature, snapshot: string | undefined): Promise<void> {
  const ok = await state.read(r.entry, undefined, (ctx) => r.entry.plugin.volumeHasFeature(ctx, { volume: r.volume, feature, snapshot }));
  if (!ok) {
    const of = snapshot ? `snapshot '${snapshot}' of '${r.volid}'` : `'${r.volid}'`;
    throw new StorageError('NOT_SUPPORTED', `${of} does not support ${feature}: ${featureRefusal(r, feature, snapshot)}`, { details: { volid: r.volid, feature, snapshot } });
  }
}

/** Why a volume lacks a feature, from the storage's feature matrix, and what would have it. */
function featureRefusal(r: ResolvedVolume, feature: Feature, snapshot: string | undefined): string {
  const { entry, volume } = r;
  const state = snapshot !== undefined ? 'snap' : volume.isBase ? 'base' : 'current';
  if (feature === 'clone' && state === 'current') {
    return entry.cls.capabilities.cloneFromSnapshot
      ? 'only a template (base) or a snapshot is cloned; make the volume a template first (createBase), or clone one of its snapshots'
      : 'only a template (base) is cloned; make the volume a template first (createBase)';
  }
  const what = { snap: 'a snapshot', base: 'a template', current: 'a volume' }[state];
  const formats = entry.cls.capabilities.features[feature]?.[state] ?? [];
  if (formats.length === 0) return `storage '${entry.id}' (type ${entry.cls.type}) does not offer it for ${what}`;
  if (volume.format !== undefined && !formats.includes(volume.format as VolumeFormat)) {
    return `on storage '${entry.id}' it needs ${what} of format ${formats.join(' or ')}, not ${volume.format}`;
  }
  return 'the plugin refuses it for this volume (see its capabilities)';
}

/**
 * Runs a create under the storage lock: with the name given, or a free one. For a plugin that
 * declares `capabilities.exclusiveCreate`, the name is chosen without a listing under the lock
 * (see {@link createWithFreeName}); for any other, the free-name search and the create run under
 * one lock, the search on a fresh listing.
 *
 * @param state - the manager's state
 * @param entry - the storage
 * @param name - the name asked for, if any
 * @param request - guest, format, base, signal, operation
 * @param create - the plugin's create under a name
 * @returns the volname made
 */
async function createNamed(state: ManagerState, entry: StorageEntry, name: string | undefined, request: FreeNameCreateOptions, create: CreateUnder): Promise<string> {
  const exclusive = entry.cls.capabilities.exclusiveCreate === true;
  if (name === undefined && exclusive) return createWithFreeName(state, entry, request, create);
  const { vmid, format, base, signal, operation } = request;
  return state.locked(
    entry,
    signal,
    async (ctx) => {
      const made = await create(ctx, name ?? (await entry.plugin.findFreeDiskname(ctx, { vmid, format, base })));
      if (exclusive) rememberMade(entry, vmid, made);
      return made;
    },
    { operation },
  );
}

/**
 * Allocates an image under the storage lock, under the name given or a free one (see {@link createNamed}).
 *
 * @param state - the manager's state
 * @param entry - the storage
 * @param options - vmid, size, format, name, signal
 * @returns the new volid
 * @see Proxmox `PVE::Storage::vdisk_alloc`
 */
export async function allocImage(state: ManagerState, entry: StorageEntry, options: AllocImageOptions): Promise<string> {
  const { vmid, size, name } = options;
  assertValidVmid(vmid);
  const noQuota = size === 0 && options.format === 'subvol';
  if (!noQuota) assertValidSize(size);
  if (name !== undefined) assertDiskNameFor(name, vmid);
  const format = allocFormat(entry, options.format);
  if (!noQuota) assertSizeFor(entry.cls.capabilities, format, size);
  await state.read(entry, options.signal, (ctx) => state.activate(entry, ctx));
  const create = (ctx: PluginContext, chosen: string): Promise<string> => entry.plugin.allocImage(ctx, { vmid, format, name: chosen, size });
  const volname = await createNamed(state, entry, name, { vmid, format, signal: options.signal, operation: 'allocImage' }, create);
  return state.volid(entry, volname);
}

/**
 * Turns a volume into a base under the lock. A volume with snapshots is refused with
 * `INVALID_STATE` (its snapshots named), checked under the same lock for every plugin: a
 * template's snapshots could neither be rolled back nor deleted without touching the data its
 * linked clones read, so a template has none (Proxmox refuses it too: qemu-server for a VM with
 * snapshots, the LVM-thin plugin for a volume with snapshot LVs).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @returns the base's volid
 * @see Proxmox `PVE::Storage::vdisk_create_base`
 */
export async function createBase(state: ManagerState, r: ResolvedVolume): Promise<string> {
  const { entry, volume, volid } = r;
  if (volume.isBase) throw new StorageError('INVALID_ARGUMENT', `'${volid}' is already a base`, { details: { volid } });
  await requireFeature(state, r, 'template', undefined);
  await state.read(entry, undefined, (ctx) => state.activate(entry, ctx));
  const volname = await state.locked(
    entry,
    undefined,
    async (ctx) => {
      const snapshots = await snapshotNames(entry.plugin, ctx, volume);
      if (snapshots.length > 0) {
        throw new StorageError('INVALID_STATE', `cannot make '${volid}' a template: it has snapshots (${snapshots.join(', ')}); delete them first, or make the template from a copy`, {
          details: { volid, snapshots },
        });
      }
      return entry.plugin.createBase(ctx, { volume });
    },
    { operation: 'createBase' },
  );
  return state.volid(entry, volname);
}

/**
 * The names of a volume's snapshots; none when the plugin keeps no snapshots (`NOT_SUPPORTED`).
 *
 * @param plugin - the storage's plugin
 * @param ctx - the operation's context
 * @param volume - the volume
 */
export async function snapshotNames(plugin: StoragePlugin, ctx: PluginContext, volume: ParsedVolume): Promise<string[]> {
  try {
    return (await plugin.volumeSnapshotInfo(ctx, { volume })).map((s) => s.name);
  } catch (e) {
    if (isStorageError(e, 'NOT_SUPPORTED')) return [];
    throw e;
  }
}

/**
 * Makes a linked clone under the storage lock, under the name given or a free one (see {@link createNamed}).
 *
 * @param state - the manager's state
 * @param r - the base (or the volume whose snapshot to clone)
 * @param options - owner, snapshot, name
 * @returns the clone's volid
 * @see Proxmox `PVE::Storage::vdisk_clone`
 */
export async function cloneImage(state: ManagerState, r: ResolvedVolume, options: CloneImageOptions): Promise<string> {
  const { entry, volume } = r;
  const { vmid, snapshot, name } = options;
  assertValidVmid(vmid);
  if (snapshot !== undefined) assertValidSnapshotName(snapshot);
  if (name !== undefined) assertDiskNameFor(name, vmid);
  await requireFeature(state, r, 'clone', snapshot);
  const format = entry.cls.capabilities.cloneFormat ?? (volume.format as VolumeFormat);
  await state.read(entry, undefined, (ctx) => state.activate(entry, ctx));
  const create = (ctx: PluginContext, chosen: string): Promise<string> => cloneUnlessHidden(r, ctx, snapshot, () => entry.plugin.cloneImage(ctx, { volume, vmid, name: chosen, snapshot }));
  const volname = await createNamed(state, entry, name, { vmid, format, operation: 'cloneImage' }, create);
  return state.volid(entry, volname);
}

/**
 * Moves a volume to another guest under the storage lock, under the name given or a free one
 * (keeping `base-`; see {@link createNamed}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param targetVmid - the new owner
 * @param targetName - the new name; a free one (keeping `base-`) by default
 * @returns the new volid
 * @see Proxmox `rename_volume`
 */
export async function renameVolume(state: ManagerState, r: ResolvedVolume, targetVmid: number, targetName: string | undefined): Promise<string> {
  const { entry, volume } = r;
  assertValidVmid(targetVmid);
  if (targetName !== undefined) assertDiskNameFor(targetName, targetVmid, true);
  await requireFeature(state, r, 'rename', undefined);
  await state.read(entry, undefined, (ctx) => state.activate(entry, ctx));
  const create = (ctx: PluginContext, chosen: string): Promise<string> => entry.plugin.renameVolume(ctx, { volume, targetVmid, targetName: chosen });
  const request = { vmid: targetVmid, format: volume.format as VolumeFormat, base: volume.isBase, operation: 'renameVolume' };
  const volname = await createNamed(state, entry, targetName, request, create);
  return state.volid(entry, volname);
}

/**
 * Resizes a volume under the volume's lock, refusing a shrink with `CANNOT_SHRINK` before the plugin is asked when the
 * plugin cannot shrink.
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param size - the new size in bytes
 * @param running - a running guest holds the volume
 * @see Proxmox `PVE::Storage::volume_resize`
 */
export async function resize(state: ManagerState, r: ResolvedVolume, size: number, running: boolean | undefined): Promise<void> {
  const { entry, volume, volid } = r;
  assertSizeFor(entry.cls.capabilities, volume.format as VolumeFormat | undefined, size);
  await state.locked(entry, undefined, async (ctx) => {
    if (!entry.cls.capabilities.shrink) {
      const current = await entry.plugin.volumeSizeInfo(ctx, { volume }).catch((e: unknown) => {
        if (isStorageError(e, 'NOT_SUPPORTED')) return undefined;
        throw e;
      });
      if (current && size < current.size) {
        throw new StorageError('CANNOT_SHRINK', `cannot shrink '${volid}' from ${current.size} to ${size} bytes`, {
          details: { volid, size, current: current.size },
        });
      }
    }
    await entry.plugin.volumeResize(ctx, { volume, size, running });
  }, { volname: volume.volname, operation: 'volumeResize' });
}

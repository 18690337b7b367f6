/**
 * The manager: what an application calls. It turns a volume id into its storage and plugin,
 * checks the request, takes the storage lock where Proxmox's `PVE::Storage` does, hands the
 * plugin a fresh per-operation cache, and clears the storage's shared cache after every write.
 *
 * @module
 */
import { hostname } from 'node:os';
import type { Feature, StreamFormat, VolumeAttribute } from './capabilities.js';
import { LocalRunner } from './command/local-runner.js';
import type { StorageConfig } from './config/base-schema.js';
import { StorageError } from './errors.js';
import { StorageLocks } from './lock/storage-locks.js';
import { ConfigState, loadSchemas, openConfigStore } from './manager/config-state.js';
// What changes storages, volumes and data is imported on first use (the methods below): a
// program that only lists and reads does not pay for it when it imports the core.
import type { FlattenOptions } from './manager/flatten-ops.js';
import type { FreeImageOptions, FreeImageResult } from './manager/free-ops.js';
import type { HandoffNode } from './manager/handoff.js';
import type { MigrateOptions, MigrateResult } from './manager/migrate.js';
import type { PruneOptions, PruneReport } from './manager/prune.js';
import type { ReplicateOptions, ReplicateResult } from './manager/replicate.js';
import { defaultLockDir, defaultLogger, type StorageManagerOptions } from './manager/options.js';
import * as read from './manager/read-ops.js';
import type { ListImagesFilter, SnapshotOption } from './manager/read-ops.js';
import { ManagerState, type InvalidStorage } from './manager/state.js';
import type { CopyOptions, ExportOptions, ImportOptions } from './manager/transfer-ops.js';
import type { AllocImageOptions, CloneImageOptions } from './manager/volume-ops.js';
import type {
  AttributeValue,
  GarbageReport,
  ImageInfo,
  ListVolumesRequest,
  ParsedVolume,
  PathVolumeId,
  SnapshotInfo,
  StorageStatus,
  TransferOptions,
  VolumeListEntry,
  VolumePath,
  VolumeSizeInfo,
} from './plugin-types.js';
import { PluginRegistry } from './registry.js';
import type { StoragePlugin } from './storage-plugin.js';

export type { ListImagesFilter, SnapshotOption };

/**
 * Manages the volumes of every configured storage through their plugins.
 *
 * @example
 * ```ts
 * const storages = await StorageManager.open({ plugins: [DirPlugin], configFile: '/etc/stowage/storage.cfg' });
 * const volid = await storages.allocImage('local', { vmid: 100, format: 'qcow2', size: 4 * 2 ** 30 });
 * const base = await storages.createBase(volid);
 * const clone = await storages.cloneImage(base, { vmid: 101 });
 * await storages.copyVolume(clone, 'tank', { onProgress: ({ done, total }) => console.log(done, total) });
 * await storages.freeImage(clone);
 * await storages.close();
 * ```
 */
export class StorageManager {
  readonly #state: ManagerState;
  readonly #registry: PluginRegistry;
  readonly #cfg: ConfigState;
  #configChain: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #stops: (() => void)[] = [];

  private constructor(state: ManagerState, registry: PluginRegistry, cfg: ConfigState) {
    this.#state = state;
    this.#registry = registry;
    this.#cfg = cfg;
  }

  /**
   * Opens a manager: registers the plugins, reads the storage configuration and validates each
   * storage. From a `configFile` or `configStore`, a section that cannot be used (a bad line, an
   * unknown type, an invalid option) is skipped with a warning, as Proxmox skips it: the other
   * storages work, and {@link StorageManager.invalidStorages} lists the skipped ones with their
   * issues until `updateStorage` repairs them or `removeStorage` removes them. `config` objects
   * must all be valid.
   *
   * When the store can be watched, the manager follows changes other processes make to it.
   *
   * @param options - plugins, one of `config`, `configFile` and `configStore`, lock directories,
   *   runner, node, limits
   * @returns the manager
   * @throws {@link StorageError} `INVALID_ARGUMENT` unless exactly one of `config`,
   *   `configFile` and `configStore` is given; `CONFIG_INVALID` (a {@link ConfigError} listing
   *   every issue) for bad `config` objects, and when the configuration cannot be a file (a
   *   directory, say); `PERMISSION_DENIED`, `UNAVAILABLE` from the store;
   *   `API_VERSION_MISMATCH` / `ALREADY_EXISTS` from plugin registration
   * @example
   * ```ts
   * const m = await StorageManager.open({
   *   plugins: [DirPlugin],
   *   config: [{ type: 'dir', storage: 'local', path: '/var/lib/vz' }],
   *   lockDir: '/run/stowage',
   * });
   * ```
   */
  static async open(options: StorageManagerOptions): Promise<StorageManager> {
    const registry = new PluginRegistry(options.plugins);
    const hasSharedLocks = options.sharedLockDir !== undefined || options.locks !== undefined || options.cluster !== undefined;
    if (options.config) await loadSchemas(registry, options.config.map((c) => (typeof c === 'object' && c !== null ? c['type'] : undefined)));
    const store = openConfigStore(options, registry, hasSharedLocks);
    const locks =
      options.locks ??
      options.cluster?.locks ??
      new StorageLocks({
        lockDir: options.lockDir ?? defaultLockDir(),
        sharedLockDir: options.sharedLockDir,
        acquireTimeoutMs: options.lockTimeoutMs,
        sharedHoldMs: options.sharedLockHoldMs,
      });
    const node = options.node ?? options.cluster?.node ?? hostname().split('.')[0] ?? 'localhost';
    const changes = options.changes ?? options.cluster?.changes;
    const state = new ManagerState(
      options.runner ?? new LocalRunner(),
      node,
      options.log ?? defaultLogger,
      locks,
      { ttlMs: options.cacheTtlMs ?? 5000, lastingTtlMs: Math.max(options.cacheTtlMs ?? 5000, options.activationTtlMs ?? 60_000) },
      options.gcIntervalMs ?? 60_000,
      changes,
    );
    const cfg = new ConfigState(store, state, registry, hasSharedLocks, options.configMemo);
    await cfg.refresh();
    const manager = new StorageManager(state, registry, cfg);
    const unsubscribe = changes?.subscribe((storeId) => state.entries.get(storeId)?.ttl.clear());
    if (unsubscribe) manager.#stops.push(unsubscribe);
    const unwatch = store.watch?.(() => {
      if (manager.#closed) return; // a store may still report a change it heard while being stopped
      manager.#configTask(() => cfg.refresh()).catch((e: unknown) => state.log.warn(`could not reload ${store.location}`, { error: String(e) }));
    });
    if (unwatch) manager.#stops.push(unwatch);
    return manager;
  }

  // ---- storages ---------------------------------------------------------------------------

  /** The ids of the storages that can be used, in config order (see {@link StorageManager.invalidStorages} for the others). */
  storageIds(): string[] {
    return [...this.#state.entries.keys()];
  }

  /**
   * The sections of the storage configuration that were skipped because they cannot be used,
   * in config order, each with its issues (and their lines). Operations on such a storage fail
   * with `CONFIG_INVALID`; `updateStorage` can repair it and `removeStorage` remove it.
   *
   * @returns the skipped sections; empty when every section is usable
   * @example
   * ```ts
   * for (const bad of storages.invalidStorages()) console.warn(`${bad.storage} (line ${bad.line}): ${bad.issues[0]?.message}`);
   * ```
   */
  invalidStorages(): InvalidStorage[] {
    return [...this.#live().invalid];
  }

  /**
   * A storage's validated config.
   *
   * @param storeId - the storage
   * @throws {@link StorageError} `NOT_FOUND`; `CONFIG_INVALID` for a storage whose section cannot be used
   */
  storageConfig(storeId: string): StorageConfig {
    return this.#live().entry(storeId).config;
  }

  /**
   * The plugin instance that serves a storage.
   *
   * @param storeId - the storage
   * @throws {@link StorageError} `NOT_FOUND`, `CONFIG_INVALID`
   */
  pluginFor(storeId: string): StoragePlugin {
    return this.#live().entry(storeId).plugin;
  }

  /** The registered plugin classes. */
  plugins(): PluginRegistry {
    return this.#registry;
  }

  /**
   * Parses a volume id with its storage's plugin.
   *
   * @param volid - `storeid:volname`
   * @returns the storage id and the parsed volume
   * @throws {@link StorageError} `INVALID_VOLUME_ID`; `NOT_FOUND` for an unknown storage
   * @see Proxmox `PVE::Storage::parse_volname`
   */
  parseVolume(volid: string): { storeId: string; volume: ParsedVolume } {
    return read.parseVolume(this.#live(), volid);
  }

  /**
   * Adds a storage: validates it (an empty value is refused), runs the plugin's `onAddHook`,
   * activates it when it is for this node (on failure runs `onDeleteHook` and rethrows), then
   * adds its section to the configuration as the store holds it at that moment: a storage
   * another process added meanwhile is kept (and one with the same id makes this call fail with
   * `ALREADY_EXISTS`). Afterwards the manager's storages follow the written configuration.
   *
   * @param config - `{ type, storage, ...options }`
   * @returns the validated config
   * @throws {@link StorageError} `CONFIG_INVALID`, `ALREADY_EXISTS`, `LOCK_TIMEOUT` (the
   *   configuration could not be written in time, or kept changing), store errors, and hook or
   *   activation errors
   * @see Proxmox `PVE::API2::Storage::Config` `create`
   */
  async addStorage(config: Readonly<Record<string, unknown>>): Promise<StorageConfig> {
    return this.#configTask(async () => (await import('./manager/storages.js')).addStorage(this.#state, this.#cfg, config));
  }

  /**
   * Changes a storage's options: fixed options cannot change, empty values are refused, the
   * plugin's `onUpdateHook` runs with the previous config, and only the storage's own lines of
   * the configuration are rewritten (comments and other sections stay as they are). This also
   * repairs a storage listed by {@link StorageManager.invalidStorages}, when the result is valid
   * (no hook runs then).
   *
   * @param storeId - the storage
   * @param changes - options to set
   * @param deleteKeys - options to remove
   * @returns the new validated config
   * @throws {@link StorageError} `NOT_FOUND`, `CONFIG_INVALID`, `LOCK_TIMEOUT`, store errors, and hook errors
   * @see Proxmox `PVE::API2::Storage::Config` `update`
   */
  async updateStorage(storeId: string, changes: Readonly<Record<string, unknown>>, deleteKeys: readonly string[] = []): Promise<StorageConfig> {
    return this.#configTask(async () => (await import('./manager/storages.js')).updateStorage(this.#state, this.#cfg, storeId, changes, deleteKeys));
  }

  /**
   * Removes a storage's section from the configuration (after the plugin's `onDeleteHook`, when
   * the storage was usable); its volumes stay. Works on storages listed by
   * {@link StorageManager.invalidStorages} too.
   *
   * @param storeId - the storage
   * @throws {@link StorageError} `NOT_FOUND`, `LOCK_TIMEOUT`, store errors, and hook errors
   * @see Proxmox `PVE::API2::Storage::Config` `delete`
   */
  async removeStorage(storeId: string): Promise<void> {
    return this.#configTask(async () => (await import('./manager/storages.js')).removeStorage(this.#state, this.#cfg, storeId));
  }

  /**
   * Usage of a storage. A storage that cannot be activated is reported inactive with zeros.
   *
   * @param storeId - the storage
   * @throws {@link StorageError} `NOT_FOUND`, `UNAVAILABLE` (disabled, or not for this node)
   * @see Proxmox `status`, `PVE::Storage::storage_info`
   */
  async status(storeId: string): Promise<StorageStatus> {
    return read.status(this.#state, this.#live().usable(storeId));
  }

  // ---- listing ----------------------------------------------------------------------------

  /**
   * Lists disk images, sorted by volid. Hidden templates (freed with `whenUnused` while linked
   * clones still use them) are left out unless `includeHidden` is set; then they come with
   * `hidden: true`.
   *
   * @param storeId - the storage
   * @param filter - only this guest's images, or only these volids (the vmid is then ignored); `includeHidden`
   * @throws {@link StorageError} `NOT_FOUND`, `UNAVAILABLE`, `INVALID_ARGUMENT` (a volid of another storage, a bad vmid)
   * @see Proxmox `list_images`, `PVE::Storage::vdisk_list`
   */
  async listImages(storeId: string, filter: ListImagesFilter = {}): Promise<ImageInfo[]> {
    return read.listImages(this.#state, this.#live().usable(storeId), filter);
  }

  /**
   * Lists volumes of every content type, sorted by volid.
   *
   * Images are content `images`, or `rootdir` for the guests that `filter.guests` names as
   * containers (`lxc`); without a guest list every image is `images` (Proxmox asks its cluster's
   * guest list, which stowage does not have).
   *
   * @param storeId - the storage
   * @param filter - only this guest's volumes, only these content types, which guests are containers
   * @throws {@link StorageError} `NOT_FOUND`, `UNAVAILABLE`, `INVALID_ARGUMENT` (also for a guest list
   *   with a bad vmid or a type other than `qemu` and `lxc`)
   * @example
   * ```ts
   * await storages.listVolumes('local', { content: ['rootdir'], guests: { 100: 'qemu', 101: 'lxc' } });
   * // the images of guest 101, as content 'rootdir'
   * ```
   * @see Proxmox `list_volumes`
   */
  async listVolumes(storeId: string, filter: ListVolumesRequest = {}): Promise<VolumeListEntry[]> {
    return read.listVolumes(this.#state, this.#live().usable(storeId), filter);
  }

  // ---- allocation (locked) ----------------------------------------------------------------

  /**
   * Allocates a new image under the storage lock, named as given or with the lowest free
   * `vm-<vmid>-disk-<n>`, so that concurrent callers, in this process or others, never get the
   * same name. The free name is chosen under the lock from a fresh listing or, for a plugin
   * that declares `capabilities.exclusiveCreate`, from the listing the manager has, the create
   * refusing a name taken since (see docs/concepts.md, "How new names are chosen").
   *
   * @param storeId - the storage
   * @param options - vmid, size in bytes (0 with format `subvol`: a container volume without quota), format, name
   * @returns the new volume's id
   * @throws {@link StorageError} `INVALID_ARGUMENT` (vmid, size, name), `NOT_SUPPORTED`
   *   (format), `ALREADY_EXISTS` (the name given is taken; or, with no name given, the plugin's
   *   create refused 8 names in a row, `details.tried`), `NO_SPACE`, `LOCK_TIMEOUT`, `UNAVAILABLE`, `NOT_FOUND`
   * @example
   * ```ts
   * const volid = await storages.allocImage('local', { vmid: 100, size: 32 * 2 ** 30, format: 'qcow2' });
   * ```
   * @see Proxmox `alloc_image`, `PVE::Storage::vdisk_alloc`
   */
  async allocImage(storeId: string, options: AllocImageOptions): Promise<string> {
    return (await import('./manager/volume-ops.js')).allocImage(this.#state, this.#live().usable(storeId), options);
  }

  /**
   * Frees an image, under the storage lock. A base that still has linked clones is refused, as
   * is a protected volume. Freeing the last clone of a hidden base frees the base too.
   *
   * @param volid - the volume
   * @throws {@link StorageError} `IN_USE` (`details.clones`: the clones' volids), `PROTECTED`,
   *   `INVALID_VOLUME_ID`, `NOT_FOUND` (no such storage, or no such volume: a second free is
   *   `NOT_FOUND` too), `UNAVAILABLE`, `LOCK_TIMEOUT`
   * @see Proxmox `free_image`, `PVE::Storage::vdisk_free`
   */
  async freeImage(volid: string): Promise<void>;
  /**
   * Frees an image, under the storage lock. A base that still has linked clones is refused, as
   * is a protected volume, and a volume the caller's guests use (`inUse`); with `whenUnused`,
   * such a base is hidden instead (see {@link FreeImageOptions.whenUnused}) and freed with its
   * last clone (or by `pruneImages`, once the guests no longer use it). Freeing the last clone
   * of a hidden base frees the base too, in the same locked section, unless `inUse` names it.
   *
   * @param volid - the volume
   * @param options - `whenUnused`, `inUse` (volids or a function), signal
   * @returns whether the volume was freed or hidden, and the hidden bases freed with it
   * @throws {@link StorageError} `IN_USE` (`details.clones`: the clones' volids;
   *   `details.usedBy: 'inUse'`: named by the caller), `PROTECTED`, `INVALID_ARGUMENT` (`inUse`),
   *   `NOT_SUPPORTED` (`whenUnused` on a base with clones, on a storage that keeps no `hidden`
   *   attribute), `INVALID_VOLUME_ID`, `NOT_FOUND` (no such storage, or no such volume: a second
   *   free is `NOT_FOUND` too), `UNAVAILABLE`, `LOCK_TIMEOUT`
   * @example
   * ```ts
   * const { outcome } = await storages.freeImage('local:100/base-100-disk-0.qcow2', { whenUnused: true });
   * // 'hidden' while clones use it; it goes with the last of them
   * ```
   * @see Proxmox `free_image`, `PVE::Storage::vdisk_free`; Incus's `deleted/` parents
   */
  async freeImage(volid: string, options: FreeImageOptions): Promise<FreeImageResult>;
  async freeImage(volid: string, options: FreeImageOptions = {}): Promise<FreeImageResult | void> {
    return (await import('./manager/free-ops.js')).freeImage(this.#state, this.#live().resolve(volid), options);
  }

  /**
   * Turns a volume into a read-only base (template), under the storage lock.
   *
   * @param volid - the volume
   * @returns the base's volid (e.g. `local:100/base-100-disk-0.qcow2`)
   * @throws {@link StorageError} `NOT_SUPPORTED` (no `template` feature for this volume),
   *   `INVALID_ARGUMENT` (already a base), `LOCK_TIMEOUT`, and the plugin's errors
   * @see Proxmox `create_base`, `PVE::Storage::vdisk_create_base`
   */
  async createBase(volid: string): Promise<string> {
    return (await import('./manager/volume-ops.js')).createBase(this.#state, this.#live().resolve(volid));
  }

  /**
   * Makes a linked clone of a base (or of a snapshot, where the plugin can), under the storage lock.
   *
   * @param volid - the base (or the volume whose snapshot to clone)
   * @param options - the new owner, snapshot, name
   * @returns the clone's volid
   * @throws {@link StorageError} `NOT_SUPPORTED` (no `clone` feature for this volume/snapshot),
   *   `INVALID_ARGUMENT`, `LOCK_TIMEOUT`, and the plugin's errors
   * @see Proxmox `clone_image`, `PVE::Storage::vdisk_clone`
   */
  async cloneImage(volid: string, options: CloneImageOptions): Promise<string> {
    return (await import('./manager/volume-ops.js')).cloneImage(this.#state, this.#live().resolve(volid), options);
  }

  /**
   * Moves a volume to another guest, under the storage lock. A base stays a base.
   *
   * @param volid - the volume
   * @param targetVmid - the new owner
   * @param options - the new name (`vm-<vmid>-...` or `base-<vmid>-...`); a free one by default
   * @returns the new volid
   * @throws {@link StorageError} `NOT_SUPPORTED` (no `rename` feature), `INVALID_ARGUMENT`,
   *   `ALREADY_EXISTS`, `LOCK_TIMEOUT`
   * @see Proxmox `rename_volume`
   */
  async renameVolume(volid: string, targetVmid: number, options: { targetName?: string | undefined } = {}): Promise<string> {
    return (await import('./manager/volume-ops.js')).renameVolume(this.#state, this.#live().resolve(volid), targetVmid, options.targetName);
  }

  /**
   * Detaches a linked clone from its base, so that the base can be freed: afterwards the volume
   * reads the same bytes, `listImages` shows no `parent` for it, and it keeps its snapshots where
   * the plugin can (`capabilities.flatten.cloneKeepsSnapshots`; elsewhere a clone with
   * snapshots is refused). Under the storage lock, which a plugin that copies data gives back
   * for the copy. A hidden base that nothing uses afterwards is freed (not when the caller's
   * `inUse` names it).
   *
   * @param volid - the linked clone
   * @param options - progress (of a copy), `inUse`, signal
   * @returns the volid afterwards (a clone's volname often names its base and loses it:
   *   `tank:base-100-disk-0/vm-101-disk-0` becomes `tank:vm-101-disk-0`)
   * @throws {@link StorageError} `NOT_SUPPORTED` (the format is not in
   *   `capabilities.flatten.clone`), `INVALID_STATE` (not a linked clone; a clone with snapshots
   *   the plugin would lose, `details.snapshots`), `NOT_FOUND`, `NO_SPACE`, `ABORTED`,
   *   `LOCK_TIMEOUT`, and the plugin's errors
   * @example
   * ```ts
   * const volid = await storages.flattenImage('local:100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2', { onProgress: console.log });
   * // 'local:101/vm-101-disk-0.qcow2'; the base can now be freed
   * ```
   * @see Ceph `rbd flatten`, libvirt block-pull, OpenNebula's flatten of a linked clone
   */
  async flattenImage(volid: string, options: FlattenOptions = {}): Promise<string> {
    return (await import('./manager/flatten-ops.js')).flattenImage(this.#state, this.#live().resolve(volid), options);
  }

  /**
   * Frees the templates of a storage (hidden ones included) that no volume uses: a template is
   * used when a volume that is not a template, or one the caller names in `inUse`, reaches it
   * through dependency links (backing chains, origins). Protected templates are kept, and so
   * are the `keep` newest unused ones and those younger than `olderThan`. The frees run under
   * the storage lock on a fresh listing, so a clone made meanwhile keeps its template. One
   * listing's worth of plugin calls (two listings, then a check and a free per template freed),
   * not one per volume.
   *
   * @param storeId - the storage
   * @param options - `olderThan` (ms), `keep`, `inUse` (volids or a function), `dryRun`, signal
   * @returns the templates freed (or, with `dryRun`, that would be) and those kept, with reasons
   * @throws {@link StorageError} `INVALID_ARGUMENT` (bad options), `ABORTED` (`details.freed`),
   *   `NOT_FOUND`, `UNAVAILABLE`, `LOCK_TIMEOUT`
   * @example
   * ```ts
   * const report = await storages.pruneImages('local', { olderThan: 30 * 86_400_000, inUse: guestVolids, dryRun: true });
   * for (const k of report.kept) console.log(k.volid, k.reason, k.usedBy ?? '');
   * ```
   * @see uvtool `sync` (its unused cloud images), Incus's reaping of `deleted/` parents
   */
  async pruneImages(storeId: string, options: PruneOptions = {}): Promise<PruneReport> {
    return (await import('./manager/prune.js')).pruneImages(this.#state, this.#live().usable(storeId), options);
  }

  // ---- snapshots --------------------------------------------------------------------------

  /**
   * Takes a snapshot, under the volume's lock (so two callers cannot both create one name).
   *
   * @param volid - the volume
   * @param snapshot - the name (`[A-Za-z][A-Za-z0-9_-]{0,39}`)
   * @throws {@link StorageError} `INVALID_ARGUMENT`, `ALREADY_EXISTS`, `NOT_SUPPORTED`, `BUSY`, `LOCK_TIMEOUT`
   * @see Proxmox `volume_snapshot`
   */
  async volumeSnapshot(volid: string, snapshot: string): Promise<void> {
    await (await import('./manager/snapshot-ops.js')).volumeSnapshot(this.#state, this.#live().resolve(volid), snapshot);
  }

  /**
   * The snapshots that block a rollback to `snapshot` (newer ones the storage would have to
   * destroy); empty when the rollback is possible as it is.
   *
   * @param volid - the volume
   * @param snapshot - the snapshot to roll back to
   * @throws {@link StorageError} `INVALID_ARGUMENT`, `NOT_FOUND`, `NOT_SUPPORTED`
   * @see Proxmox `volume_rollback_is_possible`
   */
  async volumeRollbackIsPossible(volid: string, snapshot: string): Promise<string[]> {
    return (await import('./manager/snapshot-ops.js')).volumeRollbackIsPossible(this.#state, this.#live().resolve(volid), snapshot);
  }

  /**
   * Rolls a volume back to a snapshot. Newer snapshots that block it make it fail with
   * `SNAPSHOT_BLOCKERS` (listed in `details.blockers`) unless `destroyBlockers` is set, when the
   * plugin destroys them.
   *
   * @param volid - the volume
   * @param snapshot - the snapshot
   * @param options - `destroyBlockers`
   * @throws {@link StorageError} `SNAPSHOT_BLOCKERS`, `INVALID_ARGUMENT`, `NOT_FOUND`, `NOT_SUPPORTED`
   * @see Proxmox `volume_snapshot_rollback`, `PVE::Storage::volume_snapshot_rollback`
   */
  async volumeSnapshotRollback(volid: string, snapshot: string, options: { destroyBlockers?: boolean | undefined } = {}): Promise<void> {
    await (await import('./manager/snapshot-ops.js')).rollback(this.#state, this.#live().resolve(volid), snapshot, options.destroyBlockers === true);
  }

  /**
   * Takes a volume back to one of its snapshots and drops all its snapshots, in one step that
   * cannot stop half-way: afterwards the volume holds exactly the bytes and size it had at the
   * snapshot and has no snapshots; interrupted, it is as before. Under the volume's lock, and
   * the storage lock around it where the storage clones snapshots (no clone of a snapshot can
   * appear meanwhile). Reaches an older snapshot where rollback reaches only the newest (ZFS, LINSTOR).
   *
   * @param volid - the volume
   * @param snapshot - the snapshot to keep the bytes of
   * @param options - progress (of a copy), signal
   * @throws {@link StorageError} `NOT_SUPPORTED` (the format is not in
   *   `capabilities.flatten.toSnapshot`), `NOT_FOUND` (volume or snapshot), `IN_USE` (clones use
   *   snapshots of the volume, `details.clones`), `INVALID_ARGUMENT`, `NO_SPACE`, `ABORTED`,
   *   `LOCK_TIMEOUT`, and the plugin's errors
   * @example
   * ```ts
   * await storages.volumeSnapshotFlatten('tank:vm-100-disk-0', 'installed'); // no snapshots left
   * ```
   * @see OpenNebula `snap_flatten`
   */
  async volumeSnapshotFlatten(volid: string, snapshot: string, options: FlattenOptions = {}): Promise<void> {
    await (await import('./manager/flatten-ops.js')).volumeSnapshotFlatten(this.#state, this.#live().resolve(volid), snapshot, options);
  }

  /**
   * Deletes a snapshot, under the volume's lock.
   *
   * @param volid - the volume
   * @param snapshot - the snapshot (also a replication snapshot, `__replicate_<node>_<stamp>__`)
   * @param options - `running`: a running guest holds the volume (the hypervisor deletes qcow2 internal snapshots)
   * @throws {@link StorageError} `INVALID_ARGUMENT`, `NOT_FOUND`, `IN_USE`, `NOT_SUPPORTED`
   * @see Proxmox `volume_snapshot_delete`
   */
  async volumeSnapshotDelete(volid: string, snapshot: string, options: { running?: boolean | undefined } = {}): Promise<void> {
    await (await import('./manager/snapshot-ops.js')).volumeSnapshotDelete(this.#state, this.#live().resolve(volid), snapshot, options.running);
  }

  /**
   * Lists a volume's snapshots, oldest first.
   *
   * @param volid - the volume
   * @throws {@link StorageError} `NOT_FOUND`, `NOT_SUPPORTED`
   * @see Proxmox `volume_snapshot_info`
   */
  async volumeSnapshotInfo(volid: string): Promise<SnapshotInfo[]> {
    return (await import('./manager/snapshot-ops.js')).volumeSnapshotInfo(this.#state, this.#live().resolve(volid));
  }

  // ---- size -------------------------------------------------------------------------------

  /**
   * Grows a volume to `size` bytes. When the plugin cannot shrink, a smaller size is refused
   * before the plugin is called.
   *
   * @param volid - the volume
   * @param size - the new size in bytes
   * @param options - `running`: a running guest holds the volume
   * @throws {@link StorageError} `INVALID_ARGUMENT`, `CANNOT_SHRINK`, `NO_SPACE`, `NOT_SUPPORTED`
   * @see Proxmox `volume_resize`
   */
  async volumeResize(volid: string, size: number, options: { running?: boolean | undefined } = {}): Promise<void> {
    await (await import('./manager/volume-ops.js')).resize(this.#state, this.#live().resolve(volid), size, options.running);
  }

  /**
   * Size, format, usage and parent of a volume.
   *
   * @param volid - the volume
   * @throws {@link StorageError} `NOT_FOUND`, `NOT_SUPPORTED`
   * @see Proxmox `volume_size_info`
   */
  async volumeSizeInfo(volid: string): Promise<VolumeSizeInfo> {
    return read.volumeSizeInfo(this.#state, this.#live().resolve(volid));
  }

  // ---- access -----------------------------------------------------------------------------

  /**
   * The volume a filesystem path belongs to: the first storage (in configuration order, among
   * those usable on this node) whose plugin maps the path to one of its volumes. A volume id of
   * a configured storage is returned as it is, as Proxmox does. Nothing is activated or changed.
   *
   * @param path - an absolute path (`/var/lib/vz/images/100/vm-100-disk-0.qcow2`), or a volid
   * @returns the volid and its content type, or `undefined` when no storage holds the path
   * @throws {@link StorageError} `INVALID_ARGUMENT` for a relative path that is no volid,
   *   `INVALID_VOLUME_ID` for a volid its storage's plugin refuses
   * @example
   * ```ts
   * await storages.pathToVolumeId('/var/lib/vz/images/101/vm-101-disk-0.qcow2');
   * // { volid: 'local:100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2', vtype: 'images' }
   * ```
   * @see Proxmox `PVE::Storage::path_to_volume_id`
   */
  async pathToVolumeId(path: string): Promise<PathVolumeId | undefined> {
    return read.pathToVolumeId(this.#live(), path);
  }

  /**
   * The path (or URL) through which a guest reaches the volume.
   *
   * @param volid - the volume
   * @param options - a snapshot's path instead
   * @throws {@link StorageError} `INVALID_ARGUMENT`, `NOT_SUPPORTED`
   * @see Proxmox `path`, `PVE::Storage::path`
   */
  async path(volid: string, options: SnapshotOption = {}): Promise<VolumePath> {
    return read.path(this.#state, this.#live().resolve(volid), options);
  }

  /**
   * Makes a volume usable (activates the storage first).
   *
   * @param volid - the volume
   * @param options - a snapshot instead
   * @throws {@link StorageError} `NOT_FOUND`, `INVALID_ARGUMENT`
   * @see Proxmox `activate_volume`, `PVE::Storage::activate_volumes`
   */
  async activateVolume(volid: string, options: SnapshotOption = {}): Promise<void> {
    await read.activateVolume(this.#state, this.#live().resolve(volid), options);
  }

  /**
   * Releases a volume.
   *
   * @param volid - the volume
   * @param options - a snapshot instead
   * @throws {@link StorageError} `INVALID_ARGUMENT`, and the plugin's errors
   * @see Proxmox `deactivate_volume`, `PVE::Storage::deactivate_volumes`
   */
  async deactivateVolume(volid: string, options: SnapshotOption = {}): Promise<void> {
    await read.deactivateVolume(this.#state, this.#live().resolve(volid), options);
  }

  /**
   * Tells whether a volume (or one of its snapshots) has a feature.
   *
   * @param volid - the volume
   * @param feature - `snapshot`, `clone`, `template`, `copy`, `sparseinit` or `rename`
   * @param options - ask about a snapshot
   * @throws {@link StorageError} `INVALID_ARGUMENT` (unknown feature, bad snapshot name)
   * @see Proxmox `volume_has_feature`
   */
  async volumeHasFeature(volid: string, feature: Feature, options: SnapshotOption = {}): Promise<boolean> {
    return read.volumeHasFeature(this.#state, this.#live().resolve(volid), feature, options);
  }

  // ---- attributes -------------------------------------------------------------------------

  /**
   * Reads a volume attribute.
   *
   * @param volid - the volume
   * @param attribute - `notes` or `protected`
   * @throws {@link StorageError} `NOT_SUPPORTED` when the plugin has no such attribute
   * @see Proxmox `get_volume_attribute`
   */
  async getVolumeAttribute(volid: string, attribute: VolumeAttribute): Promise<AttributeValue> {
    return (await import('./manager/attribute-ops.js')).getVolumeAttribute(this.#state, this.#live().resolve(volid), attribute);
  }

  /**
   * Sets a volume attribute.
   *
   * @param volid - the volume
   * @param attribute - `notes` (text) or `protected` (boolean)
   * @param value - the new value; `undefined` clears it
   * @throws {@link StorageError} `NOT_SUPPORTED`, `INVALID_ARGUMENT`
   * @see Proxmox `update_volume_attribute`
   */
  async updateVolumeAttribute(volid: string, attribute: VolumeAttribute, value: AttributeValue): Promise<void> {
    await (await import('./manager/attribute-ops.js')).updateVolumeAttribute(this.#state, this.#live().resolve(volid), attribute, value);
  }

  // ---- housekeeping -----------------------------------------------------------------------

  /**
   * Removes what operations left behind when their process died mid-way (a killed import, a
   * power cut): temporaries and unfinished volumes whose owner is dead, checked by identity
   * before removal. What a live process (or another node) is still writing is kept. The manager
   * also does this by itself before the first operation on each storage, then at most every
   * `gcIntervalMs`.
   *
   * @param storeId - the storage
   * @param options - `dryRun`: report only
   * @returns what was removed (or would be) and what was kept
   * @throws {@link StorageError} `NOT_FOUND`, `UNAVAILABLE`, `NOT_SUPPORTED` (the plugin makes no temporaries it could collect)
   */
  async collectGarbage(storeId: string, options: { dryRun?: boolean | undefined } = {}): Promise<GarbageReport> {
    return (await import('./manager/garbage.js')).collectGarbage(this.#state, this.#live().usable(storeId), options.dryRun === true);
  }

  // ---- export, import, copy ---------------------------------------------------------------

  /**
   * Stream formats a volume can be exported in, best first.
   *
   * @param volid - the volume
   * @param options - snapshot, base snapshot, with snapshots
   * @see Proxmox `volume_export_formats`
   */
  async volumeExportFormats(volid: string, options: TransferOptions = {}): Promise<StreamFormat[]> {
    return (await import('./manager/transfer-ops.js')).volumeExportFormats(this.#state, this.#live().resolve(volid), options);
  }

  /**
   * Stream formats a volume (which may not exist yet) can be imported from, best first.
   *
   * @param volid - the target volume
   * @param options - snapshot, base snapshot, with snapshots
   * @see Proxmox `volume_import_formats`
   */
  async volumeImportFormats(volid: string, options: TransferOptions = {}): Promise<StreamFormat[]> {
    return (await import('./manager/transfer-ops.js')).volumeImportFormats(this.#state, this.#live().resolve(volid), options);
  }

  /**
   * Writes a volume to a stream. No lock is held while data flows.
   *
   * @param volid - the volume
   * @param options - format, output, snapshot options, progress, signal
   * @throws {@link StorageError} `NOT_SUPPORTED` (format), `ABORTED`, `INVALID_ARGUMENT`, and the plugin's errors
   * @see Proxmox `volume_export`
   */
  async volumeExport(volid: string, options: ExportOptions): Promise<void> {
    await (await import('./manager/transfer-ops.js')).exportVolume(this.#state, this.#live().resolve(volid), options);
  }

  /**
   * Reads a volume from a stream into `volid` (which normally does not exist yet). When the
   * import fails, what it made is removed.
   *
   * @param volid - the target `storeid:volname`
   * @param options - format, input, snapshot options, allowRename, progress, signal
   * @returns the volid written (another name when `allowRename` had to pick one)
   * @throws {@link StorageError} `NOT_SUPPORTED` (format), `ALREADY_EXISTS`, `INVALID_ARGUMENT`
   *   (truncated stream), `ABORTED`, and the plugin's errors
   * @see Proxmox `volume_import`
   */
  async volumeImport(volid: string, options: ImportOptions): Promise<string> {
    return (await import('./manager/transfer-ops.js')).volumeImport(this.#state, this.#live().resolve(volid), options);
  }

  /**
   * Copies a volume to a storage (the same or another, of any type): picks the first export
   * format of the source the target imports, streams export into import with progress, and on
   * any failure or abort frees the half-made copy. No lock is held while data flows; the
   * target's name is chosen under its lock.
   *
   * @param volid - the source volume
   * @param targetStoreId - the target storage
   * @param options - owner, name, format, snapshots, progress, signal
   * @returns the copy's volid
   * @throws {@link StorageError} `NOT_SUPPORTED` (no common format, `details.exportFormats` and
   *   `details.importFormats`), `ABORTED`, `INVALID_ARGUMENT`, `UNAVAILABLE`, and the plugins' errors
   * @example
   * ```ts
   * const copy = await storages.copyVolume('local:100/vm-100-disk-0.raw', 'tank', {
   *   onProgress: ({ done, total }) => console.log(`${done}/${total ?? '?'}`),
   *   signal: AbortSignal.timeout(600_000),
   * });
   * ```
   * @see Proxmox `PVE::Storage::storage_migrate`
   */
  async copyVolume(volid: string, targetStoreId: string, options: CopyOptions = {}): Promise<string> {
    return (await import('./manager/transfer-ops.js')).copyVolume(this.#state, this.#live().resolve(volid), targetStoreId, options);
  }

  /**
   * Moves a disk image to another node (offline: the guest must not write to it meanwhile).
   * Negotiates a stream format with the node as {@link StorageManager.copyVolume} does with a
   * storage, streams export -> the node's import with progress, checks the node's copy (its
   * size; for `raw+size` the SHA-256 of its data, computed on the node, against the hash of
   * what was sent), and only then frees the source. The copy keeps the source's volname, on the
   * source's storage id unless `storage` is given (as Proxmox's `storage_migrate`). A linked
   * clone moves only with `full` (as a standalone volume) or when the node holds its base with
   * the same data. Any failure or abort leaves the source as it was and nothing on the node.
   *
   * @param volid - the volume
   * @param options - node, target storage, full, progress, signal
   * @returns the volume's id on the node, the stream format, bytes sent and the checksum
   * @throws {@link StorageError} `NOT_FOUND` (the node has no such storage), `NOT_SUPPORTED`
   *   (no common format; a linked clone whose base is not on the node, without `full`),
   *   `NO_SPACE`, `ALREADY_EXISTS` (the node has the volume), `CORRUPT` (the copy does not
   *   check out), `ABORTED`, `UNAVAILABLE` (the node cannot be reached, or its storage is not
   *   active there), and the source's
   *   `freeImage` errors (`IN_USE`, `PROTECTED`)
   * @example
   * ```ts
   * const b = new SshNode({ name: 'pve2', ssh: { host: 'pve2', user: 'root' } });
   * const moved = await storages.migrateVolume('local:100/vm-100-disk-0.raw', { toNode: b, onProgress: console.log });
   * ```
   * @see Proxmox `PVE::Storage::storage_migrate`; OpenNebula's `mv` transfer action
   */
  async migrateVolume(volid: string, options: MigrateOptions): Promise<MigrateResult> {
    return (await import('./manager/migrate.js')).migrateVolume(this.#open(), volid, options);
  }

  /**
   * Replicates a disk image on local storage to another node, as Proxmox's `pvesr` does: the
   * source stays, and the node keeps a replica that each run brings up to date. Both sides keep
   * a replication snapshot (`__replicate_<node>_<stamp>__`); the first run sends the volume as
   * of a new one, a later run only what changed since the newest one both sides have (ZFS: a
   * `zfs send -i` increment; LVM-thin: the changed ranges from the thin pool's metadata,
   * `lvmthin-delta`), in a stream format negotiated with the node. Once the node has the new
   * snapshot the older ones for that node are dropped on both sides. A failure or abort at any
   * point leaves both sides at their last good replication state. One run per volume and node
   * at a time (the caller schedules them, as `pvesr` does with its job lock).
   *
   * @param volid - the volume
   * @param options - node, target storage, progress, signal
   * @returns the replica's id, full or incremental, the snapshots, bytes sent
   * @throws {@link StorageError} `NOT_SUPPORTED` (no common format that carries a snapshot or an
   *   increment; shared storage), `ALREADY_EXISTS` (the node has the volume but no replication
   *   snapshot in common with it), `NO_SPACE`, `UNAVAILABLE`, `CORRUPT` (the node did not keep
   *   the snapshot), `ABORTED`, and the plugins' errors
   * @example
   * ```ts
   * const b = new SshNode({ name: 'pve2', ssh: { host: 'pve2', user: 'root' } });
   * const first = await storages.replicateVolume('local-zfs:vm-100-disk-0', { toNode: b }); // mode 'full'
   * const next = await storages.replicateVolume('local-zfs:vm-100-disk-0', { toNode: b }); // mode 'incremental', bytes: what changed
   * ```
   * @see Proxmox `PVE::Replication::replicate`, `pvesr`
   */
  async replicateVolume(volid: string, options: ReplicateOptions): Promise<ReplicateResult> {
    const state = this.#live();
    const takeSnapshot = async (id: string, snapshot: string): Promise<void> => {
      const { entry, volume } = state.resolve(id);
      await state.locked(entry, options.signal, (ctx) => entry.plugin.volumeSnapshot(ctx, { volume, snapshot }), {
        volname: volume.volname,
        operation: 'replicateVolume',
      });
    };
    return (await import('./manager/replicate.js')).replicateVolume(this, { takeSnapshot, log: state.log }, volid, options);
  }

  /**
   * Makes a volume of shared storage usable on another node while this one still uses it (the
   * first step of a live migration; OpenNebula's `premigrate`). LINSTOR puts a diskless replica
   * on the target when it has none (marked as stowage's); storage every node sees by path is
   * only checked to be visible there (when `toNode` is a {@link StorageNode}). Idempotent.
   *
   * @param volid - the volume
   * @param options - `toNode`: the target, a node or its name
   * @throws {@link StorageError} `NOT_SUPPORTED` (the storage is not shared: use
   *   {@link StorageManager.migrateVolume}), `NOT_FOUND` (the node does not see the volume), and
   *   the plugin's errors
   * @see OpenNebula's `premigrate` transfer action
   */
  async prepareMigration(volid: string, options: { readonly toNode: HandoffNode }): Promise<void> {
    await (await import('./manager/handoff.js')).prepareMigration(this.#state, this.#live().resolve(volid), options.toNode);
  }

  /**
   * Releases a volume of shared storage on this node once the target runs it (OpenNebula's
   * `postmigrate`): LINSTOR removes this node's replica only if it is a diskless one stowage
   * made, never a diskful one. Idempotent.
   *
   * @param volid - the volume
   * @throws {@link StorageError} `NOT_SUPPORTED` (not shared), `IN_USE` (still open here), and the plugin's errors
   * @see OpenNebula's `postmigrate` transfer action
   */
  async finishMigration(volid: string): Promise<void> {
    await (await import('./manager/handoff.js')).finishMigration(this.#state, this.#live().resolve(volid));
  }

  /**
   * Undoes the target's side of a hand-off that will not happen (OpenNebula's `failmigrate`):
   * LINSTOR removes the target's replica only if it is a diskless one stowage made. Idempotent.
   *
   * @param volid - the volume
   * @param options - `toNode`: the target, a node or its name
   * @throws {@link StorageError} `NOT_SUPPORTED` (not shared), `IN_USE` (open on the target), and the plugin's errors
   * @see OpenNebula's `failmigrate` transfer action
   */
  async abortMigration(volid: string, options: { readonly toNode: HandoffNode }): Promise<void> {
    await (await import('./manager/handoff.js')).abortMigration(this.#state, this.#live().resolve(volid), options.toNode);
  }

  /**
   * Stops using the manager: later calls fail with `UNAVAILABLE`. Waits for pending config
   * changes. Volumes and storages are left as they are.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const stop of this.#stops.splice(0)) stop();
    await this.#configChain.catch(() => undefined);
  }

  // ---- internals --------------------------------------------------------------------------

  #live(): ManagerState {
    if (this.#closed) throw new StorageError('UNAVAILABLE', 'the storage manager is closed');
    return this.#state;
  }

  /** This manager, unless it is closed. */
  #open(): StorageManager {
    this.#live();
    return this;
  }

  #configTask<T>(fn: () => Promise<T>): Promise<T> {
    this.#live();
    const run = this.#configChain.then(fn, fn);
    this.#configChain = run.catch(() => undefined);
    return run;
  }

}

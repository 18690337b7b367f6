/**
 * What a plugin can do, as data: content types, formats, and Proxmox's `volume_has_feature`
 * matrix. The manager and the conformance kit both read it; nothing is detected at run time.
 *
 * @module
 */

/** Content types a storage can hold (Proxmox's names). */
export type ContentType = 'images' | 'rootdir' | 'iso' | 'vztmpl' | 'backup' | 'snippets' | 'import';

/** Every {@link ContentType}, in a stable order. */
export const CONTENT_TYPES: readonly ContentType[] = ['images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets', 'import'];

/** A disk image format. `subvol` is a directory-backed container volume. */
export type VolumeFormat = 'raw' | 'qcow2' | 'vmdk' | 'subvol';

/** Features of Proxmox's `volume_has_feature`. */
export type Feature = 'snapshot' | 'clone' | 'template' | 'copy' | 'sparseinit' | 'rename';

/** Every {@link Feature}, in a stable order. */
export const FEATURES: readonly Feature[] = ['snapshot', 'clone', 'template', 'copy', 'sparseinit', 'rename'];

/** Which kind of volume a feature question is about: a snapshot, a base (template) or a current (plain) volume. */
export type VolumeState = 'current' | 'base' | 'snap';

/**
 * The feature matrix: for each feature and volume state, the formats for which it holds.
 * A missing entry means "not supported".
 *
 * @example
 * ```ts
 * const features: FeatureMatrix = {
 *   snapshot: { current: ['qcow2'], snap: ['qcow2'] },
 *   clone: { base: ['qcow2', 'raw', 'vmdk'] },
 * };
 * ```
 */
export type FeatureMatrix = Readonly<Partial<Record<Feature, Readonly<Partial<Record<VolumeState, readonly VolumeFormat[]>>>>>>;

/**
 * Export/import stream formats: the data, optionally prefixed by an 8-byte little-endian size
 * header (`+size`); `zfs` and `btrfs` send streams; `lvmthin-delta`, the changed ranges of an
 * LVM-thin snapshot (since a base snapshot, or all of its mapped ranges) in stowage's own
 * frame (see the `lvmthin` plugin's `delta-frame`).
 */
export type StreamFormat = 'raw+size' | 'qcow2+size' | 'vmdk+size' | 'tar+size' | 'zfs' | 'btrfs' | 'lvmthin-delta';

/** Every {@link StreamFormat}, in a stable order. */
export const STREAM_FORMATS: readonly StreamFormat[] = ['raw+size', 'qcow2+size', 'vmdk+size', 'tar+size', 'zfs', 'btrfs', 'lvmthin-delta'];

/** Everything a plugin declares about itself. */
export interface PluginCapabilities {
  /** Content types this plugin can store. */
  readonly content: readonly ContentType[];
  /** Content types enabled when a storage's config names none. */
  readonly defaultContent: readonly ContentType[];
  /** Image formats it can allocate. */
  readonly formats: readonly VolumeFormat[];
  /** The format used when a request names none. */
  readonly defaultFormat: VolumeFormat;
  /** `true` when every node sees the same volumes (network or replicated storage). */
  readonly shared: boolean;
  /** The feature matrix of `volume_has_feature`. */
  readonly features: FeatureMatrix;
  /** Stream formats `volumeExport` can write, best first. */
  readonly exportFormats: readonly StreamFormat[];
  /** Stream formats `volumeImport` can read, best first. */
  readonly importFormats: readonly StreamFormat[];
  /** `true` when any snapshot can be rolled back to, not only the newest. */
  readonly rollbackAnySnapshot: boolean;
  /** `true` when a volume can be cloned from any snapshot, not only from a base. */
  readonly cloneFromSnapshot: boolean;
  /** Attributes `getVolumeAttribute`/`updateVolumeAttribute` support. */
  readonly attributes: readonly VolumeAttribute[];
  /** `true` when the volume size can shrink. */
  readonly shrink: boolean;
  /**
   * `true` when `activateVolume` and `deactivateVolume` honour `ActivateVolumeRequest.node`:
   * they make the volume usable on (or release it from) another node of a shared storage
   * (LINSTOR: a diskless replica there). The manager's migration hand-off needs it.
   * @default false
   */
  readonly activatesForNode?: boolean;
  /**
   * `true` when every create refuses a name that is taken, by itself and atomically, with
   * `ALREADY_EXISTS`, changing nothing: `allocImage`, `cloneImage`, `renameVolume` (its target)
   * and `volumeImport` (its target, also one still being imported), whoever made what holds the
   * name (another process, a tool run by hand). Nothing is overwritten and nothing is left
   * behind; checking the name in a listing first is not enough, unless the check and the create
   * are one step for the backend (`lvcreate`, `zfs create`, `link(2)`, `O_EXCL`). Its
   * `findFreeDiskname` must also count the names of `FindFreeDisknameRequest.taken` as taken.
   *
   * For such a plugin the manager chooses a new volume's name without a listing under the
   * storage lock: from the listing it already has (its cache, even when stale) and the names it
   * made since; a name that turns out taken is refused by the create, and the manager takes the
   * next free one (after one fresh listing) and tries again, a bounded number of times.
   * Without it the manager lists the storage under the lock before every create that needs a
   * free name.
   * @default false
   */
  readonly exclusiveCreate?: boolean;
  /**
   * `true` when `cloneImage` of a template (no snapshot named) whose `hidden` attribute is set
   * refuses by itself, in the same step as the clone, with the error of
   * {@link @stowage/core!plugin.hiddenTemplateError | hiddenTemplateError} (`INVALID_STATE`,
   * `details.hidden`), and makes nothing: whoever hid the template (another process, another
   * manager). ZFS: hiding renames the template's `__base__` snapshot, so `zfs clone` of it fails.
   *
   * For such a plugin the manager clones without reading the template's `hidden` attribute;
   * without it the manager reads the attribute beside each clone of a template (in the storage
   * lock) and frees a clone made of a hidden one again. Only meaningful with `hidden` in
   * `attributes`.
   * @default false
   */
  readonly cloneRefusesHidden?: boolean;
  /** The format of a linked clone; the source's format when omitted (directory storage: `qcow2`). */
  readonly cloneFormat?: VolumeFormat;
  /**
   * `true` when a clone made by `cloneImage` holds all its data itself (a reflink copy, a btrfs
   * snapshot, a full copy) instead of reading through its source: the clone does not depend on
   * the template (or snapshot) it was made from. Such a plugin names its clones without the
   * template (`vm-<vmid>-disk-<n>`); it may still report `parent` (the volume a clone was made
   * from) while that volume exists. The manager then lets the template be freed while clones
   * exist (no `IN_USE`), and they keep their data. When `false` (linked clones), `parent` is also
   * what the clone depends on, and `freeImage` of a template that clones name as `parent` (or in
   * their volname) is refused with `IN_USE`, as Proxmox's `volume_is_base_and_used`.
   * @default false
   */
  readonly independentClones?: boolean;
  /**
   * The largest virtual size, in bytes, an image of each format can have on this storage: what
   * the format can address with the parameters the plugin creates it with (a directory storage:
   * qcow2 with 64 KiB clusters, 2 PiB; vmdk, 1 PiB). The manager refuses a larger allocation or
   * resize with `INVALID_ARGUMENT` before the plugin is called. A format without an entry is
   * limited by the largest size a JavaScript number holds exactly and by what the backend
   * itself refuses (a filesystem's largest file, a pool's limits).
   *
   * @example
   * ```ts
   * const maxSize = { qcow2: 2 ** 51, vmdk: 2 ** 50 };
   * ```
   */
  readonly maxSize?: Readonly<Partial<Record<VolumeFormat, number>>>;
  /**
   * Which flattening the plugin does (`volumeSnapshotFlatten`, `flattenImage`); none when
   * omitted.
   */
  readonly flatten?: FlattenCapabilities;
}

/**
 * What flattening a plugin does, by image format. A format that is not listed is refused by the
 * manager with `NOT_SUPPORTED` before the plugin is called.
 *
 * @example
 * ```ts
 * const flatten: FlattenCapabilities = { toSnapshot: ['qcow2'], clone: ['qcow2'], cloneKeepsSnapshots: false };
 * ```
 */
export interface FlattenCapabilities {
  /** Formats whose volumes `volumeSnapshotFlatten` takes back to one of their snapshots, dropping all snapshots. */
  readonly toSnapshot?: readonly VolumeFormat[];
  /** Formats whose linked clones `flattenImage` detaches from their base. */
  readonly clone?: readonly VolumeFormat[];
  /**
   * `true` when `flattenImage` keeps the clone's snapshots; when `false`, the manager refuses to
   * flatten a clone that has snapshots (`INVALID_STATE`, `details.snapshots`).
   * @default false
   */
  readonly cloneKeepsSnapshots?: boolean;
}

/**
 * Volume attributes: Proxmox's `notes` and `protected`, and stowage's `hidden` (a template freed
 * with `whenUnused` while clones still use it: not listed, not cloned again, freed with its last
 * clone). A plugin that lists `hidden` in `capabilities.attributes` keeps it on the storage
 * (a file, an LV tag, a ZFS user property, a LINSTOR property) and reports it as
 * `ImageInfo.hidden` in `listImages`.
 */
export type VolumeAttribute = 'notes' | 'protected' | 'hidden';

/** The question asked of {@link hasFeature}. */
export interface FeatureQuery {
  /** The feature asked about. */
  readonly feature: Feature;
  /** The volume's format. */
  readonly format: VolumeFormat;
  /** `true` when the volume is a base (template). */
  readonly isBase: boolean;
  /** Set when the question is about a snapshot of the volume. */
  readonly snapshot?: string | undefined;
}

/**
 * Looks a feature up in a matrix: state `snap` when a snapshot is named, else `base` or `current`.
 *
 * @param matrix - the plugin's feature matrix
 * @param query - feature, format, base flag, snapshot
 * @returns `true` when the matrix lists the format for that feature and state
 * @see Proxmox `volume_has_feature`
 */
export function hasFeature(matrix: FeatureMatrix, query: FeatureQuery): boolean {
  const state: VolumeState = query.snapshot ? 'snap' : query.isBase ? 'base' : 'current';
  return matrix[query.feature]?.[state]?.includes(query.format) ?? false;
}

/**
 * The shapes passed to and returned by plugin methods. Every method takes `(ctx, request)`, so a
 * new optional field breaks no plugin. Sizes are bytes everywhere.
 *
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import type { OperationCache } from './cache.js';
import type { ContentType, Feature, StreamFormat, VolumeAttribute, VolumeFormat } from './capabilities.js';
import type { CommandResult, CommandRunner, RunOptions } from './command/runner.js';
import type { FileSystem } from './file-system.js';
import type { StorageConfig } from './config/base-schema.js';

/** A sink for a plugin's diagnostic messages. */
export interface Logger {
  /** Detail for debugging. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Something worth knowing. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something went wrong but the operation goes on (Proxmox's `warn`). */
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** Progress of a long operation (export, import, copy). */
export interface Progress {
  /** Bytes done so far. */
  readonly done: number;
  /** Bytes in all, when known. */
  readonly total: number | undefined;
}

/** Receives {@link Progress} reports. Must not throw. */
export type ProgressCallback = (progress: Progress) => void;

/**
 * Everything a plugin method gets besides its request. Made fresh by the manager for each call.
 *
 * @typeParam C - the plugin's config type
 */
export interface PluginContext<C extends StorageConfig = StorageConfig> {
  /** The storage id. */
  readonly storeId: string;
  /** The storage's validated config. */
  readonly config: C;
  /** A cache that lives for this one operation. */
  readonly cache: OperationCache;
  /** The runner that executes commands for this storage. */
  readonly runner: CommandRunner;
  /** Runs a command through {@link PluginContext.runner}, with this operation's abort signal. */
  readonly run: (argv: readonly string[], options?: RunOptions) => Promise<CommandResult>;
  /** Aborts the operation. */
  readonly signal: AbortSignal | undefined;
  /**
   * The file-system calls through which a plugin that works on local files changes its storage:
   * the runner's (`CommandRunner.fs`), else this machine's. Tests fail them as they fail commands.
   */
  readonly fs: FileSystem;
  /** Diagnostic messages. */
  readonly log: Logger;
  /** The name of the node this process runs on. */
  readonly node: string;
  /**
   * Tells the manager that the new volume's name is taken: the volume, or a placeholder that
   * this plugin's listings hide and its free-name search counts, exists now. The manager then
   * gives back the storage lock, so that a long data copy (an import, a preallocation) does not
   * hold it. Call it at most once, right after the reservation is made; outside a locked
   * operation it does nothing.
   */
  readonly nameReserved: () => void;
}

/** The kind of a guest, as Proxmox's cluster guest list (`vmlist`) names it. */
export type GuestType = 'qemu' | 'lxc';

/** Guests by vmid, as Proxmox's `vmlist` gives them (its `ids.<vmid>.type`). */
export type GuestTypes = Readonly<Record<number, GuestType>>;

/** What a plugin's `parseVolname` returns: Proxmox's 7-tuple as named fields, plus the volname. */
export interface ParsedVolume {
  /** The volume name this was parsed from. */
  readonly volname: string;
  /** The content type. */
  readonly vtype: ContentType;
  /** The volume's own name, e.g. `vm-100-disk-0.qcow2` or `x.iso`. */
  readonly name: string;
  /** The owning guest, when the content type has one. */
  readonly vmid: number | undefined;
  /** For a linked clone: the base's name. */
  readonly baseName: string | undefined;
  /** For a linked clone: the base's vmid. */
  readonly baseVmid: number | undefined;
  /** `true` when the volume itself is a base (template). */
  readonly isBase: boolean;
  /** The image format (`raw`, `qcow2`, ...) or the file kind for other content. */
  readonly format: VolumeFormat | string | undefined;
}

/** One image as listed by `listImages`. */
export interface ImageInfo {
  /** `storeid:volname`. */
  readonly volid: string;
  /** The volume name. */
  readonly volname: string;
  /** The format, or `invalid` when the file is corrupt or unreadable. */
  readonly format: VolumeFormat | 'invalid';
  /** Virtual size in bytes. */
  readonly size: number;
  /** Bytes used on the storage, when known. */
  readonly used: number | undefined;
  /** The owning guest. */
  readonly vmid: number;
  /** `true` for a base (template). */
  readonly isBase: boolean;
  /** For a linked clone: the volid of its base (or the snapshot it was cloned from, `volid@snap`). */
  readonly parent: string | undefined;
  /**
   * The backing file as the image header stores it (Proxmox's `parent`), when the image has
   * one, also when it leads to no volume of this storage (then `parent` is undefined). Plugins
   * whose volumes have no backing file leave it out.
   */
  readonly backingFile?: string | undefined;
  /** Creation time, seconds since the epoch, when known. */
  readonly ctime: number | undefined;
  /**
   * `true` for a template freed with `whenUnused` while clones still use it (the `hidden`
   * attribute): it still serves its clones, is not cloned again, and goes with its last clone.
   * Set by plugins that list `hidden` in `capabilities.attributes`; absent means not hidden.
   */
  readonly hidden?: boolean | undefined;
}

/** One volume of any content type, as listed by `listVolumes`. */
export interface VolumeListEntry {
  /** `storeid:volname`. */
  readonly volid: string;
  /** The content type. */
  readonly content: ContentType;
  /** The format or file kind. */
  readonly format: string;
  /** Size in bytes. */
  readonly size: number;
  /** The owning guest, when there is one. */
  readonly vmid: number | undefined;
  /**
   * Modification or creation time, seconds since the epoch, when known. For a backup with a
   * standard `vzdump-<type>-<vmid>-YYYY_MM_DD-hh_mm_ss` name: the time in its name.
   */
  readonly ctime: number | undefined;
  /** For a backup: the kind of guest it is of, from its name (`unknown` for a name that does not say). */
  readonly subtype?: BackupSubtype | undefined;
  /**
   * For a disk image (content `images` or `rootdir`): what `listImages` knows beyond the fields
   * above (bytes used, whether it is a template, its base, its backing file as stored, whether it
   * is a hidden template), so that a listing of every volume needs no second listing of the
   * images. Left out by plugins that do not fill it in: then ask `listImages`.
   */
  readonly image?: Pick<ImageInfo, 'used' | 'isBase' | 'parent' | 'backingFile' | 'hidden'> | undefined;
}

/** The kind of guest a backup is of, from its `vzdump-<type>-…` name, as Proxmox reports it. */
export type BackupSubtype = 'qemu' | 'lxc' | 'openvz' | 'unknown';

/** Usage of a storage. A storage that cannot be reached is reported with `active: false` and zeros. */
export interface StorageStatus {
  /** Total bytes. */
  readonly total: number;
  /** Bytes available for new data. */
  readonly available: number;
  /** Bytes used. */
  readonly used: number;
  /** `false` when the storage is offline or unusable. */
  readonly active: boolean;
  /** Plugin-specific facts (e.g. thin-pool metadata usage). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A snapshot of a volume. */
export interface SnapshotInfo {
  /** The snapshot name. */
  readonly name: string;
  /** A unique id when the storage has one (ZFS `guid`). */
  readonly id: string | undefined;
  /** Creation time, seconds since the epoch, when known. */
  readonly timestamp: number | undefined;
}

/** Size and lineage of one volume. */
export interface VolumeSizeInfo {
  /** Virtual size in bytes. */
  readonly size: number;
  /** Image format. */
  readonly format: VolumeFormat | 'invalid';
  /** Bytes used on the storage, when known. */
  readonly used: number | undefined;
  /** The base it is a linked clone of (volid), if any. */
  readonly parent: string | undefined;
  /** The backing file as the image header stores it, when it has one (see {@link ImageInfo.backingFile}). */
  readonly backingFile?: string | undefined;
  /** Creation time, seconds since the epoch, when known. */
  readonly ctime: number | undefined;
}

/** The path of a volume. */
export interface VolumePath {
  /** A filesystem or device path (or a URL, for network storage). */
  readonly path: string;
  /** The owning guest, when there is one. */
  readonly vmid: number | undefined;
  /** The content type. */
  readonly vtype: ContentType;
}

/** A request about one existing volume. */
export interface VolumeRequest {
  /** The parsed volume. */
  readonly volume: ParsedVolume;
}

/** `listImages` request. */
export interface ListImagesRequest {
  /** Only this guest's images. */
  readonly vmid?: number | undefined;
  /** Only these volnames (the vmid filter is then ignored, as in Proxmox). */
  readonly volnames?: readonly string[] | undefined;
}

/** `listVolumes` request. */
export interface ListVolumesRequest {
  /** Only this guest's volumes. */
  readonly vmid?: number | undefined;
  /** Only these content types; all enabled ones when omitted. */
  readonly content?: readonly ContentType[] | undefined;
  /**
   * Which guests are containers (vmid to `qemu` or `lxc`, as Proxmox's guest list gives it). A
   * container's images are listed as content `rootdir`; without it, or for a guest not in it,
   * every image is `images`.
   */
  readonly guests?: GuestTypes | undefined;
}

/** `allocImage` request. */
export interface AllocImageRequest {
  /** The owning guest. */
  readonly vmid: number;
  /** The image format (already defaulted and checked by the manager). */
  readonly format: VolumeFormat;
  /** The volume name to create (already chosen or checked by the manager under the storage lock). */
  readonly name: string;
  /** Size in bytes (positive, rounded up as the storage needs; 0 for a `subvol` means no quota). */
  readonly size: number;
}

/** `freeImage` request. */
export type FreeImageRequest = VolumeRequest;

/** `createBase` request. */
export type CreateBaseRequest = VolumeRequest;

/** `cloneImage` request. */
export interface CloneImageRequest extends VolumeRequest {
  /** The guest that owns the clone. */
  readonly vmid: number;
  /** The name of the new volume (chosen by the manager under the storage lock). */
  readonly name: string;
  /** Clone from this snapshot instead of from a base. */
  readonly snapshot?: string | undefined;
}

/** A request about one snapshot of a volume. */
export interface SnapshotRequest extends VolumeRequest {
  /** The snapshot name. */
  readonly snapshot: string;
}

/** `volumeSnapshotFlatten` request. */
export interface SnapshotFlattenRequest extends SnapshotRequest {
  /** Called as data is copied, where the backend copies any. */
  readonly onProgress?: ProgressCallback | undefined;
}

/** `flattenImage` request. */
export interface FlattenImageRequest extends VolumeRequest {
  /** Called as data is copied, where the backend copies any. */
  readonly onProgress?: ProgressCallback | undefined;
}

/** `volumeSnapshotRollback` request. */
export interface SnapshotRollbackRequest extends SnapshotRequest {
  /** Destroy newer snapshots that block the rollback (ZFS). Default `false`. */
  readonly destroyBlockers?: boolean | undefined;
}

/** `volumeSnapshotDelete` request. */
export interface SnapshotDeleteRequest extends SnapshotRequest {
  /** `true` when a running guest holds the volume (Proxmox's `$running`). */
  readonly running?: boolean | undefined;
}

/** `volumeResize` request. */
export interface VolumeResizeRequest extends VolumeRequest {
  /** The new size in bytes. */
  readonly size: number;
  /** `true` when a running guest holds the volume. */
  readonly running?: boolean | undefined;
}

/** `renameVolume` request. */
export interface RenameVolumeRequest extends VolumeRequest {
  /** The guest the volume moves to. */
  readonly targetVmid: number;
  /** The new name (chosen by the manager under the storage lock). */
  readonly targetName: string;
}

/** `path` request. */
export interface PathRequest extends VolumeRequest {
  /** The path of this snapshot instead of the current state. */
  readonly snapshot?: string | undefined;
}

/** `pathToVolname` request. */
export interface PathToVolnameRequest {
  /** An absolute path, normalised (no `.` or `..` segment, no trailing `/`). */
  readonly path: string;
}

/** What `StorageManager.pathToVolumeId` finds for a path. */
export interface PathVolumeId {
  /** The volume id. */
  readonly volid: string;
  /** Its content type, as its volname says (an image or a container subvolume: `images`). */
  readonly vtype: ContentType;
}

/** `activateVolume` / `deactivateVolume` request. */
export interface ActivateVolumeRequest extends VolumeRequest {
  /** Activate this snapshot instead of the volume. */
  readonly snapshot?: string | undefined;
  /**
   * Act for this node instead of this one (a migration hand-off on shared storage). Only set by
   * the manager for plugins whose `capabilities.activatesForNode` is `true`.
   */
  readonly node?: string | undefined;
}

/** `volumeHasFeature` request. */
export interface HasFeatureRequest extends VolumeRequest {
  /** The feature asked about. */
  readonly feature: Feature;
  /** Ask about this snapshot of the volume. */
  readonly snapshot?: string | undefined;
}

/** `getVolumeAttribute` request. */
export interface GetAttributeRequest extends VolumeRequest {
  /** The attribute. */
  readonly attribute: VolumeAttribute;
}

/** `updateVolumeAttribute` request. */
export interface UpdateAttributeRequest extends GetAttributeRequest {
  /** The new value: text for `notes`, a boolean for `protected`, `undefined` to clear. */
  readonly value: string | boolean | undefined;
}

/** The value of a volume attribute. */
export type AttributeValue = string | boolean | undefined;

/** What an export or import stream carries besides the current state. */
export interface TransferOptions {
  /** Include snapshots (formats that can carry them). */
  readonly withSnapshots?: boolean | undefined;
  /** Export or import the state of this snapshot. */
  readonly snapshot?: string | undefined;
  /** Incremental: only what changed since this snapshot, which both sides have. */
  readonly baseSnapshot?: string | undefined;
}

/** `volumeExportFormats` / `volumeImportFormats` request. */
export interface TransferFormatsRequest extends VolumeRequest, TransferOptions {}

/** `volumeExport` request. */
export interface VolumeExportRequest extends VolumeRequest, TransferOptions {
  /** The stream format to write. */
  readonly format: StreamFormat;
  /** Where the bytes go. The plugin writes the whole stream, `+size` header included, and does not end it. */
  readonly output: Writable;
  /** Progress of the bytes written. */
  readonly onProgress?: ProgressCallback | undefined;
}

/** `volumeImport` request. The target volume is described by a parsed volname that may not exist yet. */
export interface VolumeImportRequest extends VolumeRequest, TransferOptions {
  /** The stream format to read. */
  readonly format: StreamFormat;
  /** Where the bytes come from, `+size` header included. */
  readonly input: Readable;
  /** When the name is taken, pick a free one instead of failing. */
  readonly allowRename?: boolean | undefined;
  /** Progress of the bytes read. */
  readonly onProgress?: ProgressCallback | undefined;
  /**
   * Set when the caller will read the new volume back (a migration's check): a plugin that
   * flushes the data in parts may hand each part, read back from the storage once flushed, here
   * (`begin(size)` first, then every byte in order) and spare the caller a second pass over the
   * volume. Hand all of it or leave it: the caller reads back whatever was not handed.
   */
  readonly readBack?: ReadBack | undefined;
}

/**
 * Takes a new volume's data as read back from its storage once flushed (see
 * `VolumeImportRequest.readBack`): `begin` once, with the volume's size, then every byte in
 * order from the first. A plugin hands it all of the volume or nothing it can vouch for; the
 * caller reads back in full whatever was not handed.
 */
export interface ReadBack {
  /** Called once, before any data, with the volume's size in bytes. */
  begin(size: number): void;
  /** The next bytes of the volume as read back; not kept after the call. */
  update(chunk: Uint8Array): void;
}

/** `findFreeDiskname` request. */
export interface FindFreeDisknameRequest {
  /** The guest. */
  readonly vmid: number;
  /** Append `.<format>` (path storages). */
  readonly format?: VolumeFormat | undefined;
  /** Make a `base-` name instead of a `vm-` name. */
  readonly base?: boolean | undefined;
  /**
   * Disk names (as `ParsedVolume.name`, extension included) to count as taken besides what the
   * storage holds: names the caller made after its listing was read, or found taken by a create.
   * The manager sets it only for plugins that declare `PluginCapabilities.exclusiveCreate`.
   */
  readonly taken?: readonly string[] | undefined;
}

/** `collectGarbage` request. */
export interface CollectGarbageRequest {
  /** Only report what would be removed; remove nothing. */
  readonly dryRun?: boolean | undefined;
}

/** A temporary or an unfinished volume that `collectGarbage` found. */
export interface GarbageItem {
  /** What it is, as the plugin names it (a file name, an LV, a dataset). */
  readonly name: string;
  /** Its owner token (see `formatOwner`), when it has a readable one. */
  readonly owner: string | undefined;
  /** Why it was kept or removed: `owner-dead`, `owner-alive`, `owner-unknown` (another node's). */
  readonly reason: 'owner-dead' | 'owner-alive' | 'owner-unknown';
}

/** What `collectGarbage` did. */
export interface GarbageReport {
  /** Removed (or, with `dryRun`, would be removed): their owners are dead. */
  readonly removed: readonly GarbageItem[];
  /** Left alone: their owners still run, or run on another node. */
  readonly kept: readonly GarbageItem[];
}

/**
 * Pure builders of every command the `zfspool` plugin runs. Each returns an argv array (program
 * first) that a `CommandRunner` passes on unchanged, locally or over ssh: never a shell string.
 * Listings use `-Hp` (no header, tab-separated, exact numbers).
 *
 * @module
 */

/**
 * The user property that marks a volume not whole yet (an import under way, or left by a
 * killed one); its value is the owner token of the process writing it.
 */
export const INCOMPLETE_PROPERTY = 'stowage:incomplete';

/**
 * The user property of a volume being flattened (see `ops-flatten.ts`): the new state built beside
 * the old one, until the swap is done; its value is the owner token of the process doing it.
 * Unlike `stowage:incomplete` it does not hide the volume: once renamed into place the new state
 * is the volume, and a leftover mark only tells `collectGarbage` what is left to finish.
 */
export const FLATTEN_PROPERTY = 'stowage:flatten';

/** The user property of a hidden template (the `hidden` attribute): `1` when set. */
export const HIDDEN_PROPERTY = 'stowage:hidden';

/** The columns of every dataset listing, in this order (see `parseDatasetList`). */
export const DATASET_FIELDS = ['name', 'type', 'volsize', 'refquota', 'origin', 'usedbydataset', 'creation', 'guid', INCOMPLETE_PROPERTY, FLATTEN_PROPERTY, HIDDEN_PROPERTY] as const;

/** The columns of every snapshot listing, in this order (see `parseSnapshotList`). */
export const SNAPSHOT_FIELDS = ['name', 'guid', 'creation', 'createtxg', 'clones'] as const;

/** One MiB, the step zvol sizes are rounded up to (as Proxmox does, a multiple of any volblocksize). */
export const MiB = 1024 * 1024;

/**
 * Rounds a byte count up to whole KiB, the unit sizes are handed to ZFS in.
 *
 * @param bytes - a positive byte count
 */
export function toKiB(bytes: number): number {
  return Math.ceil(bytes / 1024);
}

/**
 * Rounds a zvol size up to a whole MiB, as Proxmox does, so that it is a multiple of every
 * `volblocksize` up to 1 MiB.
 *
 * @param bytes - a positive byte count
 * @example
 * ```ts
 * zvolSize(1); // 1048576
 * ```
 */
export function zvolSize(bytes: number): number {
  return Math.ceil(bytes / MiB) * MiB;
}

/**
 * The direct children of the pool (or pool dataset), zvols and file systems, in one listing.
 *
 * @param pool - the storage's `pool` option
 * @example
 * ```ts
 * zfsListChildrenArgs('tank'); // ['zfs', 'list', '-Hp', '-d1', '-t', 'volume,filesystem', '-o', 'name,type,...', 'tank']
 * ```
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::zfs_list_zvol`
 */
export function zfsListChildrenArgs(pool: string): string[] {
  return ['zfs', 'list', '-Hp', '-d1', '-t', 'volume,filesystem', '-o', DATASET_FIELDS.join(','), pool];
}

/**
 * One dataset, with the columns of {@link zfsListChildrenArgs}.
 *
 * @param dataset - `<pool>/<name>`
 */
export function zfsListDatasetArgs(dataset: string): string[] {
  return ['zfs', 'list', '-Hp', '-o', DATASET_FIELDS.join(','), dataset];
}

/**
 * The snapshots of one dataset, oldest first (by creation transaction), with guid, creation time
 * and dependent clones.
 *
 * @param dataset - `<pool>/<name>`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_snapshot_info`, `volume_rollback_is_possible`
 */
export function zfsListSnapshotsArgs(dataset: string): string[] {
  return ['zfs', 'list', '-Hp', '-d1', '-t', 'snapshot', '-o', SNAPSHOT_FIELDS.join(','), '-s', 'createtxg', dataset];
}

/**
 * Property values of one dataset, one per line, in the order asked.
 *
 * @param properties - property names
 * @param dataset - a dataset or snapshot
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::zfs_get_properties`
 */
export function zfsGetArgs(properties: readonly string[], dataset: string): string[] {
  return ['zfs', 'get', '-Hp', '-o', 'value', properties.join(','), dataset];
}

/** What {@link zfsCreateVolumeArgs} makes. */
export interface ZvolSpec {
  /** `<pool>/<name>`. */
  readonly dataset: string;
  /** The size in bytes; handed over in KiB (round it first, see {@link zvolSize}). */
  readonly size: number;
  /** No reservation (`-s`). */
  readonly sparse?: boolean | undefined;
  /** `volblocksize`, as the config writes it (`16k`). */
  readonly blocksize?: string | undefined;
  /** Properties the zvol gets in the same `zfs create` (`-o`), e.g. the unfinished mark. */
  readonly properties?: Readonly<Record<string, string>> | undefined;
}

/** `-o name=value` for each property. */
function propertyOptions(properties: Readonly<Record<string, string>> = {}): string[] {
  return Object.entries(properties).flatMap(([k, v]) => ['-o', `${k}=${v}`]);
}

/**
 * Creates a zvol.
 *
 * @param spec - dataset, size, sparse, block size
 * @example
 * ```ts
 * zfsCreateVolumeArgs({ dataset: 'tank/vm-100-disk-0', size: 4 * 2 ** 30, sparse: true });
 * // ['zfs', 'create', '-s', '-V', '4194304k', 'tank/vm-100-disk-0']
 * ```
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::zfs_create_zvol`
 */
export function zfsCreateVolumeArgs(spec: ZvolSpec): string[] {
  return [
    'zfs',
    'create',
    ...(spec.sparse ? ['-s'] : []),
    ...(spec.blocksize ? ['-b', spec.blocksize] : []),
    ...propertyOptions(spec.properties),
    '-V',
    `${toKiB(spec.size)}k`,
    spec.dataset,
  ];
}

/**
 * Creates a container volume: a file system with POSIX ACLs, xattrs in the dnode, and a
 * `refquota` of the size (`none` for 0).
 *
 * @param dataset - `<pool>/<name>`
 * @param size - the quota in bytes, 0 for none
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::zfs_create_subvol`
 */
export function zfsCreateSubvolArgs(dataset: string, size: number): string[] {
  return ['zfs', 'create', '-o', 'acltype=posixacl', '-o', 'xattr=sa', '-o', `refquota=${refquotaValue(size)}`, dataset];
}

/**
 * A `refquota` value: `<KiB>k`, or `none` for 0.
 *
 * @param size - bytes
 */
export function refquotaValue(size: number): string {
  return size > 0 ? `${toKiB(size)}k` : 'none';
}

/**
 * Destroys a dataset with its snapshots (`-r`), or one snapshot.
 *
 * @param target - `<pool>/<name>` or `<pool>/<name>@<snapshot>`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::zfs_delete_zvol`, `volume_snapshot_delete`
 */
export function zfsDestroyArgs(target: string): string[] {
  return target.includes('@') ? ['zfs', 'destroy', target] : ['zfs', 'destroy', '-r', target];
}

/**
 * Takes a snapshot, optionally with user properties set on it.
 *
 * @param snapshot - `<pool>/<name>@<snapshot>`
 * @param properties - user properties of the snapshot, e.g. `{ 'pve-storage:refquota': '1048576' }`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_snapshot`
 */
export function zfsSnapshotArgs(snapshot: string, properties: Readonly<Record<string, string>> = {}): string[] {
  return ['zfs', 'snapshot', ...propertyOptions(properties), snapshot];
}

/**
 * Rolls a dataset back to a snapshot; with `destroyNewer` (`-r`) the newer snapshots are destroyed.
 *
 * @param snapshot - `<pool>/<name>@<snapshot>`
 * @param destroyNewer - pass `-r`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_snapshot_rollback`
 */
export function zfsRollbackArgs(snapshot: string, destroyNewer = false): string[] {
  return ['zfs', 'rollback', ...(destroyNewer ? ['-r'] : []), snapshot];
}

/**
 * Makes a writable clone of a snapshot.
 *
 * @param origin - `<pool>/<name>@<snapshot>`
 * @param dataset - the new `<pool>/<name>`
 * @param properties - properties of the clone, e.g. `{ refquota: '1048576k' }`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::clone_image`
 */
export function zfsCloneArgs(origin: string, dataset: string, properties: Readonly<Record<string, string>> = {}): string[] {
  return ['zfs', 'clone', ...propertyOptions(properties), origin, dataset];
}

/**
 * Renames a dataset (its snapshots go with it), or a snapshot within its dataset (clones'
 * `origin` follows).
 *
 * @param from - `<pool>/<name>` or `<pool>/<name>@<snapshot>`
 * @param to - `<pool>/<new name>` or `<pool>/<name>@<new snapshot>`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::create_base`, `rename_volume`
 */
export function zfsRenameArgs(from: string, to: string): string[] {
  return ['zfs', 'rename', from, to];
}

/**
 * Promotes a clone: the snapshots of its origin up to and including the one it was cloned from
 * move to it, and the origin becomes a clone of it. Metadata only.
 *
 * @param dataset - the clone, `<pool>/<name>`
 */
export function zfsPromoteArgs(dataset: string): string[] {
  return ['zfs', 'promote', dataset];
}

/**
 * Destroys a range of snapshots of a dataset (`<first>%<last>`, both included) in one command,
 * and with `dependents` (`-R`) the clones of those snapshots too.
 *
 * @param dataset - `<pool>/<name>`
 * @param first - the oldest snapshot of the range
 * @param last - the newest snapshot of the range
 * @param dependents - also destroy their clones (`-R`)
 * @example
 * ```ts
 * zfsDestroySnapshotsArgs('tank/vm-100-disk-0', 'a', 'c', true); // ['zfs', 'destroy', '-R', 'tank/vm-100-disk-0@a%c']
 * ```
 */
export function zfsDestroySnapshotsArgs(dataset: string, first: string, last: string, dependents = false): string[] {
  return ['zfs', 'destroy', ...(dependents ? ['-R'] : []), `${dataset}@${first}%${last}`];
}

/**
 * Sets one property.
 *
 * @param property - e.g. `volsize`
 * @param value - e.g. `2097152k`
 * @param dataset - `<pool>/<name>`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_resize`
 */
export function zfsSetArgs(property: string, value: string, dataset: string): string[] {
  return ['zfs', 'set', `${property}=${value}`, dataset];
}

/** What {@link zfsSendArgs} sends. */
export interface SendSpec {
  /** The snapshot to send, `<pool>/<name>@<snapshot>`. */
  readonly snapshot: string;
  /** Send only the changes since this earlier snapshot, `<pool>/<name>@<base>`. */
  readonly base?: string | undefined;
  /** A replication stream with every snapshot (`-R`, and `-I` for an increment), else one snapshot with its properties (`-p`, `-i`). */
  readonly withSnapshots?: boolean | undefined;
  /**
   * Without `withSnapshots`: an increment that carries every snapshot between `base` and
   * `snapshot` (`-p -I`), never a replication stream. A clone sent with `-R` stays a clone of its
   * origin on the receiving side; sent this way, from a full stream of its first snapshot, it does not.
   */
  readonly intermediates?: boolean | undefined;
}

/**
 * Writes a `zfs` send stream to standard output.
 *
 * @param spec - snapshot, incremental base, snapshots
 * @example
 * ```ts
 * zfsSendArgs({ snapshot: 'tank/vm-100-disk-0@b', base: 'tank/vm-100-disk-0@a' });
 * // ['zfs', 'send', '-p', '-i', 'tank/vm-100-disk-0@a', '--', 'tank/vm-100-disk-0@b']
 * ```
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_export`
 */
export function zfsSendArgs(spec: SendSpec): string[] {
  const increment = spec.base === undefined ? [] : [spec.withSnapshots || spec.intermediates ? '-I' : '-i', spec.base];
  return ['zfs', 'send', spec.withSnapshots ? '-R' : '-p', ...increment, '--', spec.snapshot];
}

/**
 * Receives a `zfs` send stream from standard input into a dataset, keeping the encryption of the
 * parent (`-x encryption`). An increment needs `rollbackFirst` (`-F`: roll the target back to its
 * newest snapshot first); a full stream must not have it, so that it never overwrites a dataset
 * that appeared meanwhile.
 *
 * @param dataset - `<pool>/<name>`
 * @param rollbackFirst - pass `-F`
 * @param properties - properties the received dataset gets (`-o`), e.g. the unfinished mark
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_import`
 */
export function zfsRecvArgs(dataset: string, rollbackFirst = false, properties: Readonly<Record<string, string>> = {}): string[] {
  return ['zfs', 'recv', ...(rollbackFirst ? ['-F'] : []), '-x', 'encryption', ...propertyOptions(properties), '--', dataset];
}

/**
 * Removes a property set on a dataset (`zfs inherit`): for a user property, unsets it.
 *
 * @param property - e.g. `stowage:incomplete`
 * @param dataset - `<pool>/<name>`
 */
export function zfsInheritArgs(property: string, dataset: string): string[] {
  return ['zfs', 'inherit', property, dataset];
}

/**
 * Mounts a file system.
 *
 * @param dataset - `<pool>/<name>`
 */
export function zfsMountArgs(dataset: string): string[] {
  return ['zfs', 'mount', dataset];
}

/**
 * Unmounts a file system.
 *
 * @param dataset - `<pool>/<name>`
 */
export function zfsUnmountArgs(dataset: string): string[] {
  return ['zfs', 'unmount', dataset];
}

/**
 * Tells (by exit code) whether a pool is imported.
 *
 * @param pool - the pool's name (first component of the `pool` option)
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::activate_storage`
 */
export function zpoolListArgs(pool: string): string[] {
  return ['zpool', 'list', '-H', '-o', 'name', pool];
}

/**
 * Imports a pool, searching `/dev/disk/by-id`, without writing a cache file.
 *
 * @param pool - the pool's name
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::activate_storage`
 */
export function zpoolImportArgs(pool: string): string[] {
  return ['zpool', 'import', '-d', '/dev/disk/by-id/', '-o', 'cachefile=none', pool];
}

/**
 * Tells (by exit code 0 or 1) whether a block device exists.
 *
 * @param path - the device path
 */
export function testBlockDeviceArgs(path: string): string[] {
  return ['test', '-b', path];
}

/**
 * Waits for udev's queue to drain, up to `seconds`, or until `path` exists.
 *
 * @param path - the device link waited for
 * @param seconds - the longest wait
 */
export function udevSettleArgs(path: string, seconds: number): string[] {
  return ['udevadm', 'settle', `--timeout=${Math.max(1, Math.ceil(seconds))}`, `--exit-if-exists=${path}`];
}

/**
 * Reads a device to standard output.
 *
 * @param path - the device
 */
export function ddReadArgs(path: string): string[] {
  return ['dd', `if=${path}`, 'bs=1M', 'status=none'];
}

/**
 * Writes standard input to a device in whole 1 MiB blocks, skipping blocks of zeros (the device
 * is new, so it reads as zeros), and flushes before it exits.
 *
 * @param path - the device
 */
export function ddWriteArgs(path: string): string[] {
  return ['dd', `of=${path}`, 'bs=1M', 'iflag=fullblock', 'conv=sparse,fsync', 'status=none'];
}

/**
 * The user property that remembers a container volume's quota in its snapshots, as Proxmox
 * names it, so that pools shared with Proxmox read the same.
 */
export const REFQUOTA_PROPERTY = 'pve-storage:refquota';

/**
 * The properties a snapshot gets: a container volume's quota, nothing for a zvol.
 *
 * @param refquota - the volume's quota in bytes (`undefined` for none)
 * @param format - the volume's format
 */
export function refquotaProperty(refquota: number | undefined, format: unknown): Record<string, string> {
  return format === 'subvol' ? { [REFQUOTA_PROPERTY]: String(refquota ?? 0) } : {};
}

/**
 * Volume names of a `zfspool` storage, the datasets and paths derived from them, and free disk
 * names. Pure.
 *
 * @module
 */
import { assertSafeVolname, MAX_DISK_INDEX } from '@stowage/core/plugin';
import { formatVolumeId, StorageError, type ParsedVolume, type VolumeFormat } from '@stowage/core';

/** The snapshot `createBase` takes and linked clones of a base are made from. */
export const BASE_SNAPSHOT = '__base__';

/**
 * The name of a hidden base's {@link BASE_SNAPSHOT}: hiding renames it, so that `zfs clone` of
 * `@__base__` fails by itself (`capabilities.cloneRefusesHidden`); its clones' `origin` follows.
 * Not a snapshot name a user can give (those start with a letter).
 */
export const HIDDEN_BASE_SNAPSHOT = '__hidden__';

/** The longest volume (dataset) name accepted, leaving room for the pool and a snapshot in ZFS's 255. */
export const MAX_VOLUME_NAME = 128;

/** One volume name: `vm-`, `base-`, `subvol-` or `basevol-`, the vmid, then characters ZFS accepts. */
const NAME = '(vm|base|subvol|basevol)-([1-9][0-9]{0,8})-[A-Za-z0-9_.-]+';

/** Proxmox's zfspool volname: an optional `<base>/` (the base of a linked clone), then the name. */
const VOLNAME_RE = new RegExp(`^(?:((base|basevol)-([1-9][0-9]{0,8})-[A-Za-z0-9_.-]+)/)?(${NAME})$`);

/** A dataset name that is a volume of the storage (no base part). */
const DATASET_NAME_RE = new RegExp(`^${NAME}$`);

/**
 * Parses a `zfspool` volume name: `vm-<vmid>-…` and `base-<vmid>-…` (zvols, format `raw`),
 * `subvol-<vmid>-…` and `basevol-<vmid>-…` (datasets, format `subvol`), optionally prefixed by
 * the base a linked clone was made from (`base-100-disk-0/vm-101-disk-0`). The dataset is always
 * `<pool>/<name>`; the base part only records the lineage, as in Proxmox.
 *
 * @param volname - the part of the volid after `:`
 * @returns the parsed volume (`vtype` `images` for both formats, as Proxmox reports it)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` when the name is unsafe or not of this form
 * @example
 * ```ts
 * parseZfsVolname('base-100-disk-0/vm-101-disk-0');
 * // { name: 'vm-101-disk-0', vmid: 101, baseName: 'base-100-disk-0', baseVmid: 100, isBase: false, format: 'raw', ... }
 * ```
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::parse_volname`
 */
export function parseZfsVolname(volname: string): ParsedVolume {
  assertSafeVolname(volname);
  const m = VOLNAME_RE.exec(volname);
  if (!m) {
    throw new StorageError('INVALID_VOLUME_ID', `invalid zfspool volume name '${volname}': expected [base-<vmid>-…/](vm|base|subvol|basevol)-<vmid>-… of [A-Za-z0-9_.-]`, {
      details: { volname },
    });
  }
  const name = m[4]!;
  if (name.length > MAX_VOLUME_NAME) {
    throw new StorageError('INVALID_VOLUME_ID', `invalid zfspool volume name '${volname}': longer than ${MAX_VOLUME_NAME} characters`, { details: { volname } });
  }
  const kind = m[5]!;
  return {
    volname,
    vtype: 'images',
    name,
    vmid: Number(m[6]),
    baseName: m[1],
    baseVmid: m[3] === undefined ? undefined : Number(m[3]),
    isBase: kind === 'base' || kind === 'basevol',
    format: kind === 'subvol' || kind === 'basevol' ? 'subvol' : 'raw',
  };
}

/**
 * Tells whether a dataset name (the part after `<pool>/`) is a volume of the storage.
 *
 * @param name - a direct child's name
 */
export function isVolumeName(name: string): boolean {
  return name.length <= MAX_VOLUME_NAME && DATASET_NAME_RE.test(name);
}

/**
 * The dataset of a volume: `<pool>/<name>`.
 *
 * @param pool - the storage's `pool` option
 * @param name - the volume's name (not the volname: no base part)
 */
export function datasetOf(pool: string, name: string): string {
  return `${pool}/${name}`;
}

/**
 * A snapshot of a volume: `<pool>/<name>@<snapshot>`.
 *
 * @param pool - the storage's `pool` option
 * @param name - the volume's name
 * @param snapshot - the snapshot name
 */
export function snapshotOf(pool: string, name: string, snapshot: string): string {
  return `${pool}/${name}@${snapshot}`;
}

/**
 * The device link of a zvol (or of its snapshot, visible only with `snapdev=visible`).
 *
 * @param pool - the storage's `pool` option
 * @param name - the volume's name
 * @param snapshot - a snapshot name
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::path`
 */
export function zvolPath(pool: string, name: string, snapshot?: string): string {
  return `/dev/zvol/${pool}/${name}${snapshot === undefined ? '' : `@${snapshot}`}`;
}

/**
 * The directory of a container volume (or of its snapshot, through `.zfs/snapshot`).
 *
 * @param mountpoint - where `pool` is mounted
 * @param name - the volume's name
 * @param snapshot - a snapshot name
 */
export function subvolPath(mountpoint: string, name: string, snapshot?: string): string {
  const dir = `${mountpoint.replace(/\/+$/, '')}/${name}`;
  return snapshot === undefined ? dir : `${dir}/.zfs/snapshot/${snapshot}`;
}

/**
 * The volname of a dataset as `listImages` reports it: `<base>/<name>` for a linked clone of a
 * base's `__base__` snapshot (Proxmox's form), else the name.
 *
 * @param pool - the storage's `pool` option
 * @param name - the dataset's name
 * @param origin - its `origin` property (`<pool>/<base>@<snap>`), if it is a clone
 */
export function volnameOf(pool: string, name: string, origin: string | undefined): string {
  const source = originOf(pool, origin);
  return source !== undefined && isBaseOrigin(source) ? `${source.name}/${name}` : name;
}

/** Whether an origin is a base's `__base__` snapshot (`__hidden__` once the base is hidden). */
function isBaseOrigin(source: { name: string; snapshot: string }): boolean {
  return (source.snapshot === BASE_SNAPSHOT || source.snapshot === HIDDEN_BASE_SNAPSHOT) && /^(base|basevol)-/.test(source.name);
}

/**
 * The volid a clone's `origin` stands for: `storeid:<base>` for the `__base__` (or `__hidden__`) snapshot of a base,
 * `storeid:<volume>@<snapshot>` for any other snapshot of a volume of the storage, and
 * `undefined` when the origin is outside the storage (or there is none).
 *
 * @param storeId - the storage id
 * @param pool - the storage's `pool` option
 * @param origin - the clone's `origin` property
 */
export function parentOf(storeId: string, pool: string, origin: string | undefined): string | undefined {
  const source = originOf(pool, origin);
  if (source === undefined) return undefined;
  return formatVolumeId(storeId, isBaseOrigin(source) ? source.name : `${source.name}@${source.snapshot}`);
}

/**
 * Splits an `origin` of a direct child of `pool` into its volume name and snapshot.
 *
 * @param pool - the storage's `pool` option
 * @param origin - `<pool>/<name>@<snapshot>`, or `undefined`
 * @returns the parts, or `undefined` when the origin is not a snapshot of a volume of the storage
 */
export function originOf(pool: string, origin: string | undefined): { name: string; snapshot: string } | undefined {
  if (origin === undefined || !origin.startsWith(`${pool}/`)) return undefined;
  const rest = origin.slice(pool.length + 1);
  const at = rest.indexOf('@');
  if (at < 0) return undefined;
  const name = rest.slice(0, at);
  return isVolumeName(name) ? { name, snapshot: rest.slice(at + 1) } : undefined;
}

/** The prefix of a disk name for a format: `vm`/`base` for zvols, `subvol`/`basevol` for datasets. */
function prefixFor(format: VolumeFormat | undefined, base: boolean): string {
  if (format === 'subvol') return base ? 'basevol' : 'subvol';
  return base ? 'base' : 'vm';
}

/**
 * The lowest free `<prefix>-<vmid>-disk-<n>` for a guest, counting indexes of `vm-`, `base-`,
 * `subvol-` and `basevol-` names alike (as Proxmox does), so that a guest's disks never share an
 * index whatever their kind.
 *
 * @param vmid - the guest
 * @param names - dataset names on the storage
 * @param format - `raw` (zvol, default) or `subvol`
 * @param base - make a `base-`/`basevol-` name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NO_SPACE` when indexes 0..1023 are all taken
 * @see Proxmox `PVE::Storage::Plugin::get_next_vm_diskname`
 */
export function freeDiskName(vmid: number, names: Iterable<string>, format: VolumeFormat | undefined, base = false): string {
  const used = new Set<number>();
  const re = new RegExp(`^(?:vm|base|subvol|basevol)-${vmid}-disk-(0|[1-9][0-9]*)$`);
  for (const n of names) {
    const m = re.exec(n);
    if (m) used.add(Number(m[1]));
  }
  for (let i = 0; i <= MAX_DISK_INDEX; i++) if (!used.has(i)) return `${prefixFor(format, base)}-${vmid}-disk-${i}`;
  throw new StorageError('NO_SPACE', `unable to allocate an image name for VM ${vmid}: indexes 0..${MAX_DISK_INDEX} are taken`, { details: { vmid } });
}

/**
 * Checks that a new name fits a volume's format (`vm-`/`base-` for zvols, `subvol-`/`basevol-`
 * for datasets) and is a volume name of the storage.
 *
 * @param name - the new name
 * @param format - the volume's format
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`
 */
export function assertNameForFormat(name: string, format: VolumeFormat | string | undefined): void {
  const subvol = /^(subvol|basevol)-/.test(name);
  if (!isVolumeName(name) || subvol !== (format === 'subvol')) {
    const want = format === 'subvol' ? 'subvol-<vmid>-… or basevol-<vmid>-…' : 'vm-<vmid>-… or base-<vmid>-…';
    throw new StorageError('INVALID_ARGUMENT', `illegal name '${name}' for a ${String(format)} volume: should be ${want}`, { details: { name, format } });
  }
}

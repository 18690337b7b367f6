/**
 * User-visible names and LINSTOR names, kept apart. A volume's name (`vm-100-disk-0`,
 * `base-100-disk-0`, or `base-100-disk-0/vm-101-disk-0` for a clone) lives in `Aux/` properties
 * of a resource definition whose own LINSTOR name is random, so a rename only rewrites a
 * property and two allocations never race on a LINSTOR name. Everything here is pure.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { StorageError, type ParsedVolume } from '@stowage/core';

/** Property holding the volume's own name (last volname segment). */
export const PROP_NAME = 'Aux/stowage/name';
/** Property holding the owning vmid. */
export const PROP_VMID = 'Aux/stowage/vmid';
/** Property of a clone: the LINSTOR name of its base. */
export const PROP_BASE = 'Aux/stowage/base';
/**
 * Property of a definition that is not whole yet (being imported, allocated or cloned): the
 * owner token of the process making it (see `formatOwner`). Set in the create request itself and
 * removed when the volume is whole; listings hide marked definitions, the free-name search counts
 * them, and `collectGarbage` deletes those whose owner is dead.
 */
export const PROP_INCOMPLETE = 'Aux/stowage/incomplete';
/**
 * Property of a volume's definition that replaces another one (a flatten builds the new state
 * beside the old): `<rd> <uuid>` of the definition it replaces. Once this definition is whole,
 * the replaced one is no longer the volume (listings skip it) and is deleted, by the flatten or,
 * when that died, by `collectGarbage`. Removed when the replaced definition is gone.
 */
export const PROP_SUPERSEDES = 'Aux/stowage/supersedes';
/** Owner token of the flatten that set {@link PROP_SUPERSEDES} (see `formatOwner`). */
export const PROP_SUPERSEDES_OWNER = 'Aux/stowage/supersedes-owner';
/** Property of a template freed with `whenUnused` while clones still use it: `yes` (the `hidden` attribute). */
export const PROP_HIDDEN = 'Aux/stowage/hidden';
/**
 * LINSTOR's own property on a definition cloned with `use_zfs_clone` (the server's
 * `InternalApiConsts.KEY_USE_ZFS_CLONE`): on ZFS such a clone is a `zfs clone` of a snapshot of
 * its source, which cannot go while the clone exists.
 */
export const PROP_USE_ZFS_CLONE = 'UseZFSClone';
/** Property of a resource this plugin made diskless on a node to activate a volume there. */
export const PROP_ACTIVATED = 'Aux/stowage/activated-diskless';
/** DRBD option properties set at spawn. */
export const PROP_EXACT_SIZE = 'DrbdOptions/ExactSize';
/** DRBD option for two primaries (live migration). */
export const PROP_TWO_PRIMARIES = 'DrbdOptions/Net/allow-two-primaries';

/** Prefix of LINSTOR resource names this plugin makes. */
export const RESOURCE_PREFIX = 'stowage-';
/** Prefix of LINSTOR snapshot names this plugin makes (also keeps them at LINSTOR's 2-byte minimum). */
export const SNAPSHOT_PREFIX = 'snap_';

const OWN_NAME = /^(vm|base)-([1-9][0-9]{0,8})-([A-Za-z0-9][A-Za-z0-9_.+-]{0,100})$/;

/**
 * Parses a `linstor` volname: `vm-<vmid>-<rest>`, `base-<vmid>-<rest>`, or `<base>/<clone>` for a
 * clone of a base. Format is always `raw`.
 *
 * @param volname - the volume name
 * @returns the parsed volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID`
 * @see Proxmox `LINSTORPlugin::parse_volname`
 */
export function parseLinstorVolname(volname: string): ParsedVolume {
  const bad = (): never => {
    throw new StorageError('INVALID_VOLUME_ID', `invalid linstor volume name '${volname}'`, { details: { volname } });
  };
  if (typeof volname !== 'string') bad();
  const parts = volname.split('/');
  if (parts.length > 2) bad();
  const own = OWN_NAME.exec(parts[parts.length - 1] ?? '') ?? bad();
  let baseName: string | undefined;
  let baseVmid: number | undefined;
  if (parts.length === 2) {
    const b = OWN_NAME.exec(parts[0] ?? '');
    if (!b || b[1] !== 'base') bad();
    baseName = parts[0];
    baseVmid = Number(b?.[2]);
  }
  return {
    volname,
    vtype: 'images',
    name: parts[parts.length - 1] as string,
    vmid: Number(own[2]),
    baseName,
    baseVmid,
    isBase: own[1] === 'base',
    format: 'raw',
  };
}

/**
 * The volname of a volume given its own name and, for a clone, its base's own name.
 *
 * @param name - own name
 * @param baseName - the base's own name, for a clone
 */
export function formatLinstorVolname(name: string, baseName?: string): string {
  return baseName ? `${baseName}/${name}` : name;
}

/**
 * A fresh random LINSTOR resource name (`stowage-<8 hex>`).
 *
 * @returns the name
 */
export function newResourceName(): string {
  return RESOURCE_PREFIX + randomBytes(4).toString('hex');
}

/**
 * The LINSTOR snapshot name of a stowage snapshot (`snap_<name>`).
 *
 * @param snapshot - the snapshot name, already checked by the manager
 */
export function linstorSnapshotName(snapshot: string): string {
  return SNAPSHOT_PREFIX + snapshot;
}

/**
 * The stowage snapshot name of a LINSTOR snapshot, or `undefined` when this plugin did not make it.
 *
 * @param linstorName - the LINSTOR snapshot name
 */
export function stowageSnapshotName(linstorName: string): string | undefined {
  return linstorName.startsWith(SNAPSHOT_PREFIX) ? linstorName.slice(SNAPSHOT_PREFIX.length) : undefined;
}

/**
 * KiB from bytes, rounded up.
 *
 * @param bytes - a size in bytes
 */
export function toKib(bytes: number): number {
  return Math.ceil(bytes / 1024);
}

/**
 * Case-insensitive equality, as LINSTOR compares names.
 *
 * @param a - a name
 * @param b - another name
 */
export function sameLinstorName(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

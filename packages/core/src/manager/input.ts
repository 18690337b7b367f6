/**
 * Checks the manager applies to every request before it takes a lock or calls a plugin, so that
 * bad input fails with a stable code and changes nothing.
 *
 * @module
 */
import { FEATURES, type Feature, type PluginCapabilities, type VolumeAttribute, type VolumeFormat } from '../capabilities.js';
import { StorageError } from '../errors.js';
import type { GuestTypes } from '../plugin-types.js';
import { assertSafeVolname } from '../volume-id.js';
import { parseReplicationSnapshot } from './replication-names.js';

/** The largest volume size accepted, in bytes: the largest integer a JavaScript number holds exactly (2^53 - 1, 8 PiB). */
export const MAX_VOLUME_SIZE = Number.MAX_SAFE_INTEGER;

/** Snapshot names as Proxmox accepts them (`pve-configid`): a letter, then up to 39 letters, digits, `_` or `-`. */
export const SNAPSHOT_NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,39}$/;

/** The longest `notes` attribute accepted, in bytes (Proxmox's limit for volume notes). */
export const MAX_NOTES_BYTES = 32 * 1024;

/**
 * Throws unless `size` is a whole, positive number of bytes no larger than {@link MAX_VOLUME_SIZE}.
 *
 * @param size - the candidate size in bytes
 * @param what - what the size is for, in the message
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`
 */
export function assertValidSize(size: number, what = 'size'): void {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0 || size > MAX_VOLUME_SIZE) {
    throw new StorageError('INVALID_ARGUMENT', `invalid ${what} ${String(size)}: a positive whole number of bytes up to ${MAX_VOLUME_SIZE} is required`, {
      details: { size: typeof size === 'number' && Number.isFinite(size) ? size : String(size) },
    });
  }
}

/**
 * Throws unless `size` is a valid size ({@link assertValidSize}) that an image of `format` can
 * have on a storage with these capabilities (their `maxSize`).
 *
 * @param capabilities - the plugin's capabilities
 * @param format - the image's format
 * @param size - the size in bytes
 * @param what - what the size is for, in the message
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`, with `details.maxSize` when the format's limit is passed
 * @example
 * ```ts
 * assertSizeFor({ maxSize: { vmdk: 2 ** 50 } }, 'vmdk', 7 * 2 ** 50); // throws INVALID_ARGUMENT: past 1 PiB
 * ```
 */
export function assertSizeFor(capabilities: Pick<PluginCapabilities, 'maxSize'>, format: VolumeFormat | undefined, size: number, what = 'size'): void {
  assertValidSize(size, what);
  const max = format !== undefined ? capabilities.maxSize?.[format] : undefined;
  if (max !== undefined && size > max) {
    throw new StorageError('INVALID_ARGUMENT', `invalid ${what} ${size}: a ${format} image on this storage holds at most ${max} bytes`, {
      details: { size, format, maxSize: max },
    });
  }
}

/**
 * Throws unless `snapshot` is a valid snapshot name (see {@link SNAPSHOT_NAME_RE}).
 *
 * @param snapshot - the candidate name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`
 */
export function assertValidSnapshotName(snapshot: string): void {
  if (typeof snapshot !== 'string' || !SNAPSHOT_NAME_RE.test(snapshot)) {
    throw new StorageError('INVALID_ARGUMENT', `invalid snapshot name '${String(snapshot)}'`, { details: { snapshot: String(snapshot) } });
  }
}

/**
 * Throws unless `snapshot` names a snapshot a caller may refer to (export it, import it, delete
 * it): a valid snapshot name ({@link assertValidSnapshotName}), or one the manager makes itself,
 * a replication snapshot (`__replicate_<node>_<stamp>__`). Taking a snapshot still needs a valid
 * name.
 *
 * @param snapshot - the candidate name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`
 */
export function assertSnapshotReference(snapshot: string): void {
  if (typeof snapshot === 'string' && parseReplicationSnapshot(snapshot) !== undefined) return;
  assertValidSnapshotName(snapshot);
}

/**
 * Throws unless `name` can be the name of a new disk of guest `vmid`: a safe single path
 * segment starting with `vm-<vmid>-` (or, when `allowBase`, `base-<vmid>-`), as Proxmox's
 * `alloc_image` demands.
 *
 * @param name - the candidate name, e.g. `vm-100-disk-3.qcow2` or `vm-100-cloudinit`
 * @param vmid - the owning guest
 * @param allowBase - also accept `base-<vmid>-` names
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` for unsafe characters; `INVALID_ARGUMENT`
 *   when the name does not belong to the guest
 */
export function assertDiskNameFor(name: string, vmid: number, allowBase = false): void {
  if (typeof name !== 'string') throw new StorageError('INVALID_ARGUMENT', 'a disk name must be a string');
  assertSafeVolname(name);
  const prefixes = allowBase ? [`vm-${vmid}-`, `base-${vmid}-`] : [`vm-${vmid}-`];
  if (name.includes('/') || !prefixes.some((p) => name.startsWith(p) && name.length > p.length)) {
    throw new StorageError('INVALID_ARGUMENT', `illegal name '${name}': should be '${prefixes.join("*' or '")}*'`, {
      details: { name, vmid },
    });
  }
}

/**
 * Throws unless `feature` is one of {@link FEATURES}.
 *
 * @param feature - the candidate
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`
 */
export function assertFeature(feature: string): asserts feature is Feature {
  if (!(FEATURES as readonly string[]).includes(feature)) {
    throw new StorageError('INVALID_ARGUMENT', `unknown feature '${feature}'`, { details: { feature, known: [...FEATURES] } });
  }
}

/**
 * Throws unless the value fits the attribute: text of at most {@link MAX_NOTES_BYTES} bytes (or
 * `undefined`) for `notes`, a boolean (or `undefined`) for `protected`.
 *
 * @param attribute - the attribute
 * @param value - the new value
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`
 */
export function assertAttributeValue(attribute: VolumeAttribute, value: unknown): void {
  const bad = (why: string): never => {
    throw new StorageError('INVALID_ARGUMENT', `invalid value for '${attribute}': ${why}`, { details: { attribute } });
  };
  if (attribute === 'notes') {
    if (value !== undefined && typeof value !== 'string') bad('notes must be text');
    if (typeof value === 'string' && Buffer.byteLength(value) > MAX_NOTES_BYTES) bad(`longer than ${MAX_NOTES_BYTES} bytes`);
  } else if (attribute === 'protected' || attribute === 'hidden') {
    if (value !== undefined && typeof value !== 'boolean') bad(`${attribute} must be a boolean`);
  } else {
    bad('unknown attribute');
  }
}

/**
 * Throws unless every key of a guest list is a valid vmid and every value `qemu` or `lxc`.
 *
 * @param guests - the guest list
 * @throws {@link StorageError} `INVALID_ARGUMENT`
 */
export function assertGuestTypes(guests: GuestTypes): void {
  if (typeof guests !== 'object' || guests === null) throw new StorageError('INVALID_ARGUMENT', 'the guest list must be an object of vmid to qemu or lxc');
  for (const [vmid, type] of Object.entries(guests)) {
    if (!/^[1-9][0-9]{0,8}$/.test(vmid) || (type !== 'qemu' && type !== 'lxc')) {
      throw new StorageError('INVALID_ARGUMENT', `invalid guest list entry ${vmid}: ${String(type)} (a vmid to qemu or lxc is required)`, { details: { vmid, type: String(type) } });
    }
  }
}

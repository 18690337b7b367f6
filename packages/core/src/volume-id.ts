/**
 * Volume ids (`storeid:volname`) and the `vm-<vmid>-disk-<n>` / `base-<vmid>-disk-<n>` names.
 * Everything here is pure.
 *
 * @module
 */
import { StorageError } from './errors.js';

/** A parsed volume id. */
export interface VolumeId {
  /** The storage id, e.g. `local`. */
  readonly storeId: string;
  /** Everything after the first `:`, e.g. `100/vm-100-disk-0.qcow2`. */
  readonly volname: string;
}

/** Proxmox's storage-id rule: letter first, then letters, digits, `-`, `_`, `.`, not ending in a punctuation mark. */
const STORE_ID_RE = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;

/** Characters a volname may contain: no whitespace, control characters, shell metacharacters or `:` tricks. */
const VOLNAME_CHARS_RE = /^[A-Za-z0-9_.+@\-/]+$/;
/**
 * Import sources take Proxmox's wider characters (`PVE::Storage`'s `SAFE_CHAR_CLASS_RE`): `=`,
 * and in the name of a disk inside an OVA also a space (`SAFE_CHAR_WITH_WHITESPACE_CLASS_RE`,
 * Proxmox VE 8.3). A space only: no tab, newline or other control character.
 */
const IMPORT_VOLNAME_RE = /^import\/[A-Za-z0-9_.+=-]+(?:\.ova\/[ A-Za-z0-9_.+=-]+)?$/;

/**
 * Tells whether a string is a valid storage id (Proxmox's rule, case-insensitive).
 *
 * @param storeId - the candidate id
 */
export function isValidStoreId(storeId: string): boolean {
  return storeId.length <= 64 && STORE_ID_RE.test(storeId);
}

/**
 * Throws `INVALID_ARGUMENT` unless `storeId` is a valid storage id.
 *
 * @param storeId - the candidate id
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`
 */
export function assertValidStoreId(storeId: string): void {
  if (!isValidStoreId(storeId)) {
    throw new StorageError('INVALID_ARGUMENT', `invalid storage id '${storeId}'`, { details: { storeId } });
  }
}

/**
 * Checks the characters and shape every volname must have, whatever the plugin: not empty,
 * no `..` or `.` path segment, no leading or doubled `/`, no whitespace, no shell metacharacters,
 * no control or non-ASCII characters, at most 255 characters. Import sources are the one
 * exception Proxmox makes: `import/<file>` may hold `=`, and the disk of an OVA
 * (`import/<x>.ova/<disk>`) also spaces in its name.
 *
 * @param volname - the candidate volume name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID`
 */
export function assertSafeVolname(volname: string): void {
  const bad = (why: string): never => {
    throw new StorageError('INVALID_VOLUME_ID', `invalid volume name '${volname}': ${why}`, { details: { volname } });
  };
  if (volname.length === 0) bad('empty');
  if (volname.length > 255) bad('longer than 255 characters');
  if (!VOLNAME_CHARS_RE.test(volname) && !IMPORT_VOLNAME_RE.test(volname)) bad('contains characters outside [A-Za-z0-9_.+@-/]');
  const parts = volname.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) bad('empty, "." or ".." path segment');
}

/**
 * Parses `storeid:volname`.
 *
 * @param volid - the volume id
 * @returns the storage id and the volname
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` when there is no `:`, the storage id breaks the
 *   rule, or the volname is unsafe ({@link assertSafeVolname})
 * @example
 * ```ts
 * parseVolumeId('local:100/vm-100-disk-0.qcow2'); // { storeId: 'local', volname: '100/vm-100-disk-0.qcow2' }
 * ```
 * @see Proxmox `PVE::Storage::parse_volume_id`
 */
export function parseVolumeId(volid: string): VolumeId {
  if (typeof volid !== 'string') throw new TypeError('volid must be a string');
  const i = volid.indexOf(':');
  if (i < 0) {
    throw new StorageError('INVALID_VOLUME_ID', `invalid volume id '${volid}': no storage id`, { details: { volid } });
  }
  const storeId = volid.slice(0, i);
  const volname = volid.slice(i + 1);
  if (!isValidStoreId(storeId)) {
    throw new StorageError('INVALID_VOLUME_ID', `invalid volume id '${volid}': bad storage id`, { details: { volid } });
  }
  assertSafeVolname(volname);
  return { storeId, volname };
}

/**
 * Formats `storeid:volname`.
 *
 * @param storeId - the storage id
 * @param volname - the volume name inside that storage
 */
export function formatVolumeId(storeId: string, volname: string): string {
  return `${storeId}:${volname}`;
}

/** The parts of a `vm-<vmid>-disk-<n>` or `base-<vmid>-disk-<n>` name. */
export interface DiskName {
  /** `true` for `base-` (a template). */
  readonly isBase: boolean;
  /** The owning guest. */
  readonly vmid: number;
  /** The disk index `n`. */
  readonly index: number;
  /** The file extension without the dot, for path storages (`qcow2`, `raw`, `vmdk`). */
  readonly ext: string | undefined;
}

const DISK_NAME_RE = /^(vm|base)-([1-9][0-9]{0,8})-disk-(0|[1-9][0-9]{0,8})(?:\.([a-z0-9]+))?$/;

/**
 * Parses a standard disk name such as `vm-100-disk-0` or `base-100-disk-2.qcow2`.
 *
 * @param name - the name (no directory)
 * @returns its parts, or `undefined` when it is not a standard disk name
 */
export function parseDiskName(name: string): DiskName | undefined {
  const m = DISK_NAME_RE.exec(name);
  if (!m) return undefined;
  return { isBase: m[1] === 'base', vmid: Number(m[2]), index: Number(m[3]), ext: m[4] };
}

/**
 * Formats a standard disk name.
 *
 * @param parts - whether it is a base, its vmid, its index, and an optional extension
 */
export function formatDiskName(parts: { isBase?: boolean; vmid: number; index: number; ext?: string | undefined }): string {
  const stem = `${parts.isBase ? 'base' : 'vm'}-${parts.vmid}-disk-${parts.index}`;
  return parts.ext ? `${stem}.${parts.ext}` : stem;
}

/**
 * The name a volume gets when it becomes a base (a template): `vm-` becomes `base-` and a
 * container subvolume's `subvol-` becomes `basevol-`, the rest of the name unchanged.
 *
 * @param name - the volume's own name (no directory), not a base
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` for a name that has neither prefix (a base already)
 * @example
 * ```ts
 * baseNameFor('vm-100-disk-0.qcow2'); // 'base-100-disk-0.qcow2'
 * baseNameFor('subvol-100-disk-0');   // 'basevol-100-disk-0'
 * ```
 * @see Proxmox `PVE::Storage::Plugin::create_base`, `PVE::Storage::ZFSPoolPlugin::create_base`
 */
export function baseNameFor(name: string): string {
  if (name.startsWith('vm-')) return `base-${name.slice('vm-'.length)}`;
  if (name.startsWith('subvol-')) return `basevol-${name.slice('subvol-'.length)}`;
  throw new StorageError('INVALID_ARGUMENT', `'${name}' cannot become a base: it is one already, or not a volume name`, { details: { name } });
}

/** The highest disk index `findFreeDiskIndex` hands out, as in Proxmox. */
export const MAX_DISK_INDEX = 1023;

/**
 * Returns the lowest free disk index for a guest, counting `vm-` and `base-` names alike.
 *
 * @param vmid - the guest
 * @param existingNames - names (no directory) already present on the storage; others are ignored
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NO_SPACE` when all of 0..1023 are taken
 * @see Proxmox `find_free_diskname`
 */
export function findFreeDiskIndex(vmid: number, existingNames: Iterable<string>): number {
  const used = new Set<number>();
  for (const n of existingNames) {
    const d = parseDiskName(n);
    if (d && d.vmid === vmid) used.add(d.index);
  }
  for (let i = 0; i <= MAX_DISK_INDEX; i++) if (!used.has(i)) return i;
  throw new StorageError('NO_SPACE', `unable to allocate an image name for VM ${vmid}: indexes 0..${MAX_DISK_INDEX} are taken`, {
    details: { vmid },
  });
}

/** The largest vmid accepted, as in Proxmox. */
export const MAX_VMID = 999_999_999;

/**
 * Throws `INVALID_ARGUMENT` unless `vmid` is an integer in 1..999999999 (Proxmox allows 100 and up
 * for guests; smaller ids are accepted for storage-only use).
 *
 * @param vmid - the candidate guest id
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`
 */
export function assertValidVmid(vmid: number): void {
  if (!Number.isSafeInteger(vmid) || vmid < 1 || vmid > MAX_VMID) {
    throw new StorageError('INVALID_ARGUMENT', `invalid vmid ${String(vmid)}`, { details: { vmid } });
  }
}

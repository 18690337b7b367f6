/**
 * Volume names of the `memory` plugin, which are those of Proxmox's ZFS pool plugin:
 * `vm-<vmid>-<suffix>`, `base-<vmid>-<suffix>`, and linked clones `base-<vmid>-<suffix>/vm-<vmid>-<suffix>`.
 *
 * @module
 */
import { StorageError } from '../../errors.js';
import type { ParsedVolume } from '../../plugin-types.js';
import { assertSafeVolname } from '../../volume-id.js';

const VMID = '[1-9][0-9]{0,8}';
const SUFFIX = '[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}';
const VOLNAME_RE = new RegExp(`^(?:(base-(${VMID})-${SUFFIX})/)?((vm|base)-(${VMID})-${SUFFIX})$`);

/**
 * Parses a memory volname.
 *
 * @param volname - e.g. `vm-100-disk-0`, `base-100-disk-0`, `base-100-disk-0/vm-101-disk-0`
 * @returns Proxmox's parse_volname fields; format is always `raw`
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` for anything else, including unsafe characters
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::parse_volname`
 */
export function parseMemoryVolname(volname: string): ParsedVolume {
  assertSafeVolname(volname);
  const m = VOLNAME_RE.exec(volname);
  if (!m) {
    throw new StorageError('INVALID_VOLUME_ID', `'${volname}' is not a memory volume name`, { details: { volname } });
  }
  return {
    volname,
    vtype: 'images',
    name: m[3]!,
    vmid: Number(m[5]),
    baseName: m[1],
    baseVmid: m[2] === undefined ? undefined : Number(m[2]),
    isBase: m[4] === 'base',
    format: 'raw',
  };
}

/**
 * Checks the name of a volume to create for a guest: it must be a plain `vm-<vmid>-<suffix>`.
 *
 * @param name - the requested name
 * @param vmid - the guest that will own it
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` when the name is malformed, `INVALID_ARGUMENT`
 *   when it belongs to another guest or is a base or clone name
 */
export function assertNewVolumeName(name: string, vmid: number): void {
  const p = parseMemoryVolname(name);
  if (p.isBase || p.baseName !== undefined || p.vmid !== vmid) {
    throw new StorageError('INVALID_ARGUMENT', `illegal name '${name}': should be 'vm-${vmid}-*'`, { details: { name, vmid } });
  }
}

/**
 * The volname under which a volume is listed: prefixed with its base when it is a linked clone
 * of a base (not of a snapshot), as ZFS does.
 *
 * @param name - the volume's name in the pool
 * @param origin - `<volume>` or `<volume>@<snapshot>` it was cloned from, if any
 */
export function listedVolname(name: string, origin: string | undefined): string {
  return origin !== undefined && !origin.includes('@') && origin.startsWith('base-') ? `${origin}/${name}` : name;
}

/**
 * Tells whether a pool entry is a guest image this plugin lists.
 *
 * @param name - the volume's name in the pool
 */
export function isImageName(name: string): boolean {
  return VOLNAME_RE.test(name) && !name.includes('/');
}

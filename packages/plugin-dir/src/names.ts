/**
 * Volume names of a directory storage, as Proxmox's directory plugin accepts them. Pure.
 *
 * @module
 */
import { assertSafeVolname } from '@stowage/core/plugin';
import { MAX_VMID, StorageError, type ParsedVolume, type VolumeFormat } from '@stowage/core';

/** Image formats a directory storage can hold, as file extensions. */
export const DIR_IMAGE_FORMATS: readonly VolumeFormat[] = ['raw', 'qcow2', 'vmdk', 'subvol'];

/** The name of a guest's directory below `images/` (and of a backup's guest id): a vmid. */
export const VMID_DIR_RE = /^[1-9][0-9]{0,8}$/;

/** An image file name: `vm-`, `base-` or `subvol-` plus owner digits, then anything, then a format extension. */
const IMAGE_FILE_RE = /^(?:vm-|base-|subvol-)\d+-[^/\s]+\.(?:raw|qcow2|vmdk|subvol)$/;
const ISO_RE = /^iso\/([^/]+\.(?:iso|img))$/i;
const VZTMPL_RE = /^vztmpl\/([^/]+\.(?:tar|tar\.(?:gz|xz|zst|bz2)))$/i;
const ROOTDIR_RE = /^rootdir\/(\d+)$/;
const BACKUP_RE = /^backup\/([^/]+\.(?:tgz|(?:tar|vma)(?:\.(?:gz|lzo|zst|bz2))?))$/;
const BACKUP_OWNER_RE = /^vzdump-(?:openvz|lxc|qemu)-(\d+)-.+/;
const SNIPPET_RE = /^snippets\/([^/]+)$/;
/** Proxmox's `SAFE_CHAR_CLASS_RE`, and with a space (`SAFE_CHAR_WITH_WHITESPACE_CLASS_RE`) for the disk inside an OVA. */
const SAFE = '[a-zA-Z0-9\\-.+=_]';
const SAFE_WITH_SPACE = '[ a-zA-Z0-9\\-.+=_]';
const OVA_MEMBER_RE = new RegExp(`^import/(${SAFE}+\\.ova/${SAFE_WITH_SPACE}+\\.(qcow2|raw|vmdk))$`);
const IMPORT_RE = new RegExp(`^import/(${SAFE}+\\.(ova|ovf|qcow2|raw|vmdk))$`);
const CLONE_RE = /^(\d+)\/([^/]+)\/(\d+)\/([^/]+)$/;
const IMAGE_RE = /^(\d+)\/([^/]+)$/;

/** What an image file name says about the image. */
export interface ImageFileName {
  /** The image format, from the extension. */
  readonly format: VolumeFormat;
  /** `true` for a `base-` name. */
  readonly isBase: boolean;
}

/**
 * Every answer of {@link parseImageFileName}, by the name's last character (which tells the
 * extension the pattern allows: ra`w`, qcow`2`, vmd`k`, subvo`l`), for a `vm-`/`subvol-` name
 * and for a `base-` one.
 */
const IMAGE_FILE_NAMES: Readonly<Record<string, readonly [ImageFileName, ImageFileName]>> = Object.fromEntries(
  (['raw', 'qcow2', 'vmdk', 'subvol'] as const).map((format) => [format.slice(-1), [Object.freeze({ format, isBase: false }), Object.freeze({ format, isBase: true })]]),
);

/**
 * Parses an image file name (no directory) such as `vm-100-disk-0.qcow2` or `base-100-disk-1.raw`.
 *
 * @param name - the file name
 * @returns its format and base flag, or `undefined` when it is not an image name this storage accepts
 * @see Proxmox `PVE::Storage::Plugin::parse_name_dir`
 */
export function parseImageFileName(name: string): ImageFileName | undefined {
  // a test, not a match: in a name the pattern accepts, the last character tells the extension
  // and a `base-` start the prefix, as the groups would; the answers are shared (a listing asks
  // once per file)
  if (!IMAGE_FILE_RE.test(name)) return undefined;
  return IMAGE_FILE_NAMES[name.charAt(name.length - 1)]?.[name.startsWith('base-') ? 1 : 0];
}

function invalid(volname: string, why: string): never {
  throw new StorageError('INVALID_VOLUME_ID', `unable to parse directory volume name '${volname}': ${why}`, { details: { volname } });
}

function vmidOf(volname: string, digits: string): number {
  // Proxmox accepts any digits; a leading zero or an id past the range would name a different
  // directory than the number we return, so such names are refused instead.
  if (!/^[1-9][0-9]*$/.test(digits) || Number(digits) > MAX_VMID) invalid(volname, `bad vmid '${digits}'`);
  return Number(digits);
}

function imageName(volname: string, name: string): ImageFileName {
  const parsed = parseImageFileName(name);
  if (!parsed) invalid(volname, `'${name}' is not an image file name`);
  return parsed;
}

function other(volname: string, vtype: ParsedVolume['vtype'], name: string, format: string | undefined, vmid?: number): ParsedVolume {
  return { volname, vtype, name, vmid, baseName: undefined, baseVmid: undefined, isBase: false, format };
}

/**
 * Parses a directory-storage volume name into Proxmox's seven fields.
 *
 * Accepted forms: `<vmid>/<image>`, linked clones `<basevmid>/<baseimage>/<vmid>/<image>`,
 * `iso/<x>.iso|.img`, `vztmpl/<x>.tar[.gz|.xz|.zst|.bz2]`, `rootdir/<vmid>`,
 * `backup/<x>.(vma|tar)[.gz|.lzo|.zst|.bz2]` or `.tgz`, `snippets/<x>`,
 * `import/<x>.(ova|ovf|qcow2|raw|vmdk)` and `import/<x>.ova/<member>.(qcow2|raw|vmdk)`.
 * An `<image>` is `vm-|base-|subvol-<digits>-<anything>.<raw|qcow2|vmdk|subvol>`.
 * Import names take `=`, and the disk inside an OVA also spaces (`import/x.ova/OS disk.vmdk`).
 * Differences from Proxmox: other names with characters outside `[A-Za-z0-9_.+@-/]` are refused
 * by the core (Proxmox's `[^/\s]` takes more in image names), so are spaces in an import file or
 * OVA name (Proxmox parses them but never lists them), and vmids must be canonical
 * (`1..999999999`, no leading zero).
 *
 * @param volname - the part of the volid after the first `:`
 * @returns the parsed volume; `format` is the image format, `raw` for iso/vztmpl/backup/snippets,
 *   the extension for import (`ova+<fmt>` for an OVA member), `undefined` for rootdir
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` for any other name
 * @example
 * ```ts
 * parseDirVolname('100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2');
 * // { vtype: 'images', name: 'vm-101-disk-0.qcow2', vmid: 101, baseName: 'base-100-disk-0.qcow2', baseVmid: 100, isBase: false, format: 'qcow2', ... }
 * ```
 * @see Proxmox `PVE::Storage::Plugin::parse_volname`
 */
export function parseDirVolname(volname: string): ParsedVolume {
  assertSafeVolname(volname);
  let m = CLONE_RE.exec(volname);
  if (m) {
    const [, bvmid = '', bname = '', vmid = '', name = ''] = m;
    imageName(volname, bname);
    const img = imageName(volname, name);
    return {
      volname,
      vtype: 'images',
      name,
      vmid: vmidOf(volname, vmid),
      baseName: bname,
      baseVmid: vmidOf(volname, bvmid),
      isBase: img.isBase,
      format: img.format,
    };
  }
  m = IMAGE_RE.exec(volname);
  if (m) {
    const [, vmid = '', name = ''] = m;
    const img = imageName(volname, name);
    return { volname, vtype: 'images', name, vmid: vmidOf(volname, vmid), baseName: undefined, baseVmid: undefined, isBase: img.isBase, format: img.format };
  }
  if ((m = ISO_RE.exec(volname))) return other(volname, 'iso', m[1] ?? '', 'raw');
  if ((m = VZTMPL_RE.exec(volname))) return other(volname, 'vztmpl', m[1] ?? '', 'raw');
  if ((m = ROOTDIR_RE.exec(volname))) {
    const vmid = vmidOf(volname, m[1] ?? '');
    return other(volname, 'rootdir', String(vmid), undefined, vmid);
  }
  if ((m = BACKUP_RE.exec(volname))) {
    const name = m[1] ?? '';
    const owner = BACKUP_OWNER_RE.exec(name);
    return other(volname, 'backup', name, 'raw', owner ? vmidOf(volname, owner[1] ?? '') : undefined);
  }
  if ((m = SNIPPET_RE.exec(volname))) return other(volname, 'snippets', m[1] ?? '', 'raw');
  if ((m = OVA_MEMBER_RE.exec(volname))) return other(volname, 'import', m[1] ?? '', `ova+${m[2] ?? ''}`);
  if ((m = IMPORT_RE.exec(volname))) return other(volname, 'import', m[1] ?? '', m[2] ?? '');
  return invalid(volname, 'no form matches');
}

/**
 * Formats the volname of an image.
 *
 * @param parts - owner, file name, and for a linked clone the base's vmid and file name
 * @returns `<vmid>/<name>` or `<baseVmid>/<baseName>/<vmid>/<name>`
 */
export function formatImageVolname(parts: { vmid: number; name: string; baseVmid?: number | undefined; baseName?: string | undefined }): string {
  const own = `${parts.vmid}/${parts.name}`;
  return parts.baseName !== undefined && parts.baseVmid !== undefined ? `${parts.baseVmid}/${parts.baseName}/${own}` : own;
}

/**
 * The backing-file reference a linked clone of a base has: `../<baseVmid>/<baseName>`,
 * relative to the clone's own directory.
 *
 * @param baseVmid - the base's owner
 * @param baseName - the base's file name
 */
export function backingReference(baseVmid: number, baseName: string): string {
  return `../${baseVmid}/${baseName}`;
}

const BACKING_REF_RE = /^\.\.\/([1-9][0-9]*)\/([^/]+)$/;

/**
 * Reads a backing-file reference of the form `../<vmid>/<image>` (what linked clones carry).
 *
 * @param backing - the backing file name stored in an image header
 * @returns the base's vmid and file name, or `undefined` for any other reference
 */
export function parseBackingReference(backing: string): { baseVmid: number; baseName: string } | undefined {
  const m = BACKING_REF_RE.exec(backing);
  if (!m) return undefined;
  const baseVmid = Number(m[1]);
  const baseName = m[2] ?? '';
  if (baseVmid > MAX_VMID || !parseImageFileName(baseName)) return undefined;
  return { baseVmid, baseName };
}

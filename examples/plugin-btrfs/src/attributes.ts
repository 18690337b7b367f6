/**
 * The `hidden` attribute (a template freed with `whenUnused` while clones still use it): a marker
 * file `.<name>.hidden` next to the volume's subvolume, which `listImages` sees in the directory
 * read it makes anyway. It moves and goes with the volume.
 *
 * @module
 */
import { errnoOf, fsError, type FileSystem, type GetAttributeRequest, type UpdateAttributeRequest } from '@stowage/core/plugin';
import { StorageError, type AttributeValue } from '@stowage/core';
import { checkedSubvolume } from './disk-file.js';
import type { BtrfsContext } from './exec.js';
import { hiddenMarker } from './names.js';
import { exists } from './subvolumes.js';

function onlyHidden(attribute: string, volname: string): void {
  if (attribute !== 'hidden') {
    throw new StorageError('NOT_SUPPORTED', `btrfs storage keeps no '${attribute}' attribute`, { details: { volname, attribute } });
  }
}

/**
 * Whether the volume is hidden.
 *
 * @throws {@link StorageError} `NOT_SUPPORTED` (another attribute), `NOT_FOUND`
 * @see Proxmox `get_volume_attribute`
 */
export async function getVolumeAttribute(ctx: BtrfsContext, request: GetAttributeRequest): Promise<AttributeValue> {
  onlyHidden(request.attribute, request.volume.volname);
  return exists(hiddenMarker(await checkedSubvolume(ctx.config.path, request.volume)));
}

/**
 * Hides the volume (`true`: the marker file is made) or shows it again (`false`, `undefined`).
 *
 * @throws {@link StorageError} `NOT_SUPPORTED` (another attribute), `INVALID_ARGUMENT` (not a boolean), `NOT_FOUND`
 * @see Proxmox `update_volume_attribute`
 */
export async function updateVolumeAttribute(ctx: BtrfsContext, request: UpdateAttributeRequest): Promise<void> {
  const { volume, value } = request;
  onlyHidden(request.attribute, volume.volname);
  if (value !== undefined && typeof value !== 'boolean') {
    throw new StorageError('INVALID_ARGUMENT', `hidden of '${volume.volname}' must be true or false`, { details: { volname: volume.volname, attribute: 'hidden' } });
  }
  const marker = hiddenMarker(await checkedSubvolume(ctx.config.path, volume));
  try {
    if (value === true) await (await ctx.fs.open(marker, 'wx', 0o640)).close();
    else await removeMarker(ctx.fs, marker);
  } catch (e) {
    // already hidden (O_EXCL: a symbolic link there is not followed either)
    if (value === true && errnoOf(e) === 'EEXIST') return;
    throw fsError(e, `cannot set hidden of '${volume.volname}'`, { volname: volume.volname });
  }
}

/**
 * Removes a marker file; a missing one is fine.
 *
 * @param fs - the file system (`ctx.fs`)
 * @param marker - its path
 */
export async function removeMarker(fs: FileSystem, marker: string): Promise<void> {
  try {
    await fs.unlink(marker);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
}

/**
 * Moves a volume's marker with it (template, rename); a missing one is fine.
 *
 * @param fs - the file system (`ctx.fs`)
 * @param from - the volume's old subvolume
 * @param to - its new subvolume
 */
export async function moveMarker(fs: FileSystem, from: string, to: string): Promise<void> {
  try {
    await fs.rename(hiddenMarker(from), hiddenMarker(to));
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw fsError(e, `cannot move the hidden marker of '${from}'`, { path: from });
  }
}

/**
 * Volume attributes `notes`, `protected` and `hidden`, kept in files next to the volume
 * (`<file>.notes`, `<file>.protected` as Proxmox keeps them for backups, and `<file>.hidden`, a
 * template freed with `whenUnused` while clones still use it): where they are, and moving and
 * removing them with their volume.
 *
 * @module
 */
import { lstat, readdir } from 'node:fs/promises';
import { StorageError, type VolumeAttribute } from '@stowage/core';
import { errnoOf, fsError, type FileSystem } from '@stowage/core/plugin';
import { parseDirVolname } from './names.js';

/** The most bytes of notes kept for one volume. */
export const MAX_NOTES_BYTES = 64 * 1024;

const SUFFIX: Readonly<Record<VolumeAttribute, string>> = { notes: '.notes', protected: '.protected', hidden: '.hidden' };

/**
 * The file that holds an attribute of the volume at `path`.
 *
 * @param path - the volume's file
 * @param attribute - the attribute
 * @see Proxmox `PVE::Storage::protection_file_path`, `NOTES_EXT`
 */
export function sidecarPath(path: string, attribute: VolumeAttribute): string {
  return `${path}${SUFFIX[attribute]}`;
}

/**
 * Tells whether the volume at `path` has a boolean attribute (`protected`, `hidden`): its
 * marker file exists (whatever it is; it is never opened).
 *
 * @param path - the volume's file
 * @param attribute - `protected` or `hidden`
 */
export async function hasMarker(path: string, attribute: 'protected' | 'hidden'): Promise<boolean> {
  try {
    await lstat(sidecarPath(path, attribute));
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw fsError(e, `cannot check the ${attribute} marker of '${path}'`, { path });
  }
}

/**
 * Tells whether the volume at `path` is protected.
 *
 * @param path - the volume's file
 */
export function isProtected(path: string): Promise<boolean> {
  return hasMarker(path, 'protected');
}

/**
 * The image files of one directory listing that carry the `hidden` marker: the names whose
 * `<name>.hidden` is among the same entries (no call per image).
 *
 * @param names - the entries of a directory
 * @returns the file names that are hidden
 */
export function hiddenAmong(names: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const add = (n: string): void => {
    if (n.endsWith(SUFFIX.hidden)) out.add(n.slice(0, -SUFFIX.hidden.length));
  };
  // an array (a listing's directory entries) by index: no iterator result per name
  if (Array.isArray(names)) for (let i = 0; i < names.length; i++) add(names[i] as string);
  else for (const n of names) add(n);
  return out;
}

/**
 * Moves a volume's attribute files along with it (rename, template). Missing ones are skipped.
 * When one cannot be moved, those moved already are moved back before the error is thrown, so
 * the caller can undo the volume's own move and leave everything as it was.
 *
 * @param fs - the file system to move them through (`ctx.fs`)
 * @param from - the old volume path
 * @param to - the new volume path
 * @throws {@link @stowage/core!index.StorageError | StorageError} mapped from the filesystem error (nothing moved then)
 */
export async function moveSidecars(fs: FileSystem, from: string, to: string): Promise<void> {
  const moved: VolumeAttribute[] = [];
  for (const a of Object.keys(SUFFIX) as VolumeAttribute[]) {
    try {
      await fs.rename(sidecarPath(from, a), sidecarPath(to, a));
      moved.push(a);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') continue;
      for (const back of moved.reverse()) await fs.rename(sidecarPath(to, back), sidecarPath(from, back)).catch(() => undefined);
      throw fsError(e, `cannot move the ${a} of '${from}'`, { path: from });
    }
  }
}

/**
 * Removes a volume's attribute files (after the volume itself is gone).
 *
 * @param fs - the file system to remove them through (`ctx.fs`)
 * @param path - the volume's file
 */
export async function removeSidecars(fs: FileSystem, path: string): Promise<void> {
  for (const a of Object.keys(SUFFIX) as VolumeAttribute[]) {
    try {
      await fs.unlink(sidecarPath(path, a));
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw fsError(e, `cannot remove the ${a} of '${path}'`, { path });
    }
  }
}

/**
 * Throws `NOT_FOUND` unless something is at the volume's path.
 *
 * @param path - the volume's path
 * @param volname - the volume, for the message
 */
export async function assertExists(path: string, volname: string): Promise<void> {
  try {
    await lstat(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new StorageError('NOT_FOUND', `volume '${volname}' does not exist`, { details: { volname } });
    throw fsError(e, `cannot inspect '${path}'`, { path });
  }
}

/**
 * How many of a guest's backups in a directory are protected.
 *
 * @param dir - the backup directory
 * @param vmid - the guest
 */
export async function countProtectedBackups(dir: string, vmid: number): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith(SUFFIX.protected)) continue;
    try {
      if (parseDirVolname(`backup/${name.slice(0, -SUFFIX.protected.length)}`).vmid === vmid) n++;
    } catch {
      // not a backup's marker
    }
  }
  return n;
}

/**
 * Volume attributes `notes` and `protected`, kept in files next to the volume
 * (`<file>.notes`, `<file>.protected`), as Proxmox keeps them for backups.
 *
 * @module
 */
import { lstat, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StorageError, type AttributeValue, type VolumeAttribute } from '@stowage/core';
import { errnoOf, fsError, type GetAttributeRequest, type UpdateAttributeRequest } from '@stowage/core/plugin';
import { entryPath, volumePath, type DirEnv } from './exec.js';
import { confine } from './paths.js';
import { ownerToken, writeFileAtomic } from './temp-file.js';
import { parseDirVolname } from './names.js';

/** The most bytes of notes kept for one volume. */
export const MAX_NOTES_BYTES = 64 * 1024;

const SUFFIX: Readonly<Record<VolumeAttribute, string>> = { notes: '.notes', protected: '.protected' };

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
 * Tells whether the volume at `path` is protected.
 *
 * @param path - the volume's file
 */
export async function isProtected(path: string): Promise<boolean> {
  try {
    await lstat(sidecarPath(path, 'protected'));
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw fsError(e, `cannot check protection of '${path}'`, { path });
  }
}

/**
 * Moves a volume's attribute files along with it (rename, template). Missing ones are skipped.
 *
 * @param from - the old volume path
 * @param to - the new volume path
 */
export async function moveSidecars(from: string, to: string): Promise<void> {
  for (const a of Object.keys(SUFFIX) as VolumeAttribute[]) {
    try {
      await rename(sidecarPath(from, a), sidecarPath(to, a));
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw fsError(e, `cannot move the ${a} of '${from}'`, { path: from });
    }
  }
}

/**
 * Removes a volume's attribute files (after the volume itself is gone).
 *
 * @param path - the volume's file
 */
export async function removeSidecars(path: string): Promise<void> {
  for (const a of Object.keys(SUFFIX) as VolumeAttribute[]) {
    try {
      await unlink(sidecarPath(path, a));
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw fsError(e, `cannot remove the ${a} of '${path}'`, { path });
    }
  }
}

async function assertExists(path: string, volname: string): Promise<void> {
  try {
    await lstat(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new StorageError('NOT_FOUND', `volume '${volname}' does not exist`, { details: { volname } });
    throw fsError(e, `cannot inspect '${path}'`, { path });
  }
}

/**
 * Reads an attribute: the notes text (`undefined` when there are none) or whether the volume is
 * protected.
 *
 * @param env - the call's environment
 * @param request - the volume and the attribute
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the volume does not exist; `INVALID_VOLUME_ID`
 *   when its directory or its notes file leads outside the storage; `CORRUPT` when the notes are not a regular file
 * @see Proxmox `get_volume_attribute`
 */
export async function getAttribute(env: DirEnv, request: GetAttributeRequest): Promise<AttributeValue> {
  const { volume } = request;
  const path = await entryPath(env, volume);
  await assertExists(path, volume.volname);
  if (request.attribute === 'protected') return isProtected(path);
  const notes = sidecarPath(path, 'notes');
  try {
    // the notes file is read only when it is a regular file inside the storage
    await confine(env.rootReal, notes, volume.volname, env.fs);
    if (!(await env.fs.stat(notes)).isFile()) {
      throw new StorageError('CORRUPT', `the notes of '${volume.volname}' are not a regular file`, { details: { volname: volume.volname, path: notes } });
    }
    return await readFile(notes, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw fsError(e, `cannot read the notes of '${volume.volname}'`, { volname: volume.volname });
  }
}

async function countProtectedBackups(dir: string, vmid: number): Promise<number> {
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

/**
 * Sets or clears an attribute. Notes: a string (empty or `undefined` clears). Protected: a
 * boolean; a backup can only be protected while the guest has fewer than
 * `max-protected-backups` protected backups (unlimited when unset or `-1`).
 *
 * @param env - the call's environment
 * @param request - the volume, the attribute and its value
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the volume does not exist; `INVALID_ARGUMENT` for a
 *   value of the wrong type, notes over {@link MAX_NOTES_BYTES}, or too many protected backups
 * @see Proxmox `update_volume_attribute`
 */
export async function updateAttribute(env: DirEnv, request: UpdateAttributeRequest): Promise<void> {
  const { volume, attribute, value } = request;
  const path = await volumePath(env, volume);
  await assertExists(path, volume.volname);
  const bad = (why: string): never => {
    throw new StorageError('INVALID_ARGUMENT', `${attribute} of '${volume.volname}': ${why}`, { details: { volname: volume.volname, attribute } });
  };
  const file = sidecarPath(path, attribute);
  if (attribute === 'notes') {
    if (value === undefined || value === '') return unlinkMissingOk(file);
    if (typeof value !== 'string') return bad('notes must be text');
    if (Buffer.byteLength(value) > MAX_NOTES_BYTES) bad(`notes longer than ${MAX_NOTES_BYTES} bytes`);
    return writeFileAtomic(file, value, ownerToken(env.ctx.node));
  }
  if (value !== undefined && typeof value !== 'boolean') bad('protected must be true or false');
  if (!value) return unlinkMissingOk(file);
  if (await isProtected(path)) return;
  const max = env.ctx.config['max-protected-backups'];
  if (volume.vtype === 'backup' && volume.vmid !== undefined && max !== undefined && max >= 0) {
    if ((await countProtectedBackups(dirname(path), volume.vmid)) >= max) {
      bad(`the number of protected backups per guest is limited to ${max}`);
    }
  }
  await writeFileAtomic(file, '', ownerToken(env.ctx.node));
}

async function unlinkMissingOk(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw fsError(e, `cannot remove '${file}'`, { path: file });
  }
}

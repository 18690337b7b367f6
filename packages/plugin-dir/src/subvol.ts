/**
 * Container subvolumes of a directory storage: `images/<vmid>/subvol-<vmid>-disk-<n>.subvol`,
 * a plain directory holding a container's root filesystem (what Proxmox's `pct` makes on a
 * directory storage for a root disk of size 0). A plain directory has no quota, so such a
 * volume is made with size 0 only, and is listed with size 0, as Proxmox does.
 *
 * @module
 */
import type { Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { StorageError, type ParsedVolume } from '@stowage/core';
import { errnoOf, fsError, type AllocImageRequest } from '@stowage/core/plugin';
import { runTool, type DirEnv } from './exec.js';
import { inMadeDir, removeDirIfEmpty } from './fs-util.js';
import { confine } from './paths.js';
import { assertNameFree } from './reserve.js';
import { formatImageVolname } from './names.js';

/**
 * Makes a container subvolume: a new directory, mode 0755, under the storage lock (`mkdir` is
 * atomic: it is made whole or not at all).
 *
 * @param env - the call's environment
 * @param request - owner, name (`subvol-<vmid>-….subvol`), size (must be 0: no quota)
 * @returns the volname `<vmid>/<name>`
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (the storage's content has no `rootdir`, or a
 *   size other than 0: a directory has no quota), `INVALID_ARGUMENT` (name), `ALREADY_EXISTS`
 * @see Proxmox `PVE::Storage::Plugin::alloc_image` (`subvol`), pve-container's `alloc_disk`
 */
export async function allocSubvol(env: DirEnv, request: AllocImageRequest): Promise<string> {
  const { vmid, name } = request;
  const content = env.ctx.config.content;
  if (!content?.includes('rootdir')) {
    throw new StorageError('NOT_SUPPORTED', `storage '${env.storeId}' does not hold container volumes (its content has no rootdir)`, { details: { format: 'subvol' } });
  }
  if (request.size !== 0) {
    throw new StorageError('NOT_SUPPORTED', 'a directory storage does not support subvol quotas: allocate subvol with size 0', { details: { format: 'subvol', size: request.size } });
  }
  if (!new RegExp(`^subvol-${vmid}-[^/\\s]+\\.subvol$`).test(name)) {
    throw new StorageError('INVALID_ARGUMENT', `illegal name '${name}': should be 'subvol-${vmid}-*.subvol'`, { details: { name, vmid } });
  }
  const volname = formatImageVolname({ vmid, name });
  const dir = env.layout.imageDir(vmid);
  await confine(env.rootReal, dir, volname, env.fs);
  await inMadeDir(dir, env.fs, async () => {
    await assertNameFree(env, dir, name, volname);
    await env.ctx.fs.mkdir(join(dir, name), 0o755).catch((e: unknown) => {
      throw fsError(e, `cannot create '${volname}'`, { volname });
    });
  });
  return volname;
}

/**
 * Frees a container subvolume: the directory is first renamed to a hidden name (so it is gone
 * from listings at once, and never listed half-removed), then removed with
 * `rm -r --one-file-system`, which does not follow symlinks and does not descend into another
 * filesystem mounted below it. Only a real directory inside the storage is removed.
 *
 * @param env - the call's environment
 * @param volume - the parsed subvolume
 * @param path - its path (its directory already confined)
 * @param st - its `lstat`
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` (the entry is not a directory),
 *   `COMMAND_FAILED` (removal failed: `details.leftover` is the hidden directory left behind)
 * @see Proxmox `PVE::Storage::Plugin::free_image` (`remove_tree`)
 */
export async function freeSubvol(env: DirEnv, volume: ParsedVolume, path: string, st: Stats): Promise<void> {
  if (!st.isDirectory()) {
    throw new StorageError('CORRUPT', `'${volume.volname}' is not a directory: not freed`, { details: { volname: volume.volname, path } });
  }
  // node:crypto is loaded here, not with the listing that imports this module
  const { randomBytes } = await import('node:crypto');
  const hidden = join(dirname(path), `.${volume.name}.freeing-${randomBytes(3).toString('hex')}`);
  try {
    await env.ctx.fs.rename(path, hidden);
  } catch (e) {
    throw fsError(e, `cannot remove '${volume.volname}'`, { volname: volume.volname });
  }
  try {
    await runTool(env, ['rm', '-r', '--one-file-system', '--', hidden]);
  } catch (e) {
    throw new StorageError('COMMAND_FAILED', `'${volume.volname}' was taken out of the storage, but '${hidden}' could not be removed whole`, {
      cause: e,
      details: { volname: volume.volname, leftover: hidden },
    });
  }
  await removeDirIfEmpty(dirname(path), env.fs);
}

/**
 * The path of a container subvolume, after checking it is a real directory inside the storage
 * (a symlink under its name is refused, wherever it leads).
 *
 * @param env - the call's environment
 * @param volume - the parsed subvolume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `CORRUPT` (not a directory), `INVALID_VOLUME_ID`
 * @see Proxmox `PVE::Storage::Plugin::filesystem_path`
 */
export async function subvolPath(env: DirEnv, volume: ParsedVolume): Promise<string> {
  const path = env.layout.volumePath(volume);
  await confine(env.rootReal, dirname(path), volume.volname, env.fs);
  let st;
  try {
    st = await env.fs.lstat(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new StorageError('NOT_FOUND', `volume '${volume.volname}' does not exist`, { details: { volname: volume.volname } });
    throw fsError(e, `cannot inspect '${path}'`, { path });
  }
  if (!st.isDirectory()) throw new StorageError('CORRUPT', `'${volume.volname}' is not a directory`, { details: { volname: volume.volname, path } });
  return path;
}

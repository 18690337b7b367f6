/**
 * Making and removing images: allocate, free, turn into a base (template), linked clone.
 * A new image is written under a hidden temporary name (see new-volume.ts) and published under
 * its final name only when whole; every failure on the way removes what the call made (its
 * temporary, checked by identity, and directories it created).
 *
 * @module
 */
import { chmod, lstat, truncate, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type AllocImageRequest, assertSizeFor, type CloneImageRequest, errnoOf, fsError } from '@stowage/core/plugin';
import { isStorageError, StorageError, type ParsedVolume, type VolumeFormat } from '@stowage/core';
import { isProtected, moveSidecars, removeSidecars } from './attributes.js';
import { dirCapabilities } from './capabilities.js';
import { chattrImmutableArgs, preallocationFor, qemuImgCreateArgs } from './commands.js';
import { assertImage, entryPath, runTool, type DirEnv } from './exec.js';
import { removeDirIfEmpty } from './fs-util.js';
import { admitImage } from './gate.js';
import { publishVolume, reserveVolume, undoNewVolume } from './new-volume.js';
import { confine } from './paths.js';
import { assertNameFree, namesInUseIn } from './reserve.js';
import { allocSubvol, freeSubvol } from './subvol.js';
import { moveNoReplace } from './temp-file.js';
import { backingReference, formatImageVolname, parseImageFileName } from './names.js';

/** Sizes are rounded up to whole KiB, as Proxmox allocates in KiB. */
export function roundUpKiB(size: number): number {
  return Math.ceil(size / 1024) * 1024;
}

function invalidArg(message: string, details: Record<string, unknown>): never {
  throw new StorageError('INVALID_ARGUMENT', message, { details });
}

/**
 * Checks a new image name for a guest: `vm-<vmid>-…` or `base-<vmid>-…` with the format's extension.
 *
 * @param vmid - the owner
 * @param name - the file name
 * @param format - the format the image will have
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` otherwise
 */
export function assertNewImageName(vmid: number, name: string, format: VolumeFormat): void {
  const parsed = parseImageFileName(name);
  if (!parsed) invalidArg(`illegal image name '${name}'`, { name });
  if (parsed.format !== format) invalidArg(`illegal name '${name}': extension does not match format '${format}'`, { name, format });
  if (!name.startsWith(`vm-${vmid}-`) && !name.startsWith(`base-${vmid}-`)) {
    invalidArg(`illegal name '${name}': should be 'vm-${vmid}-*'`, { name, vmid });
  }
}

/**
 * Allocates an image: raw files without preallocation are made natively (a sparse file),
 * a container subvolume is a directory (see subvol.ts), everything else is made by
 * `qemu-img create` with the storage's preallocation.
 *
 * @param env - the call's environment
 * @param request - owner, format, name, size in bytes (rounded up to KiB)
 * @returns the volname `<vmid>/<name>`
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (name, format, a size past the format's
 *   `maxSize` or the filesystem's largest file), `ALREADY_EXISTS`, `NO_SPACE`, `INVALID_VOLUME_ID`, `COMMAND_FAILED`
 * @see Proxmox `PVE::Storage::Plugin::alloc_image`
 */
export async function allocImage(env: DirEnv, request: AllocImageRequest): Promise<string> {
  const { vmid, format, name } = request;
  if (format === 'subvol') return allocSubvol(env, request);
  assertNewImageName(vmid, name, format);
  assertSizeFor(dirCapabilities, format, request.size);
  const size = roundUpKiB(request.size);
  const volname = formatImageVolname({ vmid, name });
  const made = await reserveVolume(env, vmid, name, volname);
  try {
    const preallocation = preallocationFor(env.ctx.config.preallocation, format);
    if (format === 'raw' && preallocation === 'off') {
      try {
        await truncate(made.temp.path, size);
      } catch (e) {
        throw fsError(e, `cannot size '${volname}' to ${size} bytes`, { volname, size });
      }
    } else {
      await runTool(env, qemuImgCreateArgs({ format, path: made.temp.path, size, preallocation }));
    }
    await publishVolume(env, made);
  } catch (e) {
    await undoNewVolume(env, made);
    throw e;
  }
  return volname;
}

/**
 * Removes a volume's directory entry (any content type but `rootdir`), its attribute files, and
 * the guest directory when it is left empty. A base loses its immutable flag first.
 *
 * The entry is the storage's own: its directory must lie inside the storage, but the entry
 * itself is never followed. A symlink is removed as a link (wherever it leads, even outside or
 * nowhere: removing it touches nothing there), never its target.
 *
 * @param env - the call's environment
 * @param volume - the parsed volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (no such volume; nothing is touched), `PROTECTED`,
 *   `INVALID_VOLUME_ID` (its directory leads outside), `INVALID_ARGUMENT` (rootdir, a directory), `PERMISSION_DENIED`
 * @see Proxmox `PVE::Storage::Plugin::free_image`
 */
export async function freeImage(env: DirEnv, volume: ParsedVolume): Promise<void> {
  if (volume.vtype === 'rootdir') invalidArg(`cannot free '${volume.volname}': container directories are not handled`, { volname: volume.volname });
  const path = await entryPath(env, volume);
  if (await isProtected(path)) {
    throw new StorageError('PROTECTED', `cannot remove protected volume '${volume.volname}' on '${env.storeId}'`, { details: { volname: volume.volname } });
  }
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw fsError(e, `cannot inspect '${path}'`, { path });
    if ((await namesInUseIn(env, dirname(path))).has(volume.name)) {
      throw new StorageError('NOT_FOUND', `volume '${volume.volname}' is still being made: it cannot be freed`, { details: { volname: volume.volname, inProgress: true } });
    }
    throw new StorageError('NOT_FOUND', `volume '${volume.volname}' does not exist on '${env.storeId}'`, { details: { volname: volume.volname } });
  }
  if (volume.format === 'subvol') return freeSubvol(env, volume, path, st);
  if (st.isDirectory()) invalidArg(`cannot free '${volume.volname}': it is a directory`, { volname: volume.volname });
  if (volume.isBase && st.isFile()) await setImmutable(env, path, false);
  try {
    await unlink(path);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw fsError(e, `cannot remove '${volume.volname}'`, { volname: volume.volname });
  }
  await removeSidecars(path);
  if (volume.vtype === 'images') await removeDirIfEmpty(dirname(path));
}

/**
 * Sets or clears the immutable flag. Not every filesystem has one, so a failure is a warning.
 *
 * @param env - the call's environment
 * @param path - the file
 * @param on - `true` to set
 */
export async function setImmutable(env: DirEnv, path: string, on: boolean): Promise<void> {
  try {
    await runTool(env, chattrImmutableArgs(on, path));
  } catch (e) {
    if (isStorageError(e, 'ABORTED')) throw e;
    env.log.warn(`could not ${on ? 'set' : 'clear'} the immutable flag of '${path}': ${(e as Error).message}`, { path });
  }
}

/**
 * Turns an image into a base (template): renames `vm-…` to `base-…` in place, makes it read-only
 * (mode 0444) and immutable where the filesystem allows.
 *
 * @param env - the call's environment
 * @param volume - the parsed image (not a base)
 * @returns the new volname
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (not an image, already a base, not a `vm-`
 *   name, or a linked clone whose header names another base), `CORRUPT` (refused by the gate), `NOT_FOUND`, `ALREADY_EXISTS`
 * @see Proxmox `PVE::Storage::Plugin::create_base`
 */
export async function createBase(env: DirEnv, volume: ParsedVolume): Promise<string> {
  assertImage(volume, 'createBase');
  if (volume.isBase) invalidArg(`'${volume.volname}' is already a base`, { volname: volume.volname });
  if (!volume.name.startsWith('vm-')) invalidArg(`cannot make a base of '${volume.volname}': not a vm- image`, { volname: volume.volname });
  const { path, probe } = await admitImage(env, volume);
  if (volume.baseName !== undefined && volume.baseVmid !== undefined && probe.backingFile !== backingReference(volume.baseVmid, volume.baseName)) {
    invalidArg(`volname '${volume.volname}' contains wrong information about parent`, { volname: volume.volname, backingFile: probe.backingFile });
  }
  const newName = volume.name.replace(/^vm-/, 'base-');
  const newVolname = formatImageVolname({ vmid: volume.vmid, name: newName, baseVmid: volume.baseVmid, baseName: volume.baseName });
  const newPath = join(dirname(path), newName);
  await confine(env.rootReal, newPath, newVolname, env.fs);
  await assertNameFree(env, dirname(path), newName, newVolname);
  if (!(await moveNoReplace(path, newPath, newVolname))) {
    await unlink(newPath).catch(() => undefined);
    throw new StorageError('INTERNAL', `cannot rename '${volume.volname}' to '${newVolname}': the old name could not be removed`, { details: { volname: volume.volname } });
  }
  await moveSidecars(path, newPath);
  await chmod(newPath, 0o444).catch((e: unknown) => env.log.warn(`could not make '${newPath}' read-only: ${(e as Error).message}`));
  await setImmutable(env, newPath, true);
  return newVolname;
}

/**
 * Makes a linked clone of a base: a qcow2 overlay in the new owner's directory whose backing file
 * is `../<basevmid>/<basename>` (relative, so the storage can move), with `-F` and extended L2.
 *
 * @param env - the call's environment
 * @param request - the base, the new owner, the new name (a `.qcow2` name)
 * @returns the new volname `<basevmid>/<basename>/<vmid>/<name>`
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (not a base, bad name), `CORRUPT` (a base
 *   refused by the gate), `NOT_SUPPORTED` (from a snapshot), `NOT_FOUND`, `ALREADY_EXISTS`, `NO_SPACE`, `COMMAND_FAILED`
 * @see Proxmox `PVE::Storage::Plugin::clone_image`
 */
export async function cloneImage(env: DirEnv, request: CloneImageRequest): Promise<string> {
  const base = request.volume;
  assertImage(base, 'cloneImage');
  if (request.snapshot !== undefined) {
    throw new StorageError('NOT_SUPPORTED', 'this storage type does not support clone_image on snapshot', { details: { volname: base.volname } });
  }
  if (!base.isBase) invalidArg(`clone_image only works on base images, '${base.volname}' is not one`, { volname: base.volname });
  assertNewImageName(request.vmid, request.name, 'qcow2');
  await admitImage(env, base);
  const volname = formatImageVolname({ vmid: request.vmid, name: request.name, baseVmid: base.vmid, baseName: base.name });
  const made = await reserveVolume(env, request.vmid, request.name, volname);
  try {
    const backing = { file: backingReference(base.vmid, base.name), format: base.format as VolumeFormat };
    const preallocation = preallocationFor(env.ctx.config.preallocation, base.format as VolumeFormat);
    await runTool(env, qemuImgCreateArgs({ format: 'qcow2', path: made.temp.path, preallocation, backing }));
    await publishVolume(env, made);
  } catch (e) {
    await undoNewVolume(env, made);
    throw e;
  }
  return volname;
}

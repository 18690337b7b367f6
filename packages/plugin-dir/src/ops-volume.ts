/**
 * What changes volumes: allocate, free, turn into a base (template), linked clone, resize,
 * rename to another guest, set attributes, and collect the temporaries of dead operations.
 * A new image is written under a hidden temporary name (see new-volume.ts) and published under
 * its final name only when whole; every failure on the way removes what the call made (its
 * temporary, checked by identity, and directories it created).
 *
 * @module
 */
import { lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  baseNameFor,
  assertSizeFor,
  errnoOf,
  fsError,
  type AllocImageRequest,
  type FileSystem,
  type CloneImageRequest,
  type CreateBaseRequest,
  type FreeImageRequest,
  type RenameVolumeRequest,
  type UpdateAttributeRequest,
  type VolumeResizeRequest,
} from '@stowage/core/plugin';
import { isStorageError, StorageError, type ParsedVolume, type VolumeFormat } from '@stowage/core';
import { assertExists, countProtectedBackups, hasMarker, isProtected, MAX_NOTES_BYTES, moveSidecars, removeSidecars, sidecarPath } from './attributes.js';
import { dirCapabilities } from './capabilities.js';
import { chattrImmutableArgs, preallocationFor, qemuImgCreateArgs, qemuImgResizeArgs } from './commands.js';
import { assertImage, entryPath, runTool, volumePath, type DirEnv } from './exec.js';
import { inMadeDir, removeDirIfEmpty, removeMadeDirs } from './fs-util.js';
import { admitImage } from './gate.js';
import { publishVolume, reserveVolume, undoNewVolume } from './new-volume.js';
import { confine } from './paths.js';
import { assertNameFree, namesInUseIn } from './reserve.js';
import { flushNames } from './durable.js';
import { allocSubvol, freeSubvol } from './subvol.js';
import { backingReference, formatImageVolname, parseImageFileName } from './names.js';
import { linkOpsOf, moveNoReplace, ownerToken, writeFileAtomic } from './temp-file.js';

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
        await env.ctx.fs.truncate(made.temp.path, size);
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
 * @param request - the volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (no such volume; nothing is touched), `PROTECTED`,
 *   `INVALID_VOLUME_ID` (its directory leads outside), `INVALID_ARGUMENT` (rootdir, a directory), `PERMISSION_DENIED`
 * @see Proxmox `PVE::Storage::Plugin::free_image`
 */
export async function freeImage(env: DirEnv, request: FreeImageRequest): Promise<void> {
  const { volume } = request;
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
    await env.ctx.fs.unlink(path);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw fsError(e, `cannot remove '${volume.volname}'`, { volname: volume.volname });
  }
  await removeSidecars(env.ctx.fs, path);
  if (volume.vtype === 'images') await removeDirIfEmpty(dirname(path), env.fs);
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
 * @param request - the image (not a base)
 * @returns the new volname
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (not an image, already a base, not a `vm-`
 *   name, or a linked clone whose header names another base), `CORRUPT` (refused by the gate), `NOT_FOUND`, `ALREADY_EXISTS`
 * @see Proxmox `PVE::Storage::Plugin::create_base`
 */
export async function createBase(env: DirEnv, request: CreateBaseRequest): Promise<string> {
  const { volume } = request;
  assertImage(volume, 'createBase');
  if (volume.isBase) invalidArg(`'${volume.volname}' is already a base`, { volname: volume.volname });
  if (!volume.name.startsWith('vm-')) invalidArg(`cannot make a base of '${volume.volname}': not a vm- image`, { volname: volume.volname });
  const { path, probe } = await admitImage(env, volume);
  if (volume.baseName !== undefined && volume.baseVmid !== undefined && probe.backingFile !== backingReference(volume.baseVmid, volume.baseName)) {
    invalidArg(`volname '${volume.volname}' contains wrong information about parent`, { volname: volume.volname, backingFile: probe.backingFile });
  }
  const newName = baseNameFor(volume.name);
  const newVolname = formatImageVolname({ vmid: volume.vmid, name: newName, baseVmid: volume.baseVmid, baseName: volume.baseName });
  const newPath = join(dirname(path), newName);
  await confine(env.rootReal, newPath, newVolname, env.fs);
  await assertNameFree(env, dirname(path), newName, newVolname);
  if (!(await moveNoReplace(path, newPath, newVolname, linkOpsOf(env.ctx.fs)))) {
    await env.ctx.fs.unlink(newPath).catch(() => undefined);
    throw new StorageError('INTERNAL', `cannot rename '${volume.volname}' to '${newVolname}': the old name could not be removed`, { details: { volname: volume.volname } });
  }
  try {
    await moveSidecars(env.ctx.fs, path, newPath);
  } catch (e) {
    // the image goes back to its name: a failed createBase leaves no base behind
    await moveNoReplace(newPath, path, volume.volname, linkOpsOf(env.ctx.fs)).catch((undo: unknown) =>
      env.log.warn(`could not give '${newPath}' back its name '${volume.volname}': ${(undo as Error).message}`, { path: newPath }),
    );
    throw e;
  }
  await env.ctx.fs.chmod(newPath, 0o444).catch((e: unknown) => env.log.warn(`could not make '${newPath}' read-only: ${(e as Error).message}`));
  await setImmutable(env, newPath, true);
  // the clones to come name the base in their headers: its name must outlive a power cut
  await flushNames(env.ctx.fs, dirname(newPath), env.log);
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

/**
 * Grows an image to `size` bytes (rounded up to KiB) with `qemu-img resize`. Raw and qcow2 only.
 * When a running guest holds the volume, nothing is done here (QEMU resizes it live).
 *
 * @param env - the call's environment
 * @param request - the image, the new size, whether its guest runs
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CANNOT_SHRINK` for a smaller size, `NOT_SUPPORTED` for vmdk,
 *   `NOT_FOUND`, `INVALID_ARGUMENT`, `CORRUPT` (refused by the gate), `NO_SPACE`, `BUSY`, `COMMAND_FAILED`
 * @see Proxmox `volume_resize`
 */
export async function volumeResize(env: DirEnv, request: VolumeResizeRequest): Promise<void> {
  const { volume } = request;
  assertImage(volume, 'volumeResize');
  if (volume.format !== 'raw' && volume.format !== 'qcow2') {
    throw new StorageError('NOT_SUPPORTED', `can't resize this image format (${String(volume.format)})`, { details: { volname: volume.volname } });
  }
  assertSizeFor(dirCapabilities, volume.format, request.size);
  const size = Math.ceil(request.size / 1024) * 1024;
  const { path, probe } = await admitImage(env, volume);
  if (size < probe.size) {
    throw new StorageError('CANNOT_SHRINK', `cannot shrink '${volume.volname}' from ${probe.size} to ${size} bytes`, {
      details: { volname: volume.volname, size: probe.size, requested: size },
    });
  }
  if (request.running || size === probe.size) return;
  const preallocation = preallocationFor(env.ctx.config.preallocation, volume.format);
  await runTool(env, qemuImgResizeArgs({ path, format: volume.format, size, preallocation }), { timeoutMs: 60_000 });
}

function notFound(volume: ParsedVolume): never {
  throw new StorageError('NOT_FOUND', `volume '${volume.volname}' does not exist`, { details: { volname: volume.volname } });
}

/**
 * Moves an image to another guest under a new name (a linked clone keeps its base prefix; its
 * relative backing file still resolves). The move never overwrites: `link` + `unlink`.
 *
 * @param env - the call's environment
 * @param request - the image, the target guest and name
 * @returns the new volname
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` for a base (its clones refer to it by path),
 *   `ALREADY_EXISTS`, `NOT_FOUND`, `INVALID_ARGUMENT`
 * @see Proxmox `rename_volume`
 */
export async function renameVolume(env: DirEnv, request: RenameVolumeRequest): Promise<string> {
  const { volume, targetVmid, targetName } = request;
  assertImage(volume, 'renameVolume');
  if (volume.isBase) throw new StorageError('NOT_SUPPORTED', `cannot rename base '${volume.volname}': linked clones refer to it by path`, { details: { volname: volume.volname } });
  assertNewImageName(targetVmid, targetName, volume.format as VolumeFormat);
  const from = await volumePath(env, volume);
  const newVolname = formatImageVolname({ vmid: targetVmid, name: targetName, baseVmid: volume.baseVmid, baseName: volume.baseName });
  const dir = env.layout.imageDir(targetVmid);
  const to = join(dir, targetName);
  await confine(env.rootReal, to, newVolname);
  try {
    await lstat(from);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') notFound(volume);
    throw fsError(e, `cannot inspect '${from}'`, { path: from });
  }
  const { made } = await inMadeDir(dir, env.fs, async () => {
    await confine(env.rootReal, to, newVolname);
    // a name an import in progress reserves is taken, though no file holds it yet
    await assertNameFree(env, dir, targetName, newVolname);
    await env.ctx.fs.link(from, to).catch((e: unknown) => {
      if (errnoOf(e) === 'EEXIST') throw new StorageError('ALREADY_EXISTS', `target volume '${newVolname}' already exists`, { cause: e, details: { volname: newVolname } });
      throw fsError(e, `cannot rename '${volume.volname}' to '${newVolname}'`, { volname: volume.volname });
    });
  });
  // the attribute files move while the image still has both names: until the old name goes, a
  // failure is undone by removing the new one
  try {
    await moveSidecars(env.ctx.fs, from, to);
  } catch (e) {
    await env.ctx.fs.unlink(to).catch(() => undefined);
    await removeMadeDirs(made, env.fs);
    throw e;
  }
  try {
    await env.ctx.fs.unlink(from);
  } catch (e) {
    await moveSidecars(env.ctx.fs, to, from).catch(() => undefined);
    await env.ctx.fs.unlink(to).catch(() => undefined);
    await removeMadeDirs(made, env.fs);
    throw fsError(e, `cannot rename '${volume.volname}' to '${newVolname}'`, { volname: volume.volname });
  }
  await removeDirIfEmpty(dirname(from), env.fs);
  return newVolname;
}

/**
 * Sets or clears an attribute. Notes: a string (empty or `undefined` clears). Protected and
 * hidden: a boolean (a marker file, `<file>.protected`, `<file>.hidden`); a backup can only be
 * protected while the guest has fewer than `max-protected-backups` protected backups
 * (unlimited when unset or `-1`).
 *
 * @param env - the call's environment
 * @param request - the volume, the attribute and its value
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the volume does not exist; `INVALID_ARGUMENT` for a
 *   value of the wrong type, notes over {@link MAX_NOTES_BYTES}, or too many protected backups
 * @see Proxmox `update_volume_attribute`
 */
export async function updateVolumeAttribute(env: DirEnv, request: UpdateAttributeRequest): Promise<void> {
  const { volume, attribute, value } = request;
  const path = await volumePath(env, volume);
  await assertExists(path, volume.volname);
  const bad = (why: string): never => {
    throw new StorageError('INVALID_ARGUMENT', `${attribute} of '${volume.volname}': ${why}`, { details: { volname: volume.volname, attribute } });
  };
  const file = sidecarPath(path, attribute);
  if (attribute === 'notes') {
    if (value === undefined || value === '') return unlinkMissingOk(env.ctx.fs, file);
    if (typeof value !== 'string') return bad('notes must be text');
    if (Buffer.byteLength(value) > MAX_NOTES_BYTES) bad(`notes longer than ${MAX_NOTES_BYTES} bytes`);
    return writeFileAtomic(env.ctx.fs, file, value, ownerToken(env.ctx.node), env.log);
  }
  if (value !== undefined && typeof value !== 'boolean') bad(`${attribute} must be true or false`);
  if (!value) return unlinkMissingOk(env.ctx.fs, file);
  if (await hasMarker(path, attribute)) return;
  const max = env.ctx.config['max-protected-backups'];
  if (attribute === 'protected' && volume.vtype === 'backup' && volume.vmid !== undefined && max !== undefined && max >= 0) {
    if ((await countProtectedBackups(dirname(path), volume.vmid)) >= max) {
      bad(`the number of protected backups per guest is limited to ${max}`);
    }
  }
  await writeFileAtomic(env.ctx.fs, file, '', ownerToken(env.ctx.node), env.log);
}

async function unlinkMissingOk(fs: FileSystem, file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw fsError(e, `cannot remove '${file}'`, { path: file });
  }
}


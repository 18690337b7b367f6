/**
 * Operations on one existing volume: size info, resize, rename to another guest, path, activation.
 *
 * @module
 */
import { link, lstat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  assertSizeFor,
  type ActivateVolumeRequest,
  type PathRequest,
  type RenameVolumeRequest,
  type VolumeResizeRequest,
} from '@stowage/core/plugin';
import { formatVolumeId, StorageError, type ParsedVolume, type VolumePath, type VolumeSizeInfo, type VolumeFormat } from '@stowage/core';
import { errnoOf, fsError } from '@stowage/core/plugin';
import { moveSidecars } from './attributes.js';
import { backingTarget, type BackingTarget } from './backing-link.js';
import { dirCapabilities } from './capabilities.js';
import { preallocationFor, qemuImgResizeArgs } from './commands.js';
import { assertImage, runTool, volumePath, type DirEnv } from './env.js';
import { inMadeDir, removeDirIfEmpty, removeMadeDirs } from './fs-util.js';
import { admitImage } from './gate.js';
import { confine } from './paths.js';
import type { ImageProbe } from './probe.js';
import { assertNameFree } from './reserve.js';
import { subvolPath } from './subvol.js';
import { assertNewImageName } from './volumes.js';
import { formatImageVolname, parseBackingReference, parseImageFileName } from './volname.js';

function notFound(volume: ParsedVolume): never {
  throw new StorageError('NOT_FOUND', `volume '${volume.volname}' does not exist`, { details: { volname: volume.volname } });
}

/**
 * The volname of a base, which is itself a linked clone when its header names a base.
 *
 * @param env - the call's environment
 * @param vmid - the base's owner
 * @param name - the base's file name
 */
async function baseVolname(env: DirEnv, vmid: number, name: string): Promise<string> {
  const format = parseImageFileName(name)?.format;
  const path = join(env.layout.imageDir(vmid), name);
  let probe: ImageProbe | undefined;
  if (format && format !== 'subvol') {
    probe = await confine(env.rootReal, path, undefined, env.fs).then(
      () => env.fs.probe(path, format),
      () => undefined,
    );
  }
  const up = probe?.backingFile !== undefined ? parseBackingReference(probe.backingFile) : undefined;
  return formatImageVolname({ vmid, name, baseVmid: up?.baseVmid, baseName: up?.baseName });
}

/**
 * Size, format, usage, parent (the volid of the image its backing file leads to, as in the
 * listing), the backing file as stored, and ctime of an image, read natively. A file whose content does not match its extension reports format `invalid`.
 *
 * @param env - the call's environment
 * @param volume - the parsed image
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `INVALID_ARGUMENT`, `CORRUPT` (refused by the gate)
 * @see Proxmox `volume_size_info`
 */
export async function volumeSizeInfo(env: DirEnv, volume: ParsedVolume): Promise<VolumeSizeInfo> {
  const { path, probe } = await admitImage(env, volume, { acceptInvalid: true });
  const { backingFile } = probe;
  let base: BackingTarget | undefined;
  if (backingFile !== undefined) {
    const imagesReal = await confine(env.rootReal, env.layout.subdir('images'), undefined, env.fs);
    base = await backingTarget(env.fs, imagesReal, path, backingFile);
  }
  const parent = base ? formatVolumeId(env.storeId, await baseVolname(env, base.baseVmid, base.baseName)) : undefined;
  return { size: probe.size, format: probe.format, used: probe.used, parent, backingFile, ctime: probe.ctime };
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
    await link(from, to).catch((e: unknown) => {
      if (errnoOf(e) === 'EEXIST') throw new StorageError('ALREADY_EXISTS', `target volume '${newVolname}' already exists`, { cause: e, details: { volname: newVolname } });
      throw fsError(e, `cannot rename '${volume.volname}' to '${newVolname}'`, { volname: volume.volname });
    });
  });
  try {
    await unlink(from);
  } catch (e) {
    await unlink(to).catch(() => undefined);
    await removeMadeDirs(made);
    throw fsError(e, `cannot rename '${volume.volname}' to '${newVolname}'`, { volname: volume.volname });
  }
  await moveSidecars(from, to);
  await removeDirIfEmpty(dirname(from));
  return newVolname;
}

/**
 * The path of a volume. A snapshot of a qcow2 image has the same path (internal snapshots). An
 * image's path is given only when it passes the gate: a guest's QEMU opens what it refers to.
 *
 * @param env - the call's environment
 * @param request - the volume, optionally a snapshot
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` for a snapshot of a non-qcow2 image,
 *   `INVALID_VOLUME_ID`, `NOT_FOUND` and `CORRUPT` (an image refused by the gate)
 * @see Proxmox `filesystem_path`
 */
export async function volumePathInfo(env: DirEnv, request: PathRequest): Promise<VolumePath> {
  const { volume } = request;
  if (request.snapshot !== undefined && volume.format !== 'qcow2') {
    throw new StorageError('NOT_SUPPORTED', `can't snapshot this image format (${String(volume.format)})`, { details: { volname: volume.volname } });
  }
  let path: string;
  if (volume.vtype !== 'images') path = await volumePath(env, volume);
  else if (volume.format === 'subvol') path = await subvolPath(env, volume);
  else path = (await admitImage(env, volume)).path;
  return { path, vmid: volume.vmid, vtype: volume.vtype };
}

/**
 * Checks a volume exists and, for an image, that it passes the gate (a regular file, and every
 * file QEMU would open for it inside the storage).
 *
 * @param env - the call's environment
 * @param request - the volume, optionally a snapshot
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `CORRUPT` (refused by the gate, with
 *   `details.problems`), `NOT_SUPPORTED` (snapshot of a non-qcow2 image)
 * @see Proxmox `activate_volume`
 */
export async function activateVolume(env: DirEnv, request: ActivateVolumeRequest): Promise<void> {
  const { path } = await volumePathInfo(env, request);
  if (request.volume.vtype === 'images') return;
  try {
    await lstat(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') notFound(request.volume);
    throw fsError(e, `cannot inspect '${path}'`, { path });
  }
}

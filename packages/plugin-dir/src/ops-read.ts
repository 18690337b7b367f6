/**
 * What reads a directory storage and makes it usable: activation and status, the listings, the
 * way back from a path to a volume, free names, a volume's path, size and attributes, and the
 * check that a volume can be used (activation).
 *
 * @module
 */
import { lstat, realpath, statfs } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import {
  formatVolumeId,
  isStorageError,
  StorageError,
  type AttributeValue,
  type ContentType,
  type ImageInfo,
  type ParsedVolume,
  type StorageStatus,
  type VolumeListEntry,
  type VolumePath,
  type VolumeSizeInfo,
} from '@stowage/core';
import {
  errnoOf,
  findFreeDiskIndex,
  formatDiskName,
  fsError,
  imageListEntries,
  type ActivateVolumeRequest,
  type FindFreeDisknameRequest,
  type GetAttributeRequest,
  type ListImagesRequest,
  type ListVolumesRequest,
  type PathRequest,
  type PathToVolnameRequest,
  type PluginContext,
  type VolumeRequest,
} from '@stowage/core/plugin';
import { assertExists, hasMarker, sidecarPath } from './attributes.js';
import { backingTarget, type BackingTarget } from './backing-link.js';
import { dirCapabilities } from './capabilities.js';
import { readInside } from './open-inside.js';
import { mountPointOf, type DirConfig } from './config.js';
import { dirFsOps, entryPath, volumePath, type DirEnv } from './exec.js';
import type { ImageProbe } from './formats/probe.js';
import { makeDirs, removeMadeDirs, type MadeDirs } from './fs-util.js';
import { listImageInfos } from './list.js';
import { isMounted, reachableDir, REACH_TIMEOUT_MS, withTimeout } from './mount.js';
import { formatImageVolname, parseBackingReference, parseDirVolname, parseImageFileName, VMID_DIR_RE } from './names.js';
import { confine, DirLayout } from './paths.js';

/**
 * Lists images by reading directories and image headers natively (see `listImageInfos`).
 *
 * @param env - the call's environment
 * @param request - vmid or volname filter
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` when the images directory leads outside the storage
 * @see Proxmox `list_images`
 */
export function listImages(env: DirEnv, request: ListImagesRequest): Promise<ImageInfo[]> {
  return listImageInfos(env, request);
}

/**
 * Lists volumes of the content types asked for (default: the storage's), images included.
 * Images are content `images`, or `rootdir` for the guests `request.guests` names as
 * containers; without a guest list every image is `images`.
 *
 * @param env - the call's environment
 * @param request - content types, vmid, the guests' types
 * @see Proxmox `list_volumes`
 */
export async function listVolumes(env: DirEnv, request: ListVolumesRequest): Promise<VolumeListEntry[]> {
  const content = request.content ?? env.ctx.config.content ?? dirCapabilities.defaultContent;
  // the images come sorted by volid (listImageInfos); only other content types' files need a sort
  const out: VolumeListEntry[] =
    content.includes('images') || content.includes('rootdir') ? imageListEntries(await listImageInfos(env, { vmid: request.vmid }), content, request.guests) : [];
  const files = content.filter((type) => type !== 'images' && type !== 'rootdir');
  if (files.length === 0) return out;
  // the other content types' files on first use: a listing of images loads none of that code
  const { listContentFiles } = await import('./list-volumes.js');
  for (const type of files) out.push(...(await listContentFiles(env, type, request.vmid)));
  return out.sort((a, b) => (a.volid < b.volid ? -1 : a.volid > b.volid ? 1 : 0));
}

/** The content types whose files lie directly in their directory, with their volname prefix. */
const FILE_KINDS: readonly (readonly [ContentType, string])[] = [
  ['iso', 'iso'],
  ['vztmpl', 'vztmpl'],
  ['backup', 'backup'],
  ['snippets', 'snippets'],
  ['import', 'import'],
];

/** The parts of `path` below `dir`, or `undefined` when it is not below it. */
function below(dir: string, path: string): string[] | undefined {
  const rel = relative(dir, path);
  if (rel === '' || rel.startsWith('..') || rel.startsWith(sep)) return undefined;
  return rel.split(sep);
}

/** The path as given and, when it exists, with its symlinks resolved (as Proxmox's `abs_path`). */
async function candidates(env: DirEnv, path: string): Promise<string[]> {
  try {
    const real = await env.fs.realpath(path);
    return real === path ? [path] : [path, real];
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT' || errno === 'ENOTDIR' || errno === 'ELOOP') return [path];
    throw fsError(e, `cannot resolve '${path}'`, { path });
  }
}

/** A content directory, as laid out and with symlinks resolved (when it exists inside the storage). */
async function dirsOf(env: DirEnv, vtype: ContentType): Promise<string[]> {
  const dir = env.layout.subdir(vtype);
  const real = await confine(env.rootReal, dir, undefined, env.fs).catch(() => dir);
  return real === dir ? [dir] : [dir, real];
}

function volnameIf(volname: string, vtype: ContentType): string | undefined {
  try {
    return parseDirVolname(volname).vtype === vtype ? volname : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Maps a path to the volume of a directory storage it names, as Proxmox's
 * `path_to_volume_id` does: an image (`<images>/<vmid>/<file>`, a container subvolume
 * included) is looked up in the guest's listing, so a linked clone gets its full volname
 * (`<basevmid>/<base>/<vmid>/<file>`); an ISO image, container template, backup, snippet or
 * import source is named by its directory and a file name its content type accepts (it is not
 * required to exist, as in Proxmox). The path is tried as given and with its symlinks resolved.
 *
 * @param env - the call's environment
 * @param path - an absolute, normalised path
 * @returns the volname, or `undefined` when the path names no volume of this storage
 * @see Proxmox `PVE::Storage::path_to_volume_id`
 */
export async function pathToVolname(env: DirEnv, request: PathToVolnameRequest): Promise<string | undefined> {
  const { path } = request;
  const paths = await candidates(env, path);
  for (const dir of await dirsOf(env, 'images')) {
    for (const p of paths) {
      const parts = below(dir, p);
      if (parts?.length !== 2 || !VMID_DIR_RE.test(parts[0] ?? '')) continue;
      const [vmid = '', name = ''] = parts;
      const images = await listImageInfos(env, { vmid: Number(vmid) });
      const hit = images.find((i) => i.volname === `${vmid}/${name}` || i.volname.endsWith(`/${vmid}/${name}`));
      if (hit) return hit.volname;
    }
  }
  for (const [vtype, prefix] of FILE_KINDS) {
    for (const dir of await dirsOf(env, vtype)) {
      for (const p of paths) {
        if (dirname(p) !== dir) continue;
        const volname = volnameIf(`${prefix}/${p.slice(dir.length + 1)}`, vtype);
        if (volname !== undefined) return volname;
      }
    }
  }
  return undefined;
}

/**
 * The disk names (`vm-<vmid>-disk-<n>`, `base-<vmid>-disk-<n>`, without what follows) that the
 * entries of a guest directory take; `subvol-` and `basevol-` names take theirs as `vm-` names
 * (one index is one disk, whatever its kind). An entry counts whatever follows the name (any extension,
 * a `.notes` file, a hidden placeholder `.vm-100-disk-3.raw...`) and whatever it is: a symlink
 * leading outside, a directory or a FIFO is skipped by the listing, but creating its name would
 * fail, so its index is never handed out.
 *
 * @param names - the entries of the guest directory
 * @param vmid - the guest
 */
function takenDiskNames(names: Iterable<string>, vmid: number): string[] {
  const re = new RegExp(`(?:^|\\.)(?:(vm|base)|subvol|basevol)-(${vmid}-disk-(?:0|[1-9][0-9]{0,8}))(?:\\.|$)`);
  const taken: string[] = [];
  for (const name of names) {
    const m = re.exec(name);
    // a container subvolume takes its index too, as in Proxmox (counted as the vm- name)
    if (m?.[2] !== undefined) taken.push(`${m[1] ?? 'vm'}-${m[2]}`);
  }
  return taken;
}

/**
 * The lowest free disk name of a guest, from one `readdir` of its directory (no listing, no
 * header read); the names of `request.taken` count as taken too. New names get the format as
 * extension (`vm-100-disk-0.qcow2`).
 *
 * @param env - the call's environment
 * @param request - the guest, the format (the extension; `subvol` names are `subvol-<vmid>-disk-<n>.subvol`), whether it is a base
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NO_SPACE` when indexes 0..1023 are all taken,
 *   `INVALID_VOLUME_ID` when the guest directory leads outside the storage
 * @see Proxmox `PVE::Storage::Plugin::find_free_diskname`
 */
export async function findFreeDiskname(env: DirEnv, request: FindFreeDisknameRequest): Promise<string> {
  const extension = request.format;
  const dir = env.layout.imageDir(request.vmid);
  await confine(env.rootReal, dir, `${request.vmid}/`, env.fs);
  const { namesInUseIn } = await import('./reserve.js');
  const index = findFreeDiskIndex(request.vmid, takenDiskNames([...(await namesInUseIn(env, dir)), ...(request.taken ?? [])], request.vmid));
  const name = formatDiskName({ isBase: request.base, vmid: request.vmid, index, ext: extension });
  return request.format === 'subvol' ? name.replace(/^vm-/, 'subvol-').replace(/^base-/, 'basevol-') : name;
}

/**
 * Configs whose directories this process has already made and checked: later activations only
 * check that the storage path is still reachable (missing guest directories are made by the
 * operations that need them).
 */
const activated = new WeakSet<object>();

/**
 * Makes the storage usable: checks the mount point (`is_mountpoint`), creates the base path
 * (`create-base-path`, default yes) and the directory of each enabled content type
 * (`create-subdirs`, default yes; `mkdir` is the deprecated switch for both), and refuses two
 * content types sharing one directory. The full check runs once per config object in this
 * process; after that only the reachability of the path (and the mount point) is checked. When
 * activation fails, the directories it made are removed again (only those, and only while empty).
 *
 * @param ctx - the call's context
 * @throws {@link @stowage/core!index.StorageError | StorageError} `UNAVAILABLE` (not mounted, path missing or unreachable),
 *   `CONFIG_INVALID` (two content types in one directory), `INVALID_VOLUME_ID` (a content
 *   directory that leads outside the storage)
 * @see Proxmox `PVE::Storage::DirPlugin::activate_storage`
 */
export async function activateStorage(ctx: PluginContext<DirConfig>): Promise<void> {
  const config = ctx.config;
  const fs = dirFsOps(ctx);
  const layout = new DirLayout(config);
  const mp = mountPointOf(config);
  if (mp !== undefined && !(await isMounted(mp))) {
    throw new StorageError('UNAVAILABLE', `unable to activate storage '${ctx.storeId}': '${mp}' is expected to be a mount point but is not mounted`, {
      details: { storeId: ctx.storeId, mountPoint: mp },
    });
  }
  if (activated.has(config) && (await reachableDir(layout.root))) return;
  // What this activation made is removed again if it fails: a failed `storage add` leaves
  // nothing behind, and nothing that existed before is touched.
  const made: MadeDirs[] = [];
  try {
    if (config['create-base-path'] ?? config.mkdir ?? true) made.push(await makeDirs(layout.root, fs));
    if (!(await reachableDir(layout.root))) {
      throw new StorageError('UNAVAILABLE', `unable to activate storage '${ctx.storeId}': directory '${layout.root}' does not exist or is unreachable`, {
        details: { storeId: ctx.storeId, path: layout.root },
      });
    }
    const rootReal = await realpath(layout.root);
    const content: readonly ContentType[] = config.content ?? dirCapabilities.defaultContent;
    if (config['create-subdirs'] ?? config.mkdir ?? true) {
      const wanted = new Set<ContentType>(content);
      if (wanted.has('rootdir')) wanted.add('backup');
      for (const vtype of wanted) {
        const dir = layout.subdir(vtype);
        await confine(rootReal, dir);
        if (dir !== layout.root) made.push(await makeDirs(dir, fs));
      }
    }
    const seen = new Map<string, ContentType>();
    for (const vtype of content) {
      const real = await realpath(layout.subdir(vtype)).catch(() => undefined);
      if (real === undefined) continue;
      const other = seen.get(real);
      if (other) {
        throw new StorageError('CONFIG_INVALID', `storage '${ctx.storeId}' uses directory ${real} for both ${other} and ${vtype}`, {
          details: { storeId: ctx.storeId, path: real, content: [other, vtype] },
        });
      }
      seen.set(real, vtype);
    }
  } catch (e) {
    for (const m of made.reverse()) await removeMadeDirs(m, fs);
    throw e;
  }
  activated.add(config);
}

/**
 * The filesystem's capacity under the storage path (`statfs`). A storage that is not mounted
 * (with `is_mountpoint`), missing, or does not answer within {@link REACH_TIMEOUT_MS} is
 * reported inactive with zeros.
 *
 * @param ctx - the call's context
 * @see Proxmox `PVE::Storage::Plugin::status`, `PVE::Tools::df`
 */
export async function status(ctx: PluginContext<DirConfig>): Promise<StorageStatus> {
  const offline: StorageStatus = { total: 0, available: 0, used: 0, active: false };
  const mp = mountPointOf(ctx.config);
  if (mp !== undefined && !(await isMounted(mp))) return offline;
  const r = await withTimeout(
    statfs(ctx.config.path).catch(() => undefined),
    REACH_TIMEOUT_MS,
  );
  if (r === 'timeout' || r === undefined || r.blocks === 0) return offline;
  const bsize = r.bsize;
  return { total: r.blocks * bsize, available: r.bavail * bsize, used: (r.blocks - r.bfree) * bsize, active: true };
}

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
  const file = join(env.layout.imageDir(vmid), name);
  let probe: ImageProbe | undefined;
  if (format && format !== 'subvol') {
    probe = await confine(env.rootReal, file, undefined, env.fs).then(
      () => env.fs.probe(file, format),
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
export async function volumeSizeInfo(env: DirEnv, request: VolumeRequest): Promise<VolumeSizeInfo> {
  const { volume } = request;
  const { admitImage } = await import('./gate.js');
  const { path: file, probe } = await admitImage(env, volume, { acceptInvalid: true });
  const { backingFile } = probe;
  let base: BackingTarget | undefined;
  if (backingFile !== undefined) {
    const imagesReal = await confine(env.rootReal, env.layout.subdir('images'), undefined, env.fs);
    base = await backingTarget(env.fs, imagesReal, file, backingFile);
  }
  const parent = base ? formatVolumeId(env.storeId, await baseVolname(env, base.baseVmid, base.baseName)) : undefined;
  return { size: probe.size, format: probe.format, used: probe.used, parent, backingFile, ctime: probe.ctime };
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
export async function path(env: DirEnv, request: PathRequest): Promise<VolumePath> {
  const { volume } = request;
  if (request.snapshot !== undefined && volume.format !== 'qcow2') {
    throw new StorageError('NOT_SUPPORTED', `can't snapshot this image format (${String(volume.format)}): on a directory storage only qcow2 images have snapshots`, {
      details: { volname: volume.volname, feature: 'snapshot' },
    });
  }
  let at: string;
  if (volume.vtype !== 'images') at = await volumePath(env, volume);
  else if (volume.format === 'subvol') at = await (await import('./subvol.js')).subvolPath(env, volume);
  else at = (await (await import('./gate.js')).admitImage(env, volume)).path;
  return { path: at, vmid: volume.vmid, vtype: volume.vtype };
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
  const { path: at } = await path(env, request);
  if (request.volume.vtype === 'images') return;
  try {
    await lstat(at);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') notFound(request.volume);
    throw fsError(e, `cannot inspect '${at}'`, { path: at });
  }
}

/**
 * Reads an attribute: the notes text (`undefined` when there are none), or whether the volume is
 * protected or hidden.
 *
 * @param env - the call's environment
 * @param request - the volume and the attribute
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the volume does not exist; `INVALID_VOLUME_ID`
 *   when its directory or its notes file leads outside the storage; `CORRUPT` when the notes are not a regular file
 * @see Proxmox `get_volume_attribute`
 */
export async function getVolumeAttribute(env: DirEnv, request: GetAttributeRequest): Promise<AttributeValue> {
  const { volume } = request;
  const path = await entryPath(env, volume);
  await assertExists(path, volume.volname);
  if (request.attribute === 'protected' || request.attribute === 'hidden') return hasMarker(path, request.attribute);
  const notes = sidecarPath(path, 'notes');
  try {
    // the notes file is read only when it is a regular file inside the storage: checked before
    // it is opened, and again as opened (a file swapped in meanwhile is not read)
    await confine(env.rootReal, notes, volume.volname, env.fs);
    return await readInside(env.rootReal, notes, { volname: volume.volname, what: 'the notes file' }, ({ handle }) => handle.readFile('utf8'));
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || isStorageError(e, 'NOT_FOUND')) return undefined;
    throw fsError(e, `cannot read the notes of '${volume.volname}'`, { volname: volume.volname });
  }
}

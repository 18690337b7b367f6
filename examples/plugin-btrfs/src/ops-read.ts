/**
 * Reading the storage: its status and activation, listing images, their sizes and paths, and
 * which template or snapshot each was cloned from; free names.
 *
 * A clone is a writable snapshot of a template (or of a snapshot), so btrfs records the origin's
 * UUID as the clone's parent UUID; that is how `parent` is found. It is informative: a btrfs
 * clone shares blocks with its origin but does not depend on it.
 *
 * @module
 */
import { statfs } from 'node:fs/promises';
import {
  formatVolumeId,
  isStorageError,
  StorageError,
  type ImageInfo,
  type StorageStatus,
  type VolumePath,
  type VolumeSizeInfo,
} from '@stowage/core';
import {
  findFreeDiskIndex,
  formatDiskName,
  type ActivateVolumeRequest,
  type FindFreeDisknameRequest,
  type ListImagesRequest,
  type PathRequest,
  type VolumeRequest,
} from '@stowage/core/plugin';
import { checkedDisk } from './disk-file.js';
import type { BtrfsContext } from './exec.js';
import { diskFile, parseBtrfsVolname, subvolPath } from './names.js';
import type { SubvolumeInfo } from './parse.js';
import { listVmids, readVmDir, subvolumeInfo, takenNames, type SubvolEntry } from './subvolumes.js';

/** `statfs`'s type of a btrfs filesystem. */
const BTRFS_MAGIC = 0x9123683e;

/** A disk subvolume with its volname. */
interface DiskEntry extends SubvolEntry {
  readonly volname: string;
}

async function allEntries(ctx: BtrfsContext): Promise<SubvolEntry[]> {
  return ctx.cache.get('btrfs:entries', async () => (await Promise.all((await listVmids(ctx.config.path)).map((v) => readVmDir(ctx.config.path, v)))).flat());
}

function volnameOf(e: SubvolEntry): string | undefined {
  const m = /^(?:vm|base)-(\d+)-/.exec(e.name);
  return m ? `${m[1]}/${e.name}.raw` : undefined;
}

/**
 * Maps the parent UUID of a volume to the volid of its origin: a template (or any volume), or a
 * snapshot as `volid@snap`. The volume's own snapshots are not its parent (a rollback makes the
 * volume a snapshot of one of them).
 */
async function resolveParent(ctx: BtrfsContext, own: DiskEntry, info: SubvolumeInfo): Promise<string | undefined> {
  if (info.parentUuid === undefined) return undefined;
  const byUuid = await ctx.cache.get('btrfs:uuids', async () => {
    const map = new Map<string, { volname: string; name: string; snapshot: string | undefined }>();
    for (const e of await allEntries(ctx)) {
      const volname = volnameOf(e);
      if (!volname) continue;
      const i = await subvolumeInfo(ctx, e.path).catch(() => undefined);
      if (i) map.set(i.uuid, { volname, name: e.name, snapshot: e.snapshot });
    }
    return map;
  });
  const origin = byUuid.get(info.parentUuid);
  if (!origin || origin.name === own.name) return undefined;
  const volid = formatVolumeId(ctx.storeId, origin.volname);
  return origin.snapshot === undefined ? volid : `${volid}@${origin.snapshot}`;
}

async function describe(ctx: BtrfsContext, e: DiskEntry): Promise<ImageInfo | undefined> {
  const volume = parseBtrfsVolname(e.volname);
  let stats;
  try {
    stats = (await checkedDisk(ctx.config.path, volume)).stats;
  } catch (err) {
    // a subvolume without disk.raw, or with something else than a regular file there, is no volume
    if (isStorageError(err, 'NOT_FOUND') || isStorageError(err, 'CORRUPT')) return undefined;
    throw err;
  }
  const info = await subvolumeInfo(ctx, e.path);
  return {
    volid: formatVolumeId(ctx.storeId, e.volname),
    volname: e.volname,
    format: 'raw',
    size: stats.size,
    used: stats.blocks * 512,
    vmid: volume.vmid ?? 0,
    isBase: volume.isBase,
    parent: await resolveParent(ctx, e, info),
    ctime: info.created,
    ...(e.hidden ? { hidden: true } : {}),
  };
}

/**
 * Lists the images of a storage: every `images/<vmid>/(vm|base)-<vmid>-disk-<n>` subvolume that
 * holds a regular `disk.raw`. Volumes being made are hidden (see `unfinished.ts`).
 *
 * @param ctx - the operation's context
 * @param request - only one guest's, or only these volnames
 * @see Proxmox `list_images` (BTRFSPlugin)
 */
export async function listImages(ctx: BtrfsContext, request: ListImagesRequest): Promise<ImageInfo[]> {
  const wanted = request.volnames ? new Set(request.volnames) : undefined;
  const disks: DiskEntry[] = [];
  for (const e of await allEntries(ctx)) {
    const volname = e.snapshot === undefined ? volnameOf(e) : undefined;
    if (!volname) continue;
    if (wanted ? !wanted.has(volname) : request.vmid !== undefined && !volname.startsWith(`${request.vmid}/`)) continue;
    disks.push({ ...e, volname });
  }
  const images = await Promise.all(disks.map((d) => describe(ctx, d)));
  return images.filter((i): i is ImageInfo => i !== undefined);
}

/**
 * Size, usage, origin and creation time of one volume.
 *
 * @param ctx - the operation's context
 * @param request - the volume
 * @throws {@link StorageError} `NOT_FOUND` when it does not exist
 * @see Proxmox `volume_size_info`
 */
export async function volumeSizeInfo(ctx: BtrfsContext, request: VolumeRequest): Promise<VolumeSizeInfo> {
  const { volume } = request;
  const path = subvolPath(ctx.config.path, volume);
  const image = await describe(ctx, { name: volume.name.replace(/\.raw$/, ''), snapshot: undefined, path, volname: volume.volname, hidden: false });
  if (!image) throw new StorageError('NOT_FOUND', `volume '${volume.volname}' does not exist`, { details: { volname: volume.volname } });
  return { size: image.size, format: 'raw', used: image.used, parent: image.parent, ctime: image.ctime };
}

/**
 * Checks that the storage's path is on a btrfs filesystem.
 *
 * @param ctx - the operation's context
 * @throws {@link StorageError} `UNAVAILABLE` when the path is not usable or not on btrfs
 * @see Proxmox `activate_storage`
 */
export async function activateStorage(ctx: BtrfsContext): Promise<void> {
  let type: number;
  try {
    type = (await statfs(ctx.config.path)).type;
  } catch (e) {
    throw new StorageError('UNAVAILABLE', `storage path '${ctx.config.path}' is not usable: ${(e as Error).message}`, { cause: e, details: { path: ctx.config.path } });
  }
  if (type !== BTRFS_MAGIC) {
    throw new StorageError('UNAVAILABLE', `'${ctx.config.path}' is not on a btrfs filesystem`, { details: { path: ctx.config.path, fsType: type } });
  }
}

/**
 * The filesystem's size and free space; `active: false` when it cannot be read or is not btrfs.
 *
 * @param ctx - the operation's context
 * @see Proxmox `status`
 */
export async function status(ctx: BtrfsContext): Promise<StorageStatus> {
  try {
    const s = await statfs(ctx.config.path);
    return { total: s.blocks * s.bsize, available: s.bavail * s.bsize, used: (s.blocks - s.bfree) * s.bsize, active: s.type === BTRFS_MAGIC };
  } catch {
    return { total: 0, available: 0, used: 0, active: false };
  }
}

/**
 * The volume's `disk.raw` (in the snapshot's subvolume for a snapshot). A volume that does not
 * exist still has its path; one whose way there is not plain directories is refused.
 *
 * @param ctx - the operation's context
 * @param request - the volume and an optional snapshot
 * @throws {@link StorageError} `CORRUPT` when a symbolic link or another special file is in the way
 * @see Proxmox `path`
 */
export async function path(ctx: BtrfsContext, request: PathRequest): Promise<VolumePath> {
  await checkedDisk(ctx.config.path, request.volume, request.snapshot).catch((e: unknown) => {
    if (!isStorageError(e, 'NOT_FOUND')) throw e;
  });
  return { path: diskFile(subvolPath(ctx.config.path, request.volume, request.snapshot)), vmid: request.volume.vmid, vtype: 'images' };
}

/**
 * Checks that the volume (or snapshot) exists and that its `disk.raw` is a regular file reached
 * through plain directories.
 *
 * @param ctx - the operation's context
 * @param request - the volume and an optional snapshot
 * @throws {@link StorageError} `NOT_FOUND`, `CORRUPT`
 * @see Proxmox `activate_volume`
 */
export async function activateVolume(ctx: BtrfsContext, request: ActivateVolumeRequest): Promise<void> {
  await checkedDisk(ctx.config.path, request.volume, request.snapshot);
}

/**
 * The lowest free disk name of a guest; hidden subvolumes of volumes being made count as taken.
 *
 * @param ctx - the operation's context
 * @param request - the guest, and whether a template name is wanted
 * @see Proxmox `find_free_diskname`
 */
export async function findFreeDiskname(ctx: BtrfsContext, request: FindFreeDisknameRequest): Promise<string> {
  const index = findFreeDiskIndex(request.vmid, await takenNames(ctx.config.path, request.vmid));
  return formatDiskName({ isBase: request.base, vmid: request.vmid, index, ext: 'raw' });
}

/**
 * Reading a `zfspool` storage: listing, status, paths, size info, free names, and activation.
 *
 * @module
 */
import {
  formatVolumeId,
  isStorageError,
  type ContentType,
  type ImageInfo,
  type StorageStatus,
  type VolumeListEntry,
  type VolumePath,
  type VolumeSizeInfo,
} from '@stowage/core';
import {
  imageFacts,
  type ActivateVolumeRequest,
  type FindFreeDisknameRequest,
  type ListImagesRequest,
  type ListVolumesRequest,
  type PathRequest,
  type VolumeRequest,
} from '@stowage/core/plugin';
import { zfsGetArgs, zfsMountArgs, zpoolImportArgs, zpoolListArgs } from './commands.js';
import { loadChildren, loadSnapshots, notFound, requireVolume, runZfs, waitForZvolLink, type ZfsContext, type ZfsTuning } from './exec.js';
import { zfsFailureOf } from './errors.js';
import { datasetOf, freeDiskName, isVolumeName, parentOf, parseZfsVolname, subvolPath, volnameOf, zvolPath } from './names.js';
import { parsePoolUsage, parsePropertyValues, type DatasetRecord } from './parse.js';

/** The size a listing reports: a zvol's `volsize`, a file system's `refquota` (0 when none). */
function sizeOf(record: DatasetRecord): number {
  return (record.type === 'volume' ? record.volsize : record.refquota) ?? 0;
}

/** The kind of dataset a volume name must be: zvols for `vm-`/`base-`, file systems for `subvol-`/`basevol-`. */
function typeOfName(name: string): 'volume' | 'filesystem' {
  return /^(subvol|basevol)-/.test(name) ? 'filesystem' : 'volume';
}

/**
 * Lists the volumes among the pool's direct children, from one `zfs list -d1`. A linked clone
 * of a base is named `<base>/<name>` and has the base as `parent`; a clone of any other snapshot
 * of a volume has `parent` `storeid:<volume>@<snapshot>`. Children whose names are not volume
 * names, whose type does not fit their name, or that are unfinished (`stowage:incomplete`), are
 * left out. A volume with `stowage:hidden` set is reported `hidden` (the column comes with the
 * same listing).
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the pool does not exist
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::list_images`
 */
export async function listImages(ctx: ZfsContext, request: ListImagesRequest): Promise<ImageInfo[]> {
  const { pool } = ctx.config;
  const wanted = request.volnames ? new Set(request.volnames) : undefined;
  const images: ImageInfo[] = [];
  for (const [name, record] of await loadChildren(ctx)) {
    if (!isVolumeName(name) || record.type !== typeOfName(name) || record.incomplete !== undefined) continue;
    const volname = volnameOf(pool, name, record.origin);
    if (wanted && !wanted.has(volname)) continue;
    const parsed = parseZfsVolname(volname);
    if (!wanted && request.vmid !== undefined && parsed.vmid !== request.vmid) continue;
    images.push({
      volid: formatVolumeId(ctx.storeId, volname),
      volname,
      format: parsed.format as 'raw' | 'subvol',
      size: sizeOf(record),
      used: record.used,
      vmid: parsed.vmid!,
      isBase: parsed.isBase,
      parent: parentOf(ctx.storeId, pool, record.origin),
      ctime: record.creation,
      ...(record.hidden ? { hidden: true } : {}),
    });
  }
  return images;
}

/**
 * Lists volumes by content type: zvols as `images`, file systems as `rootdir`, only the content
 * types the storage holds (its `content` option) and the request asks for.
 *
 * @see Proxmox `PVE::Storage::Plugin::list_volumes`
 */
export async function listVolumes(ctx: ZfsContext, request: ListVolumesRequest): Promise<VolumeListEntry[]> {
  const enabled: readonly ContentType[] = ctx.config.content ?? ['images', 'rootdir'];
  const asked = request.content ?? enabled;
  const entries: VolumeListEntry[] = [];
  for (const image of await listImages(ctx, { vmid: request.vmid })) {
    const content: ContentType = image.format === 'subvol' ? 'rootdir' : 'images';
    if (!enabled.includes(content) || !asked.includes(content)) continue;
    entries.push({ volid: image.volid, content, format: image.format, size: image.size, vmid: image.vmid, ctime: image.ctime, image: imageFacts(image) });
  }
  return entries;
}

/**
 * The lowest free disk name of a guest, from the pool listing (see `freeDiskName`); unfinished
 * volumes and the names of `request.taken` count as taken.
 *
 * @see Proxmox `PVE::Storage::Plugin::find_free_diskname`
 */
export async function findFreeDiskname(ctx: ZfsContext, request: FindFreeDisknameRequest): Promise<string> {
  const children = await loadChildren(ctx);
  return freeDiskName(request.vmid, [...children.keys(), ...(request.taken ?? [])], request.format, request.base === true);
}

/**
 * The pool's (or pool dataset's) free and used bytes; total is their sum. A pool that cannot be
 * read is reported inactive, with the reason in `details.error`.
 *
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::status`
 */
export async function status(ctx: ZfsContext): Promise<StorageStatus> {
  try {
    const { stdout } = await runZfs(ctx, zfsGetArgs(['available', 'used'], ctx.config.pool));
    return { ...parsePoolUsage(stdout), active: true };
  } catch (e) {
    if (!isStorageError(e)) throw e;
    return { total: 0, available: 0, used: 0, active: false, details: { error: e.message, code: e.code } };
  }
}

/**
 * The device link of a zvol (`/dev/zvol/<pool>/<name>[@snap]`) or the directory of a container
 * volume (`<mountpoint>/<name>`, a snapshot under `.zfs/snapshot/<snap>`). Runs no command.
 *
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::path`
 */
export async function path(ctx: ZfsContext, request: PathRequest): Promise<VolumePath> {
  const { volume, snapshot } = request;
  const { pool, mountpoint } = ctx.config;
  const at = volume.format === 'subvol' ? subvolPath(mountpoint ?? `/${pool}`, volume.name, snapshot) : zvolPath(pool, volume.name, snapshot);
  return { path: at, vmid: volume.vmid, vtype: 'images' };
}

/**
 * Size (`volsize`, or `refquota` of a container volume), bytes used by the volume itself,
 * parent and creation time.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_size_info`
 */
export async function volumeSizeInfo(ctx: ZfsContext, request: VolumeRequest): Promise<VolumeSizeInfo> {
  const record = await requireVolume(ctx, request.volume);
  return {
    size: sizeOf(record),
    format: request.volume.format as 'raw' | 'subvol',
    used: record.used,
    parent: parentOf(ctx.storeId, ctx.config.pool, record.origin),
    ctime: record.creation,
  };
}

/**
 * Imports the pool when it is not imported (`zpool list`, then `zpool import -d /dev/disk/by-id/
 * -o cachefile=none`), once per operation and shared between operations through the TTL cache.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when there is no such pool to import
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::activate_storage`
 */
export function activateStorage(ctx: ZfsContext, tuning: ZfsTuning): Promise<void> {
  const zpool = ctx.config.pool.split('/')[0]!;
  return ctx.cache.shared(`zfspool:active:${zpool}`, async () => {
    try {
      await runZfs(ctx, zpoolListArgs(zpool));
      return;
    } catch (e) {
      if (zfsFailureOf(e) !== 'pool-missing') throw e;
    }
    ctx.log.info(`importing zpool '${zpool}'`);
    await runZfs(ctx, zpoolImportArgs(zpool), { timeoutMs: tuning.importTimeoutMs, details: { zpool } });
  });
}

/**
 * Makes a volume usable: waits for a zvol's device link (bounded), mounts a container volume
 * that is not mounted; for a snapshot, checks that it exists.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `TIMEOUT`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::activate_volume`
 */
export async function activateVolume(ctx: ZfsContext, request: ActivateVolumeRequest, tuning: ZfsTuning): Promise<void> {
  const { volume, snapshot } = request;
  if (snapshot !== undefined) {
    if (!(await loadSnapshots(ctx, volume)).some((s) => s.snapshot === snapshot)) throw notFound(ctx, volume.volname, snapshot);
    return;
  }
  await requireVolume(ctx, volume);
  const dataset = datasetOf(ctx.config.pool, volume.name);
  if (volume.format !== 'subvol') {
    await waitForZvolLink(ctx, zvolPath(ctx.config.pool, volume.name), tuning.zvolLinkTimeoutMs);
    return;
  }
  const [mounted] = parsePropertyValues((await runZfs(ctx, zfsGetArgs(['mounted'], dataset))).stdout, 1);
  if (mounted === 'yes') return;
  try {
    await runZfs(ctx, zfsMountArgs(dataset));
  } catch (e) {
    if (zfsFailureOf(e) !== 'mounted') throw e;
  }
}

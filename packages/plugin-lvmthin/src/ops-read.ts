/**
 * Operations that read the pool (listing, status, size, path, free names) and activation.
 *
 * @module
 */
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
import { lvchangeActivateArgs, lvchangeDeactivateArgs } from './commands.js';
import { invalidateListing, loadPool, requireVolume, runLvm, type LvmThinContext } from './exec.js';
import { lvDevicePath, parseLvmThinVolname, targetLvName } from './names.js';
import { usedBytes } from './pool-view.js';

/**
 * Lists the storage's volumes from one `lvs` report; a hidden volume (its LV renamed
 * `stowage_hidden_<volname>`) is reported under its volname, `hidden`.
 *
 * @see Proxmox `PVE::Storage::LvmThinPlugin::list_images`
 */
export async function listImages(ctx: LvmThinContext, request: ListImagesRequest): Promise<ImageInfo[]> {
  const view = await loadPool(ctx);
  const wanted = request.volnames === undefined ? undefined : new Set(request.volnames);
  const out: ImageInfo[] = [];
  for (const [volname, lv] of view.volumes) {
    if (wanted !== undefined ? !wanted.has(volname) : request.vmid !== undefined && vmidOf(volname) !== request.vmid) continue;
    out.push({
      volid: formatVolumeId(ctx.storeId, volname),
      volname,
      format: 'raw',
      size: lv.size,
      used: usedBytes(lv),
      vmid: vmidOf(volname),
      isBase: volname.startsWith('base-'),
      parent: view.parentOf(ctx.storeId, volname),
      ctime: lv.ctime,
      ...(view.hidden.has(volname) ? { hidden: true } : {}),
    });
  }
  return out;
}

/** The vmid of a volume name the pool view accepted (`vm-<vmid>-…` or `base-<vmid>-…`). */
function vmidOf(volname: string): number {
  return Number(/^(?:vm|base)-(\d+)-/.exec(volname)?.[1]);
}

/**
 * The thin pool's data usage (metadata usage and health in `details`). A missing volume group
 * or pool, a failed pool, or tools that cannot be run give `active: false` instead of an error.
 *
 * @see Proxmox `PVE::Storage::LvmThinPlugin::status`
 */
export async function status(ctx: LvmThinContext): Promise<StorageStatus> {
  try {
    const usage = (await loadPool(ctx)).usage()!;
    return {
      total: usage.total,
      available: usage.available,
      used: usage.used,
      active: usage.active && usage.health !== 'failed',
      details: {
        vg: ctx.config.vgname,
        thinpool: ctx.config.thinpool,
        health: usage.health,
        dataPercent: usage.dataPercent,
        metadataPercent: usage.metadataPercent,
        metadataSize: usage.metadataSize,
      },
    };
  } catch (e) {
    if (!isStorageError(e) || e.code === 'ABORTED') throw e;
    ctx.log.warn('thin pool is not usable', { storeId: ctx.storeId, code: e.code, error: e.message });
    return { total: 0, available: 0, used: 0, active: false, details: { vg: ctx.config.vgname, thinpool: ctx.config.thinpool, reason: e.code, message: e.message } };
  }
}

/**
 * Size, usage, parent and creation time of a volume.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 * @see Proxmox `PVE::Storage::LvmThinPlugin::volume_size_info`
 */
export async function volumeSizeInfo(ctx: LvmThinContext, request: VolumeRequest): Promise<VolumeSizeInfo> {
  const { view, lv } = await requireVolume(ctx, request.volume.volname);
  return { size: lv.size, format: 'raw', used: usedBytes(lv), parent: view.parentOf(ctx.storeId, request.volume.volname), ctime: lv.ctime };
}

/**
 * The device path, `/dev/<vg>/<lv>` (of the snapshot LV when a snapshot is named). Runs no command.
 *
 * @see Proxmox `PVE::Storage::LvmThinPlugin::filesystem_path`
 */
export async function path(ctx: LvmThinContext, request: PathRequest): Promise<VolumePath> {
  const volume = parseLvmThinVolname(request.volume.volname);
  return { path: lvDevicePath(ctx.config.vgname, targetLvName(volume.volname, request.snapshot)), vmid: volume.vmid, vtype: 'images' };
}

/**
 * Activates a volume or one of its snapshots (also when flagged to skip activation), unless it
 * is active already.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 * @see Proxmox `PVE::Storage::LvmThinPlugin::activate_volume`
 */
export async function activateVolume(ctx: LvmThinContext, request: ActivateVolumeRequest): Promise<void> {
  await setActive(ctx, request, true);
}

/**
 * Deactivates a volume or one of its snapshots, unless it is inactive already. Unlike Proxmox
 * (which only deactivates snapshots and bases), a plain volume is deactivated too when asked.
 * A device still held after a bounded wait for udev gives `BUSY`.
 *
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `BUSY`
 * @see Proxmox `PVE::Storage::LvmThinPlugin::deactivate_volume`
 */
export async function deactivateVolume(ctx: LvmThinContext, request: ActivateVolumeRequest): Promise<void> {
  await setActive(ctx, request, false);
}

async function setActive(ctx: LvmThinContext, request: ActivateVolumeRequest, active: boolean): Promise<void> {
  const volname = request.volume.volname;
  const lvName = targetLvName(volname, request.snapshot);
  const view = await loadPool(ctx);
  const lv = view.thinLvs.get(lvName);
  if (lv === undefined || (request.snapshot === undefined && !view.volumes.has(lvName))) {
    const what = request.snapshot === undefined ? `volume '${ctx.storeId}:${volname}'` : `snapshot '${request.snapshot}' of '${ctx.storeId}:${volname}'`;
    throw new StorageError('NOT_FOUND', `${what} does not exist`, { details: { volname, snapshot: request.snapshot } });
  }
  if (lv.active === active) return;
  const argv = active ? lvchangeActivateArgs(ctx.config.vgname, lvName) : lvchangeDeactivateArgs(ctx.config.vgname, lvName);
  await runLvm(ctx, argv, { retryBusy: !active, details: { lv: lvName } });
  invalidateListing(ctx);
}

/**
 * The lowest free disk name of a guest. Unfinished volumes (imports under way) and the names of
 * `request.taken` count as taken.
 *
 * @param ctx - the operation context
 * @param request - the guest, and whether a base name is wanted
 * @returns the name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (volume group or pool)
 * @see Proxmox `PVE::Storage::Plugin::find_free_diskname`
 */
export async function findFreeDiskname(ctx: LvmThinContext, request: FindFreeDisknameRequest): Promise<string> {
  const view = await loadPool(ctx);
  const index = findFreeDiskIndex(request.vmid, [...view.takenNames(), ...(request.taken ?? [])]);
  return formatDiskName({ isBase: request.base, vmid: request.vmid, index });
}

/**
 * What reads the storage: listing, status, paths, sizes, free names, and making a volume
 * available on a node (and no longer).
 *
 * @module
 */
import { formatVolumeId, isStorageError, type ImageInfo, type StorageStatus, type VolumePath, type VolumeSizeInfo } from '@stowage/core';
import {
  findFreeDiskIndex,
  formatDiskName,
  type ActivateVolumeRequest,
  type FindFreeDisknameRequest,
  type ListImagesRequest,
  type PathRequest,
  type VolumeRequest,
} from '@stowage/core/plugin';
import { activate, deactivate, devicePath } from './activation.js';
import { querySizeInfo } from './client/api.js';
import type { LinstorEnv } from './exec.js';
import { dropSnapshotVolume, openSnapshotVolume, snapshotVolumeName } from './snapshot-volume.js';
import { loadAll, loadVolumes, requireVolume, type LinstorVolume } from './view.js';

function imageInfo(env: LinstorEnv, v: LinstorVolume, all: readonly LinstorVolume[]): ImageInfo {
  const base = v.baseRd ? all.find((o) => o.rd.toLowerCase() === v.baseRd?.toLowerCase()) : undefined;
  return {
    volid: formatVolumeId(env.ctx.storeId, v.volname),
    volname: v.volname,
    format: 'raw',
    size: v.size,
    used: v.used,
    vmid: v.vmid,
    isBase: v.isBase,
    parent: base ? formatVolumeId(env.ctx.storeId, base.volname) : undefined,
    ctime: v.ctime,
    ...(v.hidden ? { hidden: true } : {}),
  };
}

/**
 * The whole volumes of the resource group, from one view of the controller.
 *
 * @param env - the call's environment
 * @param request - vmid or volname filter
 * @see Proxmox `list_images`
 */
export async function listImages(env: LinstorEnv, request: ListImagesRequest): Promise<ImageInfo[]> {
  const all = await loadVolumes(env);
  let vols = all;
  if (request.volnames) {
    const want = new Set(request.volnames);
    vols = vols.filter((v) => want.has(v.volname));
  } else if (request.vmid !== undefined) vols = vols.filter((v) => v.vmid === request.vmid);
  return vols.map((v) => imageInfo(env, v, all));
}

/**
 * The resource group's capacity, remembered for `statusCacheSeconds` (and forgotten after every
 * write); an unreachable controller or a missing group is `active: false`.
 *
 * @param env - the call's environment
 * @see Proxmox `status`
 */
export function status(env: LinstorEnv): Promise<StorageStatus> {
  return env.status.get(env, () => queryStatus(env));
}

/**
 * The DRBD device of a volume (`/dev/drbd/by-res/<resource>/0`), or of the volume a snapshot is
 * restored into.
 *
 * @param env - the call's environment
 * @param request - the volume and an optional snapshot
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 * @see Proxmox `path`
 */
export async function path(env: LinstorEnv, request: PathRequest): Promise<VolumePath> {
  const v = await requireVolume(env, request.volume);
  const rd = request.snapshot ? snapshotVolumeName(v.rd, request.snapshot) : v.rd;
  return { path: devicePath(env, rd), vmid: v.vmid, vtype: 'images' };
}

/**
 * Makes a volume (or a snapshot, restored into a volume of its own) available on this node or
 * on `request.node`: a diskless replica where there is no replica.
 *
 * @param env - the call's environment
 * @param request - the volume, an optional snapshot, an optional node
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `UNAVAILABLE` (no device)
 * @see Proxmox `activate_volume`
 */
export async function activateVolume(env: LinstorEnv, request: ActivateVolumeRequest): Promise<void> {
  const v = await requireVolume(env, request.volume);
  await activate(env, request.snapshot ? (await openSnapshotVolume(env, v, request.snapshot)).volume : v, request.node);
}

/**
 * Removes the diskless replica this plugin made for a volume on this node (or `request.node`),
 * or the volume a snapshot was restored into.
 *
 * @param env - the call's environment
 * @param request - the volume, an optional snapshot, an optional node
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE`
 * @see Proxmox `deactivate_volume`
 */
export async function deactivateVolume(env: LinstorEnv, request: ActivateVolumeRequest): Promise<void> {
  const v = await requireVolume(env, request.volume);
  if (request.snapshot) await dropSnapshotVolume(env, v.rd, request.snapshot);
  else await deactivate(env, v, request.node);
}

/**
 * Size, use, base and creation time of a volume.
 *
 * @param env - the call's environment
 * @param request - the volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 * @see Proxmox `volume_size_info`
 */
export async function volumeSizeInfo(env: LinstorEnv, request: VolumeRequest): Promise<VolumeSizeInfo> {
  const v = await requireVolume(env, request.volume);
  const all = await loadVolumes(env);
  return { size: v.size, format: 'raw', used: v.used, parent: imageInfo(env, v, all).parent, ctime: v.ctime };
}

/**
 * The lowest free disk name; the names of unfinished volumes count as taken.
 *
 * @param env - the call's environment
 * @param request - the guest, and whether a base name is wanted
 * @see Proxmox `find_free_diskname`
 */
export async function findFreeDiskname(env: LinstorEnv, request: FindFreeDisknameRequest): Promise<string> {
  const taken = (await loadAll(env)).map((v) => v.name);
  return formatDiskName({ isBase: request.base, vmid: request.vmid, index: findFreeDiskIndex(request.vmid, taken) });
}

/**
 * Asks the controller how much the resource group can hold. An unreachable controller or a
 * missing group gives `active: false` with zeros, as the contract asks.
 *
 * @param env - the call's environment
 * @see Proxmox `LINSTORPlugin::status`
 */
async function queryStatus(env: LinstorEnv): Promise<StorageStatus> {
  try {
    const info = await querySizeInfo(env.client, env.call, env.config.resourceGroup);
    const total = (info.space_info?.capacity_in_kib ?? 0) * 1024;
    const available = (info.space_info?.available_size_in_kib ?? 0) * 1024;
    return { total, available, used: Math.max(0, total - available), active: true };
  } catch (e) {
    if (isStorageError(e) && ['NOT_FOUND', 'UNAVAILABLE', 'TIMEOUT', 'PERMISSION_DENIED'].includes(e.code)) {
      env.ctx.log.warn(`LINSTOR status unavailable: ${e.message}`, { code: e.code });
      return { total: 0, available: 0, used: 0, active: false, details: { reason: e.code } };
    }
    throw e;
  }
}

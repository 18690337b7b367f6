/**
 * What reads the pool of a `memory` storage: listing, free names, status, paths, sizes,
 * activation and attributes.
 *
 * @module
 */
import type {
  ActivateVolumeRequest,
  AttributeValue,
  FindFreeDisknameRequest,
  GetAttributeRequest,
  ImageInfo,
  ListImagesRequest,
  PathRequest,
  StorageStatus,
  VolumePath,
  VolumeRequest,
  VolumeSizeInfo,
} from '../../plugin-types.js';
import { findFreeDiskIndex, formatDiskName, formatVolumeId } from '../../volume-id.js';
import { dfArgs } from './commands.js';
import { memoryPool } from './config.js';
import { assertAttribute, find, listed, records, runMemory, snapshotNotFound, snapshots, volumeNotFound, type MemoryContext } from './exec.js';
import { parseMemoryVolname } from './names.js';
import { parseUsage } from './parse.js';

/**
 * The finished images of the pool, sorted by volid; a linked clone's parent is its base's volid
 * (or `volid@snap` for a clone of a snapshot).
 *
 * @param ctx - the call's context
 * @param request - vmid or volname filter
 * @see Proxmox `list_images`
 */
export async function listImages(ctx: MemoryContext, request: ListImagesRequest): Promise<ImageInfo[]> {
  const all = await listed(ctx);
  const volnameOf = new Map(all.map((l) => [l.record.name, l.volname]));
  const parentOf = (origin: string | undefined): string | undefined => {
    if (origin === undefined) return undefined;
    const [name = '', snap] = origin.split('@');
    const volname = volnameOf.get(name) ?? name;
    return formatVolumeId(ctx.storeId, snap === undefined ? volname : `${volname}@${snap}`);
  };
  const hidden = ctx.capabilities.attributes.includes('hidden');
  return all
    .map(({ record: r, volname }): ImageInfo => {
      const p = parseMemoryVolname(volname);
      return {
        volid: formatVolumeId(ctx.storeId, volname),
        volname,
        format: 'raw',
        size: r.size,
        used: r.used,
        vmid: p.vmid!,
        isBase: p.isBase,
        parent: parentOf(r.origin ?? r.copiedFrom),
        ctime: r.ctime,
        ...(hidden && r.props.hidden === '1' ? { hidden: true } : {}),
      };
    })
    .filter((i) => (request.volnames ? request.volnames.includes(i.volname) : request.vmid === undefined || i.vmid === request.vmid))
    .sort((a, b) => (a.volid < b.volid ? -1 : a.volid > b.volid ? 1 : 0));
}

/**
 * The lowest free disk name, counting unfinished volumes too (their names are taken), and the
 * names of `request.taken`.
 *
 * @param ctx - the call's context
 * @param request - the guest, and whether a base name is wanted
 * @see Proxmox `find_free_diskname`
 */
export async function findFreeDiskname(ctx: MemoryContext, request: FindFreeDisknameRequest): Promise<string> {
  const taken = [...(await records(ctx)).map((r) => r.name), ...(request.taken ?? [])];
  return formatDiskName({ isBase: request.base, vmid: request.vmid, index: findFreeDiskIndex(request.vmid, taken) });
}

/**
 * The store's capacity and use.
 *
 * @param ctx - the call's context
 * @see Proxmox `status`
 */
export async function status(ctx: MemoryContext): Promise<StorageStatus> {
  const u = await ctx.cache.shared('memory:df', async () => parseUsage((await runMemory(ctx, dfArgs())).stdout));
  return { total: u.total, used: u.used, available: u.available, active: true };
}

/**
 * `memory://<pool>/<name>[@<snapshot>]`; does not check that the volume exists.
 *
 * @param ctx - the call's context
 * @param request - the volume and an optional snapshot
 * @see Proxmox `path`
 */
export async function path(ctx: MemoryContext, request: PathRequest): Promise<VolumePath> {
  const v = request.volume;
  const at = request.snapshot === undefined ? '' : `@${request.snapshot}`;
  return { path: `memory://${memoryPool(ctx)}/${v.name}${at}`, vmid: v.vmid, vtype: v.vtype };
}

/**
 * Size, use, parent and creation time of a volume.
 *
 * @param ctx - the call's context
 * @param request - the volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 * @see Proxmox `volume_size_info`
 */
export async function volumeSizeInfo(ctx: MemoryContext, request: VolumeRequest): Promise<VolumeSizeInfo> {
  const [info] = await listImages(ctx, { volnames: [request.volume.volname] });
  if (!info) throw volumeNotFound(ctx, request.volume);
  return { size: info.size, format: info.format, used: info.used, parent: info.parent, ctime: info.ctime };
}

/**
 * Checks that the volume (and snapshot) exist; there is nothing else to activate.
 *
 * @param ctx - the call's context
 * @param request - the volume and an optional snapshot
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 * @see Proxmox `activate_volume`
 */
export async function activateVolume(ctx: MemoryContext, request: ActivateVolumeRequest): Promise<void> {
  if (request.snapshot === undefined) await find(ctx, request.volume);
  else if (!(await snapshots(ctx, request.volume)).some((s) => s.name === request.snapshot)) throw snapshotNotFound(request.volume, request.snapshot);
}

/**
 * `notes` (text), `protected` and `hidden` (booleans), as the variant's capabilities allow.
 *
 * @param ctx - the call's context
 * @param request - the volume and the attribute
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (an attribute the variant does not keep), `NOT_FOUND`
 * @see Proxmox `get_volume_attribute`
 */
export async function getVolumeAttribute(ctx: MemoryContext, request: GetAttributeRequest): Promise<AttributeValue> {
  assertAttribute(ctx, request.attribute);
  const r = await find(ctx, request.volume);
  return request.attribute === 'notes' ? r.props.notes : r.props[request.attribute] === '1';
}

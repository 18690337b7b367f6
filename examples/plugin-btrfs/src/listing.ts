/**
 * Listing images, their sizes, and which template or snapshot each was cloned from.
 *
 * A clone is a writable snapshot of a template (or of a snapshot), so btrfs records the origin's
 * UUID as the clone's parent UUID; that is how `parent` is found. It is informative: a btrfs
 * clone shares blocks with its origin but does not depend on it.
 *
 * @module
 */
import { formatVolumeId, isStorageError, type ImageInfo, type ParsedVolume, StorageError, type VolumeSizeInfo } from '@stowage/core';
import { type ListImagesRequest, type PluginContext } from '@stowage/core/plugin';
import type { BtrfsConfig } from './config.js';
import { checkedDisk } from './disk-file.js';
import { parseBtrfsVolname, subvolPath } from './names.js';
import type { SubvolumeInfo } from './parse.js';
import { listVmids, readVmDir, subvolumeInfo, type SubvolEntry } from './subvolumes.js';

/** A disk subvolume with its volname. */
interface DiskEntry extends SubvolEntry {
  readonly volname: string;
}

async function allEntries(ctx: PluginContext<BtrfsConfig>): Promise<SubvolEntry[]> {
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
async function resolveParent(ctx: PluginContext<BtrfsConfig>, own: DiskEntry, info: SubvolumeInfo): Promise<string | undefined> {
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

async function describe(ctx: PluginContext<BtrfsConfig>, e: DiskEntry): Promise<ImageInfo | undefined> {
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
export async function listImages(ctx: PluginContext<BtrfsConfig>, request: ListImagesRequest): Promise<ImageInfo[]> {
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
 * @param volume - the volume
 * @throws {@link StorageError} `NOT_FOUND` when it does not exist
 * @see Proxmox `volume_size_info`
 */
export async function volumeSizeInfo(ctx: PluginContext<BtrfsConfig>, volume: ParsedVolume): Promise<VolumeSizeInfo> {
  const path = subvolPath(ctx.config.path, volume);
  const image = await describe(ctx, { name: volume.name.replace(/\.raw$/, ''), snapshot: undefined, path, volname: volume.volname });
  if (!image) throw new StorageError('NOT_FOUND', `volume '${volume.volname}' does not exist`, { details: { volname: volume.volname } });
  return { size: image.size, format: 'raw', used: image.used, parent: image.parent, ctime: image.ctime };
}

/**
 * The free-name search of a directory storage: one `readdir` of the guest's directory, counting
 * every entry named like one of its disks, whatever the entry is, and every name a live
 * temporary reserves (`namesInUseIn`).
 *
 * @module
 */
import { findFreeDiskIndex, formatDiskName, type FindFreeDisknameRequest } from '@stowage/core/plugin';
import type { DirEnv } from './env.js';
import { confine } from './paths.js';
import { namesInUseIn } from './reserve.js';

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
export function takenDiskNames(names: Iterable<string>, vmid: number): string[] {
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
 * header read); the names of `request.taken` count as taken too.
 *
 * @param env - the call's environment
 * @param request - the guest, the format (the extension; `subvol` names are `subvol-<vmid>-disk-<n>.subvol`), whether it is a base
 * @param extension - the extension a new name of that format gets
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NO_SPACE` when indexes 0..1023 are all taken,
 *   `INVALID_VOLUME_ID` when the guest directory leads outside the storage
 * @see Proxmox `PVE::Storage::Plugin::find_free_diskname`
 */
export async function freeDiskName(env: DirEnv, request: FindFreeDisknameRequest, extension: string | undefined): Promise<string> {
  const dir = env.layout.imageDir(request.vmid);
  await confine(env.rootReal, dir, `${request.vmid}/`, env.fs);
  const index = findFreeDiskIndex(request.vmid, takenDiskNames([...(await namesInUseIn(env, dir)), ...(request.taken ?? [])], request.vmid));
  const name = formatDiskName({ isBase: request.base, vmid: request.vmid, index, ext: extension });
  return request.format === 'subvol' ? name.replace(/^vm-/, 'subvol-').replace(/^base-/, 'basevol-') : name;
}

/**
 * Hostile files in a btrfs storage, for the kit's confinement cases: a real disk subvolume whose
 * `disk.raw` is a named pipe, a symbolic link to a file outside the storage, or a symbolic link
 * to a named pipe. The kinds about image formats (backing files, data files, extents) do not
 * apply: this storage holds raw files only.
 */
import { execFile } from 'node:child_process';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KitHostileFiles } from '@stowage/core/testing';

const run = promisify(execFile);

/**
 * Places hostile `disk.raw` entries into the storage at `path` (id `storeId`).
 *
 * @param storeId - the storage id of the kit's config
 * @param path - the storage's path
 */
export function btrfsHostileFiles(storeId: string, path: string): KitHostileFiles {
  return {
    async place({ kind, vmid, outside }) {
      if (kind !== 'fifo' && kind !== 'symlink-outside' && kind !== 'symlink-to-fifo') return undefined;
      const dir = join(path, 'images', String(vmid));
      const subvol = join(dir, `vm-${vmid}-disk-0`);
      await mkdir(dir, { recursive: true });
      await run('btrfs', ['-q', 'subvolume', 'create', subvol]);
      const disk = join(subvol, 'disk.raw');
      if (kind === 'fifo') await run('mkfifo', [disk]);
      else if (kind === 'symlink-outside') await symlink(outside, disk);
      else {
        await run('mkfifo', [join(subvol, 'pipe')]);
        await symlink('pipe', disk);
      }
      return `${storeId}:${vmid}/vm-${vmid}-disk-0.raw`;
    },
  };
}

/**
 * A throwaway btrfs filesystem in a file: `truncate`, `mkfs.btrfs`, `mount -o loop`. Needs root
 * (for mount) and btrfs-progs; {@link loopBtrfsUnavailable} says why not when it cannot be made.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A mounted file-backed btrfs. */
export interface LoopBtrfs {
  /** Where it is mounted. */
  readonly mountpoint: string;
  /** Unmounts it and removes the image file and directories. */
  remove(): Promise<void>;
}

/** Why a loop btrfs cannot be made here, or `undefined` when it can. */
export async function loopBtrfsUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root: mounting a loop filesystem needs root';
  try {
    await run('mkfs.btrfs', ['--version']);
  } catch {
    return 'mkfs.btrfs is not installed (btrfs-progs)';
  }
  return undefined;
}

/**
 * Makes and mounts a file-backed btrfs.
 *
 * @param size - the image size, e.g. `512M` (btrfs needs at least about 120 MiB)
 */
export async function makeLoopBtrfs(size = '512M'): Promise<LoopBtrfs> {
  const dir = await mkdtemp(join(tmpdir(), 'stowage-btrfs-'));
  const image = join(dir, 'btrfs.img');
  const mountpoint = join(dir, 'mnt');
  mkdirSync(mountpoint);
  let mounted = false;
  const remove = async (): Promise<void> => {
    if (mounted) await run('umount', [mountpoint]);
    mounted = false;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await run('truncate', ['-s', size, image]);
    await run('mkfs.btrfs', ['-q', image]);
    await run('mount', ['-o', 'loop', image, mountpoint]);
    mounted = true;
  } catch (e) {
    await remove().catch(() => undefined);
    throw e;
  }
  return { mountpoint, remove };
}

/**
 * The storage as a whole: activation (base path, content directories, mount point) and status
 * from the filesystem.
 *
 * @module
 */
import { readFile, realpath, stat, statfs } from 'node:fs/promises';
import { StorageError, type ContentType, type StorageStatus } from '@stowage/core';
import { type PluginContext } from '@stowage/core/plugin';
import { dirCapabilities } from './capabilities.js';
import { mountPointOf, type DirConfig } from './config.js';
import { makeDirs, removeMadeDirs, type MadeDirs } from './fs-util.js';
import { confine, DirLayout } from './paths.js';

/**
 * Configs whose directories this process has already made and checked: later activations only
 * check that the storage path is still reachable (missing guest directories are made by the
 * operations that need them).
 */
const activated = new WeakSet<object>();

/** How long a filesystem may take to answer before the storage counts as unreachable (Proxmox: 2 s). */
export const REACH_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Decodes the octal escapes (`\040` for a space) of a `/proc/mounts` field.
 *
 * @param field - the field as written by the kernel
 */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Tells whether a directory is a mount point, from `/proc/mounts`.
 *
 * @param mountPoint - the directory (symlinks are resolved)
 * @param mounts - the text of `/proc/mounts` (read when omitted)
 * @see Proxmox `PVE::Storage::DirPlugin::path_is_mounted`
 */
export async function isMounted(mountPoint: string, mounts?: string): Promise<boolean> {
  let real: string;
  try {
    real = await realpath(mountPoint);
  } catch {
    return false;
  }
  const text = mounts ?? (await readFile('/proc/mounts', 'utf8'));
  return text.split('\n').some((line) => {
    const field = line.split(' ')[1];
    return field !== undefined && unescapeMountField(field) === real;
  });
}

async function reachableDir(path: string): Promise<boolean> {
  const r = await withTimeout(
    stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    ),
    REACH_TIMEOUT_MS,
  );
  return r === true;
}

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
    if (config['create-base-path'] ?? config.mkdir ?? true) made.push(await makeDirs(layout.root));
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
        if (dir !== layout.root) made.push(await makeDirs(dir));
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
    for (const m of made.reverse()) await removeMadeDirs(m);
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
export async function storageStatus(ctx: PluginContext<DirConfig>): Promise<StorageStatus> {
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

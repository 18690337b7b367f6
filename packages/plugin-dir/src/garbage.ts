/**
 * Collecting the temporaries of operations whose process died. Apart from the operations that
 * change volumes (ops-volume.ts) because the manager runs it when it first activates a storage:
 * a command that only lists loads this and not them.
 *
 * @module
 */
import { lstat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { errnoOf, fsError, ownerState, type CollectGarbageRequest } from '@stowage/core/plugin';
import type { ContentType, GarbageItem, GarbageReport } from '@stowage/core';
import type { DirEnv } from './exec.js';
import { VMID_DIR_RE } from './names.js';
import { parseTempName } from './temp-name.js';

/** Content types whose directory may hold attribute temporaries; images have one directory per guest. */
const FILE_CONTENT: readonly ContentType[] = ['iso', 'vztmpl', 'backup', 'snippets', 'import'];

async function entries(env: DirEnv, dir: string): Promise<{ name: string; isDirectory: boolean }[]> {
  try {
    return (await env.fs.readdir(dir)).map((d) => ({ name: d.name, isDirectory: d.isDirectory() }));
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return [];
    throw fsError(e, `cannot read directory '${dir}'`, { path: dir });
  }
}

/** The directories temporaries can be in: every guest directory, and the other content directories. */
async function tempDirs(env: DirEnv): Promise<string[]> {
  const images = env.layout.subdir('images');
  const guests = (await entries(env, images)).filter((e) => e.isDirectory && VMID_DIR_RE.test(e.name)).map((e) => join(images, e.name));
  const others = new Set(FILE_CONTENT.map((c) => env.layout.subdir(c)));
  others.delete(images);
  return [...guests, ...others];
}

/**
 * Finds the plugin's temporaries (`.stowage-<purpose>~<final>~<owner>~<nonce>` in the guest
 * directories and the other content directories) and removes those whose owner is dead: its
 * process ended, or it ran in an earlier boot of this node. A temporary of a live process, or
 * of another node (`unknown`), is kept. A temporary that also has its final name (a crash
 * between publishing and removing the temporary name) loses only the temporary name; the
 * volume stays. Only regular files are removed, and only names that parse as temporaries.
 *
 * @param env - the call's environment
 * @param request - `dryRun`: report, remove nothing
 * @returns what was removed (or would be) and what was kept, names relative to the storage path
 * @throws {@link @stowage/core!index.StorageError | StorageError} mapped from a filesystem error reading a directory
 */
export async function collectGarbage(env: DirEnv, request: CollectGarbageRequest): Promise<GarbageReport> {
  const removed: GarbageItem[] = [];
  const kept: GarbageItem[] = [];
  for (const dir of await tempDirs(env)) {
    for (const entry of await entries(env, dir)) {
      const temp = parseTempName(entry.name);
      if (!temp || entry.isDirectory) continue;
      const path = join(dir, entry.name);
      const name = relative(env.layout.root, path);
      const state = ownerState(temp.owner, env.ctx.node);
      if (state !== 'dead') {
        kept.push({ name, owner: temp.owner, reason: state === 'alive' ? 'owner-alive' : 'owner-unknown' });
        continue;
      }
      if (request.dryRun !== true && !(await removeStale(env, path))) continue;
      removed.push({ name, owner: temp.owner, reason: 'owner-dead' });
    }
  }
  return { removed, kept };
}

/** Removes a dead owner's temporary if it is a regular file; `false` when it was not removed. */
async function removeStale(env: DirEnv, path: string): Promise<boolean> {
  try {
    if (!(await lstat(path)).isFile()) return false;
    await env.ctx.fs.unlink(path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false; // another collector was first
    env.log.warn(`could not remove stale temporary '${path}': ${(e as Error).message}`, { path });
    return false;
  }
}

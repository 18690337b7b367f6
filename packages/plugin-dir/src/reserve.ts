/**
 * Which names of a directory are taken: by an entry of any kind, or reserved by a temporary
 * whose owner may still run. One directory read serves the free-name search (`findFreeDiskname`
 * in ops-read.ts) and the checks of allocation, clone, import, template and free.
 *
 * @module
 */
import { errnoOf, fsError, ownerState } from '@stowage/core/plugin';
import { StorageError } from '@stowage/core';
import type { DirEnv } from './exec.js';
import { namesInUse } from './temp-name.js';

/**
 * The names held or reserved in a directory ({@link namesInUse} over one `readdir`); a temporary
 * of a dead owner reserves nothing (`collectGarbage` removes it).
 *
 * @param env - the call's environment
 * @param dir - the directory (a missing one holds nothing)
 * @throws {@link @stowage/core!index.StorageError | StorageError} mapped from the filesystem error
 */
export async function namesInUseIn(env: DirEnv, dir: string): Promise<Set<string>> {
  let entries: string[];
  try {
    entries = (await env.fs.readdir(dir)).map((d) => d.name);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno !== 'ENOENT' && errno !== 'ENOTDIR') throw fsError(e, `cannot read directory '${dir}'`, { path: dir });
    entries = [];
  }
  return namesInUse(entries, (owner) => ownerState(owner, env.ctx.node) !== 'dead');
}

/**
 * Throws `ALREADY_EXISTS` when a name is held or reserved in a directory.
 *
 * @param env - the call's environment
 * @param dir - the directory
 * @param name - the file name
 * @param volname - the volume name, for the error
 */
export async function assertNameFree(env: DirEnv, dir: string, name: string, volname: string): Promise<void> {
  if ((await namesInUseIn(env, dir)).has(name)) {
    throw new StorageError('ALREADY_EXISTS', `volume '${volname}' already exists (or is being made)`, { details: { volname } });
  }
}

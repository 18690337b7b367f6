/**
 * Small filesystem helpers: directories made on the way and removed again on failure, bounded
 * concurrency.
 *
 * @module
 */
import { lstat, rmdir } from 'node:fs/promises';
import { errnoOf, fsError, removeCreatedDirs } from '@stowage/core/plugin';
import { asyncFs, type FsOps } from './fs-ops.js';

/** Directories made by {@link makeDirs}, to remove again if the operation fails. */
export interface MadeDirs {
  /** The directories created, outermost first. */
  readonly created: readonly string[];
}

/**
 * Makes a directory and any missing parents, one level at a time
 * ({@link @stowage/core!index.createDirs | createDirs}: it stops at the first error, where Node's
 * recursive `mkdir` can loop for ever), remembering which ones it made.
 *
 * @param dir - the directory to have
 * @param fs - the filesystem calls to use
 * @returns the directories this call created (none when it existed)
 * @throws {@link @stowage/core!index.StorageError | StorageError} mapped from the filesystem error
 *   (nothing is left made then)
 */
export async function makeDirs(dir: string, fs: FsOps = asyncFs): Promise<MadeDirs> {
  try {
    return { created: await fs.mkdirs(dir, 0o755) };
  } catch (e) {
    throw fsError(e, `cannot create directory '${dir}'`, { path: dir });
  }
}

/**
 * Removes directories made by {@link makeDirs}, innermost first, each only if it is empty.
 * Never throws: cleanup must not hide the error that caused it.
 *
 * @param made - what {@link makeDirs} returned
 */
export async function removeMadeDirs(made: MadeDirs | undefined): Promise<void> {
  if (made) await removeCreatedDirs(made.created);
}

/**
 * Removes a directory if it is empty; any error is ignored.
 *
 * @param dir - the directory
 */
export async function removeDirIfEmpty(dir: string): Promise<void> {
  try {
    await rmdir(dir);
  } catch {
    // not empty, gone, or not ours to remove
  }
}

/**
 * Tells whether a name exists (as anything, a dangling symlink included).
 *
 * @param path - the name
 * @throws the filesystem error, unless it is `ENOENT`
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order.
 *
 * @param items - the inputs
 * @param limit - the most concurrent calls
 * @param fn - the work for one item
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Small filesystem helpers: directories made on the way and removed again on failure, bounded
 * concurrency.
 *
 * @module
 */
import { lstat } from 'node:fs/promises';
import { errnoOf, fsError, removeCreatedDirs } from '@stowage/core/plugin';
import type { FsOps } from './fs-ops.js';

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
export async function makeDirs(dir: string, fs: Pick<FsOps, 'mkdirs'>): Promise<MadeDirs> {
  try {
    return { created: await fs.mkdirs(dir, 0o755) };
  } catch (e) {
    throw fsError(e, `cannot create directory '${dir}'`, { path: dir });
  }
}

/** How often {@link inMadeDir} makes the directory again when it vanishes under it. */
const DIR_ATTEMPTS = 5;

/**
 * Makes a directory (as {@link makeDirs}) and runs `fn` in it. Another operation's clean-up, which
 * runs without the storage lock, may remove the directory once it is empty, between its making
 * here and `fn` putting something in it: when `fn` fails with `ENOENT` (itself or as the `cause`
 * of a StorageError), the directory is made again and `fn` retried, a few times. On failure the
 * directories made are removed again.
 *
 * @param dir - the directory to have
 * @param fs - the filesystem calls to use
 * @param fn - the work that puts something in the directory; `fresh` when this attempt made it
 * @returns what `fn` returned and the directories made on the way
 * @throws what `fn` threw last, or the mapped error of `mkdir`
 */
export async function inMadeDir<T>(dir: string, fs: FsOps, fn: (fresh: boolean) => Promise<T>): Promise<{ value: T; made: MadeDirs }> {
  const created: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const made = await makeDirs(dir, fs).catch(async (e: unknown) => {
      await removeCreatedDirs(created, fs);
      throw e;
    });
    created.push(...made.created);
    try {
      return { value: await fn(made.created.length > 0), made: { created } };
    } catch (e) {
      const errno = errnoOf(e) ?? errnoOf(e instanceof Error ? e.cause : undefined);
      if (attempt < DIR_ATTEMPTS && errno === 'ENOENT') continue;
      await removeCreatedDirs(created, fs);
      throw e;
    }
  }
}

/**
 * Removes directories made by {@link makeDirs}, innermost first, each only if it is empty.
 * Never throws: cleanup must not hide the error that caused it.
 *
 * @param made - what {@link makeDirs} returned
 * @param fs - the filesystem calls to use
 */
export async function removeMadeDirs(made: MadeDirs | undefined, fs: Pick<FsOps, 'rmdir'>): Promise<void> {
  if (made) await removeCreatedDirs(made.created, fs);
}

/**
 * Removes a directory if it is empty; any error is ignored.
 *
 * @param dir - the directory
 * @param fs - the filesystem calls to use
 */
export async function removeDirIfEmpty(dir: string, fs: Pick<FsOps, 'rmdir'>): Promise<void> {
  try {
    await fs.rmdir(dir);
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

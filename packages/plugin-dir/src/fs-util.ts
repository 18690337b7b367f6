/**
 * Small filesystem helpers: directories made on the way and removed again on failure, exclusive
 * creation, bounded concurrency. (`errnoOf` and `fsError`, which map
 * errno values to stable codes, come from the core and are re-exported for this package's files.)
 *
 * @module
 */
import { rmdir, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { errnoOf, fsError, StorageError } from '@stowage/core';
import { asyncFs, type FsOps } from './fs-ops.js';

export { errnoOf, fsError };

/** Directories made by {@link makeDirs}, to remove again if the operation fails. */
export interface MadeDirs {
  /** The directories created, outermost first. */
  readonly created: readonly string[];
}

/**
 * Makes a directory and any missing parents, remembering which ones it made.
 *
 * @param dir - the directory to have
 * @param fs - the filesystem calls to use
 * @returns the directories this call created (none when it existed)
 * @throws {@link @stowage/core!index.StorageError | StorageError} mapped from the filesystem error
 */
export async function makeDirs(dir: string, fs: FsOps = asyncFs): Promise<MadeDirs> {
  let first: string | undefined;
  try {
    first = await fs.mkdirp(dir, 0o755);
  } catch (e) {
    throw fsError(e, `cannot create directory '${dir}'`, { path: dir });
  }
  if (first === undefined) return { created: [] };
  const created = [first];
  const rest = relative(first, dir);
  if (rest !== '') {
    let cur = first;
    for (const part of rest.split(sep)) created.push((cur = join(cur, part)));
  }
  return { created };
}

/**
 * Removes directories made by {@link makeDirs}, innermost first, each only if it is empty.
 * Never throws: cleanup must not hide the error that caused it.
 *
 * @param made - what {@link makeDirs} returned
 */
export async function removeMadeDirs(made: MadeDirs | undefined): Promise<void> {
  if (!made) return;
  for (const dir of [...made.created].reverse()) {
    try {
      await rmdir(dir);
    } catch {
      return; // not empty (someone else uses it) or gone: stop here
    }
  }
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
 * Removes a file; a missing file is fine, any other error is ignored too (best-effort cleanup).
 *
 * @param path - the file
 */
export async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // best effort
  }
}

/**
 * Creates a new empty file, failing when the name is taken (`O_EXCL`, which also refuses a
 * symlink in the way). This reserves the name before a tool writes the image.
 *
 * @param path - the new file
 * @param mode - permission bits
 * @param fs - the filesystem calls to use
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`, or mapped from the filesystem error
 */
export async function createExclusive(path: string, mode = 0o640, fs: FsOps = asyncFs): Promise<void> {
  try {
    await fs.createExclusive(path, mode);
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') throw new StorageError('ALREADY_EXISTS', `'${path}' already exists`, { cause: e, details: { path } });
    throw fsError(e, `cannot create '${path}'`, { path });
  }
}

/**
 * A name for a temporary file next to an image, which no listing takes for an image (it ends in
 * `.tmp`) and no other call picks.
 *
 * @param dir - the directory
 * @param purpose - a word for people looking at the directory (`import`, `export`)
 */
export function tempPath(dir: string, purpose: string): string {
  return join(dir, `.stowage-${purpose}-${randomBytes(6).toString('hex')}.tmp`);
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

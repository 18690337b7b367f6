/**
 * Making a directory and its missing parents, one level at a time, remembering which ones this
 * call made so that a failed operation can remove exactly those. Node's own recursive `mkdir`
 * is not used: on some errors (a parent that refuses new entries, as `/proc` does) it retries
 * for ever instead of failing.
 *
 * @module
 */
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { errnoOf, fsError } from './fs-error.js';
import { StorageError } from './errors.js';

/** The filesystem calls {@link createDirs} makes; a plugin may pass synchronous ones. */
export interface DirOps {
  /** `stat(2)`: what is at a path. */
  stat(path: string): Promise<{ isDirectory(): boolean }>;
  /** `mkdir(2)` of one directory (never recursive). */
  mkdir(path: string, mode: number): Promise<unknown>;
  /** `rmdir(2)`: removes an empty directory. */
  rmdir(path: string): Promise<void>;
}

/** Options of {@link createDirs}. */
export interface CreateDirsOptions {
  /**
   * Permission bits of the directories made (before the umask).
   * @default 0o755
   */
  readonly mode?: number | undefined;
  /** The filesystem calls to use; `node:fs/promises` by default. */
  readonly ops?: DirOps | undefined;
}

/** The most missing levels {@link createDirs} makes in one call. */
export const MAX_CREATED_DIRS = 128;

const asyncOps: DirOps = { stat, mkdir: (p, mode) => mkdir(p, { mode }), rmdir };

/**
 * Makes a directory and any missing parents (`mkdir -p`), one level at a time, stopping at the
 * first error. What it made is returned, outermost first; when it fails half-way, it removes
 * what it made before throwing, so a failed call leaves nothing behind. A directory another
 * process makes at the same moment is used, and is not counted as made here.
 *
 * @param path - the directory to have (made absolute against the working directory)
 * @param options - mode and filesystem calls
 * @returns the directories this call made, outermost first (empty when it existed)
 * @throws {@link @stowage/core!index.StorageError | StorageError} mapped from the first filesystem error ({@link fsError}: `NOT_FOUND`
 *   when a parent cannot hold new directories or is a file, `PERMISSION_DENIED`, `NO_SPACE`, ...),
 *   with `details.path` and `details.failed` (the level that could not be made);
 *   `INVALID_ARGUMENT` when more than {@link MAX_CREATED_DIRS} levels are missing
 * @example
 * ```ts
 * const made = await createDirs('/srv/images/new/deep');
 * try {
 *   await useThem();
 * } catch (e) {
 *   await removeCreatedDirs(made);
 *   throw e;
 * }
 * ```
 */
export async function createDirs(path: string, options: CreateDirsOptions = {}): Promise<string[]> {
  const ops = options.ops ?? asyncOps;
  const mode = options.mode ?? 0o755;
  const target = resolve(path);
  const missing: string[] = [];
  for (let cur = target; ; cur = dirname(cur)) {
    const st = await ops.stat(cur).catch((e: unknown) => {
      // Missing, or below a file: look further up (the file is reported there).
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return undefined;
      throw fsError(e, `cannot create directory '${target}'`, { path: target, failed: cur });
    });
    if (st?.isDirectory()) break;
    if (st !== undefined) {
      throw fsError(Object.assign(new Error(`'${cur}' is not a directory`), { code: 'ENOTDIR' }), `cannot create directory '${target}'`, { path: target, failed: cur });
    }
    if (dirname(cur) === cur) throw new StorageError('NOT_FOUND', `cannot create directory '${target}': the root '${cur}' does not exist`, { details: { path: target } });
    missing.unshift(cur);
    if (missing.length > MAX_CREATED_DIRS) {
      throw new StorageError('INVALID_ARGUMENT', `cannot create directory '${target}': more than ${MAX_CREATED_DIRS} levels are missing`, { details: { path: target } });
    }
  }
  const made: string[] = [];
  for (const dir of missing) {
    try {
      await ops.mkdir(dir, mode);
      made.push(dir);
    } catch (e) {
      const raced = errnoOf(e) === 'EEXIST' && (await ops.stat(dir).then((s) => s.isDirectory(), () => false));
      if (raced) continue;
      await removeCreatedDirs(made, ops);
      throw fsError(e, `cannot create directory '${target}'`, { path: target, failed: dir });
    }
  }
  return made;
}

/**
 * Removes directories made by {@link createDirs}, innermost first, each only while it is empty;
 * it stops at the first one it cannot remove (someone else put something in it). Never throws:
 * clean-up must not hide the error that caused it.
 *
 * @param made - what {@link createDirs} returned
 * @param ops - the filesystem calls to use
 */
export async function removeCreatedDirs(made: readonly string[], ops: Pick<DirOps, 'rmdir'> = asyncOps): Promise<void> {
  for (const dir of [...made].reverse()) {
    try {
      await ops.rmdir(dir);
    } catch {
      return;
    }
  }
}

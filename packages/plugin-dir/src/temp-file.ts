/**
 * Temporaries on disk: made with `O_EXCL` under a name that carries their owner (see
 * temp-name.ts), removed only when they are still the file this call made (same device and
 * inode), and published under their final name without ever replacing anything.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { currentOwner, errnoOf, formatOwner, fsError, localFileSystem, type FileSystem } from '@stowage/core/plugin';
import { StorageError, type Logger } from '@stowage/core';
import { flushData, flushNames } from './durable.js';
import { exists } from './fs-util.js';
import { formatTempName, type TempPurpose } from './temp-name.js';

/** A temporary this call made, and how to know it again. */
export interface OwnTemp {
  /** Its path. */
  readonly path: string;
  /** The device it was made on. */
  readonly dev: number;
  /** Its inode. */
  readonly ino: number;
}

/**
 * The owner token of this process on a node.
 *
 * @param node - the node name (`ctx.node`)
 */
export function ownerToken(node: string): string {
  return formatOwner(currentOwner(node));
}

/**
 * Makes an empty temporary next to `final` (mode 0640, `O_EXCL`), named for its purpose, its
 * final name and this process.
 *
 * @param fs - the file system to make it through (`ctx.fs`)
 * @param final - the path of the file the temporary becomes or belongs to
 * @param purpose - `new`, `conv`, `attr` or `swap`
 * @param owner - the owner token ({@link ownerToken})
 * @returns the temporary and its identity
 * @throws {@link @stowage/core!index.StorageError | StorageError} mapped from the filesystem error (`NO_SPACE`, `PERMISSION_DENIED`, ...)
 */
export async function makeTemp(fs: FileSystem, final: string, purpose: TempPurpose, owner: string): Promise<OwnTemp> {
  const path = join(dirname(final), formatTempName({ purpose, final: basename(final), owner, nonce: randomBytes(3).toString('hex') }));
  try {
    const fh = await fs.open(path, 'wx', 0o640);
    try {
      const st = await fh.stat();
      return { path, dev: st.dev, ino: st.ino };
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw fsError(e, `cannot create '${path}'`, { path });
  }
}

/**
 * Tells whether a path still names the temporary this call made.
 *
 * @param temp - the temporary
 * @returns `true` when the file at its path has its device and inode
 */
export async function isOwnTemp(temp: OwnTemp): Promise<boolean> {
  try {
    const st = await lstat(temp.path);
    return st.dev === temp.dev && st.ino === temp.ino;
  } catch {
    return false;
  }
}

/**
 * Removes a temporary this call made, checking right before that its path still names the same
 * file (device and inode); anything else found there is left alone and reported. Never throws:
 * clean-up must not hide the error that caused it.
 *
 * @param fs - the file system to remove it through (`ctx.fs`)
 * @param temp - the temporary
 * @param log - where a mismatch is reported
 */
export async function removeOwnTemp(fs: FileSystem, temp: OwnTemp, log?: Logger): Promise<void> {
  let st;
  try {
    st = await lstat(temp.path);
  } catch {
    return; // gone: nothing to do
  }
  if (st.dev !== temp.dev || st.ino !== temp.ino) {
    log?.warn(`not removing '${temp.path}': it is no longer the file this operation made`, { path: temp.path });
    return;
  }
  try {
    await fs.unlink(temp.path);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') log?.warn(`could not remove '${temp.path}': ${(e as Error).message}`, { path: temp.path });
  }
}

/** The calls {@link moveNoReplace} makes; replaced in tests to play a filesystem without hard links. */
export interface LinkOps {
  /** `link(2)`. */
  link(from: string, to: string): Promise<void>;
  /** `rename(2)`. */
  rename(from: string, to: string): Promise<void>;
  /** `unlink(2)`. */
  unlink(path: string): Promise<void>;
  /** `lstat(2)`, only whether the name exists matters. */
  exists(path: string): Promise<boolean>;
}

/**
 * The calls of {@link moveNoReplace} through a file system.
 *
 * @param fs - the file system (`ctx.fs`)
 */
export function linkOpsOf(fs: FileSystem): LinkOps {
  return { link: (from, to) => fs.link(from, to), rename: (from, to) => fs.rename(from, to), unlink: (path) => fs.unlink(path), exists };
}

/** The calls of this machine's file system. */
export const linkOps: LinkOps = linkOpsOf(localFileSystem);

/**
 * `link` errors that mean "this filesystem has no hard links": `EPERM` (vfat and others, as
 * link(2) documents), `ENOTSUP`/`EOPNOTSUPP` and `ENOSYS` (some FUSE and network filesystems).
 */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Gives a file a new name in the same directory without ever replacing an existing one:
 * `link(from, to)` (which fails when `to` exists), then `unlink(from)`. Where the filesystem
 * refuses hard links (`link` fails with `EPERM`, `ENOTSUP`/`EOPNOTSUPP` or `ENOSYS`), checks
 * that `to` does not exist, then `rename`s: not atomic against a writer that does not take the
 * storage lock, but `to` is reserved and checked under it.
 *
 * @param from - the current name
 * @param to - the new name
 * @param what - the volume name, for errors
 * @param ops - the filesystem calls
 * @returns `true` when `from` is gone, `false` when `to` was made but `from` could not be
 *   removed (the file now has both names)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS` (nothing changed), `NOT_FOUND` when `from`
 *   is gone, or mapped from the filesystem error
 */
export async function moveNoReplace(from: string, to: string, what: string, ops: LinkOps = linkOps): Promise<boolean> {
  const taken = (cause?: unknown): never => {
    throw new StorageError('ALREADY_EXISTS', `'${what}' already exists`, { cause, details: { volname: what } });
  };
  try {
    await ops.link(from, to);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'EEXIST') taken(e);
    if (errno === 'ENOENT') throw vanished(from, what, e);
    if (!NO_HARD_LINKS.has(errno ?? '')) throw fsError(e, `cannot name '${what}'`, { volname: what });
    if (await ops.exists(to)) taken();
    try {
      await ops.rename(from, to);
    } catch (e2) {
      if (errnoOf(e2) === 'ENOENT') throw vanished(from, what, e2);
      throw fsError(e2, `cannot name '${what}'`, { volname: what });
    }
    return true;
  }
  try {
    await ops.unlink(from);
    return true;
  } catch {
    return false;
  }
}

function vanished(path: string, what: string, cause: unknown): StorageError {
  return new StorageError('NOT_FOUND', `'${path}' vanished (removed by another process?) before it could become '${what}'`, {
    cause,
    details: { volname: what, path, vanished: true },
  });
}

/**
 * Publishes a finished temporary under its final name: checks that the result is still wanted
 * (the signal), that the temporary is still the file this call made, flushes its data to the
 * disk, then {@link moveNoReplace}, and flushes the directory (see durable.ts). A temporary that keeps a second name (its `unlink` failed) is left to
 * `collectGarbage`; the volume is whole either way.
 *
 * @param fs - the file system to name it through (`ctx.fs`)
 * @param temp - the temporary
 * @param final - the final path
 * @param volname - the volume name, for errors
 * @param options - the operation's signal, a logger
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ABORTED` (not published), `NOT_FOUND` (the temporary was removed
 *   or replaced by another process), `ALREADY_EXISTS` (the final name was taken meanwhile)
 */
export async function publishTemp(
  fs: FileSystem,
  temp: OwnTemp,
  final: string,
  volname: string,
  options: { signal?: AbortSignal | undefined; log?: Logger } = {},
): Promise<void> {
  if (options.signal?.aborted) throw new StorageError('ABORTED', `'${volname}' is no longer wanted: not published`, { cause: options.signal.reason, details: { volname } });
  if (!(await isOwnTemp(temp))) throw vanished(temp.path, volname, undefined);
  await flushData(fs, temp.path);
  if (!(await moveNoReplace(temp.path, final, volname, linkOpsOf(fs)))) {
    options.log?.warn(`'${temp.path}' keeps a second name of '${volname}'; collectGarbage removes it`, { path: temp.path });
  }
  await flushNames(fs, dirname(final), options.log);
}

/**
 * Writes a small file atomically: an `attr` temporary in the same directory, synced, then
 * `rename`d over the file (replacing it is the point here), and the directory flushed.
 *
 * @param fs - the file system to write it through (`ctx.fs`)
 * @param path - the target
 * @param data - the content
 * @param owner - the owner token ({@link ownerToken})
 * @param log - where a failed flush of the directory is reported
 * @throws {@link @stowage/core!index.StorageError | StorageError} mapped from the filesystem error
 */
export async function writeFileAtomic(fs: FileSystem, path: string, data: string | Uint8Array, owner: string, log?: Logger): Promise<void> {
  const temp = await makeTemp(fs, path, 'attr', owner);
  try {
    const fh = await fs.open(temp.path, 'r+');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(temp.path, path);
  } catch (e) {
    await removeOwnTemp(fs, temp);
    throw fsError(e, `cannot write '${path}'`, { path });
  }
  await flushNames(fs, dirname(path), log);
}

/**
 * What survives a power cut. A file's data reaches the disk when the kernel writes it back,
 * which can be half a minute after the write; a new name in a directory, when the filesystem
 * commits its journal, often sooner. Without a flush, a power cut can leave a volume under its
 * final name with its data missing: listed as whole, and read as zeros or a broken image. So a
 * volume's data is flushed before it takes its final name ({@link flushData}), and its directory
 * after ({@link flushNames}), so that the call's success means the result is on the disk.
 *
 * @module
 */
import { errnoOf, fsError, type FileSystem } from '@stowage/core/plugin';
import type { Logger } from '@stowage/core';

/**
 * Flushes a file's data and size to the disk (`fsync`).
 *
 * @param fs - the file system (`ctx.fs`)
 * @param path - the file, still under its temporary name
 * @throws {@link @stowage/core!index.StorageError | StorageError} mapped from the filesystem error
 *   (`UNAVAILABLE` for `EIO`, `NO_SPACE`, ...): the caller removes the temporary
 */
export async function flushData(fs: FileSystem, path: string): Promise<void> {
  try {
    await fs.sync(path);
  } catch (e) {
    throw fsError(e, `cannot flush '${path}' to the disk`, { path });
  }
}

/** `fsync` of a directory that the filesystem does not offer: nothing to flush there. */
const NO_DIRECTORY_SYNC = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Flushes the names in a directory to the disk (`fsync` of the directory), after a name was made
 * or changed there. It runs after the change is made, so it never fails the call: a filesystem
 * that cannot flush a directory is skipped, and any other failure is logged (the name is made; it
 * may not survive a power cut).
 *
 * @param fs - the file system (`ctx.fs`)
 * @param dir - the directory
 * @param log - where a failure is reported
 */
export async function flushNames(fs: FileSystem, dir: string, log?: Logger): Promise<void> {
  try {
    await fs.sync(dir);
  } catch (e) {
    if (!NO_DIRECTORY_SYNC.has(errnoOf(e) ?? '')) log?.warn(`could not flush the names in '${dir}' to the disk: ${(e as Error).message}`, { path: dir });
  }
}

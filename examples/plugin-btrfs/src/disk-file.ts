/**
 * The check in front of every verb that uses a volume's raw file: the path from the storage
 * down to `disk.raw` holds only real directories and a regular file, never a symbolic link (which
 * could lead outside the storage), a named pipe (whose `open` blocks until a writer comes) or a
 * device. It looks with `lstat`, which opens nothing and so cannot block; a file that is then
 * opened is opened with `O_NOFOLLOW | O_NONBLOCK` and checked again with `fstat`.
 *
 * @module
 */
import { constants, type Stats } from 'node:fs';
import { lstat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoOf, fsError, type FileSystem } from '@stowage/core/plugin';
import { type ParsedVolume, StorageError } from '@stowage/core';
import { diskFile, subvolPath, vmDir } from './names.js';

/** A volume's raw file, checked. */
export interface CheckedDisk {
  /** Its path. */
  readonly file: string;
  /** What `lstat` said of it: a regular file. */
  readonly stats: Stats;
}

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isDirectory()) return 'a directory';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'a regular file';
}

function notRegular(what: string, path: string, st: Stats, wanted: string): StorageError {
  return new StorageError('CORRUPT', `${what} is not usable: '${path}' is ${kindOf(st)}, not ${wanted}`, { details: { path, kind: kindOf(st) } });
}

async function lstatStep(path: string, what: string, details: Record<string, unknown>): Promise<Stats> {
  try {
    return await lstat(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new StorageError('NOT_FOUND', `${what} does not exist`, { details });
    throw fsError(e, `cannot look at '${path}'`, { path });
  }
}

/**
 * Checks that the subvolume of a volume (or of a snapshot) and the directories above it, up to
 * the storage's path, are real directories, without opening anything.
 *
 * @param storagePath - the storage's path (trusted: it comes from the configuration)
 * @param volume - the volume
 * @param snapshot - one of its snapshots
 * @returns the subvolume's path
 * @throws {@link StorageError} `NOT_FOUND` when something on the way is missing; `CORRUPT` when
 *   something on the way is a symbolic link or another kind of file
 */
export async function checkedSubvolume(storagePath: string, volume: ParsedVolume, snapshot?: string): Promise<string> {
  const what = snapshot === undefined ? `volume '${volume.volname}'` : `snapshot '${snapshot}' of '${volume.volname}'`;
  const subvol = subvolPath(storagePath, volume, snapshot);
  for (const path of [join(storagePath, 'images'), vmDir(storagePath, volume.vmid ?? 0), subvol]) {
    const st = await lstatStep(path, what, { volname: volume.volname, snapshot });
    if (!st.isDirectory()) throw notRegular(what, path, st, 'a directory');
  }
  return subvol;
}

/**
 * Checks the raw file of a volume (or of a snapshot) and the way to it, without opening anything.
 *
 * @param storagePath - the storage's path (trusted: it comes from the configuration)
 * @param volume - the volume
 * @param snapshot - one of its snapshots
 * @throws {@link StorageError} `NOT_FOUND` when something on the way is missing; `CORRUPT` when
 *   something on the way is a symbolic link, a named pipe or a device
 */
export async function checkedDisk(storagePath: string, volume: ParsedVolume, snapshot?: string): Promise<CheckedDisk> {
  const what = snapshot === undefined ? `volume '${volume.volname}'` : `snapshot '${snapshot}' of '${volume.volname}'`;
  const file = diskFile(await checkedSubvolume(storagePath, volume, snapshot));
  const stats = await lstatStep(file, what, { volname: volume.volname, snapshot });
  if (!stats.isFile()) throw notRegular(what, file, stats, 'a regular file');
  return { file, stats };
}

/**
 * Opens a raw file that {@link checkedDisk} found, refusing (rather than following or blocking
 * on) whatever may have replaced it since.
 *
 * @param fs - the file system to open it through (`ctx.fs`)
 * @param file - the raw file
 * @param flags - `constants.O_RDONLY` or `constants.O_RDWR`
 * @throws {@link StorageError} `CORRUPT` when it is not a regular file; filesystem codes
 */
export async function openDisk(fs: FileSystem, file: string, flags: number): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await fs.open(file, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if (errnoOf(e) === 'ELOOP') throw new StorageError('CORRUPT', `'${file}' is a symbolic link, not a regular file`, { details: { path: file } });
    throw fsError(e, `cannot open '${file}'`, { path: file });
  }
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw notRegular(`'${file}'`, file, st, 'a regular file');
  }
  return handle;
}

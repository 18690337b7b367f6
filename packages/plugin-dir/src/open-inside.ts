/**
 * Opening a file of the storage to read its content, so that what is read is a regular file
 * inside the storage at the moment it is read, not only when it was checked.
 *
 * The checks before (the confinement walk, the gate) look at a path; the file is opened later, by
 * that path again. A symlink or another file swapped in between would be read instead: a file
 * outside the storage streamed out as a volume's data, or a FIFO that blocks the read forever.
 * {@link openInside} checks the file it has open instead: the open cannot block (`O_NONBLOCK`),
 * `fstat` on the descriptor must show a regular file, and the kernel's own name for the open file
 * (`/proc/self/fd/N`) must lie inside the storage. Everything is then read from that descriptor.
 *
 * @module
 */
import { constants, type Stats } from 'node:fs';
import { open, readlink, type FileHandle } from 'node:fs/promises';
import { StorageError } from '@stowage/core';
import { errnoOf, fsError } from '@stowage/core/plugin';
import { isWithin } from './paths.js';

/** Read-only; never blocks on a FIFO or a device; never becomes the controlling terminal. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** The kernel's suffix to the name of an open file that has been removed since. */
const DELETED = ' (deleted)';

/** A file of the storage, open for reading and checked as opened. */
export interface OpenedInside {
  /** The open file: read from this, never from the path again. Closing it is the caller's. */
  readonly handle: FileHandle;
  /** `fstat` of the open file. */
  readonly stat: Stats;
  /** Where the open file is, as the kernel names it (symlinks resolved). */
  readonly real: string;
}

/** What {@link openInside} names in its errors. */
export interface OpenInsideNames {
  /** The volume the file belongs to. */
  readonly volname: string;
  /** What the file is, for messages: `the image`, `the notes`. @default 'the file' */
  readonly what?: string;
}

/**
 * Opens a file of the storage for reading and checks the open file itself: a regular file,
 * whose kernel name lies inside the storage. See the module's description.
 *
 * @param rootReal - the storage's root, symlinks resolved
 * @param path - the file, as laid out
 * @param names - the volume and what the file is, for errors
 * @returns the open file, its `fstat` and where it is
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (no such file),
 *   `INVALID_VOLUME_ID` (the open file lies outside the storage), `CORRUPT` (not a regular
 *   file); other filesystem codes. Nothing is read on a refusal, and the file is closed.
 * @example
 * ```ts
 * const { handle, stat } = await openInside(env.rootReal, admitted.path, { volname, what: 'the image' });
 * try {
 *   await exportRawFile(handle, output);
 * } finally {
 *   await handle.close();
 * }
 * ```
 */
export async function openInside(rootReal: string, path: string, names: OpenInsideNames): Promise<OpenedInside> {
  const { volname, what = 'the file' } = names;
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new StorageError('NOT_FOUND', `${what} of '${volname}' does not exist`, { details: { volname, path } });
    throw fsError(e, `cannot open ${what} of '${volname}'`, { volname, path });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new StorageError('CORRUPT', `${what} of '${volname}' is not a regular file`, { details: { volname, path } });
    const named = await readlink(`/proc/self/fd/${handle.fd}`);
    const real = named.endsWith(DELETED) ? named.slice(0, -DELETED.length) : named;
    if (!isWithin(rootReal, real)) {
      throw new StorageError('INVALID_VOLUME_ID', `'${volname}' leads outside the storage: ${what}, as opened, is '${real}'`, { details: { volname, path } });
    }
    return { handle, stat, real };
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e instanceof StorageError ? e : fsError(e, `cannot inspect ${what} of '${volname}'`, { volname, path });
  }
}

/**
 * {@link openInside}, then `use` on the open file, which is closed afterwards whatever happens.
 *
 * @param rootReal - the storage's root, symlinks resolved
 * @param path - the file, as laid out
 * @param names - the volume and what the file is, for errors
 * @param use - reads the file (from the handle only)
 * @returns what `use` returns
 * @throws what {@link openInside} and `use` throw
 */
export async function readInside<T>(rootReal: string, path: string, names: OpenInsideNames, use: (opened: OpenedInside) => Promise<T>): Promise<T> {
  const opened = await openInside(rootReal, path, names);
  try {
    return await use(opened);
  } finally {
    await opened.handle.close();
  }
}

/**
 * Reading and atomically writing `storage.cfg` files.
 *
 * @module
 */
import { constants } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError, StorageError } from '../errors.js';
import { nodeCrypto } from '../on-first-use.js';
import type { StorageCfgSection } from './document.js';
import { configToSection, formatStorageCfg, parseStorageCfg } from './section-config.js';

/**
 * Reads a config file's bytes. A file that does not exist reads as `undefined`. The file is
 * opened without blocking and checked to be a regular file before it is read, so a directory or
 * a FIFO given as the config is refused at once instead of failing oddly or hanging.
 *
 * @param path - the file
 * @returns its bytes, or `undefined` when it does not exist
 * @throws {@link StorageError} `CONFIG_INVALID` (a directory, a FIFO or device, a path through
 *   a file), `PERMISSION_DENIED`, `INTERNAL`
 */
export async function readConfigBytes(path: string): Promise<Buffer | undefined> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw readError(path, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      const what = st.isDirectory() ? 'a directory' : 'not a regular file';
      throw new StorageError('CONFIG_INVALID', `the storage configuration ${path} is ${what}: give the path of a storage.cfg file`, {
        details: { path },
      });
    }
    return await fh.readFile();
  } catch (e) {
    throw readError(path, e);
  } finally {
    await fh.close();
  }
}

function readError(path: string, e: unknown): StorageError {
  if (e instanceof StorageError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EISDIR' || code === 'ENOTDIR') {
    return new StorageError('CONFIG_INVALID', `the storage configuration ${path} is not a file: ${(e as Error).message}`, { cause: e, details: { path } });
  }
  return new StorageError(code === 'EACCES' || code === 'EPERM' ? 'PERMISSION_DENIED' : 'INTERNAL', `cannot read ${path}: ${(e as Error).message}`, {
    cause: e,
    details: { path },
  });
}

/**
 * Reads and parses a `storage.cfg` file. A file that does not exist reads as no sections.
 *
 * @param path - the file
 * @returns its sections, with line numbers
 * @throws {@link ConfigError} `CONFIG_INVALID` on bad lines (with their numbers), and for a
 *   path that is a directory or not a regular file; {@link StorageError} `PERMISSION_DENIED` or
 *   `INTERNAL` when the file cannot be read
 * @see Proxmox `PVE::Storage::config`
 */
export async function readStorageConfigFile(path: string): Promise<StorageCfgSection[]> {
  const text = (await readConfigBytes(path))?.toString('utf8') ?? '';
  try {
    return parseStorageCfg(text);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${path}: ${e.message}`, e.issues, { cause: e, details: { path } });
    throw e;
  }
}

/**
 * Replaces a file atomically: the text goes to a temporary file in the same directory, which is
 * flushed to disk and renamed over the target, and the directory is flushed too, so a reader
 * sees the old file or the new one, never a mix, and a crash leaves one of them. An existing
 * file's mode is kept (new files get `0640`).
 *
 * @param path - the file
 * @param text - the new contents
 * @param beforeRename - called once the temporary file is on disk, just before the rename; if it
 *   throws, the temporary file is removed, the target is left as it was and the error is rethrown
 * @throws {@link StorageError} `PERMISSION_DENIED` or `INTERNAL` on I/O errors (the old file is kept)
 */
export async function replaceFileAtomically(path: string, text: string, beforeRename?: () => void): Promise<void> {
  const mode = await stat(path).then(
    (s) => s.mode & 0o777,
    () => 0o640,
  );
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${nodeCrypto().randomBytes(4).toString('hex')}`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    beforeRename?.();
    await rename(tmp, path);
    await syncDir(dirname(path));
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof StorageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new StorageError(code === 'EACCES' || code === 'EPERM' ? 'PERMISSION_DENIED' : 'INTERNAL', `cannot write ${path}: ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  }
}

/**
 * Writes a `storage.cfg` file atomically from config objects or sections: the text goes to a
 * temporary file in the same directory, which is flushed to disk and renamed over the target,
 * so a reader sees the old file or the new one, never a mix. An existing file's mode is kept
 * (new files get `0640`). The whole file is rewritten in the standard layout, without comments;
 * the manager instead changes only the lines of the storage it changes (see
 * {@link FileConfigStore}).
 *
 * @param path - the file
 * @param configs - config objects (validated or raw) or sections, in the order to write them
 * @throws {@link ConfigError} `CONFIG_INVALID` when a config cannot be written;
 *   {@link StorageError} `PERMISSION_DENIED` or `INTERNAL` on I/O errors (the old file is kept)
 * @see Proxmox `PVE::Storage::write_config`
 */
export async function writeStorageConfigFile(
  path: string,
  configs: readonly (Readonly<Record<string, unknown>> | StorageCfgSection)[],
): Promise<void> {
  const sections = configs.map((c) => (isSection(c) ? c : configToSection(c)));
  await replaceFileAtomically(path, formatStorageCfg(sections));
}

function isSection(c: Readonly<Record<string, unknown>> | StorageCfgSection): c is StorageCfgSection {
  return typeof c['options'] === 'object' && c['options'] !== null && typeof c['line'] === 'number';
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await fh.close();
  }
}

/**
 * Reading and atomically writing `storage.cfg` files.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError, StorageError } from '../errors.js';
import { configToSection, formatStorageCfg, parseStorageCfg, type StorageCfgSection } from './section-config.js';

/**
 * Reads and parses a `storage.cfg` file. A file that does not exist reads as no sections.
 *
 * @param path - the file
 * @returns its sections, with line numbers
 * @throws {@link ConfigError} `CONFIG_INVALID` on bad lines (with their numbers);
 *   {@link StorageError} `PERMISSION_DENIED` or `INTERNAL` when the file cannot be read
 * @see Proxmox `PVE::Storage::config`
 */
export async function readStorageConfigFile(path: string): Promise<StorageCfgSection[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new StorageError(code === 'EACCES' ? 'PERMISSION_DENIED' : 'INTERNAL', `cannot read ${path}: ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  }
  try {
    return parseStorageCfg(text);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${path}: ${e.message}`, e.issues, { cause: e, details: { path } });
    throw e;
  }
}

/**
 * Writes a `storage.cfg` file atomically: the text goes to a temporary file in the same
 * directory, which is flushed to disk and renamed over the target, so a reader sees the old file
 * or the new one, never a mix. An existing file's mode is kept (new files get `0640`).
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
  const text = formatStorageCfg(sections);
  const mode = await stat(path).then(
    (s) => s.mode & 0o777,
    () => 0o640,
  );
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await syncDir(dirname(path));
  } catch (e) {
    await rm(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new StorageError(code === 'EACCES' || code === 'EPERM' ? 'PERMISSION_DENIED' : 'INTERNAL', `cannot write ${path}: ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  }
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

/**
 * Where things live in a directory storage, and the confinement check: every path the plugin
 * touches is resolved (symlinks included) and must stay under the storage path.
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { StorageError, type ContentType, type ParsedVolume } from '@stowage/core';
import { errnoOf, fsError } from '@stowage/core/plugin';
import { DEFAULT_CONTENT_DIRS, parseContentDirs, type DirConfig } from './config.js';
import { asyncFs, type FsOps } from './fs-ops.js';

function escape(volname: string | undefined, path: string, why: string): never {
  throw new StorageError('INVALID_VOLUME_ID', `'${volname ?? path}' leads outside the storage: ${why}`, {
    details: { ...(volname !== undefined ? { volname } : {}), path },
  });
}

/**
 * Tells whether `child` is `parent` or lies below it, by path text.
 *
 * @param parent - an absolute, normalised directory
 * @param child - an absolute, normalised path
 */
export function isWithin(parent: string, child: string): boolean {
  if (child === parent) return true;
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** The layout of one directory storage: its root and the directory of each content type. */
export class DirLayout {
  /** The storage path, normalised. */
  readonly root: string;
  readonly #dirs: Readonly<Record<ContentType, string>>;

  /** @param config - the storage config (`path`, `content-dirs`) */
  constructor(config: Pick<DirConfig, 'path' | 'content-dirs'>) {
    this.root = resolve(config.path);
    const overrides = config['content-dirs'] ? parseContentDirs(config['content-dirs']) : {};
    this.#dirs = { ...DEFAULT_CONTENT_DIRS, ...overrides };
  }

  /**
   * The directory of a content type.
   *
   * @param vtype - the content type
   * @see Proxmox `PVE::Storage::Plugin::get_subdir`
   */
  subdir(vtype: ContentType): string {
    return join(this.root, this.#dirs[vtype]);
  }

  /**
   * The directory of a guest's images.
   *
   * @param vmid - the guest
   */
  imageDir(vmid: number): string {
    return join(this.subdir('images'), String(vmid));
  }

  /**
   * The path of a volume, by text only (see {@link confine} for the check that follows symlinks).
   *
   * @param volume - a parsed volname
   * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` if the text alone already leaves the storage
   * @see Proxmox `PVE::Storage::Plugin::filesystem_path`
   */
  volumePath(volume: ParsedVolume): string {
    let p: string;
    if (volume.vtype === 'images') p = join(this.imageDir(volume.vmid ?? 0), volume.name);
    else p = join(this.subdir(volume.vtype), volume.name);
    if (!isWithin(this.root, p) || p === this.root) escape(volume.volname, p, 'path text');
    return p;
  }
}

/**
 * The storage root with symlinks resolved. The root itself may be a symlink (e.g. `/var/lib/vz`
 * to a mounted disk); what must not happen is leaving it from inside.
 *
 * @param root - the storage path
 * @param fs - the filesystem calls to use
 * @throws {@link @stowage/core!index.StorageError | StorageError} `UNAVAILABLE` when the storage path does not exist
 */
export async function realRoot(root: string, fs: FsOps = asyncFs): Promise<string> {
  try {
    return await fs.realpath(root);
  } catch (e) {
    throw new StorageError('UNAVAILABLE', `storage path '${root}' is not reachable: ${(e as Error).message}`, { cause: e, details: { path: root } });
  }
}

/**
 * Checks that a path, with every symlink on the way resolved, stays under the storage root.
 * For a path that does not exist yet, its nearest existing ancestor is checked (that is where a
 * new file would land). A dangling symlink is refused, since where it points cannot be checked.
 *
 * @param rootReal - the storage root, already resolved ({@link realRoot})
 * @param path - the path to check (absolute, normalised, under the lexical root)
 * @param volname - the volname, for the error
 * @param fs - the filesystem calls to use
 * @returns the path with symlinks resolved (of the path itself, or of the ancestor joined with the rest)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` when it leads outside; nothing is read or
 *   changed outside the storage on the way
 */
export async function confine(rootReal: string, path: string, volname?: string, fs: FsOps = asyncFs): Promise<string> {
  let cur = path;
  const rest: string[] = [];
  for (;;) {
    let st;
    try {
      st = await fs.lstat(cur);
    } catch (e) {
      const errno = errnoOf(e);
      if (errno !== 'ENOENT' && errno !== 'ENOTDIR') throw fsError(e, `cannot inspect '${cur}'`, { path: cur });
      const up = dirname(cur);
      if (up === cur) escape(volname, path, 'no existing ancestor');
      rest.unshift(cur.slice(up.length + (up.endsWith(sep) ? 0 : 1)));
      cur = up;
      continue;
    }
    let real: string;
    try {
      real = await fs.realpath(cur);
    } catch (e) {
      if (st.isSymbolicLink() && errnoOf(e) === 'ENOENT') escape(volname, path, 'dangling symlink');
      if (errnoOf(e) === 'ELOOP') escape(volname, path, 'symlink loop');
      throw fsError(e, `cannot resolve '${cur}'`, { path: cur });
    }
    if (!isWithin(rootReal, real)) escape(volname, path, `resolves to '${real}'`);
    if (rest.length > 0 && !(st.isSymbolicLink() ? await fs.stat(real) : st).isDirectory()) {
      throw new StorageError('INVALID_VOLUME_ID', `'${volname ?? path}': '${cur}' is not a directory`, { details: { path } });
    }
    return rest.length > 0 ? join(real, ...rest) : real;
  }
}

/**
 * How QEMU reads a file name: the names an image carries (backing file, qcow2 data file, vmdk
 * extents and parent) and the paths we pass to `qemu-img`. Pure.
 *
 * @module
 */
import { StorageError } from '@stowage/core';

/**
 * Tells whether QEMU would take a name for a protocol rather than a file. QEMU's rule
 * (`path_has_protocol` in its `block.c`): find the first `:` or `/` in the name; when it is a
 * `:`, the text before it names a protocol driver (`file:`, `nbd:`, `http:`, `ssh:`, ...) or the
 * `json:` pseudo-protocol, whose rest is a whole set of driver options. A name with a `/`
 * before its first `:` (every absolute path, `./a:b`) is a plain file name.
 *
 * @param name - a file name as stored in an image header, or a path
 * @example
 * ```ts
 * hasProtocol('file:/etc/shadow'); // true
 * hasProtocol('json:{"file":{"driver":"file","filename":"/x"}}'); // true
 * hasProtocol('../100/base-100-disk-0.qcow2'); // false
 * hasProtocol('./a:b.raw'); // false
 * ```
 */
export function hasProtocol(name: string): boolean {
  const i = name.search(/[:/]/);
  return i >= 0 && name[i] === ':';
}

/**
 * Where QEMU looks for a file named relative to an image: the image's name up to and including
 * its last `/`, then the name, with no normalisation. The kernel resolves the `..` components,
 * after following the symlinks before them, so `a/link/../b` may not be `a/b`: whoever checks
 * the result must resolve it with `realpath`, never with `path.resolve`.
 *
 * @param image - the referring image's path, as QEMU was given it (or as this function made it)
 * @param name - the name stored in the image (absolute names are returned as they are)
 * @see QEMU `path_combine`, `bdrv_dirname`
 */
export function qemuRelativeTo(image: string, name: string): string {
  if (name.startsWith('/')) return name;
  return image.slice(0, image.lastIndexOf('/') + 1) + name;
}

/**
 * Tells whether a name is made of printable ASCII only. Names outside it are refused: QEMU
 * uses a header's bytes as they are, while a JavaScript string goes to the filesystem encoded as
 * UTF-8, so a path we check could differ from the one QEMU opens.
 *
 * @param name - a name from an image header
 */
export function isPlainName(name: string): boolean {
  return /^[\x20-\x7e]+$/.test(name);
}

/**
 * Returns a path to put on a `qemu-img` command line, after checking it is absolute: QEMU then
 * never reads a protocol prefix out of one of our own names.
 *
 * @param path - the path
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INTERNAL` for anything else (a bug in the caller)
 */
export function qemuPath(path: string): string {
  if (!path.startsWith('/') || path.includes('\0')) {
    throw new StorageError('INTERNAL', `refusing to pass '${path}' to qemu-img: not an absolute path`, { details: { path } });
  }
  return path;
}

/**
 * The option values and parsers of a `dir` config that its schema uses: zod-free, so that the
 * plugin's runtime modules use them too (through `config.ts`) without loading zod.
 *
 * @module
 */
import { CONTENT_TYPES, type ContentType } from '@stowage/core';

/** Preallocation modes for new qcow2 and raw images. */
export const PREALLOCATION_MODES = ['off', 'metadata', 'falloc', 'full'] as const;

/** One of {@link PREALLOCATION_MODES}. */
export type Preallocation = (typeof PREALLOCATION_MODES)[number];

/** The values of the `format` option, keyed by themselves (the shape of a zod enum). */
export type DirFormatValues = {
  /** Raw images: a plain (sparse) file. */
  raw: 'raw';
  /** QEMU copy-on-write images: snapshots, linked clones. */
  qcow2: 'qcow2';
  /** VMware disk images. */
  vmdk: 'vmdk';
};

/** The values of the `preallocation` option, keyed by themselves (the shape of a zod enum). */
export type PreallocationValues = {
  /** Nothing is allocated up front. */
  off: 'off';
  /** qcow2 metadata (L2 and refcount tables) is written; for raw the same as `off`. */
  metadata: 'metadata';
  /** The whole file is reserved with `fallocate`. */
  falloc: 'falloc';
  /** The whole file is written with zeros. */
  full: 'full';
};

const RELATIVE_DIR_RE = /^[A-Za-z0-9_.@+-]+(?:\/[A-Za-z0-9_.@+-]+)*$/;

/**
 * Parses a `content-dirs` value (`images=vm-disks,iso=media/iso`) into a map.
 *
 * @param value - the option text
 * @returns the override directory of each content type named
 * @throws {@link Error} (its message becomes the schema's issue) on a bad entry: unknown content type, an
 *   absolute path, a `.` or `..` segment, or a type named twice
 */
export function parseContentDirs(value: string): Partial<Record<ContentType, string>> {
  const out: Partial<Record<ContentType, string>> = {};
  for (const entry of value.split(/[,;\s]+/).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const type = entry.slice(0, eq) as ContentType;
    const dir = entry.slice(eq + 1).replace(/\/+$/, '');
    if (eq < 1 || !CONTENT_TYPES.includes(type)) throw new Error(`unknown content type in '${entry}'`);
    if (!RELATIVE_DIR_RE.test(dir) || dir.split('/').some((s) => s === '.' || s === '..')) {
      throw new Error(`'${entry}': the directory must be relative to the storage path, without '.' or '..'`);
    }
    if (out[type] !== undefined) throw new Error(`content type '${type}' named twice`);
    out[type] = dir;
  }
  return out;
}

/**
 * Normalises an absolute path as text, before it is checked: repeated `/` and `.` segments are
 * removed, and so is a trailing `/` (`//` and `/./` become `/`). `..` segments are kept, for the
 * schema to refuse; anything but an absolute path is returned as it is.
 *
 * @param value - the option value
 * @returns the normalised path, or `value` unchanged
 * @example
 * ```ts
 * normalizeStoragePath('/srv//images/./'); // '/srv/images'
 * normalizeStoragePath('/.');              // '/'
 * ```
 */
export function normalizeStoragePath(value: unknown): unknown {
  if (typeof value !== 'string' || !value.startsWith('/')) return value;
  return `/${value
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/')}`;
}

/**
 * The config of a `dir` storage.
 *
 * @module
 */
import { baseStorageConfigSchema, boolOption, fixedOption } from '@stowage/core/plugin';
import { CONTENT_TYPES, type ContentType } from '@stowage/core';
import { z } from 'zod';

/** Proxmox's rule for a directory storage path: absolute, only `-/a-zA-Z0-9_.@`. */
const PATH_RE = /^\/[-/a-zA-Z0-9_.@]+$/;

/** The directory of each content type under the storage path, as Proxmox lays it out. */
export const DEFAULT_CONTENT_DIRS: Readonly<Record<ContentType, string>> = {
  images: 'images',
  rootdir: 'private',
  iso: 'template/iso',
  vztmpl: 'template/cache',
  backup: 'dump',
  snippets: 'snippets',
  import: 'import',
};

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

const formatSchema: z.ZodEnum<DirFormatValues> = z.enum(['raw', 'qcow2', 'vmdk']);
const preallocationSchema: z.ZodEnum<PreallocationValues> = z.enum(PREALLOCATION_MODES);

const RELATIVE_DIR_RE = /^[A-Za-z0-9_.@+-]+(?:\/[A-Za-z0-9_.@+-]+)*$/;

/**
 * Parses a `content-dirs` value (`images=vm-disks,iso=media/iso`) into a map.
 *
 * @param value - the option text
 * @returns the override directory of each content type named
 * @throws {@link Error} (a zod refinement message) on a bad entry: unknown content type, an
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

const contentDirsOption = z.string().superRefine((v, ctx) => {
  try {
    if (Object.keys(parseContentDirs(v)).length === 0) ctx.addIssue({ code: 'custom', message: 'needs at least one type=directory entry' });
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

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

/**
 * The schema of a `dir` storage: the base options plus Proxmox's directory options.
 *
 * `path` is fixed once the storage exists. `content-dirs` is kept as its text form
 * (`images=vm-disks,iso=media`) so it writes back to `storage.cfg` unchanged.
 * `prune-backups` and `max-protected-backups` are accepted so that a Proxmox `storage.cfg`
 * loads; stowage does not prune, and `max-protected-backups` limits protected backups per guest.
 *
 * @example
 * ```ts
 * dirConfigSchema.parse({ type: 'dir', storage: 'local', path: '/var/lib/vz', content: 'images,iso', format: 'qcow2' });
 * ```
 * @see Proxmox `PVE::Storage::DirPlugin::options`
 */
export const dirConfigSchema = baseStorageConfigSchema.extend({
  /** The storage type id. */
  type: z.literal('dir'),
  /**
   * The directory (absolute; fixed). Repeated `/`, `.` segments and trailing `/` are removed
   * before it is checked, so `//` and `/.` are refused like `/`; a `..` segment is refused.
   */
  path: fixedOption(
    z.preprocess(
      normalizeStoragePath,
      z
        .string()
        .regex(PATH_RE, 'illegal path for directory storage (absolute, only -/a-zA-Z0-9_.@, not / itself)')
        .refine((p) => !p.split('/').includes('..'), "the path must not contain a '..' segment"),
    ),
  ),
  /** The default image format for new volumes. */
  format: formatSchema.optional(),
  /** Preallocation of new qcow2 images (default `metadata`) and raw images (default `off`; `metadata` means `off`). */
  preallocation: preallocationSchema.optional(),
  /** Overrides of the content directories, `type=relative/dir,...`. */
  'content-dirs': contentDirsOption.optional(),
  /** Deprecated alias of `create-base-path` + `create-subdirs`. @default true */
  mkdir: boolOption.optional(),
  /** Create the storage path when it does not exist. @default true */
  'create-base-path': boolOption.optional(),
  /** Create the content subdirectories on activation. @default true */
  'create-subdirs': boolOption.optional(),
  /** The storage is an external mount point (`yes`, or the path to check); offline when not mounted. */
  is_mountpoint: z.string().regex(/^(?:[01]|yes|no|true|false|on|off|\/[-/a-zA-Z0-9_.@]*)$/i).optional(),
  /** Backup retention options (accepted and kept; stowage does not prune). */
  'prune-backups': z.string().regex(/^[a-z-]+=\d+(?:,[a-z-]+=\d+)*$/).optional(),
  /** The most protected backups per guest; `-1` for no limit. */
  'max-protected-backups': z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().min(-1)).optional(),
});

/** A validated `dir` storage config. */
export type DirConfig = z.infer<typeof dirConfigSchema>;

/**
 * The mount point to check before using the storage, if any: `is_mountpoint` `yes` means the
 * storage path itself, a path means that path, `no` (or unset) means none.
 *
 * @param config - the storage config
 * @see Proxmox `PVE::Storage::DirPlugin::parse_is_mountpoint`
 */
export function mountPointOf(config: DirConfig): string | undefined {
  const v = config.is_mountpoint?.toLowerCase();
  if (v === undefined || ['0', 'no', 'false', 'off'].includes(v)) return undefined;
  if (['1', 'yes', 'true', 'on'].includes(v)) return config.path;
  return config.is_mountpoint;
}

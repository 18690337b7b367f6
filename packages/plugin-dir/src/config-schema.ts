/**
 * The zod schema of a `dir` storage's config (`@stowage/plugin-dir/config-schema`). `DirPlugin`
 * gives it as a loader of this module, so zod is loaded only when a config is validated.
 *
 * @module
 */
import { baseStorageConfigSchema, boolOption, fixedOption } from '@stowage/core/config';
import { z } from 'zod';
import { normalizeStoragePath, parseContentDirs, PREALLOCATION_MODES, type DirFormatValues, type PreallocationValues } from './config-options.js';

/** Proxmox's rule for a directory storage path: absolute, only `-/a-zA-Z0-9_.@`. */
const PATH_RE = /^\/[-/a-zA-Z0-9_.@]+$/;

const formatSchema: z.ZodEnum<DirFormatValues> = z.enum(['raw', 'qcow2', 'vmdk']);
const preallocationSchema: z.ZodEnum<PreallocationValues> = z.enum(PREALLOCATION_MODES);

const contentDirsOption = z.string().superRefine((v, ctx) => {
  try {
    if (Object.keys(parseContentDirs(v)).length === 0) ctx.addIssue({ code: 'custom', message: 'needs at least one type=directory entry' });
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

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


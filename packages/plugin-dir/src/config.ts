/**
 * The config of a `dir` storage: its type, and the option values and helpers the plugin uses.
 * The schema that validates it is in `config-schema.ts`, loaded only when a config is
 * validated, so that a command that reads a configuration validated before loads no zod. What
 * the schema itself uses is in `config-options.ts` (the schema must not import this module,
 * which imports its type).
 *
 * @module
 */
import type { ContentType } from '@stowage/core';
import type { DirConfig } from './config-schema.js';

export type { DirConfig } from './config-schema.js';
export {
  normalizeStoragePath,
  parseContentDirs,
  PREALLOCATION_MODES,
  type DirFormatValues,
  type Preallocation,
  type PreallocationValues,
} from './config-options.js';

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

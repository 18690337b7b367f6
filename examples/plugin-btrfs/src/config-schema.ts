/**
 * The zod schema of a `btrfs` storage's config (`stowage-plugin-btrfs/config-schema`).
 * `BtrfsPlugin` gives it as a loader of this module, so zod is loaded only when a config is
 * validated. Runtime modules import the config type from `config.ts`, never this module.
 *
 * @module
 */
import { baseStorageConfigSchema, fixedOption } from '@stowage/core/config';
import { z } from 'zod';

/**
 * The config schema of a `btrfs` storage: the base options plus `path`, the directory on a
 * btrfs filesystem that holds the storage (fixed once the storage is added).
 *
 * @example
 * ```
 * btrfs: fast
 * 	path /mnt/btrfs/stowage
 * 	content images
 * ```
 */
export const btrfsConfigSchema = baseStorageConfigSchema.extend({
  /** Always `btrfs`. */
  type: z.literal('btrfs'),
  /** An absolute directory on a btrfs filesystem. */
  path: fixedOption(z.string().regex(/^\/[-/a-zA-Z0-9_.@]+$/, 'an absolute path of [-/a-zA-Z0-9_.@]').transform((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p))),
});

/** A validated `btrfs` storage config. */
export type BtrfsConfig = z.infer<typeof btrfsConfigSchema>;

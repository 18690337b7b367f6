/**
 * The `btrfs` storage options and what the plugin can do.
 *
 * @module
 */
import { baseStorageConfigSchema, fixedOption } from '@stowage/core/plugin';
import { type PluginCapabilities } from '@stowage/core';
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

/**
 * What the `btrfs` plugin can do: raw images only; snapshots of a volume and of its snapshots;
 * templates; linked clones of a template or of any snapshot; rollback to any snapshot (each
 * snapshot is an independent subvolume); `raw+size` streams.
 */
export const btrfsCapabilities: PluginCapabilities = {
  content: ['images'],
  defaultContent: ['images'],
  formats: ['raw'],
  defaultFormat: 'raw',
  shared: false,
  features: {
    snapshot: { current: ['raw'], snap: ['raw'] },
    clone: { base: ['raw'], snap: ['raw'] },
    template: { current: ['raw'] },
    copy: { base: ['raw'], current: ['raw'], snap: ['raw'] },
    sparseinit: { base: ['raw'], current: ['raw'] },
    rename: { current: ['raw'] },
  },
  exportFormats: ['raw+size'],
  importFormats: ['raw+size'],
  rollbackAnySnapshot: true,
  cloneFromSnapshot: true,
  attributes: [],
  shrink: false,
};

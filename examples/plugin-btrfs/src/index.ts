/**
 * `stowage-plugin-btrfs`: a stowage storage plugin for btrfs (type `btrfs`), written against the
 * public `@stowage/core` API only. The config schema is at `stowage-plugin-btrfs/config-schema`.
 *
 * @packageDocumentation
 */
export { BtrfsPlugin } from './btrfs-plugin.js';
export { btrfsCapabilities } from './capabilities.js';
export type { BtrfsConfig } from './config.js';
export { parseBtrfsVolname } from './names.js';

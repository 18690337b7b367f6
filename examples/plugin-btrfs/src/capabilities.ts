/**
 * What the `btrfs` plugin can do.
 *
 * @module
 */
import type { PluginCapabilities } from '@stowage/core';

/**
 * What the `btrfs` plugin can do: raw images only; snapshots of a volume and of its snapshots;
 * templates; linked clones of a template or of any snapshot; rollback to any snapshot (each
 * snapshot is an independent subvolume); `raw+size` streams; flattening (a clone off its template,
 * a volume to a snapshot) and the `hidden` attribute.
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
  attributes: ['hidden'],
  // a writable snapshot swapped in for the volume (ops-flatten.ts): no data copied, snapshots kept
  flatten: { toSnapshot: ['raw'], clone: ['raw'], cloneKeepsSnapshots: true },
  shrink: false,
};

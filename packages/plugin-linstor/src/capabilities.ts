/**
 * What the `linstor` plugin can do, as data.
 *
 * @module
 */
import type { PluginCapabilities } from '@stowage/core';

/**
 * Capabilities of the `linstor` plugin: raw images (and container volumes) replicated across
 * nodes, snapshots with rollback to the newest one only (LINSTOR's rule), templates and clones
 * through LINSTOR's clone API, rename, `raw+size` export/import through the local device, the
 * `hidden` attribute (a definition property), and flattening: to a snapshot (restored beside
 * the volume, then swapped in), and of a clone off its base (a property change, or a full copy
 * where ZFS keeps the clone tied to its base; the clone's snapshots are not copied, so a clone
 * with snapshots is refused).
 *
 * @see Proxmox `LINSTORPlugin::volume_has_feature`
 */
export const linstorCapabilities: PluginCapabilities = {
  content: ['images', 'rootdir'],
  defaultContent: ['images'],
  formats: ['raw'],
  defaultFormat: 'raw',
  shared: true,
  features: {
    snapshot: { current: ['raw'] },
    clone: { base: ['raw'] },
    template: { current: ['raw'] },
    copy: { base: ['raw'], current: ['raw'] },
    rename: { current: ['raw'] },
  },
  exportFormats: ['raw+size'],
  importFormats: ['raw+size'],
  rollbackAnySnapshot: false,
  cloneFromSnapshot: false,
  attributes: ['hidden'],
  shrink: false,
  activatesForNode: true,
  flatten: { toSnapshot: ['raw'], clone: ['raw'], cloneKeepsSnapshots: false },
};

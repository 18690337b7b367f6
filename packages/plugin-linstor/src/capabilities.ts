/**
 * What the `linstor` plugin can do, as data.
 *
 * @module
 */
import type { PluginCapabilities } from '@stowage/core';

/**
 * Capabilities of the `linstor` plugin: raw images (and container volumes) replicated across
 * nodes, snapshots with rollback to the newest one only (LINSTOR's rule), templates and clones
 * through LINSTOR's clone API, rename, and `raw+size` export/import through the local device.
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
  attributes: [],
  shrink: false,
  activatesForNode: true,
};

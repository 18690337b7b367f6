/**
 * What a `dir` storage can do, as data.
 *
 * @module
 */
import type { PluginCapabilities } from '@stowage/core';

/**
 * The capabilities of the `dir` plugin: every content type, raw/qcow2/vmdk images, Proxmox's
 * feature matrix for file storages, qcow2 internal snapshots (any one can be rolled back to),
 * linked clones as qcow2 overlays of a base, `notes` and `protected` attributes, and the
 * `raw+size`, `qcow2+size` and `vmdk+size` streams.
 *
 * @see Proxmox `PVE::Storage::Plugin::volume_has_feature`, `PVE::Storage::DirPlugin::plugindata`
 */
export const dirCapabilities: PluginCapabilities = {
  content: ['images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets', 'import'],
  defaultContent: ['images', 'rootdir'],
  formats: ['raw', 'qcow2', 'vmdk'],
  defaultFormat: 'raw',
  shared: false,
  features: {
    snapshot: { current: ['qcow2'], snap: ['qcow2'] },
    clone: { base: ['qcow2', 'raw', 'vmdk'] },
    template: { current: ['qcow2', 'raw', 'vmdk', 'subvol'] },
    copy: { base: ['qcow2', 'raw', 'vmdk'], current: ['qcow2', 'raw', 'vmdk'], snap: ['qcow2'] },
    sparseinit: { base: ['qcow2', 'raw', 'vmdk'], current: ['qcow2', 'raw', 'vmdk'] },
    rename: { current: ['qcow2', 'raw', 'vmdk'] },
  },
  exportFormats: ['raw+size', 'qcow2+size', 'vmdk+size'],
  importFormats: ['raw+size', 'qcow2+size', 'vmdk+size'],
  rollbackAnySnapshot: true,
  cloneFromSnapshot: false,
  attributes: ['notes', 'protected'],
  shrink: false,
  cloneFormat: 'qcow2',
};

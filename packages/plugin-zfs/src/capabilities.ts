/**
 * What the `zfspool` plugin can do, as data.
 *
 * @module
 */
import type { PluginCapabilities } from '@stowage/core';

/**
 * The capabilities of ZFS pool storage: zvols (`raw`) for VM images and file systems with a
 * quota (`subvol`) for containers, local to one node; snapshots, templates, linked clones of
 * bases and (beyond Proxmox) of any snapshot, rollback to the newest snapshot only, growth but
 * no shrinking, `zfs` streams (with snapshots and increments) and `raw+size` for zvols. Every
 * create refuses a taken name by itself (`exclusiveCreate`): `zfs create` (allocation, and the
 * zvol of a `raw+size` import, made under its final name and marked unfinished), `zfs clone`,
 * `zfs rename` and `zfs recv` of a full stream refuse a dataset that exists, and change nothing.
 * Flattening (zvols): to a snapshot by clone, promote and a name swap; a clone off its base by
 * `zfs send | zfs recv` and a name swap, keeping its snapshots. The `hidden` attribute is the
 * user property `stowage:hidden`; hiding a base also renames its `__base__` snapshot to
 * `__hidden__`, so `zfs clone` refuses it by itself (`cloneRefusesHidden`).
 *
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_has_feature`, `plugindata`
 */
export const zfsPoolCapabilities: PluginCapabilities = {
  content: ['images', 'rootdir'],
  defaultContent: ['images', 'rootdir'],
  formats: ['raw', 'subvol'],
  defaultFormat: 'raw',
  shared: false,
  features: {
    snapshot: { current: ['raw', 'subvol'], snap: ['raw', 'subvol'] },
    clone: { base: ['raw', 'subvol'], snap: ['raw', 'subvol'] },
    template: { current: ['raw', 'subvol'] },
    copy: { base: ['raw', 'subvol'], current: ['raw', 'subvol'] },
    sparseinit: { base: ['raw', 'subvol'], current: ['raw', 'subvol'] },
    rename: { current: ['raw', 'subvol'] },
  },
  exportFormats: ['zfs', 'raw+size'],
  importFormats: ['zfs', 'raw+size'],
  rollbackAnySnapshot: false,
  cloneFromSnapshot: true,
  attributes: ['hidden'],
  shrink: false,
  exclusiveCreate: true,
  cloneRefusesHidden: true,
  // zvols only: flattening builds the new state beside the volume and swaps names; a container
  // volume's mount point would move with the renames (not done yet). `flattenImage` sends every
  // snapshot of the clone along.
  flatten: { toSnapshot: ['raw'], clone: ['raw'], cloneKeepsSnapshots: true },
};

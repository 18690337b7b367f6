/**
 * What the `lvmthin` plugin can do, as data.
 *
 * @module
 */
import type { PluginCapabilities } from '@stowage/core';

/**
 * The capabilities of LVM-thin storage: raw images and container volumes, local to one node;
 * snapshots of volumes, templates, linked clones of bases and of snapshots, rollback to any
 * snapshot, growth but no shrinking, `raw+size` export and import, and `lvmthin-delta` (a
 * snapshot's changed ranges, read from the pool's metadata) for replication. Every create
 * refuses a taken name by itself (`exclusiveCreate`): `lvcreate` (allocation, clone, an
 * import's volume, which is made under its final name and tagged unfinished) and `lvrename`
 * refuse a name any LV of the volume group has, and change nothing. Flattening copies nothing
 * (see `ops-flatten.ts`). Hiding a volume renames its LV `stowage_hidden_<volname>`, so that
 * `lvcreate -s` of a hidden template fails by itself (`cloneRefusesHidden`).
 *
 * @see Proxmox `PVE::Storage::LvmThinPlugin::volume_has_feature`, `plugindata`
 */
export const lvmThinCapabilities: PluginCapabilities = {
  content: ['images', 'rootdir'],
  defaultContent: ['images', 'rootdir'],
  formats: ['raw'],
  defaultFormat: 'raw',
  shared: false,
  features: {
    snapshot: { current: ['raw'] },
    clone: { base: ['raw'], snap: ['raw'] },
    template: { current: ['raw'] },
    copy: { base: ['raw'], current: ['raw'], snap: ['raw'] },
    sparseinit: { base: ['raw'], current: ['raw'] },
    rename: { current: ['raw'] },
  },
  exportFormats: ['raw+size', 'lvmthin-delta'],
  importFormats: ['raw+size', 'lvmthin-delta'],
  rollbackAnySnapshot: true,
  cloneFromSnapshot: true,
  attributes: ['hidden'],
  cloneRefusesHidden: true,
  shrink: false,
  exclusiveCreate: true,
  // both metadata only: a thin snapshot of the snapshot swapped in by name; a clone's link to its
  // origin dropped by a tag (thin clones never depended on their origin's blocks)
  flatten: { toSnapshot: ['raw'], clone: ['raw'], cloneKeepsSnapshots: true },
};

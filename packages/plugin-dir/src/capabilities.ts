/**
 * What a `dir` storage can do, as data.
 *
 * @module
 */
import type { PluginCapabilities } from '@stowage/core';

/**
 * The capabilities of the `dir` plugin: every content type, raw/qcow2/vmdk images and container
 * subvolumes (directories, size 0: no quota; only when the storage's content has `rootdir`), Proxmox's
 * feature matrix for file storages, qcow2 internal snapshots (any one can be rolled back to),
 * linked clones as qcow2 overlays of a base, `notes` and `protected` attributes, the
 * `raw+size`, `qcow2+size` and `vmdk+size` streams, and the largest size of each format.
 *
 * Every create refuses a taken name by itself (`exclusiveCreate`): under the storage lock it
 * checks the guest directory for the name (any entry, or a live temporary that reserves it) and
 * reserves it with an `O_EXCL` temporary (a subvolume: `mkdir`), and it publishes the finished
 * file with `link(2)`, which never replaces a file made meanwhile (the call then fails with
 * `ALREADY_EXISTS` and removes its temporary); a rename links the file under its new name the
 * same way. On a filesystem without hard links publishing checks, then renames: a file made
 * there in between by a program that does not take the storage lock would be replaced.
 *
 * @see Proxmox `PVE::Storage::Plugin::volume_has_feature`, `PVE::Storage::DirPlugin::plugindata`
 */
export const dirCapabilities: PluginCapabilities = {
  content: ['images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets', 'import'],
  defaultContent: ['images', 'rootdir'],
  formats: ['raw', 'qcow2', 'vmdk', 'subvol'],
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
  exclusiveCreate: true,
  // a copy renamed over the image (ops-flatten.ts); qemu-img convert does not keep internal snapshots
  flatten: { toSnapshot: ['qcow2'], clone: ['qcow2'], cloneKeepsSnapshots: false },
  maxSize: {
    // 64 KiB clusters (the default our images get): an L1 table of at most 32 MiB of 8-byte
    // entries, each mapping an L2 table of 8192 clusters: 2^22 * 2^29 bytes; qemu-img refuses more
    qcow2: 2 ** 51,
    // a monolithic sparse vmdk: at most 2^25 grain tables of 512 grains of 64 KiB; qemu-img
    // creates larger ones but QEMU then refuses to open them ("L1 size too big")
    vmdk: 2 ** 50,
    // raw: the filesystem's largest file (EFBIG at creation, refused as INVALID_ARGUMENT)
  },
};

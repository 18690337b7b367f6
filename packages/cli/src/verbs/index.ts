/**
 * Every verb of the command, in the order help lists them, by name and summary (all the
 * overview shows): a verb's module is imported only when that verb runs or its own help is shown.
 *
 * @module
 */
import type { VerbSpec } from '../verb.js';

/** A verb by name and summary, and how to import its {@link VerbSpec}. */
export interface VerbEntry {
  /** The verb, e.g. `alloc` or `storage add`: the name its spec carries. */
  readonly name: string;
  /** One line saying what it does. */
  readonly summary: string;
  /** Imports the verb's module and returns its spec. */
  load(): Promise<VerbSpec>;
}

const images = () => import('./images.js');
const snapshots = () => import('./snapshots.js');
const transfer = () => import('./transfer.js');
const handoff = () => import('./handoff.js');
const formats = () => import('./formats.js');
const storage = () => import('./storage.js');
const cluster = () => import('./cluster.js');
const status = () => import('./status.js');

/** All verbs. */
export const VERBS: readonly VerbEntry[] = [
  { name: 'status', summary: 'show capacity and state of every storage, or of one', load: async () => (await status()).statusVerb },
  { name: 'list', summary: 'list the volumes of a storage', load: async () => (await status()).listVerb },
  { name: 'alloc', summary: 'allocate a new disk image', load: async () => (await images()).allocVerb },
  { name: 'free', summary: 'delete a volume and its snapshots', load: async () => (await images()).freeVerb },
  { name: 'path', summary: 'print the path (or URL) through which a guest reaches a volume', load: async () => (await images()).pathVerb },
  { name: 'volid', summary: 'print the volume id of a path (the inverse of path)', load: async () => (await images()).volidVerb },
  { name: 'template', summary: 'turn a volume into a read-only template (base) for linked clones', load: async () => (await images()).templateVerb },
  {
    name: 'clone',
    summary: 'make a linked clone of a template (or of a snapshot, where the storage can)',
    load: async () => (await images()).cloneVerb,
  },
  {
    name: 'flatten',
    summary: 'detach a linked clone from its template, or take a volume back to a snapshot and drop every snapshot',
    load: async () => (await import('./flatten.js')).flattenVerb,
  },
  { name: 'snapshot', summary: 'take a snapshot of a volume', load: async () => (await snapshots()).snapshotVerb },
  { name: 'snapshots', summary: 'list the snapshots of a volume, oldest first', load: async () => (await snapshots()).snapshotsVerb },
  { name: 'rollback', summary: 'roll a volume back to a snapshot', load: async () => (await snapshots()).rollbackVerb },
  { name: 'delsnapshot', summary: 'delete a snapshot of a volume', load: async () => (await snapshots()).delsnapshotVerb },
  { name: 'resize', summary: 'grow a volume to a size, or by a size with +', load: async () => (await images()).resizeVerb },
  { name: 'rename', summary: 'give a volume to another guest (it gets a free name of that guest)', load: async () => (await images()).renameVerb },
  { name: 'export', summary: 'write a volume to a file or to standard output', load: async () => (await transfer()).exportVerb },
  { name: 'import', summary: 'create a volume from a file or from standard input', load: async () => (await transfer()).importVerb },
  { name: 'copy', summary: 'copy a volume to another storage', load: async () => (await transfer()).copyVerb },
  { name: 'migrate', summary: 'move a volume to another node', load: async () => (await import('./migrate.js')).migrateVerb },
  {
    name: 'replicate',
    summary: "bring a volume's replica on another node up to date (ZFS, LVM-thin)",
    load: async () => (await import('./replicate.js')).replicateVerb,
  },
  {
    name: 'handoff prepare',
    summary: 'make a volume of shared storage usable on the target node too (before a live migration)',
    load: async () => (await handoff()).handoffPrepareVerb,
  },
  {
    name: 'handoff finish',
    summary: 'release a volume of shared storage on this node (after a live migration)',
    load: async () => (await handoff()).handoffFinishVerb,
  },
  {
    name: 'handoff abort',
    summary: "undo the target's side of a hand-off that will not happen",
    load: async () => (await handoff()).handoffAbortVerb,
  },
  {
    name: 'formats',
    summary: 'list the stream formats a volume can be exported in, or imported into',
    load: async () => (await formats()).formatsVerb,
  },
  { name: 'checksum', summary: "print the SHA-256 of a volume's data", load: async () => (await formats()).checksumVerb },
  { name: 'receive', summary: 'receive a volume from a migrating node, in one exchange', load: async () => (await formats()).receiveVerb },
  {
    name: 'gc',
    summary: 'remove temporaries and unfinished volumes left by operations whose process died',
    load: async () => (await import('./gc.js')).gcVerb,
  },
  { name: 'prune', summary: 'free the templates (hidden ones too) that no volume uses', load: async () => (await import('./prune.js')).pruneVerb },
  {
    name: 'storage add',
    summary: "add a storage to the configuration file (created when missing), or to the cluster's",
    load: async () => (await storage()).storageAddVerb,
  },
  { name: 'storage set', summary: 'change options of a storage', load: async () => (await storage()).storageSetVerb },
  {
    name: 'storage remove',
    summary: 'remove a storage from the configuration file (its volumes are left alone)',
    load: async () => (await storage()).storageRemoveVerb,
  },
  { name: 'storage list', summary: 'list the configured storages and their options', load: async () => (await storage()).storageListVerb },
  {
    name: 'plugins',
    summary: 'list the registered storage types (built-in and third-party)',
    load: async () => (await import('./plugins.js')).pluginsVerb,
  },
  {
    name: 'cluster status',
    summary: 'show the etcd cluster: members, leader, this node, health',
    load: async () => (await cluster()).clusterStatusVerb,
  },
  {
    name: 'cluster locks',
    summary: 'show who holds which storage and volume lock: node, pid, operation, since',
    load: async () => (await cluster()).clusterLocksVerb,
  },
  {
    name: 'cluster init',
    summary: "seed the cluster's storage.cfg from a local file, only when the cluster has none",
    load: async () => (await cluster()).clusterInitVerb,
  },
];

/** Verbs that take a sub-verb (`storage add`). */
export const VERB_GROUPS: ReadonlySet<string> = new Set(VERBS.filter((v) => v.name.includes(' ')).map((v) => v.name.split(' ')[0] ?? ''));

/**
 * The verb of this name, its spec imported; `undefined` when there is none.
 *
 * @param name - the verb's name
 */
export async function findVerb(name: string | undefined): Promise<{ readonly entry: VerbEntry; readonly spec: VerbSpec } | undefined> {
  const entry = VERBS.find((v) => v.name === name);
  return entry && { entry, spec: await entry.load() };
}

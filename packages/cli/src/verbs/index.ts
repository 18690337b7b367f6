/**
 * Every verb of the command, in the order help lists them, by name: a verb's module is imported
 * only when that verb runs or its help is shown (the overview imports them all).
 *
 * @module
 */
import type { VerbSpec } from '../verb.js';

/** A verb by name, and how to import its {@link VerbSpec}. */
export interface VerbEntry {
  /** The verb, e.g. `alloc` or `storage add`: the name its spec carries. */
  readonly name: string;
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
  { name: 'status', load: async () => (await status()).statusVerb },
  { name: 'list', load: async () => (await status()).listVerb },
  { name: 'alloc', load: async () => (await images()).allocVerb },
  { name: 'free', load: async () => (await images()).freeVerb },
  { name: 'path', load: async () => (await images()).pathVerb },
  { name: 'volid', load: async () => (await images()).volidVerb },
  { name: 'template', load: async () => (await images()).templateVerb },
  { name: 'clone', load: async () => (await images()).cloneVerb },
  { name: 'flatten', load: async () => (await import('./flatten.js')).flattenVerb },
  { name: 'snapshot', load: async () => (await snapshots()).snapshotVerb },
  { name: 'snapshots', load: async () => (await snapshots()).snapshotsVerb },
  { name: 'rollback', load: async () => (await snapshots()).rollbackVerb },
  { name: 'delsnapshot', load: async () => (await snapshots()).delsnapshotVerb },
  { name: 'resize', load: async () => (await images()).resizeVerb },
  { name: 'rename', load: async () => (await images()).renameVerb },
  { name: 'export', load: async () => (await transfer()).exportVerb },
  { name: 'import', load: async () => (await transfer()).importVerb },
  { name: 'copy', load: async () => (await transfer()).copyVerb },
  { name: 'migrate', load: async () => (await import('./migrate.js')).migrateVerb },
  { name: 'replicate', load: async () => (await import('./replicate.js')).replicateVerb },
  { name: 'handoff prepare', load: async () => (await handoff()).handoffPrepareVerb },
  { name: 'handoff finish', load: async () => (await handoff()).handoffFinishVerb },
  { name: 'handoff abort', load: async () => (await handoff()).handoffAbortVerb },
  { name: 'formats', load: async () => (await formats()).formatsVerb },
  { name: 'checksum', load: async () => (await formats()).checksumVerb },
  { name: 'receive', load: async () => (await formats()).receiveVerb },
  { name: 'gc', load: async () => (await import('./gc.js')).gcVerb },
  { name: 'prune', load: async () => (await import('./prune.js')).pruneVerb },
  { name: 'storage add', load: async () => (await storage()).storageAddVerb },
  { name: 'storage set', load: async () => (await storage()).storageSetVerb },
  { name: 'storage remove', load: async () => (await storage()).storageRemoveVerb },
  { name: 'storage list', load: async () => (await storage()).storageListVerb },
  { name: 'plugins', load: async () => (await import('./plugins.js')).pluginsVerb },
  { name: 'cluster status', load: async () => (await cluster()).clusterStatusVerb },
  { name: 'cluster locks', load: async () => (await cluster()).clusterLocksVerb },
  { name: 'cluster init', load: async () => (await cluster()).clusterInitVerb },
];

/** Verbs that take a sub-verb (`storage add`). */
export const VERB_GROUPS: ReadonlySet<string> = new Set(VERBS.filter((v) => v.name.includes(' ')).map((v) => v.name.split(' ')[0] ?? ''));

/**
 * The spec of the verb of this name, imported; `undefined` when there is none.
 *
 * @param name - the verb's name
 */
export async function findVerb(name: string | undefined): Promise<VerbSpec | undefined> {
  return VERBS.find((v) => v.name === name)?.load();
}

/**
 * The specs of these verbs, imported, in their order.
 *
 * @param entries - the verbs
 */
export function loadVerbs(entries: readonly VerbEntry[]): Promise<VerbSpec[]> {
  return Promise.all(entries.map((v) => v.load()));
}

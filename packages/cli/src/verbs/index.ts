/**
 * Every verb of the command, in the order help lists them.
 *
 * @module
 */
import type { VerbSpec } from '../verb.js';
import { flattenVerb } from './flatten.js';
import { gcVerb } from './gc.js';
import { pruneVerb } from './prune.js';
import { checksumVerb, formatsVerb, receiveVerb } from './formats.js';
import { migrateVerb } from './migrate.js';
import { replicateVerb } from './replicate.js';
import { handoffAbortVerb, handoffFinishVerb, handoffPrepareVerb } from './handoff.js';
import { allocVerb, cloneVerb, freeVerb, pathVerb, renameVerb, resizeVerb, templateVerb, volidVerb } from './images.js';
import { clusterInitVerb, clusterLocksVerb, clusterStatusVerb } from './cluster.js';
import { pluginsVerb } from './plugins.js';
import { delsnapshotVerb, rollbackVerb, snapshotsVerb, snapshotVerb } from './snapshots.js';
import { listVerb, statusVerb } from './status.js';
import { storageAddVerb, storageListVerb, storageRemoveVerb, storageSetVerb } from './storage.js';
import { copyVerb, exportVerb, importVerb } from './transfer.js';

/** All verbs. */
export const VERBS: readonly VerbSpec[] = [
  statusVerb,
  listVerb,
  allocVerb,
  freeVerb,
  pathVerb,
  volidVerb,
  templateVerb,
  cloneVerb,
  flattenVerb,
  snapshotVerb,
  snapshotsVerb,
  rollbackVerb,
  delsnapshotVerb,
  resizeVerb,
  renameVerb,
  exportVerb,
  importVerb,
  copyVerb,
  migrateVerb,
  replicateVerb,
  handoffPrepareVerb,
  handoffFinishVerb,
  handoffAbortVerb,
  formatsVerb,
  checksumVerb,
  receiveVerb,
  gcVerb,
  pruneVerb,
  storageAddVerb,
  storageSetVerb,
  storageRemoveVerb,
  storageListVerb,
  pluginsVerb,
  clusterStatusVerb,
  clusterLocksVerb,
  clusterInitVerb,
];

/** Verbs that take a sub-verb (`storage add`). */
export const VERB_GROUPS: ReadonlySet<string> = new Set(VERBS.filter((v) => v.name.includes(' ')).map((v) => v.name.split(' ')[0] ?? ''));

/**
 * `describeStoragePlugin`: the whole conformance suite, and `useStorageKit` for running groups
 * one by one.
 *
 * @module
 */
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { StorageKit } from './kit.js';
import type { StoragePluginSuiteOptions } from './options.js';
import { allocSuite } from './suites/alloc.js';
import { attributesSuite } from './suites/attributes.js';
import { badInputSuite } from './suites/bad-input.js';
import { baseCloneSuite } from './suites/base-clone.js';
import { capabilitiesSuite } from './suites/capabilities.js';
import { concurrencySuite } from './suites/concurrency.js';
import { crashSuite } from './suites/crash.js';
import { volumeDataSuite } from './suites/data.js';
import { exclusiveCreateSuite } from './suites/exclusive-create.js';
import { faultSuite } from './suites/faults.js';
import { flattenCloneSuite } from './suites/flatten-clone.js';
import { flattenSnapshotSuite } from './suites/flatten-snapshot.js';
import { hostileSuite } from './suites/hostile.js';
import { idempotencySuite } from './suites/idempotency.js';
import { lazyFreeSuite } from './suites/lazy-free.js';
import { pruneSuite } from './suites/prune.js';
import { renameSuite } from './suites/rename.js';
import { resizeSuite } from './suites/resize.js';
import { snapshotSuite } from './suites/snapshots.js';
import { statusSuite } from './suites/status.js';
import { transferSuite } from './suites/transfer.js';
import { volnameSuite } from './suites/volnames.js';

/** The default time limit of a case, in milliseconds. */
export const DEFAULT_CASE_TIMEOUT_MS = 60_000;

/** A group of the conformance suite: registers its cases for a kit. */
export type StorageSuiteGroup = (kit: StorageKit) => void;

/** Every group, in the order `describeStoragePlugin` registers them. */
export const STORAGE_SUITE_GROUPS: readonly StorageSuiteGroup[] = [
  capabilitiesSuite,
  volnameSuite,
  allocSuite,
  statusSuite,
  baseCloneSuite,
  snapshotSuite,
  resizeSuite,
  renameSuite,
  attributesSuite,
  transferSuite,
  volumeDataSuite,
  idempotencySuite,
  badInputSuite,
  faultSuite,
  concurrencySuite,
  exclusiveCreateSuite,
  flattenSnapshotSuite,
  flattenCloneSuite,
  lazyFreeSuite,
  pruneSuite,
  crashSuite,
  hostileSuite,
];

/**
 * Registers the hooks of a kit in the current `describe` block: `setup` and a manager before the
 * first case, the clean-up of each case's volumes after it (even when it failed: a case that
 * leaves something the kit cannot free fails), and the final sweep and `teardown` after the last.
 * Use it to run single groups; {@link describeStoragePlugin} runs them all.
 *
 * @param options - the suite's options
 * @returns the kit, for the group functions
 * @throws TypeError when `features` grants more than the plugin's capabilities
 * @example
 * ```ts
 * describe('zfspool snapshots only', () => {
 *   const kit = useStorageKit({ name: 'zfs', plugin: ZfsPoolPlugin, setup });
 *   snapshotSuite(kit);
 * });
 * ```
 */
export function useStorageKit(options: StoragePluginSuiteOptions): StorageKit {
  const kit = new StorageKit(options);
  const timeout = options.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS;
  beforeAll(() => kit.start(), timeout);
  afterEach(() => kit.cleanupCase(), timeout);
  afterAll(() => kit.stop(), timeout);
  return kit;
}

/**
 * Describes the conformance suite of a storage plugin, in the style of Kubernetes' csi-sanity:
 * every method of the contract, driven through a `StorageManager` on a real storage that `setup`
 * provides, in groups that run or are skipped (with the reason) according to the plugin's static
 * capabilities, optionally narrowed by `features`. Every case cleans up what it made, uses guest
 * ids from a random block so that parallel or left-over runs do not clash, asserts stable error
 * codes (never messages), and checks that refused calls leave the storage's listing unchanged.
 *
 * Groups: static metadata; volume names; allocate, list, free; status, path, activation, size
 * info; bases and linked clones; snapshots; resize; rename; attributes; export and import
 * (`raw+size` round trip); data (rollback, bases, clones and resize checked byte for byte when
 * `setup` returns a `volumeData` hook); repeated calls; bad input; failures leave nothing behind
 * (each command of `allocImage`, `createBase`, `cloneImage` and `volumeImport` failed in turn
 * through a `FaultInjectingRunner`); overlapping operations (an allocation during an import or a
 * copy, a free of a volume being imported, concurrent snapshots with one name); creates that
 * refuse taken names (when the plugin declares `exclusiveCreate`: a volume made behind the
 * manager's back is neither reused nor overwritten); flatten to a snapshot and of a linked clone
 * (`capabilities.flatten`: data, refusals, each step failed in turn); lazy free (`whenUnused`,
 * hidden templates, with `hidden` in `capabilities.attributes`); pruning unused templates (a
 * dry run, use through clones and `inUse`, protected ones, a clone made meanwhile); killed operations
 * (an import SIGKILLed in a child process when `setup` returns `child`); hostile files (when
 * `setup` returns `hostile`). Each group is also exported alone (see {@link useStorageKit}).
 *
 * Plugins must, among other things: refuse bad volnames in `parseVolname` itself with
 * `INVALID_VOLUME_ID` (call `assertSafeVolname` first); link clones to their base in
 * `listImages` (`parent`, or the base in the volname); answer `NOT_FOUND` for missing volumes and
 * snapshots; and undo their own half-done steps.
 *
 * @param options - name, plugin class, setup and teardown, narrowing, time limit
 * @throws TypeError when `features` grants more than the plugin's capabilities
 * @example
 * ```ts
 * // packages/plugin-dir/test/conformance.test.ts
 * import { mkdtemp, rm } from 'node:fs/promises';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { describeStoragePlugin } from '@stowage/core/testing';
 * import { DirPlugin } from '@stowage/plugin-dir';
 *
 * let dir = '';
 * describeStoragePlugin({
 *   name: 'dir on a temporary directory',
 *   plugin: DirPlugin,
 *   setup: async () => {
 *     dir = await mkdtemp(join(tmpdir(), 'stowage-dir-'));
 *     return { config: { type: 'dir', storage: 'kit', path: dir }, sizeUnit: 1024 * 1024 };
 *   },
 *   teardown: () => rm(dir, { recursive: true, force: true }),
 * });
 * ```
 */
export function describeStoragePlugin(options: StoragePluginSuiteOptions): void {
  describe(`stowage conformance: ${options.name} (${options.plugin.type})`, { timeout: options.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS }, () => {
    const kit = useStorageKit(options);
    for (const group of STORAGE_SUITE_GROUPS) group(kit);
  });
}

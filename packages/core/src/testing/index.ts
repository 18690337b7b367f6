/**
 * `@stowage/core/testing`: the conformance kit that every storage plugin (ours and third
 * parties') runs with {@link describeStoragePlugin}, its groups one by one, the `memory`
 * reference plugin, and the runners tests use: {@link ReplayRunner} (recorded output),
 * {@link RecordingRunner} (records it) and {@link FaultInjectingRunner} (fails chosen commands).
 *
 * @packageDocumentation
 */
export { expectCode, outcomeOf } from './assert.js';
export {
  FaultInjectingRunner,
  type FaultInjectingRunnerOptions,
  type FaultSelector,
} from '../command/fault-runner.js';
export {
  decodeFixtureBytes,
  encodeFixtureBytes,
  loadFixtures,
  parseFixtures,
  saveFixtures,
  type CommandFixture,
  type FixtureBytes,
} from '../command/fixtures.js';
export { RecordingRunner, ReplayRunner, type ReplayRunnerOptions } from '../command/replay-runner.js';
export { BAD_SNAPSHOT_NAMES, BAD_VMIDS, badDiskNames, badSizes, badVolnames, type BadValue } from './bad-values.js';
export { byteSink, firstDifference, patternBytes, rawSizeStream, type ByteSink } from './bytes.js';
export { DEFAULT_CASE_TIMEOUT_MS, describeStoragePlugin, STORAGE_SUITE_GROUPS, useStorageKit, type StorageSuiteGroup } from './describe.js';
export { allOf, effectiveCapabilities, featureGate, formatWith, gate, type Gate, type KitCapabilities } from './gates.js';
export { DEFAULT_SIZE_UNIT, DEFAULT_VMID_RANGE, StorageKit, type KitAllocOptions, type KitFill } from './kit.js';
export * from './memory/index.js';
export { pluginContext, RecordingLog, type LogLine, type PluginContextOptions } from './plugin-context.js';
export { descendantProcesses, processEnded, waitForProcessesEnded, type ProcessEntry } from './processes.js';
export type {
  HostileKind,
  KitChildProcess,
  KitFaultInjector,
  KitFeatures,
  KitFillRequest,
  KitHostileFiles,
  KitTarget,
  KitVolumeData,
  StoragePluginSuiteOptions,
} from './options.js';
export type { ChildJob } from './child/operation-worker.js';
export { allocSuite } from './suites/alloc.js';
export { attributesSuite } from './suites/attributes.js';
export { badInputSuite } from './suites/bad-input.js';
export { baseCloneSuite } from './suites/base-clone.js';
export { capabilitiesSuite } from './suites/capabilities.js';
export { concurrencySuite } from './suites/concurrency.js';
export { crashSuite } from './suites/crash.js';
export { volumeDataSuite } from './suites/data.js';
export { exclusiveCreateSuite } from './suites/exclusive-create.js';
export { faultSuite } from './suites/faults.js';
export { flattenCloneSuite } from './suites/flatten-clone.js';
export { flattenSnapshotSuite } from './suites/flatten-snapshot.js';
export { hostileSuite } from './suites/hostile.js';
export { describeGated, itGated } from './suites/gated.js';
export { idempotencySuite } from './suites/idempotency.js';
export { lazyFreeSuite } from './suites/lazy-free.js';
export { pruneSuite } from './suites/prune.js';
export { renameSuite } from './suites/rename.js';
export { resizeSuite } from './suites/resize.js';
export { snapshotSuite } from './suites/snapshots.js';
export { statusSuite } from './suites/status.js';
export { transferSuite } from './suites/transfer.js';
export { volnameSuite } from './suites/volnames.js';
export { ddVolumeData } from './volume-data.js';

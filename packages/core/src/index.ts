/**
 * `@stowage/core`: the storage-plugin contract, the manager, locks, caches, command runners,
 * errors and config. The conformance kit is published separately as `@stowage/core/testing`.
 *
 * @packageDocumentation
 */
export { API_AGE, API_VERSION, assertCompatibleApi } from './api-version.js';
export { OperationCache, TtlCache, type TtlCacheOptions } from './cache.js';
export {
  CONTENT_TYPES,
  FEATURES,
  hasFeature,
  type ContentType,
  type Feature,
  type FeatureMatrix,
  type FeatureQuery,
  type PluginCapabilities,
  type StreamFormat,
  type VolumeAttribute,
  type VolumeFormat,
  type VolumeState,
} from './capabilities.js';
export {
  FaultInjectingRunner,
  type FaultInjectingRunnerOptions,
  type FaultSelector,
} from './command/fault-runner.js';
export {
  abortedError,
  assertArgv,
  describeArgv,
  exitCodeError,
  shortenOutput,
  spawnError,
  STDERR_LIMIT,
  timeoutError,
  type ExitFacts,
} from './command/failure.js';
export {
  decodeFixtureBytes,
  encodeFixtureBytes,
  loadFixtures,
  parseFixtures,
  saveFixtures,
  type CommandFixture,
  type FixtureBytes,
} from './command/fixtures.js';
export { classifyCommandError, type StderrRule } from './command/classify.js';
export { LocalRunner, type LocalRunnerOptions } from './command/local-runner.js';
export { RecordingRunner, ReplayRunner, type ReplayRunnerOptions } from './command/replay-runner.js';
export type { CommandResult, CommandRunner, RunOptions } from './command/runner.js';
export { quoteShellArg, remoteCommand } from './command/shell-quote.js';
export { RUN_ID_VARIABLE, SshRunner, sshArgv, type SshRunnerOptions } from './command/ssh-runner.js';
export { baseStorageConfigSchema, type StorageConfig, type StorageConfigSchema } from './config/base-schema.js';
export {
  boolOption,
  contentOption,
  contentTypeSchema,
  type ContentTypeValues,
  FIXED_META_KEY,
  fixedKeys,
  fixedOption,
  intOption,
  listOption,
  nodeNameSchema,
} from './config/options.js';
export { readStorageConfigFile, writeStorageConfigFile } from './config/file.js';
export {
  addStorageCfgSection,
  parseStorageCfgDocument,
  removeStorageCfgSection,
  updateStorageCfgSection,
  type StorageCfgDocument,
  type StorageCfgDocumentSection,
} from './config/document.js';
export { FileConfigStore, type FileConfigStoreOptions } from './config/file-store.js';
export { MemoryConfigStore } from './config/memory-store.js';
export { configToSection, formatStorageCfg, optionText, parseStorageCfg, sectionToConfig, type StorageCfgSection } from './config/section-config.js';
export { applyConfigUpdate, validateStorageConfig, type ConfigSource } from './config/validate.js';
export {
  CommandError,
  ConfigError,
  isCommandError,
  isStorageError,
  STORAGE_ERROR_CODES,
  StorageError,
  type CommandErrorOptions,
  type ConfigIssue,
  type StorageErrorCode,
  type StorageErrorDetails,
  type StorageErrorOptions,
} from './errors.js';
export { lockFileName, StorageLocks, volumeLockFileName, withStorageLock, type StorageLocksOptions, type WithStorageLockOptions } from './lock/storage-locks.js';
export { lockReason, lockSubject, withLock, type LockHandle, type LockHolder, type LockRequest, type LockService } from './lock/service.js';
export type { ChangeFeed, ClusterServices } from './cluster.js';
export type { ConfigSnapshot, ConfigStore } from './config/store.js';
export { currentOwner, formatOwner, ownerState, parseOwner, processStart, type OperationOwner, type OwnerState } from './owner.js';
export {
  assertAttributeValue,
  assertDiskNameFor,
  assertFeature,
  assertSizeFor,
  assertValidSize,
  assertValidSnapshotName,
  MAX_NOTES_BYTES,
  MAX_VOLUME_SIZE,
  SNAPSHOT_NAME_RE,
} from './manager/input.js';
export { ERRNO_CODES, errnoOf, fsError } from './fs-error.js';
export { createDirs, MAX_CREATED_DIRS, removeCreatedDirs, type CreateDirsOptions, type DirOps } from './fs-dirs.js';
export { defaultLockDir, type StorageManagerOptions } from './manager/options.js';
export { MIGRATION_SNAPSHOT, type CopyOptions, type ExportOptions, type ImportOptions } from './manager/transfer-ops.js';
export type { MigrateOptions, MigrateResult } from './manager/migrate.js';
export type { HandoffNode } from './manager/handoff.js';
export { hashingStream, volumeChecksum, type HashingStream } from './nodes/checksum.js';
export { LocalNode } from './nodes/local-node.js';
export type { NodeImage, NodeImportOptions, NodeStorage, StorageNode, VolumeChecksum } from './nodes/node.js';
export { NODE_OPTIONS, parseNodesCfg, readNodeFromCfg } from './nodes/nodes-cfg.js';
export { parseRemoteAnswer, parseRemoteError, remoteStowageArgv, transferFlags, type RemoteStowage } from './nodes/remote.js';
export { SshNode, type SshNodeOptions } from './nodes/ssh-node.js';
export type * from './plugin-types.js';
export { exportRawFile, importRawFile, type RawFileTransferOptions } from './raw-file.js';
export { PluginRegistry } from './registry.js';
export { StorageManager, type SnapshotOption } from './storage-manager.js';
export type { InvalidStorage } from './manager/state.js';
export { type AllocImageOptions, type CloneImageOptions } from './manager/volume-ops.js';
export { StoragePlugin, type StoragePluginClass } from './storage-plugin.js';
export {
  countingStream,
  decodeSizeHeader,
  encodeSizeHeader,
  forwardInto,
  hasSizeHeader,
  negotiateFormat,
  readSizeHeader,
  SIZE_HEADER_BYTES,
  streamDataFormat,
  writeAll,
  type CountingStream,
  type CountingStreamOptions,
  type Forwarder,
} from './transfer.js';
export { withUndo, type RegisterUndo } from './undo.js';
export {
  assertSafeVolname,
  assertValidStoreId,
  assertValidVmid,
  findFreeDiskIndex,
  formatDiskName,
  formatVolumeId,
  isValidStoreId,
  MAX_DISK_INDEX,
  MAX_VMID,
  parseDiskName,
  parseVolumeId,
  type DiskName,
  type VolumeId,
} from './volume-id.js';

/**
 * `@stowage/core`: what an application needs: the {@link StorageManager}, the plugin registry,
 * errors and their codes, storage configuration (`storage.cfg`, config stores), locks and the
 * cluster seams, and the types the manager takes and returns.
 *
 * Plugin authors also import `@stowage/core/plugin` (the base class, the context, command
 * runners and helpers); tests import `@stowage/core/testing` (the conformance kit, the memory
 * plugin, the replay and fault-injecting runners).
 *
 * @packageDocumentation
 */
export { API_AGE, API_VERSION, assertCompatibleApi } from './api-version.js';
export {
  CONTENT_TYPES,
  FEATURES,
  hasFeature,
  STREAM_FORMATS,
  type ContentType,
  type Feature,
  type FeatureMatrix,
  type FeatureQuery,
  type FlattenCapabilities,
  type PluginCapabilities,
  type StreamFormat,
  type VolumeAttribute,
  type VolumeFormat,
  type VolumeState,
} from './capabilities.js';
export type { StorageConfig } from './config/base-schema.js';
export { readStorageConfigFile, writeStorageConfigFile } from './config/file.js';
export {
  addStorageCfgSection,
  parseStorageCfgDocument,
  removeStorageCfgSection,
  updateStorageCfgSection,
  type StorageCfgDocument,
  type StorageCfgDocumentSection,
  type StorageCfgSection,
} from './config/document.js';
export { FileConfigStore, type FileConfigStoreOptions } from './config/file-store.js';
export { MemoryConfigStore } from './config/memory-store.js';
export { configToSection, formatStorageCfg, optionText, parseStorageCfg, sectionToConfig } from './config/section-config.js';
export { applyConfigUpdate, validateStorageConfig, type ConfigSource } from './config/validate.js';
export type { ConfigMemo } from './config/memo.js';
export { configSchemaOf, loadConfigSchema, loadedConfigSchema, type ConfigSchemaLoader, type ConfigSchemaSource } from './config/schema-source.js';
export {
  CommandError,
  ConfigError,
  isCommandError,
  isStorageError,
  STORAGE_ERROR_CODES,
  StorageError,
  type AlreadyExistsDetails,
  type CommandErrorOptions,
  type CommandFailedDetails,
  type CommonErrorDetails,
  type ConfigInvalidDetails,
  type ConfigIssue,
  type CorruptDetails,
  type InternalDetails,
  type InUseDetails,
  type InvalidStateDetails,
  type InvalidArgumentDetails,
  type LockTimeoutDetails,
  type NotFoundDetails,
  type NotSupportedDetails,
  type SnapshotBlockersDetails,
  type StorageErrorCode,
  type StorageErrorDetails,
  type StorageErrorDetailsMap,
  type StorageErrorOptions,
} from './errors.js';
export { lockFileName, StorageLocks, volumeLockFileName, withStorageLock, type StorageLocksOptions, type WithStorageLockOptions } from './lock/storage-locks.js';
export { lockReason, lockSubject, withLock, type LockHandle, type LockHolder, type LockRequest, type LockService } from './lock/service.js';
export type { ChangeFeed, ClusterServices } from './cluster.js';
export type { ConfigSnapshot, ConfigStore } from './config/store.js';
export { defaultLockDir, type StorageManagerOptions } from './manager/options.js';
export { MIGRATION_SNAPSHOT } from './manager/snapshot-names.js';
export type { CopyOptions, ExportOptions, ImportOptions } from './manager/transfer-ops.js';
export type { MigrateOptions, MigrateResult } from './manager/migrate.js';
export type { ReplicateOptions, ReplicateResult } from './manager/replicate.js';
export { parseReplicationSnapshot, replicationSnapshotName, replicationSnapshotsFor, type ReplicationSnapshot } from './manager/replication-names.js';
export type { HandoffNode } from './manager/handoff.js';
export { hashingStream, volumeChecksum, type HashingStream, type VolumeExporter } from './nodes/checksum.js';
export { descriptorInput } from './descriptor-input.js';
export { LocalNode } from './nodes/local-node.js';
export type { NodeImage, NodeImportOptions, NodeStorage, ReceivedVolume, ReceiveOptions, StorageNode, VolumeChecksum } from './nodes/node.js';
export { NODE_OPTIONS, parseNodesCfg, readNodeFromCfg } from './nodes/nodes-cfg.js';
export { parseReceiveReady, parseRemoteAnswer, parseRemoteError, receiveArgs, remoteStowageArgv, transferFlags, type RemoteStowage } from './nodes/remote.js';
export { SshNode, type SshNodeOptions } from './nodes/ssh-node.js';
export type {
  AttributeValue,
  GarbageItem,
  GarbageReport,
  ImageInfo,
  Logger,
  ParsedVolume,
  Progress,
  ProgressCallback,
  ReadBack,
  SnapshotInfo,
  StorageStatus,
  BackupSubtype,
  GuestType,
  GuestTypes,
  PathVolumeId,
  VolumeListEntry,
  VolumePath,
  VolumeSizeInfo,
} from './plugin-types.js';
export { PluginRegistry } from './registry.js';
export { StorageManager, type ListImagesFilter, type SnapshotOption } from './storage-manager.js';
export type { FlattenOptions } from './manager/flatten-ops.js';
export type { FreeImageOptions, FreeImageResult } from './manager/free-ops.js';
export type { InUse } from './manager/in-use.js';
export type { PruneKept, PruneKeepReason, PruneOptions, PruneReport } from './manager/prune.js';
export type { InvalidStorage } from './manager/state.js';
export type { AllocImageOptions, CloneImageOptions } from './manager/volume-ops.js';
export type { StoragePluginClass } from './storage-plugin.js';
export {
  assertValidStoreId,
  assertValidVmid,
  formatVolumeId,
  isValidStoreId,
  MAX_VMID,
  parseVolumeId,
  type VolumeId,
} from './volume-id.js';

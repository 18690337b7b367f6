/**
 * `@stowage/core/plugin`: what a plugin author needs besides the types of `@stowage/core`: the
 * {@link StoragePlugin} base class, the {@link PluginContext} and request shapes, command
 * runners, and the helpers for streams, files, names, owners and undo. The zod building blocks of
 * a config schema are in `@stowage/core/config`, so that a plugin's runtime modules load no zod.
 *
 * @packageDocumentation
 */
export { OperationCache, TtlCache, type CachedValue, type TtlCacheOptions } from './cache.js';
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
  classifyCommandError,
  defineFailureClassifier,
  firstStderrLine,
  type FailureClassifier,
  type FailureClassifierOptions,
  type StderrRule,
} from './command/classify.js';
export { LocalRunner, type LocalRunnerOptions } from './command/local-runner.js';
export type { CommandResult, CommandRunner, RunOptions } from './command/runner.js';
export { quoteShellArg, remoteCommand } from './command/shell-quote.js';
export { RUN_ID_VARIABLE, SshRunner, sshArgv, type SshRunnerOptions } from './command/ssh-runner.js';
export type { StorageConfigSchema } from './config/schema-source.js';
export type { ContentTypeValues } from './config/options.js';
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
export { hiddenTemplateError } from './manager/hidden.js';
export { localFileSystem, type FileSystem } from './file-system.js';
export { imageContent, imageFacts, imageListEntries } from './guests.js';
export { createDirs, MAX_CREATED_DIRS, removeCreatedDirs, type CreateDirsOptions, type DirOps } from './fs-dirs.js';
export type {
  ActivateVolumeRequest,
  AllocImageRequest,
  CloneImageRequest,
  CollectGarbageRequest,
  CreateBaseRequest,
  FindFreeDisknameRequest,
  FreeImageRequest,
  GetAttributeRequest,
  HasFeatureRequest,
  ListImagesRequest,
  ListVolumesRequest,
  PathRequest,
  PathToVolnameRequest,
  PluginContext,
  RenameVolumeRequest,
  SnapshotDeleteRequest,
  SnapshotRequest,
  SnapshotFlattenRequest,
  FlattenImageRequest,
  SnapshotRollbackRequest,
  TransferFormatsRequest,
  TransferOptions,
  UpdateAttributeRequest,
  VolumeExportRequest,
  VolumeImportRequest,
  ReadBack,
  VolumeRequest,
  VolumeResizeRequest,
} from './plugin-types.js';
export { exactLength, overLong, truncated, type ExactLengthOptions, type ExactLengthStream } from './exact-length.js';
export { runWithExactInput, watchInput, type ExactInputOptions } from './exact-input.js';
export { exportRawFile, importRawFile, type RawFileTransferOptions } from './raw-file.js';
export { reportProgress } from './progress.js';
export { FLUSH_BEHIND_BYTES, isAllZero, SPARSE_BLOCK, SPARSE_WRITE_BATCH, writeSparse, writeSparseBlocks, writeSparseStream, type WriteSparseBlocksOptions, type WriteSparseStreamOptions } from './sparse.js';
export { blockSource, DESCRIPTOR_BLOCK_BYTES, descriptorInput, type BlockSource } from './descriptor-input.js';
export { directSource, isDirectSource, sendInto, type FillSink } from './direct-source.js';
export { checksumReadBack, readBackRange, trackedReadBack, type ChecksumReadBack, type TrackedReadBack } from './read-back.js';
export { StoragePlugin } from './storage-plugin.js';
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
  type CountingStream,
  type CountingStreamOptions,
  type Forwarder,
} from './transfer.js';
export { undoing, withUndo, type RegisterUndo } from './undo.js';
export { writeAll } from './write-all.js';
export {
  assertSafeVolname,
  baseNameFor,
  findFreeDiskIndex,
  formatDiskName,
  MAX_DISK_INDEX,
  parseDiskName,
  type DiskName,
} from './volume-id.js';

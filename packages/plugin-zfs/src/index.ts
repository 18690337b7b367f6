/**
 * `@stowage/plugin-zfs`: ZFS pools as stowage storage (Proxmox's `zfspool`): zvols for VM
 * disks, file systems with a quota for containers.
 *
 * @packageDocumentation
 */
export { zfsPoolCapabilities } from './capabilities.js';
export {
  DATASET_FIELDS,
  INCOMPLETE_PROPERTY,
  ddReadArgs,
  ddWriteArgs,
  MiB,
  refquotaValue,
  SNAPSHOT_FIELDS,
  testBlockDeviceArgs,
  toKiB,
  udevSettleArgs,
  zfsCloneArgs,
  zfsCreateSubvolArgs,
  zfsCreateVolumeArgs,
  zfsDestroyArgs,
  zfsGetArgs,
  zfsInheritArgs,
  zfsListChildrenArgs,
  zfsListDatasetArgs,
  zfsListSnapshotsArgs,
  zfsMountArgs,
  zfsRecvArgs,
  zfsRenameArgs,
  zfsRollbackArgs,
  zfsSendArgs,
  zfsSetArgs,
  zfsSnapshotArgs,
  zfsUnmountArgs,
  zpoolImportArgs,
  zpoolListArgs,
  zvolSize,
  type SendSpec,
  type ZvolSpec,
} from './commands.js';
export { blockSizeBytes, blockSizeSchema, poolNameProblem, zfsPoolConfigSchema, zfsPoolNameSchema, type ZfsPoolConfig } from './config.js';
export { classifyZfsError, classifyZfsStderr, listedDatasets, ZFS_FAILURE_CODES, zfsFailureOf, type ZfsFailure } from './errors.js';
export { DEFAULT_TUNING, type ZfsContext, type ZfsTuning } from './exec.js';
export {
  BASE_SNAPSHOT,
  datasetOf,
  freeDiskName,
  isVolumeName,
  MAX_VOLUME_NAME,
  parentOf,
  parseZfsVolname,
  snapshotOf,
  subvolPath,
  volnameOf,
  zvolPath,
} from './names.js';
export { parseDatasetList, parseNumber, parsePoolUsage, parsePropertyValues, parseSnapshotList, type DatasetRecord, type SnapshotRecord } from './parse.js';
export { destroyIdentified, identify, incompleteMark, markWhole, type MadeDataset } from './unfinished.js';
export { ZfsPoolPlugin } from './zfs-plugin.js';

/**
 * `@stowage/plugin-lvmthin`: LVM thin pools as stowage storage (Proxmox's `lvmthin`).
 *
 * @packageDocumentation
 */
export { lvmThinCapabilities } from './capabilities.js';
export {
  blockdevSizeArgs,
  ddReadArgs,
  ddWriteArgs,
  lvchangeActivateArgs,
  lvchangeBaseArgs,
  lvchangeDeactivateArgs,
  lvchangeDeltagArgs,
  lvchangeUnbaseArgs,
  lvcreateSnapshotArgs,
  lvcreateThinArgs,
  lvextendArgs,
  lvremoveArgs,
  lvremoveByUuidArgs,
  lvrenameArgs,
  lvsArgs,
  LVS_FIELDS,
  toKiB,
  udevadmSettleArgs,
  vgsArgs,
  VGS_FIELDS,
  type ThinLvSpec,
  type ThinSnapshotSpec,
} from './commands.js';
export {
  applyRangeLine,
  applyRangesArgs,
  dmName,
  metadataSnapArgs,
  readRangesArgs,
  readRangesInput,
  thinDeltaArgs,
  thinDumpArgs,
  tmetaPath,
  tpoolDevice,
  tpoolStatusArgs,
} from './delta-commands.js';
export {
  assertDeltaRanges,
  DELTA_DIGEST_BYTES,
  DELTA_HEADER_BYTES,
  DELTA_MAGIC,
  DELTA_RECORD_BYTES,
  DELTA_VERSION,
  deltaEncoder,
  encodeDeltaHeader,
  readDelta,
  type DeltaEvent,
  type DeltaHeader,
  type DeltaRange,
  type DeltaSummary,
} from './delta-frame.js';
export {
  fullRanges,
  incrementRanges,
  parseHeldMetadataRoot,
  parseThinDelta,
  parseThinDump,
  type BlockRun,
  type DiffRun,
  type ThinDelta,
  type ThinDump,
} from './delta-parse.js';
export { lvmNameSchema, lvmThinConfigSchema, type LvmThinConfig } from './config.js';
export { classifyLvmError, classifyLvmStderr, LVM_FAILURE_CODES, lvmFailureOf, type LvmFailure } from './errors.js';
export { LvmThinPlugin } from './lvmthin-plugin.js';
export { incompleteOwner, INCOMPLETE_TAG_PREFIX, lvDevicePath, parseLvmThinVolname, snapshotLvName, splitSnapshotLvName } from './names.js';
export { parseBlockdevSize, parseLvsReport, parseVgsReport, type LvRecord, type VgRecord } from './parse.js';
export { PoolView, usedBytes, type PoolHealth, type PoolUsage, type SnapshotLv } from './pool-view.js';

/**
 * qcow2 internal snapshots: create, list (with creation time), roll back to any, delete.
 *
 * @module
 */
import { StorageError, type ParsedVolume, type SnapshotInfo } from '@stowage/core';
import type { SnapshotDeleteRequest, SnapshotRequest, SnapshotRollbackRequest, VolumeRequest } from '@stowage/core/plugin';
import { qemuImgInfoArgs, qemuImgSnapshotArgs } from './commands.js';
import { assertImage, runTool, volumePath, type DirEnv } from './exec.js';
import { admitImage, type AdmittedImage, type AdmittedPath } from './gate.js';
import { parseQemuImgInfo } from './parse.js';

/**
 * Throws `NOT_SUPPORTED` unless the volume is a qcow2 image (the only format with snapshots here).
 *
 * @param volume - the parsed volume
 * @param what - the operation, for the message
 */
export function assertQcow2(volume: ParsedVolume, what: string): void {
  assertImage(volume, what);
  if (volume.format !== 'qcow2') {
    throw new StorageError('NOT_SUPPORTED', `can't ${what} this image format (${String(volume.format)}): on a directory storage only qcow2 images have snapshots`, {
      details: { volname: volume.volname, format: volume.format },
    });
  }
}

async function snapshotsAt(env: DirEnv, path: AdmittedPath): Promise<SnapshotInfo[]> {
  const { stdout } = await runTool(env, qemuImgInfoArgs(path, 'qcow2'));
  return [...parseQemuImgInfo(stdout).snapshots];
}

/**
 * The image, admitted by the gate, for an operation that changes its snapshots: QEMU has no
 * internal snapshots for a qcow2 whose data lives in an external data file (`qemu-img` fails
 * with "-95"), so that is `NOT_SUPPORTED` before any command runs.
 *
 * @param env - the call's environment
 * @param volume - the qcow2 image
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, and what {@link admitImage} throws
 */
export async function snapshottable(env: DirEnv, volume: ParsedVolume): Promise<AdmittedImage> {
  const admitted = await admitImage(env, volume);
  const { probe } = admitted;
  if (probe.qcow2?.dataFile !== undefined) {
    throw new StorageError('NOT_SUPPORTED', `'${volume.volname}' keeps its data in an external data file: qcow2 internal snapshots are not possible`, {
      details: { volname: volume.volname, dataFile: probe.qcow2.dataFile },
    });
  }
  return admitted;
}

function missing(volume: ParsedVolume, snapshot: string): never {
  throw new StorageError('NOT_FOUND', `snapshot '${snapshot}' of '${volume.volname}' does not exist`, { details: { volname: volume.volname, snapshot } });
}

/**
 * Lists a qcow2 image's internal snapshots, oldest first, with their creation time.
 *
 * @param env - the call's environment
 * @param request - the image
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (not qcow2), `NOT_FOUND`, `CORRUPT`, `COMMAND_FAILED`
 * @see Proxmox `volume_snapshot_info`
 */
export async function volumeSnapshotInfo(env: DirEnv, request: VolumeRequest): Promise<SnapshotInfo[]> {
  const { volume } = request;
  assertQcow2(volume, 'list snapshots of');
  return snapshotsAt(env, (await admitImage(env, volume)).path);
}

/**
 * Takes an internal snapshot (`qemu-img snapshot -c`).
 *
 * @param env - the call's environment
 * @param request - the image and the snapshot name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS` when the name is taken (qcow2 itself would allow
 *   duplicates; the manager runs this under the volume's lock, so the check holds), `NOT_SUPPORTED`
 *   (not qcow2, or an external data file), `NOT_FOUND`, `CORRUPT` (refused by the gate), `BUSY`
 *   (another process holds the image), `NO_SPACE`, `COMMAND_FAILED`
 * @see Proxmox `volume_snapshot`
 */
export async function volumeSnapshot(env: DirEnv, request: SnapshotRequest): Promise<void> {
  const { volume, snapshot } = request;
  assertQcow2(volume, 'snapshot');
  const { path } = await snapshottable(env, volume);
  if ((await snapshotsAt(env, path)).some((s) => s.name === snapshot)) {
    throw new StorageError('ALREADY_EXISTS', `snapshot '${snapshot}' of '${volume.volname}' already exists`, { details: { volname: volume.volname, snapshot } });
  }
  await runTool(env, qemuImgSnapshotArgs('create', path, snapshot));
}

/**
 * Rolls an image back to any of its snapshots (`qemu-img snapshot -a`); newer snapshots stay.
 *
 * @param env - the call's environment
 * @param request - the image and the snapshot
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (image or snapshot), `NOT_SUPPORTED`, `CORRUPT`, `BUSY`,
 *   `COMMAND_FAILED`
 * @see Proxmox `volume_snapshot_rollback`
 */
export async function volumeSnapshotRollback(env: DirEnv, request: SnapshotRollbackRequest): Promise<void> {
  const { volume, snapshot } = request;
  assertQcow2(volume, 'roll back');
  const { path } = await snapshottable(env, volume);
  if (!(await snapshotsAt(env, path)).some((s) => s.name === snapshot)) missing(volume, snapshot);
  await runTool(env, qemuImgSnapshotArgs('apply', path, snapshot));
}

/**
 * Deletes a snapshot (`qemu-img snapshot -d`). When a running guest holds the image, nothing is
 * done here: QEMU deletes it.
 *
 * @param env - the call's environment
 * @param request - the image, the snapshot, whether its guest runs
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (image or snapshot), `NOT_SUPPORTED`, `CORRUPT`, `BUSY`,
 *   `COMMAND_FAILED`
 * @see Proxmox `volume_snapshot_delete`
 */
export async function volumeSnapshotDelete(env: DirEnv, request: SnapshotDeleteRequest): Promise<void> {
  const { volume, snapshot } = request;
  assertQcow2(volume, 'delete snapshots of');
  if (request.running) {
    await volumePath(env, volume);
    return;
  }
  const { path } = await snapshottable(env, volume);
  if (!(await snapshotsAt(env, path)).some((s) => s.name === snapshot)) missing(volume, snapshot);
  await runTool(env, qemuImgSnapshotArgs('delete', path, snapshot));
}

/**
 * Replicating a volume on local storage to another node, as Proxmox's `pvesr` does for ZFS: both
 * sides keep a replication snapshot (`__replicate_<node>_<stamp>__`); the first run sends the
 * whole volume as of a new one, every later run only what changed since the newest one both
 * sides have, in a stream format negotiated with the node (`zfs` increments; `lvmthin-delta`
 * ranges read from the thin pool's metadata). The source stays; the node's copy is a replica
 * that follows it.
 *
 * A run that fails (or is aborted) at any point leaves both sides at their last good replication
 * state: the node's import undoes what it did (a ZFS receive is rolled back, an LVM-thin delta
 * is applied to a new thin snapshot that is dropped), the new snapshot is removed from the
 * source, and the older replication snapshots are dropped only once the node has the new one.
 *
 * @module
 */
import type { StreamFormat } from '../capabilities.js';
import { StorageError, isStorageError } from '../errors.js';
import type { StorageNode } from '../nodes/node.js';
import type { Logger, ParsedVolume, ProgressCallback, SnapshotInfo, TransferOptions, VolumeSizeInfo } from '../plugin-types.js';
import type { StoragePlugin } from '../storage-plugin.js';
import { negotiateFormat } from '../transfer.js';
import { formatVolumeId } from '../volume-id.js';
import { checkNodeSpace, withoutCopy } from '../nodes/receive.js';
import { sendToNode, type NodeSource } from './node-transfer.js';
import { replicationSnapshotName, replicationSnapshotsFor } from './replication-names.js';
import { asAbortError } from './transfer-ops.js';

/** What a replication needs of the source's manager (a `StorageManager` has all of it). */
export interface ReplicationSource extends NodeSource {
  /** Parses a volid with its storage's plugin. */
  parseVolume(volid: string): { storeId: string; volume: ParsedVolume };
  /** The plugin of a storage (its capabilities). */
  pluginFor(storeId: string): Pick<StoragePlugin, 'capabilities'>;
  /** Size and usage of a volume. */
  volumeSizeInfo(volid: string): Promise<VolumeSizeInfo>;
  /** A volume's snapshots, oldest first. */
  volumeSnapshotInfo(volid: string): Promise<SnapshotInfo[]>;
  /** Formats the volume can be exported in, for these snapshot options. */
  volumeExportFormats(volid: string, options?: TransferOptions): Promise<StreamFormat[]>;
  /** Deletes a snapshot. */
  volumeSnapshotDelete(volid: string, snapshot: string): Promise<void>;
}

/** What only the manager itself can do for a replication. */
export interface ReplicationInternals {
  /** Takes a replication snapshot (a name users cannot give), under the volume's lock. */
  takeSnapshot(volid: string, snapshot: string): Promise<void>;
  /** Where failures to drop old snapshots are reported. */
  readonly log: Logger;
}

/** Options of {@link StorageManager.replicateVolume}. */
export interface ReplicateOptions {
  /** Where the replica is. */
  readonly toNode: StorageNode;
  /** The node's storage to keep it on. @default the source's storage id */
  readonly storage?: string | undefined;
  /** Receives `{ done, total }` in stream bytes as they are sent (`total` unknown for snapshot streams). */
  readonly onProgress?: ProgressCallback | undefined;
  /** Aborts the run (code `ABORTED`): both sides stay at their last replication state. */
  readonly signal?: AbortSignal | undefined;
}

/** What {@link StorageManager.replicateVolume} did. */
export interface ReplicateResult {
  /** The replica's id on the node. */
  readonly volid: string;
  /** The source (it stays). */
  readonly from: string;
  /** The node's name. */
  readonly node: string;
  /** The stream format used. */
  readonly format: StreamFormat;
  /** `full` for a first run (or after the replica was removed), `incremental` otherwise. */
  readonly mode: 'full' | 'incremental';
  /** The replication snapshot both sides have now. */
  readonly snapshot: string;
  /** The replication snapshot the increment was taken from (both sides had it); absent for a full run. */
  readonly baseSnapshot?: string | undefined;
  /** Stream bytes sent. */
  readonly bytes: number;
  /** Older replication snapshots for this node dropped after the run (from both sides). */
  readonly dropped: readonly string[];
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StorageError('ABORTED', 'the replication was aborted', { cause: signal.reason });
}

/** The node's side before a run: whether it has the replica, and the base both sides share. */
interface Plan {
  readonly exists: boolean;
  readonly base: string | undefined;
  /** Replication snapshots for this node on the replica up to the base. */
  readonly kept: readonly string[];
  /** Replication snapshots for this node on the replica that are newer than the base (a run the source forgot). */
  readonly orphans: readonly string[];
}

async function plan(node: StorageNode, target: string, ours: readonly string[], volid: string): Promise<Plan> {
  if ((await node.findImage(target)) === undefined) return { exists: false, base: undefined, kept: [], orphans: [] };
  const theirs = replicationSnapshotsFor(node.name, await node.snapshots(target));
  const base = [...ours].reverse().find((name) => theirs.some((s) => s.name === name));
  if (base === undefined) {
    throw new StorageError('ALREADY_EXISTS', `node '${node.name}' has '${target}' but no replication snapshot in common with '${volid}': free it there to replicate from scratch`, {
      details: { volid: target, node: node.name, snapshots: theirs.map((s) => s.name) },
    });
  }
  const stamp = theirs.find((s) => s.name === base)!.stamp;
  return { exists: true, base, kept: theirs.filter((s) => s.stamp <= stamp).map((s) => s.name), orphans: theirs.filter((s) => s.stamp > stamp).map((s) => s.name) };
}

/**
 * Replicates a volume to another node (see {@link StorageManager.replicateVolume}).
 *
 * @param source - the source's manager
 * @param own - the manager's internal snapshot and its log
 * @param volid - the volume
 * @param options - node, target storage, progress, signal
 * @returns what was sent and which snapshots both sides keep
 */
export async function replicateVolume(source: ReplicationSource, own: ReplicationInternals, volid: string, options: ReplicateOptions): Promise<ReplicateResult> {
  aborted(options.signal);
  const node = options.toNode;
  const { storeId, volume } = source.parseVolume(volid);
  if (volume.vtype !== 'images') throw new StorageError('NOT_SUPPORTED', `only disk images replicate; '${volid}' is ${volume.vtype}`, { details: { volid } });
  if (source.pluginFor(storeId).capabilities.shared) {
    throw new StorageError('NOT_SUPPORTED', `'${volid}' is on shared storage, which every node sees: nothing to replicate`, { details: { volid, storeId } });
  }
  const storage = options.storage ?? storeId;
  const target = formatVolumeId(storage, volume.volname);
  const ours = replicationSnapshotsFor(node.name, (await source.volumeSnapshotInfo(volid)).map((s) => s.name));
  const [before, status, info] = await Promise.all([
    plan(node, target, ours.map((s) => s.name), volid),
    node.status(storage),
    source.volumeSizeInfo(volid),
  ]);
  checkNodeSpace(node.name, storage, status, before.exists ? undefined : (info.used ?? info.size));

  const snapshot = replicationSnapshotName(node.name, Math.max(Date.now(), (ours.at(-1)?.stamp ?? 0) + 1));
  const transfer: TransferOptions = { snapshot, baseSnapshot: before.base };
  const [exportFormats, importFormats] = await Promise.all([source.volumeExportFormats(volid, transfer), node.importFormats(target, transfer)]);
  const format = negotiateFormat(exportFormats, importFormats);
  aborted(options.signal);

  // a run whose snapshot reached the node but which failed here afterwards: its snapshot is in the way
  for (const orphan of before.orphans) await node.deleteSnapshot(target, orphan);
  await own.takeSnapshot(volid, snapshot);
  let sent;
  try {
    sent = await sendToNode(source, volid, { node, transfer, onProgress: options.onProgress, signal: options.signal }, async (open, signal) => ({
      volid: await node.importVolume(target, { ...transfer, format, input: open(format), signal }),
    }));
    if (!(await node.snapshots(sent.volid)).includes(snapshot)) {
      const error = new StorageError('CORRUPT', `the replica '${sent.volid}' on node '${node.name}' did not keep snapshot '${snapshot}'`, {
        details: { volid: sent.volid, node: node.name, snapshot, format },
      });
      throw before.exists ? error : await withoutCopy(node, sent.volid, error);
    }
  } catch (e) {
    await drop(own.log, snapshot, `'${volid}'`, () => source.volumeSnapshotDelete(volid, snapshot));
    throw asAbortError(e, options.signal);
  }

  // both sides have the new snapshot: the older ones for this node go (on the node first)
  const dropped: string[] = [];
  const mine = ours.map((s) => s.name);
  for (const old of new Set([...before.kept, ...mine])) {
    const gone =
      (!before.kept.includes(old) || (await drop(own.log, old, `'${target}' on node '${node.name}'`, () => node.deleteSnapshot(target, old)))) &&
      (!mine.includes(old) || (await drop(own.log, old, `'${volid}'`, () => source.volumeSnapshotDelete(volid, old))));
    if (gone) dropped.push(old);
  }
  return {
    volid: sent.volid,
    from: volid,
    node: node.name,
    format,
    mode: before.base === undefined ? 'full' : 'incremental',
    snapshot,
    ...(before.base !== undefined ? { baseSnapshot: before.base } : {}),
    bytes: sent.bytes,
    dropped,
  };
}

/** Deletes a replication snapshot that is no longer needed; a failure is logged (the next run drops it), a missing one counts as deleted. */
async function drop(log: Logger, snapshot: string, where: string, remove: () => Promise<void>): Promise<boolean> {
  try {
    await remove();
    return true;
  } catch (e) {
    if (isStorageError(e, 'NOT_FOUND')) return true;
    log.warn(`could not delete replication snapshot '${snapshot}' of ${where}`, { error: e instanceof Error ? e.message : String(e) });
    return false;
  }
}

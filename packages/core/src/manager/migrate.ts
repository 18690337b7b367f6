/**
 * Moving a volume on local storage to another node, in one exchange with it
 * ({@link StorageNode.receiveVolume}): the node checks its storage and free space and chooses
 * the stream format from the source's offer, the export streams into its import, the node reads
 * its copy back (for `raw+size` the SHA-256 of the data, compared here with the SHA-256 of the
 * source, read in a pass of its own that starts with the exchange, while the ssh session and the
 * node start; for other formats its size), and only then is the source freed. Whatever fails, and an
 * abort at any point, leaves the source as it was and nothing on the node: a failed import
 * removes what it made (the node's guarantee), and a copy that was imported but did not check
 * out, or whose source could not be freed, is freed again.
 *
 * @module
 */
import type { StreamFormat } from '../capabilities.js';
import { StorageError } from '../errors.js';
import { volumeChecksum } from '../nodes/checksum.js';
import type { ReceivedVolume, StorageNode, VolumeChecksum } from '../nodes/node.js';
import type { ParsedVolume, ProgressCallback, TransferOptions, VolumeSizeInfo } from '../plugin-types.js';
import type { StoragePlugin } from '../storage-plugin.js';
import { SIZE_HEADER_BYTES } from '../transfer.js';
import { formatVolumeId, parseVolumeId } from '../volume-id.js';
import { withoutCopy } from '../nodes/receive.js';
import { sendToNode } from './node-transfer.js';
import { asAbortError, type ExportOptions } from './transfer-ops.js';

/**
 * What a migration needs of the source's manager (a `StorageManager` has all of it); declared
 * here so that this module does not import the manager's class.
 */
interface SourceManager {
  parseVolume(volid: string): { storeId: string; volume: ParsedVolume };
  pluginFor(storeId: string): Pick<StoragePlugin, 'imageVolname'>;
  volumeSizeInfo(volid: string): Promise<VolumeSizeInfo>;
  volumeExportFormats(volid: string, options?: TransferOptions): Promise<StreamFormat[]>;
  volumeExport(volid: string, options: ExportOptions): Promise<void>;
  freeImage(volid: string): Promise<void>;
}

/** Options of {@link StorageManager.migrateVolume}. */
export interface MigrateOptions {
  /** Where the volume goes. */
  readonly toNode: StorageNode;
  /** The node's storage to put it on. @default the source's storage id */
  readonly storage?: string | undefined;
  /**
   * Move a linked clone as a standalone volume (its base's data copied in). Without it, a linked
   * clone moves only when its base is already on the node, with the same data.
   * @default false
   */
  readonly full?: boolean | undefined;
  /** Receives `{ done, total }` in stream bytes as they are sent. */
  readonly onProgress?: ProgressCallback | undefined;
  /** Aborts the migration (code `ABORTED`): the node's copy is removed, the source stays. */
  readonly signal?: AbortSignal | undefined;
}

/** What {@link StorageManager.migrateVolume} did. */
export interface MigrateResult {
  /** The volume's id on the node. */
  readonly volid: string;
  /** The source's id (freed now). */
  readonly from: string;
  /** The node's name. */
  readonly node: string;
  /** The stream format used. */
  readonly format: StreamFormat;
  /** Stream bytes sent. */
  readonly bytes: number;
  /** The SHA-256 of the `raw+size` stream, read from the source and read back from the copy: equal on both sides; absent for other formats (checked by size only). */
  readonly sha256?: string | undefined;
}

/** Streams whose export needs a snapshot on the source; not moved between nodes yet. */
const SNAPSHOT_STREAMS: readonly StreamFormat[] = ['zfs', 'btrfs', 'lvmthin-delta'];

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StorageError('ABORTED', 'the migration was aborted', { cause: signal.reason });
}

/** Where the volume goes on the node, and whether it keeps its link to a base there. */
interface Placement {
  readonly volid: string;
  readonly withSnapshots: boolean;
}

/**
 * Decides the target volid: the source's volname (as Proxmox's `storage_migrate` keeps it) on
 * the target storage. A linked clone keeps its base link only when the node has the same base;
 * with `full` it becomes a standalone volume of the same disk name.
 */
async function place(manager: SourceManager, volid: string, storage: string, options: MigrateOptions, parent: string | undefined): Promise<Placement> {
  const { storeId, volume } = manager.parseVolume(volid);
  if (volume.baseName === undefined || volume.vmid === undefined) return { volid: formatVolumeId(storage, volume.volname), withSnapshots: false };
  if (options.full === true) {
    const own = manager.pluginFor(storeId).imageVolname({ vmid: volume.vmid, name: volume.name });
    return { volid: formatVolumeId(storage, own), withSnapshots: false };
  }
  const base = parent ?? formatVolumeId(storeId, manager.pluginFor(storeId).imageVolname({ vmid: volume.baseVmid ?? volume.vmid, name: volume.baseName }));
  const targetBase = formatVolumeId(storage, parseVolumeId(base).volname);
  const node = options.toNode;
  const refuse = (why: string): never => {
    throw new StorageError('NOT_SUPPORTED', `'${volid}' is a linked clone of '${base}', ${why}: migrate it with full (a standalone copy)`, {
      details: { volid, base, node: node.name, targetBase },
    });
  };
  if ((await node.findImage(targetBase)) === undefined) refuse(`which node '${node.name}' does not have`);
  const [mine, theirs] = await Promise.all([volumeChecksum(manager, base, { signal: options.signal }), node.checksum(targetBase, { signal: options.signal })]);
  if (mine.sha256 !== theirs.sha256) refuse(`and node '${node.name}' holds different data under '${targetBase}'`);
  // the image goes as it is (qcow2+size), backing reference included
  return { volid: formatVolumeId(storage, volume.volname), withSnapshots: true };
}

/**
 * Checks what the node read back from its copy against the source: for `raw+size` the checksum
 * of the copy's data (which also gives its size) against the source's (`sent`, the SHA-256 of
 * its `raw+size` stream); for other formats the size.
 */
function check(node: StorageNode, received: ReceivedVolume, size: number, sent: string | undefined): void {
  const copy = received.volid;
  const corrupt = (what: string, details: Record<string, unknown>): never => {
    throw new StorageError('CORRUPT', `the copy '${copy}' on node '${node.name}' ${what}`, { details: { volid: copy, node: node.name, size, ...details } });
  };
  if (received.size !== size) corrupt(`has ${received.size} bytes, the source ${size}`, { copySize: received.size });
  if (received.format !== 'raw+size') return;
  const sum = received.checksum;
  if (sum === undefined) corrupt('was not read back (no checksum)', {});
  else if (sent === undefined) corrupt('cannot be checked: the source was not read back', {});
  else if (sum.bytes !== SIZE_HEADER_BYTES + size) corrupt(`has ${sum.bytes - SIZE_HEADER_BYTES} bytes, the source ${size}`, { copySize: sum.bytes - SIZE_HEADER_BYTES });
  else if (sum.sha256 !== sent) corrupt(`does not hold the data sent (sha256 ${sum.sha256}, sent ${sent})`, { sha256: sum.sha256, sent });
}

/**
 * Moves a volume to another node (see {@link StorageManager.migrateVolume}).
 *
 * @param manager - the source's manager
 * @param volid - the volume
 * @param options - node, target storage, full, progress, signal
 * @returns the volume's id on the node, the format, bytes and checksum
 */
export async function migrateVolume(manager: SourceManager, volid: string, options: MigrateOptions): Promise<MigrateResult> {
  aborted(options.signal);
  const node = options.toNode;
  const { storeId, volume } = manager.parseVolume(volid);
  if (volume.vtype !== 'images') throw new StorageError('NOT_SUPPORTED', `only disk images migrate; '${volid}' is ${volume.vtype}`, { details: { volid } });
  const storage = options.storage ?? storeId;
  const info = await manager.volumeSizeInfo(volid);
  const target = await place(manager, volid, storage, options, info.parent);
  const transfer = { withSnapshots: target.withSnapshots };
  const offer = (await manager.volumeExportFormats(volid, transfer)).filter((f) => !SNAPSHOT_STREAMS.includes(f));
  aborted(options.signal);

  // the source's checksum, for a raw+size copy: read while the ssh session and the node start
  const source = sourceChecksum(manager, volid, offer, options.signal);
  // one exchange with the node: it checks its storage and space, chooses the format, imports,
  // and reads its copy back
  let sent: Awaited<ReturnType<typeof sendToNode<ReceivedVolume>>>;
  try {
    sent = await sendToNode(manager, volid, { node, transfer, onProgress: options.onProgress, signal: options.signal }, (open, signal) =>
      node.receiveVolume(target.volid, { ...transfer, offer, need: info.used ?? info.size, open, signal }),
    );
  } catch (e) {
    await source?.cancel();
    throw e;
  }
  let sha256: string | undefined;
  try {
    if (sent.format === 'raw+size') sha256 = (await source?.result())?.sha256;
    else await source?.cancel();
    check(node, sent, info.size, sha256);
    aborted(options.signal);
    await manager.freeImage(volid);
  } catch (e) {
    throw await withoutCopy(node, sent.volid, asAbortError(e, options.signal));
  }
  return { volid: sent.volid, from: volid, node: node.name, format: sent.format, bytes: sent.bytes, ...(sha256 !== undefined ? { sha256 } : {}) };
}

/** The source's checksum being read: its result, or a cancel that stops the read and waits for it. */
interface SourceChecksum {
  result(): Promise<VolumeChecksum>;
  cancel(): Promise<void>;
}

/**
 * Starts reading the source's `raw+size` checksum when `raw+size` is offered (a second pass over
 * the source, beside the one that sends it: what the node's read-back is compared with); nothing
 * otherwise (`check` then refuses a `raw+size` copy it cannot compare).
 */
function sourceChecksum(manager: SourceManager, volid: string, offer: readonly StreamFormat[], signal: AbortSignal | undefined): SourceChecksum | undefined {
  if (!offer.includes('raw+size')) return undefined;
  const stop = new AbortController();
  const reading = volumeChecksum(manager, volid, { signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal });
  reading.catch(() => undefined); // awaited by result() or cancel()
  return {
    result: () => reading,
    cancel: async () => {
      stop.abort();
      await reading.catch(() => undefined);
    },
  };
}

/**
 * The node's side of a migration, in one exchange: check the target storage, choose the format,
 * import the stream, read the new volume back. {@link LocalNode} runs it in this process; a
 * node's `stowage receive` runs it there, for an {@link SshNode} on the other end of ssh. And
 * freeing a node's copy again after a later step failed (here, or in a migration or replication).
 *
 * @module
 */
import { StorageError, isStorageError } from '../errors.js';
import type { StorageStatus, TransferOptions } from '../plugin-types.js';
import { negotiateFormat, SIZE_HEADER_BYTES } from '../transfer.js';
import { parseVolumeId } from '../volume-id.js';
import { checksumReadBack } from '../read-back.js';
import type { ReceivedVolume, ReceiveOptions, StorageNode } from './node.js';

/**
 * Checks that a node's storage can take a new volume: active, and with `need` bytes free.
 *
 * @param node - the node's name, for messages and details
 * @param storage - the storage
 * @param status - its usage
 * @param need - bytes needed; not checked when `undefined`
 * @throws {@link StorageError} `UNAVAILABLE` (not active), `NO_SPACE` (`details.available`, `details.needed`)
 */
export function checkNodeSpace(node: string, storage: string, status: StorageStatus, need: number | undefined): void {
  if (!status.active) throw new StorageError('UNAVAILABLE', `storage '${storage}' on node '${node}' is not active`, { details: { node, storage } });
  if (need !== undefined && status.available < need) {
    throw new StorageError('NO_SPACE', `storage '${storage}' on node '${node}' has ${status.available} bytes free, ${need} are needed`, {
      details: { node, storage, available: status.available, needed: need },
    });
  }
}

/** What {@link receiveOnNode} asks of the node it runs on. */
export type ReceivingNode = Pick<StorageNode, 'name' | 'status' | 'importFormats' | 'importVolume' | 'checksum' | 'findImage' | 'freeImage'>;

/**
 * Receives a volume on a node whose manager is in this process (see
 * {@link StorageNode.receiveVolume}). The check after the import reads the new volume back: for
 * `raw+size` the SHA-256 of its `raw+size` stream (what the sender compares with its source's),
 * for other formats its virtual size. The data is read back from the storage once it is
 * flushed: by the plugin during the import, part by part as it flushes, when it can (a `readBack`,
 * see `VolumeImportRequest.readBack`), else through the node's own export after it.
 *
 * @param node - the node, answering for its manager
 * @param volid - the target volume
 * @param options - offer, space needed, the stream opener, snapshot options, signal
 * @returns what was made, with what was read back
 * @throws as {@link StorageNode.receiveVolume}
 */
export async function receiveOnNode(node: ReceivingNode, volid: string, options: ReceiveOptions): Promise<ReceivedVolume> {
  const { storeId } = parseVolumeId(volid);
  const transfer: TransferOptions = { snapshot: options.snapshot, baseSnapshot: options.baseSnapshot, withSnapshots: options.withSnapshots };
  const [status, formats] = await Promise.all([node.status(storeId), node.importFormats(volid, transfer)]);
  checkNodeSpace(node.name, storeId, status, options.need);
  const format = negotiateFormat(options.offer, formats);
  const readBack = format === 'raw+size' ? checksumReadBack() : undefined;
  const written = await node.importVolume(volid, { ...transfer, format, input: options.open(format), signal: options.signal, readBack });
  try {
    if (readBack !== undefined) {
      const readDuringImport = readBack.result();
      const checksum = readDuringImport ? { volid: written, format: 'raw+size' as const, ...readDuringImport } : await node.checksum(written, { signal: options.signal });
      return { volid: written, format, size: checksum.bytes - SIZE_HEADER_BYTES, checksum };
    }
    const image = await node.findImage(written);
    if (image === undefined) throw new StorageError('CORRUPT', `the imported volume '${written}' is not there`, { details: { volid: written } });
    return { volid: written, format, size: image.size };
  } catch (e) {
    throw await withoutCopy(node, written, e);
  }
}

/**
 * Frees the node's copy after a later step failed, and returns the error to throw: the original
 * one, or, when the copy could not be freed, the same code with the leftover named.
 *
 * @param node - the node
 * @param copy - the copy's volid on the node
 * @param error - the error that made the copy useless
 * @returns the error to throw
 */
export async function withoutCopy(node: Pick<StorageNode, 'name' | 'freeImage'>, copy: string, error: unknown): Promise<unknown> {
  try {
    await node.freeImage(copy);
    return error;
  } catch (e) {
    const code = isStorageError(error) ? error.code : 'INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    return new StorageError(code, `${message}; the copy '${copy}' on node '${node.name}' could not be removed: ${e instanceof Error ? e.message : String(e)}`, {
      cause: error,
      details: { ...(isStorageError(error) ? error.details : {}), leftover: copy, node: node.name },
    });
  }
}

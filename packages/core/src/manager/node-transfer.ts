/**
 * Streaming a volume into another node's import, shared by migration and replication: export ->
 * count (progress) -> hash -> the node's import, both sides aborted when either fails; and
 * freeing the node's copy again when a later step fails.
 *
 * @module
 */
import type { Writable } from 'node:stream';
import type { StreamFormat } from '../capabilities.js';
import { StorageError, isStorageError } from '../errors.js';
import { hashingStream } from '../nodes/checksum.js';
import type { StorageNode } from '../nodes/node.js';
import type { ProgressCallback, TransferOptions } from '../plugin-types.js';
import { countingStream, hasSizeHeader } from '../transfer.js';
import { copyFailure } from './copy-failure.js';
import { asAbortError, type ExportOptions } from './transfer-ops.js';

/** What sending needs of the source's manager (a `StorageManager` has it). */
export interface NodeSource {
  /** Writes the volume to `options.output`. */
  volumeExport(volid: string, options: ExportOptions): Promise<void>;
}

/** Options of {@link sendToNode}. */
export interface SendToNodeOptions {
  /** The node. */
  readonly node: StorageNode;
  /** The volume on the node to import into. */
  readonly target: string;
  /** The negotiated stream format. */
  readonly format: StreamFormat;
  /** Snapshot options, the same on both sides. */
  readonly transfer: TransferOptions;
  /** Receives `{ done, total }` in stream bytes. */
  readonly onProgress?: ProgressCallback | undefined;
  /** Aborts both sides. */
  readonly signal?: AbortSignal | undefined;
}

/** What {@link sendToNode} sent. */
export interface Sent {
  /** The volid the node wrote. */
  readonly volid: string;
  /** Stream bytes sent. */
  readonly bytes: number;
  /** SHA-256 of the stream sent. */
  readonly sha256: string;
}

function endAndWait(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

function ignore(): void {
  // each side reports its own failure through its promise
}

/**
 * Streams a volume into the node's import, both sides aborted when either fails, and reports
 * the first real error of either side (not the abort it caused on the other). An import that
 * finished while the export failed is freed again on the node.
 *
 * @param source - the source's manager
 * @param volid - the source volume
 * @param options - node, target, format, snapshot options, progress, signal
 * @returns the volid the node wrote, the bytes and the hash of what was sent
 * @throws what failed first (`UNAVAILABLE` for a stream that broke without saying more);
 *   `ABORTED` after an abort
 */
export async function sendToNode(source: NodeSource, volid: string, options: SendToNodeOptions): Promise<Sent> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const counter = countingStream(options.onProgress, undefined, { sizeHeader: hasSizeHeader(options.format) });
  const hash = hashingStream();
  counter.on('error', ignore);
  hash.on('error', ignore);
  counter.pipe(hash);
  const failures: unknown[] = [];
  const failed = (e: unknown): never => {
    failures.push(e);
    stop.abort(e);
    const err = e instanceof Error ? e : new Error(String(e));
    counter.destroy(err);
    hash.destroy(err);
    throw e;
  };
  const { format, transfer } = options;
  const exported = source
    .volumeExport(volid, { ...transfer, format, output: counter, signal })
    .then(() => endAndWait(counter))
    .catch(failed);
  const imported = options.node.importVolume(options.target, { ...transfer, format, input: hash, signal }).catch(failed);
  const [ex, im] = await Promise.allSettled([exported, imported]);
  if (ex.status === 'fulfilled' && im.status === 'fulfilled') return { volid: im.value, ...hash.digest() };
  const error = asAbortError(options.signal?.aborted ? (failures[0] ?? options.signal.reason) : brokenStream(options.node, copyFailure(failures)), options.signal);
  if (im.status === 'fulfilled') throw await withoutCopy(options.node, im.value, error);
  throw error;
}

/** A failure that is no {@link StorageError} (a stream that broke under the transfer) as `UNAVAILABLE`: the node could not be reached for it. */
function brokenStream(node: StorageNode, e: unknown): unknown {
  if (isStorageError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new StorageError('UNAVAILABLE', `the stream to node '${node.name}' broke: ${message}`, { cause: e, details: { node: node.name } });
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
export async function withoutCopy(node: StorageNode, copy: string, error: unknown): Promise<unknown> {
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

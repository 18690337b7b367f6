/**
 * Streaming a volume into another node, shared by migration (`receiveVolume`: the node chooses
 * the format and reads its copy back) and replication (`importVolume` in a format chosen before):
 * export -> count (progress) -> hash -> the node, both sides aborted when either fails.
 *
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import type { StreamFormat } from '../capabilities.js';
import { StorageError, isStorageError } from '../errors.js';
import { hashingStream, type HashingStream } from '../nodes/checksum.js';
import type { StorageNode } from '../nodes/node.js';
import { withoutCopy } from '../nodes/receive.js';
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
  /** Snapshot options of the export. */
  readonly transfer: TransferOptions;
  /** Receives `{ done, total }` in stream bytes. */
  readonly onProgress?: ProgressCallback | undefined;
  /** Aborts both sides. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * How the node takes the stream: call `open(format)` once, when the node is ready to read, and
 * import the stream it returns; resolve with (at least) the volid the node wrote.
 */
export type Deliver<R extends { readonly volid: string }> = (open: (format: StreamFormat) => Readable, signal: AbortSignal) => Promise<R>;

/** What {@link sendToNode} sent, with what the node reported. */
export type Sent<R> = R & {
  /** The stream format sent. */
  readonly format: StreamFormat;
  /** Stream bytes sent. */
  readonly bytes: number;
  /** SHA-256 of the stream sent, taken as it was sent. */
  readonly sha256: string;
};

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
 * Streams a volume into a node: once the node opens the stream (in the format it chose),
 * export -> count (progress) -> hash -> the node's import run at the same time. Both sides are
 * aborted when either fails, and the first real error of either side is reported (not the abort
 * it caused on the other). An import that finished while the export failed is freed again on the
 * node.
 *
 * @param source - the source's manager
 * @param volid - the source volume
 * @param options - node, snapshot options, progress, signal
 * @param deliver - the node's side: `node.importVolume` for a format chosen before, or
 *   `node.receiveVolume`, which chooses it
 * @returns what the node reported, with the format, the bytes and the hash of what was sent
 * @throws what failed first (`UNAVAILABLE` for a stream that broke without saying more);
 *   `ABORTED` after an abort
 */
export async function sendToNode<R extends { readonly volid: string }>(source: NodeSource, volid: string, options: SendToNodeOptions, deliver: Deliver<R>): Promise<Sent<R>> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const failures: unknown[] = [];
  let sending: { format: StreamFormat; counter: Writable; hash: HashingStream; exported: Promise<PromiseSettledResult<void>> } | undefined;
  const failed = (e: unknown): never => {
    failures.push(e);
    stop.abort(e);
    const err = e instanceof Error ? e : new Error(String(e));
    sending?.counter.destroy(err);
    sending?.hash.destroy(err);
    throw e;
  };
  const open = (format: StreamFormat): Readable => {
    if (sending) throw new TypeError('the stream to a node is opened once');
    const counter = countingStream(options.onProgress, undefined, { sizeHeader: hasSizeHeader(format) });
    const hash = hashingStream();
    counter.on('error', ignore);
    hash.on('error', ignore);
    counter.pipe(hash);
    // settled here, so that an export failing while the node still works is never an unhandled rejection
    const exported = settle(
      source
        .volumeExport(volid, { ...options.transfer, format, output: counter, signal })
        .then(() => endAndWait(counter))
        .catch(failed),
    );
    sending = { format, counter, hash, exported };
    return hash;
  };
  const im = await settle(deliver(open, signal).catch(failed));
  const ex = sending ? await sending.exported : undefined;
  if (im.status === 'fulfilled' && sending && ex?.status === 'fulfilled') return { ...im.value, format: sending.format, ...sending.hash.digest() };
  if (im.status === 'fulfilled' && !sending) failures.push(new StorageError('INTERNAL', `node '${options.node.name}' imported '${im.value.volid}' without reading the stream`));
  const error = asAbortError(options.signal?.aborted ? (failures[0] ?? options.signal.reason) : brokenStream(options.node, copyFailure(failures)), options.signal);
  if (im.status === 'fulfilled') throw await withoutCopy(options.node, im.value.volid, error);
  throw error;
}

function settle<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: 'fulfilled', value }) as const,
    (reason: unknown) => ({ status: 'rejected', reason }) as const,
  );
}

/** A failure that is no {@link StorageError} (a stream that broke under the transfer) as `UNAVAILABLE`: the node could not be reached for it. */
function brokenStream(node: StorageNode, e: unknown): unknown {
  if (isStorageError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new StorageError('UNAVAILABLE', `the stream to node '${node.name}' broke: ${message}`, { cause: e, details: { node: node.name } });
}

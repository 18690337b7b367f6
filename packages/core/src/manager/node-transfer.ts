/**
 * Streaming a volume into another node, shared by migration (`receiveVolume`: the node chooses
 * the format and reads its copy back) and replication (`importVolume` in a format chosen before):
 * export -> count (progress) -> the node, both sides aborted when either fails.
 *
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import type { StreamFormat } from '../capabilities.js';
import { consumingSink } from '../consuming-sink.js';
import { directSource } from '../direct-source.js';
import { StorageError, isStorageError } from '../errors.js';
import type { StorageNode } from '../nodes/node.js';
import { withoutCopy } from '../nodes/receive.js';
import type { ProgressCallback, TransferOptions } from '../plugin-types.js';
import { byteCounter, hasSizeHeader } from '../transfer.js';
import { writeAll } from '../write-all.js';
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
};

function ignore(): void {
  // each side reports its own failure through its promise
}

/**
 * Streams a volume into a node: once the node opens the stream (in the format it chose),
 * export -> count (progress) -> the node's import run at the same time. Both sides are
 * aborted when either fails, and the first real error of either side is reported (not the abort
 * it caused on the other). An import that finished while the export failed is freed again on the
 * node.
 *
 * @param source - the source's manager
 * @param volid - the source volume
 * @param options - node, snapshot options, progress, signal
 * @param deliver - the node's side: `node.importVolume` for a format chosen before, or
 *   `node.receiveVolume`, which chooses it
 * @returns what the node reported, with the format and the bytes sent
 * @throws what failed first (`UNAVAILABLE` for a stream that broke without saying more);
 *   `ABORTED` after an abort
 */
export async function sendToNode<R extends { readonly volid: string }>(source: NodeSource, volid: string, options: SendToNodeOptions, deliver: Deliver<R>): Promise<Sent<R>> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const failures: unknown[] = [];
  let sending: Sending | undefined;
  const failed = (e: unknown): never => {
    failures.push(e);
    stop.abort(e);
    sending?.stop(e instanceof Error ? e : new Error(String(e)));
    throw e;
  };
  const open = (format: StreamFormat): Readable => {
    if (sending) throw new TypeError('the stream to a node is opened once');
    sending = exportStream(source, volid, format, { ...options, signal }, failed);
    return sending.data;
  };
  const im = await settle(deliver(open, signal).catch(failed));
  const ex = sending ? await sending.exported() : undefined;
  if (im.status === 'fulfilled' && sending && ex?.status === 'fulfilled') return { ...im.value, format: sending.format, bytes: sending.bytes() };
  if (im.status === 'fulfilled' && !sending) failures.push(new StorageError('INTERNAL', `node '${options.node.name}' imported '${im.value.volid}' without reading the stream`));
  const error = asAbortError(options.signal?.aborted ? (failures[0] ?? options.signal.reason) : brokenStream(options.node, copyFailure(failures)), options.signal);
  if (im.status === 'fulfilled') throw await withoutCopy(options.node, im.value.volid, error);
  throw error;
}

/** The stream being sent, see {@link exportStream}. */
interface Sending {
  readonly format: StreamFormat;
  /** What the node reads. */
  readonly data: Readable;
  /** The bytes sent so far. */
  bytes(): number;
  /** How the export ended; an export never started (the node failed first) ends now, failed. */
  exported(): Promise<PromiseSettledResult<void>>;
  /** Fails the export with `e`. */
  stop(e: Error): void;
}

/**
 * The volume's export as a {@link directSource}: taken by a command's input (an ssh session),
 * the export writes into it through a consuming sink that counts and waits for each
 * write, so that a raw file is read into two buffers it reuses (see `exportRawFile`); read as a
 * plain stream (a node in this process), it gives copies.
 */
function exportStream(source: NodeSource, volid: string, format: StreamFormat, options: SendToNodeOptions & { readonly signal: AbortSignal }, failed: (e: unknown) => never): Sending {
  const counter = byteCounter(options.onProgress, undefined, { sizeHeader: hasSizeHeader(format) });
  let output: Writable | undefined;
  let result: Promise<PromiseSettledResult<void>> | undefined;
  let stopped: Error | undefined;
  const data = directSource((sink) => {
    output = consumingSink((chunk) => {
      counter.add(chunk);
      return writeAll(sink, chunk);
    });
    output.on('error', ignore); // reported through the export's promise
    if (stopped) output.destroy(stopped);
    // settled here, so that an export failing while the node still works is never an unhandled rejection
    result = settle(
      source
        .volumeExport(volid, { ...options.transfer, format, output, signal: options.signal })
        .then(() => counter.end())
        .catch(failed),
    );
    return result.then((r) => {
      if (r.status === 'rejected') throw r.reason;
    });
  });
  data.on('error', ignore);
  return {
    format,
    data,
    bytes: () => counter.done,
    exported: () => result ?? Promise.resolve({ status: 'rejected', reason: stopped ?? new Error('the stream was never read') }),
    stop: (e) => {
      stopped ??= e;
      output?.destroy(e);
      data.destroy(e);
    },
  };
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

/**
 * Moving bytes between streams and image files natively: a stream written into a file sparsely
 * (like `dd conv=sparse`, with the core's sparse writer and exact-length check) and a file reader
 * that feeds an output stream without ending it.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blockSource, countingStream, exactLength, fsError, reportProgress, writeSparseBlocks, writeSparseStream, type FileSystem, type ReadBack } from '@stowage/core/plugin';
import { StorageError, type ProgressCallback } from '@stowage/core';

/** Options of {@link writeSparse}. */
export interface WriteSparseOptions {
  /** The exact number of bytes the stream must carry; fewer or more is an error. Read to the end when omitted. */
  readonly expected?: number | undefined;
  /** Bytes already passed (the size header), added to progress reports. */
  readonly offsetForProgress?: number;
  /** The total for progress reports. */
  readonly total?: number | undefined;
  /** Progress of the bytes read. */
  readonly onProgress?: ProgressCallback | undefined;
  /** Gives up with `ABORTED`. */
  readonly signal?: AbortSignal | undefined;
  /** The file will be flushed (published): flush behind the writes, see the core's `writeSparseBlocks`. */
  readonly flushBehind?: boolean | undefined;
  /** With `flushBehind`: each flushed part read back, see the core's `writeSparseBlocks`. */
  readonly readBack?: ReadBack | undefined;
}

/**
 * Writes a stream into an existing file from offset 0, skipping chunks that are all zero (they
 * stay holes), then sets the file's length to the bytes read. It does not flush the file: a
 * volume is flushed when it is published (`publishTemp`), and a temporary that is only read
 * (a raw stream that `qemu-img convert` turns into qcow2) never needs to be.
 *
 * @param fs - the file system to open it through (`ctx.fs`)
 * @param path - the file (truncated to the stream's length at the end)
 * @param input - the bytes
 * @param options - exact length expected, progress, abort signal
 * @returns the number of bytes read
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` when `expected` is given and the stream ends
 *   early (truncated) or carries more; `ABORTED`; filesystem errors mapped (`NO_SPACE`, ...)
 */
export async function writeSparse(fs: FileSystem, path: string, input: Readable, options: WriteSparseOptions = {}): Promise<number> {
  const { expected, signal, onProgress } = options;
  const base = options.offsetForProgress ?? 0;
  let fh: FileHandle;
  try {
    fh = await fs.open(path, 'r+');
  } catch (e) {
    throw fsError(e, `cannot open '${path}'`, { path });
  }
  let pos = 0;
  const sink = async (source: AsyncIterable<Buffer | string>): Promise<void> => {
    const checked = abortable(source, signal);
    pos = await writeSparseStream(fh, checked, { onWritten: expected === undefined ? (done) => reportProgress(onProgress, { done: base + done, total: options.total }) : undefined });
  };
  // standard input not read yet (see descriptorInput): read in blocks through reused buffers
  const blocks = expected === undefined ? undefined : blockSource(input);
  try {
    if (blocks !== undefined && expected !== undefined) {
      await writeSparseBlocks(fh, blocks, expected, { onProgress, offset: base, total: options.total, signal, flushBehind: options.flushBehind, readBack: options.readBack });
      pos = expected;
    } else if (expected === undefined) await pipeline(input, sink);
    else await pipeline(input, exactLength(expected, { onProgress, offset: base, total: options.total }), sink);
    await fh.truncate(pos);
  } catch (e) {
    throw fsError(e, `cannot write '${path}'`, { path });
  } finally {
    blocks?.close();
    await fh.close().catch(() => undefined);
  }
  return pos;
}

/** The chunks of `source`, failing with `ABORTED` at the first one after `signal` fired. */
async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncIterable<T> {
  for await (const chunk of source) {
    if (signal?.aborted) throw new StorageError('ABORTED', 'import aborted', { cause: signal.reason });
    yield chunk;
  }
}

/**
 * Copies an open file, from its start, into an output stream without ending it (the caller
 * wrote a header before and may write more after). The file is read, never its path, and is
 * left open.
 *
 * @param file - the file, open for reading
 * @param output - where the bytes go
 * @param options - progress (counting from `offsetForProgress`), total, abort signal
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ABORTED`; filesystem and stream errors
 */
export async function streamFile(
  file: FileHandle,
  output: Writable,
  options: { onProgress?: ProgressCallback | undefined; offsetForProgress?: number; total?: number | undefined; signal?: AbortSignal | undefined } = {},
): Promise<void> {
  const base = options.offsetForProgress ?? 0;
  const counter = countingStream(options.onProgress ? ({ done }) => reportProgress(options.onProgress, { done: base + done, total: options.total }) : undefined);
  try {
    await pipeline(file.createReadStream({ autoClose: false, start: 0, highWaterMark: 1024 * 1024 }), counter, output, {
      end: false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (e) {
    if (options.signal?.aborted) throw new StorageError('ABORTED', 'export aborted', { cause: e });
    throw fsError(e, 'cannot export the open image');
  }
}

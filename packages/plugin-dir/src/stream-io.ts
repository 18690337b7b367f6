/**
 * Moving bytes between streams and image files natively: a sparse writer (like
 * `dd conv=sparse`) and a file reader that feeds an output stream without ending it.
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { countingStream, fsError } from '@stowage/core/plugin';
import { StorageError, type ProgressCallback } from '@stowage/core';

const ZERO = Buffer.alloc(64 * 1024);

/**
 * Tells whether a buffer holds only zero bytes.
 *
 * @param buf - the bytes
 */
export function isAllZero(buf: Uint8Array): boolean {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let off = 0; off < b.length; off += ZERO.length) {
    const end = Math.min(off + ZERO.length, b.length);
    if (!b.subarray(off, end).equals(ZERO.subarray(0, end - off))) return false;
  }
  return true;
}

/** The block size holes are detected at (a whole zero block is skipped), as `dd bs=64k conv=sparse`. */
export const SPARSE_BLOCK = 64 * 1024;

/**
 * Writes the blocks of `buf` that are not all zero at `pos` (runs of them in one write each);
 * zero blocks are skipped and stay holes in a fresh file.
 */
async function writeNonZero(fh: FileHandle, buf: Buffer, pos: number): Promise<void> {
  let runStart = -1;
  const flush = async (end: number): Promise<void> => {
    let off = runStart;
    while (off < end) {
      const { bytesWritten } = await fh.write(buf, off, end - off, pos + off);
      off += bytesWritten;
    }
    runStart = -1;
  };
  for (let off = 0; off < buf.length; off += SPARSE_BLOCK) {
    const end = Math.min(off + SPARSE_BLOCK, buf.length);
    if (isAllZero(buf.subarray(off, end))) {
      if (runStart >= 0) await flush(off);
    } else if (runStart < 0) runStart = off;
  }
  if (runStart >= 0) await flush(buf.length);
}

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
}

function report(onProgress: ProgressCallback | undefined, done: number, total: number | undefined): void {
  try {
    onProgress?.({ done, total });
  } catch {
    // a progress display must not break the copy
  }
}

/**
 * Writes a stream into an existing file from offset 0, skipping chunks that are all zero (they
 * stay holes), then sets the file's length to the bytes read.
 *
 * @param path - the file (truncated to the stream's length at the end)
 * @param input - the bytes
 * @param options - exact length expected, progress, abort signal
 * @returns the number of bytes read
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` when `expected` is given and the stream ends
 *   early (truncated) or carries more; `ABORTED`; filesystem errors mapped (`NO_SPACE`, ...)
 */
export async function writeSparse(path: string, input: Readable, options: WriteSparseOptions = {}): Promise<number> {
  const { expected, signal, onProgress } = options;
  const base = options.offsetForProgress ?? 0;
  let fh;
  try {
    fh = await open(path, 'r+');
  } catch (e) {
    throw fsError(e, `cannot open '${path}'`, { path });
  }
  let pos = 0;
  try {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      if (signal?.aborted) throw new StorageError('ABORTED', 'import aborted', { cause: signal.reason });
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      if (expected !== undefined && pos + buf.length > expected) {
        throw new StorageError('INVALID_ARGUMENT', `stream carries more than the ${expected} bytes its header announced`, { details: { expected } });
      }
      await writeNonZero(fh, buf, pos);
      pos += buf.length;
      report(onProgress, base + pos, options.total);
    }
    if (expected !== undefined && pos !== expected) {
      throw new StorageError('INVALID_ARGUMENT', `truncated stream: ${pos} of ${expected} bytes`, { details: { got: pos, expected } });
    }
    await fh.truncate(pos);
    await fh.sync();
  } catch (e) {
    throw fsError(e, `cannot write '${path}'`, { path });
  } finally {
    await fh.close().catch(() => undefined);
  }
  return pos;
}

/**
 * Copies a file into an output stream without ending it (the caller wrote a header before and
 * may write more after).
 *
 * @param path - the file
 * @param output - where the bytes go
 * @param options - progress (counting from `offsetForProgress`), total, abort signal
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ABORTED`; filesystem and stream errors
 */
export async function streamFile(
  path: string,
  output: Writable,
  options: { onProgress?: ProgressCallback | undefined; offsetForProgress?: number; total?: number | undefined; signal?: AbortSignal | undefined } = {},
): Promise<void> {
  const base = options.offsetForProgress ?? 0;
  const counter = countingStream(options.onProgress ? ({ done }) => report(options.onProgress, base + done, options.total) : undefined);
  try {
    await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), counter, output, {
      end: false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (e) {
    if (options.signal?.aborted) throw new StorageError('ABORTED', 'export aborted', { cause: e });
    throw fsError(e, `cannot export '${path}'`, { path });
  }
}

/**
 * Writes bytes to a stream, waiting for it to drain when it asks to.
 *
 * @param output - the stream
 * @param bytes - what to write
 */
export async function writeAll(output: Writable, bytes: Uint8Array): Promise<void> {
  if (output.write(bytes)) return;
  await new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      output.off('error', onError);
      resolve();
    };
    const onError = (e: Error): void => {
      output.off('drain', onDrain);
      reject(e);
    };
    output.once('drain', onDrain);
    output.once('error', onError);
  });
}

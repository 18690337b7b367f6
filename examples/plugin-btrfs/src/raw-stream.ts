/**
 * Raw image bytes in and out of `disk.raw` files for the `raw+size` stream format.
 *
 * @module
 */
import { open, stat } from 'node:fs/promises';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { countingStream, encodeSizeHeader, isStorageError, StorageError, type ProgressCallback } from '@stowage/core';
import { fsError } from './fs-errors.js';

/**
 * Writes `raw+size` for a file: the 8-byte size header, then the file's bytes.
 *
 * @param file - the raw image
 * @param output - the stream to write to (left open)
 * @param onProgress - progress of the bytes written
 * @param signal - aborts the copy
 */
export async function exportRawFile(file: string, output: Writable, onProgress: ProgressCallback | undefined, signal: AbortSignal | undefined): Promise<void> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (e) {
    throw fsError(e, `cannot read '${file}'`, { path: file });
  }
  const header = encodeSizeHeader(size);
  const counter = countingStream(onProgress, header.length + size);
  const handle = await open(file, 'r').catch((e: unknown) => {
    throw fsError(e, `cannot open '${file}'`, { path: file });
  });
  try {
    counter.write(header);
    await pipeline(handle.createReadStream({ autoClose: false }), counter, output, { end: false, signal });
  } finally {
    await handle.close();
  }
}

const ZERO_BLOCK = 64 * 1024;

/**
 * Reads exactly `size` bytes from a stream into a new sparse file: blocks of zeros are skipped
 * rather than written. The file must not exist yet.
 *
 * @param input - positioned after the size header
 * @param file - the file to create
 * @param size - the byte count the header announced
 * @param onProgress - progress of the bytes read
 * @param signal - aborts the copy
 * @throws {@link StorageError} `INVALID_ARGUMENT` when the stream ends early or carries more
 *   than `size` bytes; filesystem errors by code
 */
export async function importRawFile(input: Readable, file: string, size: number, onProgress: ProgressCallback | undefined, signal: AbortSignal | undefined): Promise<void> {
  const handle = await open(file, 'wx', 0o640).catch((e: unknown) => {
    throw fsError(e, `cannot create '${file}'`, { path: file });
  });
  let position = 0;
  try {
    const sink = new Writable({
      async write(chunk: Buffer, _enc, cb) {
        try {
          if (position + chunk.length > size) {
            throw new StorageError('INVALID_ARGUMENT', `the stream carries more than the ${size} bytes its header announced`, { details: { size } });
          }
          for (let off = 0; off < chunk.length; off += ZERO_BLOCK) {
            const part = chunk.subarray(off, Math.min(chunk.length, off + ZERO_BLOCK));
            if (!isZero(part)) await handle.write(part, 0, part.length, position + off);
          }
          position += chunk.length;
          cb();
        } catch (e) {
          cb(e as Error);
        }
      },
    });
    await pipeline(input, countingStream(onProgress, size), sink, { signal });
    if (position < size) {
      throw new StorageError('INVALID_ARGUMENT', `truncated stream: ${position} of ${size} bytes`, { details: { got: position, size } });
    }
    await handle.truncate(size);
    await handle.sync();
  } catch (e) {
    if (signal?.aborted && !isStorageError(e)) throw new StorageError('ABORTED', 'import aborted', { cause: e });
    throw fsError(e, `cannot write '${file}'`, { path: file });
  } finally {
    await handle.close();
  }
}

const ZEROS = Buffer.alloc(ZERO_BLOCK);

function isZero(buf: Buffer): boolean {
  return buf.equals(ZEROS.subarray(0, buf.length));
}

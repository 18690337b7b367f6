/**
 * Writing image data sparsely: blocks of zeros are skipped and stay holes, as `dd conv=sparse`.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';

/** Holes are detected at this block size: a whole zero block is skipped. */
export const SPARSE_BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(SPARSE_BLOCK);

/**
 * Tells whether bytes are all zero.
 *
 * @param bytes - the bytes
 */
export function isAllZero(bytes: Uint8Array): boolean {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = 0; off < b.length; off += SPARSE_BLOCK) {
    const end = Math.min(off + SPARSE_BLOCK, b.length);
    if (!b.subarray(off, end).equals(ZEROS.subarray(0, end - off))) return false;
  }
  return true;
}

/**
 * Writes the blocks of `bytes` that are not all zero at `position` of a file (each run of them in
 * one write, retried until whole); zero blocks are skipped and stay holes in a fresh file. The
 * caller sets the file's final length (`truncate`) once all data is written.
 *
 * @param handle - the open file
 * @param bytes - the data
 * @param position - where in the file `bytes` begins
 * @example
 * ```ts
 * let position = 0;
 * for await (const chunk of input) {
 *   await writeSparse(handle, chunk, position);
 *   position += chunk.length;
 * }
 * await handle.truncate(position);
 * ```
 */
export async function writeSparse(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let runStart = -1;
  const flush = async (end: number): Promise<void> => {
    let off = runStart;
    while (off < end) {
      const { bytesWritten } = await handle.write(bytes, off, end - off, position + off);
      off += bytesWritten;
    }
    runStart = -1;
  };
  for (let off = 0; off < bytes.length; off += SPARSE_BLOCK) {
    const end = Math.min(off + SPARSE_BLOCK, bytes.length);
    if (isAllZero(bytes.subarray(off, end))) {
      if (runStart >= 0) await flush(off);
    } else if (runStart < 0) runStart = off;
  }
  if (runStart >= 0) await flush(bytes.length);
}

/**
 * Writing image data sparsely: blocks of zeros are skipped and stay holes, as `dd conv=sparse`.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import type { BlockSource } from './descriptor-input.js';
import { StorageError } from './errors.js';
import { overLong, truncated } from './length-errors.js';
import type { ProgressCallback, ReadBack } from './plugin-types.js';
import { reportProgress } from './progress.js';
import { readBackRange } from './read-back.js';

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

/**
 * Writes consecutive chunks at `position` as {@link writeSparse} does, without copying them into
 * one buffer: each run of blocks that are not all zero goes in one `writev` of the chunks' parts.
 */
async function writeSparseChunks(handle: FileHandle, chunks: readonly Buffer[], position: number): Promise<void> {
  let run: Buffer[] = [];
  let runStart = position;
  let runBytes = 0;
  const flush = async (): Promise<void> => {
    const { bytesWritten } = await handle.writev(run, runStart);
    // a short write (rare on files): the rest in one piece
    if (bytesWritten < runBytes) await writeAll(handle, Buffer.concat(run, runBytes).subarray(bytesWritten), runStart + bytesWritten);
    run = [];
    runBytes = 0;
  };
  let at = position;
  for (const chunk of chunks) {
    for (let off = 0; off < chunk.length; off += SPARSE_BLOCK) {
      const block = chunk.subarray(off, Math.min(off + SPARSE_BLOCK, chunk.length));
      if (isAllZero(block)) {
        if (runBytes > 0) await flush();
      } else {
        if (runBytes === 0) runStart = at;
        run.push(block);
        runBytes += block.length;
      }
      at += block.length;
    }
  }
  if (runBytes > 0) await flush();
}

async function writeAll(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let off = 0; off < bytes.length; ) off += (await handle.write(bytes, off, bytes.length - off, position + off)).bytesWritten;
}

/**
 * Bytes gathered into one write by {@link writeSparseStream}: each write is a round trip through
 * the thread pool, which on a loaded host costs far more than the copy that gathers chunks.
 */
export const SPARSE_WRITE_BATCH = 4 * 1024 * 1024;

/** Options of {@link writeSparseStream}. */
export interface WriteSparseStreamOptions {
  /** Called with the bytes handed to the file so far, after each batch. */
  readonly onWritten?: ((bytes: number) => void) | undefined;
}

/**
 * Writes a stream into a file from offset 0 as {@link writeSparse} does (zero blocks stay holes),
 * gathering its chunks (a pipe gives 64 KiB at a time) into `writev` calls (the chunks are not
 * copied): what arrives while one write runs is gathered, up to about
 * {@link SPARSE_WRITE_BATCH} bytes, and written as soon as that write ends, so bytes never wait
 * for a batch to fill. It
 * returns once every write is done; the caller sets the file's length (`truncate`) and syncs.
 *
 * @param handle - the open file
 * @param source - the bytes (a readable stream, or any async iterable of buffers)
 * @param options - progress of the bytes written
 * @returns the number of bytes written (holes included)
 * @throws the source's error, or the first failed write
 * @example
 * ```ts
 * const bytes = await writeSparseStream(handle, pipelineOf(input, exactLength(size)));
 * await handle.truncate(bytes);
 * ```
 */
export async function writeSparseStream(handle: FileHandle, source: AsyncIterable<Buffer | string>, options: WriteSparseStreamOptions = {}): Promise<number> {
  let position = 0;
  let batch: Buffer[] = [];
  let gathered = 0;
  let inFlight: Promise<void> | undefined;
  let failure: { readonly error: unknown } | undefined;
  // hands what was gathered to the file when no write is running, and again when one ends: a
  // stream that pauses has its bytes in the file, not waiting for a full batch
  const flush = (): void => {
    if (inFlight !== undefined || gathered === 0 || failure !== undefined) return;
    const chunks = batch;
    const at = position;
    position += gathered;
    batch = [];
    gathered = 0;
    inFlight = writeSparseChunks(handle, chunks, at).then(
      () => {
        inFlight = undefined;
        flush();
      },
      (error: unknown) => {
        inFlight = undefined;
        failure ??= { error };
      },
    );
    options.onWritten?.(position);
  };
  const settled = async (): Promise<void> => {
    while (inFlight !== undefined) await inFlight;
    if (failure !== undefined) throw failure.error;
  };
  try {
    for await (const chunk of source) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      batch.push(bytes);
      gathered += bytes.length;
      flush();
      // a full batch waits for the write before it: at most one batch in memory besides it
      while (gathered >= SPARSE_WRITE_BATCH && inFlight !== undefined) await inFlight;
      if (failure !== undefined) throw failure.error;
    }
    await settled();
    flush();
    await settled();
  } finally {
    // never leave a write running into a handle the caller is about to close
    while (inFlight !== undefined) await inFlight;
  }
  return position;
}

/** Options of {@link writeSparseBlocks}. */
export interface WriteSparseBlocksOptions {
  /** Receives `{ done, total }` after every block, as `exactLength` reports. */
  readonly onProgress?: ProgressCallback | undefined;
  /** Bytes passed before the payload (the size header), added to `done`. @default 0 */
  readonly offset?: number;
  /** The total reported. @default offset + size */
  readonly total?: number | undefined;
  /** Gives up with `ABORTED`. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Flush what was written behind the writes (`fdatasync` every {@link FLUSH_BEHIND_BYTES}, one
   * at a time), for a file the caller flushes at the end anyway: that flush then has only the
   * last part to write. It changes nothing of what is on the disk after the caller's flush.
   * @default false
   */
  readonly flushBehind?: boolean | undefined;
  /**
   * With {@link WriteSparseBlocksOptions.flushBehind}: told the size first, then handed each
   * part of the file once it is flushed, read back from the file (holes as zeros), in order. The
   * caller reads back the rest after its final flush, from the first byte not handed yet.
   */
  readonly readBack?: ReadBack | undefined;
}

/** Bytes written between two flushes of {@link WriteSparseBlocksOptions.flushBehind}. */
export const FLUSH_BEHIND_BYTES = 32 * 1024 * 1024;

/**
 * Writes exactly `size` bytes of a {@link BlockSource} into a file from offset 0 as
 * {@link writeSparse} does (zero blocks stay holes), block after block: the worker fills the next
 * blocks while one is written. Held to `size` as `exactLength` holds a stream: an input that
 * ends early fails at its end, one that carries more fails at the block that holds the first
 * byte too many. The caller sets the file's length and syncs.
 *
 * @param handle - the open file
 * @param source - the blocks, positioned after the size header
 * @param size - the byte count the header announced
 * @param options - progress, abort signal, flush behind, read back
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (`details: { size, received }`), `ABORTED`; the
 *   read's or a write's error
 */
export async function writeSparseBlocks(handle: FileHandle, source: BlockSource, size: number, options: WriteSparseBlocksOptions = {}): Promise<void> {
  const offset = options.offset ?? 0;
  const total = options.total ?? offset + size;
  const readBack = options.flushBehind === true ? options.readBack : undefined;
  readBack?.begin(size);
  let received = 0;
  let flushed = 0;
  let flushing: Promise<void> | undefined;
  let flushFailure: { readonly error: unknown } | undefined;
  try {
    for (let block = await source.next(options.signal); block !== undefined; block = await source.next(options.signal)) {
      if (received + block.length > size) throw overLong(size, received + block.length);
      const at = received;
      received += block.length;
      reportProgress(options.onProgress, { done: offset + received, total });
      await writeSparse(handle, block, at);
      if (options.signal?.aborted) throw new StorageError('ABORTED', 'the import was aborted', { cause: options.signal.reason });
      if (flushFailure !== undefined) throw flushFailure.error;
      if (options.flushBehind === true && flushing === undefined && received - flushed >= FLUSH_BEHIND_BYTES) {
        const from = flushed;
        const to = (flushed = received);
        // the part just flushed is read back while the next ones are written
        const flushedPart = async (): Promise<void> => {
          await handle.datasync();
          if (readBack === undefined) return;
          await readBackRange(handle, from, to, readBack);
        };
        flushing = flushedPart().then(
          () => void (flushing = undefined),
          (error: unknown) => void ((flushing = undefined), (flushFailure ??= { error })),
        );
      }
    }
    if (received < size) throw truncated(size, received);
  } finally {
    // never leave a flush running into a handle the caller is about to close
    await flushing;
  }
  if (flushFailure !== undefined) throw flushFailure.error;
}

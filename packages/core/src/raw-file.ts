/**
 * Raw image files as `raw+size` streams: what a file-backed plugin's `volumeExport` and
 * `volumeImport` do, without `dd`.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isStorageError, StorageError } from './errors.js';
import { localFileSystem, type FileSystem } from './file-system.js';
import { fsError } from './fs-error.js';
import type { ProgressCallback } from './plugin-types.js';
import { exactLength } from './exact-length.js';
import { writeSparseBlocks, writeSparseStream } from './sparse.js';
import { blockSource } from './descriptor-input.js';
import { countingStream, encodeSizeHeader } from './transfer.js';
import { writeAll } from './write-all.js';
import { consumesChunks } from './consuming-sink.js';
import { reportProgress } from './progress.js';

/** Options of {@link exportRawFile} and {@link importRawFile}. */
export interface RawFileTransferOptions {
  /** Progress of the bytes moved (the size header included on export). */
  readonly onProgress?: ProgressCallback | undefined;
  /** Aborts the copy with `ABORTED`. */
  readonly signal?: AbortSignal | undefined;
  /** Opens the file (pass the plugin's `ctx.fs`). @default this machine's file system */
  readonly fs?: FileSystem | undefined;
}

function aborted(signal: AbortSignal | undefined, e: unknown): StorageError | undefined {
  return signal?.aborted && !isStorageError(e) ? new StorageError('ABORTED', 'the transfer was aborted', { cause: signal.reason ?? e }) : undefined;
}

/**
 * Writes a file as a `raw+size` stream: the 8-byte size header, then every byte of the file.
 * The output is not ended (the caller may write more, or end it).
 *
 * Given a path, the file is opened (through `options.fs`) and closed at the end. Given an open
 * file, that very file is read from its start and left open: a plugin that checked the file it
 * opened (that it is a regular file inside its storage) exports what it checked, whatever the
 * path names by then.
 *
 * @param file - the raw image (or any file): its path, or the file open for reading
 * @param output - where the stream goes
 * @param options - progress, abort signal, file system
 * @returns the bytes written, header included
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` and other filesystem codes (see {@link fsError}); `ABORTED`
 * @example
 * ```ts
 * override async volumeExport(ctx: PluginContext<MyConfig>, request: VolumeExportRequest): Promise<void> {
 *   await exportRawFile(this.fileOf(ctx, request.volume), request.output, { onProgress: request.onProgress, signal: ctx.signal, fs: ctx.fs });
 * }
 * ```
 */
export async function exportRawFile(file: string | FileHandle, output: Writable, options: RawFileTransferOptions = {}): Promise<number> {
  const given = typeof file !== 'string';
  let handle: FileHandle;
  if (given) handle = file;
  else {
    try {
      handle = await (options.fs ?? localFileSystem).open(file, 'r');
    } catch (e) {
      throw fsError(e, `cannot open '${file}'`, { path: file });
    }
  }
  const name = given ? 'the open file' : `'${file}'`;
  try {
    const size = (await handle.stat()).size;
    const header = encodeSizeHeader(size);
    if (consumesChunks(output)) {
      await readInto(handle, header, size, output, options);
      return header.length + size;
    }
    const counter = countingStream(options.onProgress, header.length + size);
    counter.write(header);
    // 1 MiB reads: a sixteenth of the reads (and thread-pool round trips) of the 64 KiB default
    await pipeline(handle.createReadStream({ autoClose: false, start: 0, highWaterMark: 1024 * 1024 }), counter, output, {
      end: false,
      signal: options.signal,
    });
    return header.length + size;
  } catch (e) {
    throw aborted(options.signal, e) ?? fsError(e, `cannot export ${name}`, given ? {} : { path: file });
  } finally {
    if (!given) await handle.close();
  }
}

/** Bytes per read of {@link exportRawFile}. */
const READ_BYTES = 1024 * 1024;

/**
 * The header, then the file to its end, into a consuming sink (see {@link consumesChunks}): two
 * buffers taking turns, the next read running while the sink works on the last one, and no fresh
 * memory per read. Progress as the stream path reports it: after every chunk, and once more at
 * the end.
 */
async function readInto(handle: FileHandle, header: Buffer, size: number, output: Writable, options: RawFileTransferOptions): Promise<void> {
  const buffers = [Buffer.allocUnsafeSlow(READ_BYTES), Buffer.allocUnsafeSlow(READ_BYTES)] as const;
  const total = header.length + size;
  let done = 0;
  const sent = async (chunk: Buffer): Promise<void> => {
    if (options.signal?.aborted) throw new StorageError('ABORTED', 'the transfer was aborted', { cause: options.signal.reason });
    await writeAll(output, chunk);
    done += chunk.length;
    reportProgress(options.onProgress, { done, total });
  };
  await sent(header);
  let position = 0;
  let turn = 0;
  let next: Promise<{ bytesRead: number }> | undefined = handle.read(buffers[0], 0, READ_BYTES, 0);
  try {
    for (;;) {
      const { bytesRead } = await next;
      next = undefined;
      if (bytesRead === 0) break;
      const chunk = buffers[turn]!.subarray(0, bytesRead);
      position += bytesRead;
      turn ^= 1;
      next = handle.read(buffers[turn]!, 0, READ_BYTES, position);
      await sent(chunk);
    }
  } finally {
    // never close the handle under a read still running
    await next?.catch(() => undefined);
  }
  reportProgress(options.onProgress, { done, total });
}

/**
 * Reads exactly `size` bytes of a stream (positioned after its size header, see
 * `readSizeHeader`) into a new file, leaving runs of zeros as holes. The file must not exist.
 * On failure the file is left for the caller to remove with the rest of its volume.
 *
 * @param input - the stream, after the header
 * @param file - the file to create
 * @param size - the byte count the header announced
 * @param options - progress, abort signal, file system
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` when the stream ends before `size` bytes
 *   (truncated) or carries more; `ALREADY_EXISTS` when the file exists; `NO_SPACE` and other
 *   filesystem codes; `ABORTED`
 * @example
 * ```ts
 * const size = await readSizeHeader(request.input, ctx.signal);
 * await importRawFile(request.input, file, size, { onProgress: request.onProgress, signal: ctx.signal, fs: ctx.fs });
 * ```
 */
export async function importRawFile(input: Readable, file: string, size: number, options: RawFileTransferOptions = {}): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await (options.fs ?? localFileSystem).open(file, 'wx', 0o640);
  } catch (e) {
    throw fsError(e, `cannot create '${file}'`, { path: file });
  }
  // standard input not read yet (see descriptorInput): read in blocks, without a stream
  const blocks = blockSource(input);
  try {
    if (blocks !== undefined) await writeSparseBlocks(handle, blocks, size, { onProgress: options.onProgress, signal: options.signal, flushBehind: true });
    else await pipeline(input, exactLength(size, { onProgress: options.onProgress }), (source: AsyncIterable<Buffer>) => writeSparseStream(handle, source), { signal: options.signal });
    await handle.truncate(size);
    await handle.sync();
  } catch (e) {
    throw aborted(options.signal, e) ?? fsError(e, `cannot write '${file}'`, { path: file });
  } finally {
    blocks?.close();
    await handle.close();
  }
}

/**
 * Helpers for export/import streams: the 8-byte size header of the `+size` formats, format
 * negotiation between two storages, a pass-through stream that counts bytes for progress, and
 * forwarding into a caller's stream without ending it.
 *
 * @module
 */
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import type { StreamFormat } from './capabilities.js';
import { blockSource, type BlockSource } from './descriptor-input.js';
import { StorageError } from './errors.js';
import type { ProgressCallback } from './plugin-types.js';
import { reportProgress } from './progress.js';

/** Length of the header that starts every `+size` stream: the payload's byte count, u64 little-endian. */
export const SIZE_HEADER_BYTES = 8;

/**
 * Tells whether a stream format starts with the 8-byte size header (`raw+size`, `qcow2+size`, ...).
 *
 * @param format - a stream format
 */
export function hasSizeHeader(format: StreamFormat): boolean {
  return format.endsWith('+size');
}

/**
 * The image format a stream format carries: `raw+size` -> `raw`, `qcow2+size` -> `qcow2`,
 * `vmdk+size` -> `vmdk`; `undefined` for streams that are not a plain image (`tar+size`, `zfs`, `btrfs`).
 *
 * @param format - a stream format
 */
export function streamDataFormat(format: StreamFormat): 'raw' | 'qcow2' | 'vmdk' | undefined {
  switch (format) {
    case 'raw+size':
      return 'raw';
    case 'qcow2+size':
      return 'qcow2';
    case 'vmdk+size':
      return 'vmdk';
    default:
      return undefined;
  }
}

/**
 * Encodes the size header of a `+size` stream.
 *
 * @param size - the payload's length in bytes
 * @returns 8 bytes, the size as an unsigned 64-bit little-endian integer
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` unless `size` is a non-negative safe integer
 * @see Proxmox `PVE::Storage::Plugin::volume_export` (`print $fh pack('Q<', $size)`)
 */
export function encodeSizeHeader(size: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new StorageError('INVALID_ARGUMENT', `invalid stream size ${String(size)}`, { details: { size } });
  }
  const b = Buffer.alloc(SIZE_HEADER_BYTES);
  b.writeBigUInt64LE(BigInt(size));
  return b;
}

/**
 * Decodes a size header.
 *
 * @param header - exactly 8 bytes
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` when the buffer is not 8 bytes or the size is
 *   beyond `Number.MAX_SAFE_INTEGER`
 */
export function decodeSizeHeader(header: Uint8Array): number {
  if (header.length !== SIZE_HEADER_BYTES) {
    throw new StorageError('INVALID_ARGUMENT', `truncated stream: size header has ${header.length} of ${SIZE_HEADER_BYTES} bytes`, {
      details: { got: header.length, expected: SIZE_HEADER_BYTES },
    });
  }
  const size = Buffer.from(header.buffer, header.byteOffset, header.length).readBigUInt64LE();
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new StorageError('INVALID_ARGUMENT', `stream size header ${size} is too large`, { details: { size: size.toString() } });
  }
  return Number(size);
}

/**
 * Reads the size header from the start of a stream, consuming exactly 8 bytes; the rest stays
 * in the stream (bytes read past the header are put back with `unshift`) for the caller to pipe on.
 *
 * @param input - a stream of bytes (byte or object mode, chunks of any size) positioned at the
 *   header, not flowing
 * @param signal - gives up with `ABORTED`
 * @returns the payload size in bytes
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` when the stream ends before 8 bytes or the size
 *   is absurd; `ABORTED`; the stream's own error
 * @example
 * ```ts
 * const size = await readSizeHeader(request.input);
 * await ctx.run(['dd', `of=${path}`, 'conv=sparse', 'bs=64k'], { stdin: request.input });
 * ```
 * @see Proxmox `PVE::Storage::Plugin::read_common_header`
 */
export function readSizeHeader(input: Readable, signal?: AbortSignal): Promise<number> {
  // standard input that an import reads in blocks (see descriptorInput): the header is its first 8 bytes
  const blocks = blockSource(input);
  if (blocks !== undefined) return headerFromBlocks(blocks, signal);
  return new Promise<number>((resolve, reject) => {
    const cleanup = (): void => {
      input.off('readable', tryRead);
      input.off('end', onEnd);
      input.off('error', onError);
      input.off('close', onEnd);
      signal?.removeEventListener('abort', onAbort);
    };
    const settle = (fn: () => void): void => {
      cleanup();
      try {
        fn();
      } catch (e) {
        reject(e);
      }
    };
    let got = Buffer.alloc(0);
    function tryRead(): void {
      // read() with no size works for byte and object-mode streams alike: take what is there,
      // keep 8 bytes, and put the rest back for the caller.
      for (let chunk: unknown = input.read(); chunk !== null; chunk = got.length < SIZE_HEADER_BYTES ? input.read() : null) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : Buffer.from(chunk as Uint8Array);
        got = Buffer.concat([got, bytes]);
      }
      if (got.length < SIZE_HEADER_BYTES) return;
      const rest = got.subarray(SIZE_HEADER_BYTES);
      if (rest.length > 0) input.unshift(rest);
      settle(() => resolve(decodeSizeHeader(got.subarray(0, SIZE_HEADER_BYTES))));
    }
    function onEnd(): void {
      settle(() => decodeSizeHeader(got));
    }
    function onError(e: Error): void {
      settle(() => reject(e));
    }
    function onAbort(): void {
      settle(() => reject(new StorageError('ABORTED', 'aborted while reading the stream header', { cause: signal?.reason })));
    }
    if (signal?.aborted) return onAbort();
    input.on('readable', tryRead);
    input.once('end', onEnd);
    input.once('close', onEnd);
    input.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    tryRead();
  });
}

/** The size header from the first bytes of a block source, the rest given back. */
async function headerFromBlocks(blocks: BlockSource, signal: AbortSignal | undefined): Promise<number> {
  let got = Buffer.alloc(0);
  while (got.length < SIZE_HEADER_BYTES) {
    const block = await blocks.next(signal);
    if (block === undefined) break;
    const take = Math.min(block.length, SIZE_HEADER_BYTES - got.length);
    got = Buffer.concat([got, block.subarray(0, take)]);
    blocks.unread(block.length - take);
  }
  return decodeSizeHeader(got);
}

/**
 * Picks the stream format for a transfer: the first format the exporting side offers (its
 * preference order) that the importing side accepts.
 *
 * @param exportFormats - formats the source can write, best first
 * @param importFormats - formats the target can read
 * @returns the chosen format
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` when there is none, with both lists in `details`
 * @see Proxmox `PVE::Storage::storage_migrate` (format negotiation)
 */
export function negotiateFormat(exportFormats: readonly StreamFormat[], importFormats: readonly StreamFormat[]): StreamFormat {
  const format = exportFormats.find((f) => importFormats.includes(f));
  if (format === undefined) {
    throw new StorageError('NOT_SUPPORTED', `no common transfer format: export offers [${exportFormats.join(', ')}], import accepts [${importFormats.join(', ')}]`, {
      details: { exportFormats: [...exportFormats], importFormats: [...importFormats] },
    });
  }
  return format;
}

/** Options of {@link countingStream}. */
export interface CountingStreamOptions {
  /**
   * The stream starts with a `+size` header: once its 8 bytes have passed, an unknown total
   * becomes `8 + size`.
   * @default false
   */
  readonly sizeHeader?: boolean;
}

/** A pass-through stream that counts the bytes flowing through it. */
export interface CountingStream extends Transform {
  /** Bytes passed so far. */
  readonly done: number;
  /** The expected total, when known. */
  readonly total: number | undefined;
}

/** Counts bytes as they pass and reports progress: the counting part of {@link countingStream}, for code that sees each chunk itself. */
export interface ByteCounter {
  /** Counts a chunk that passed, and reports. */
  add(chunk: Uint8Array): void;
  /** Reports once more, at the end. */
  end(): void;
  /** Bytes passed so far. */
  readonly done: number;
  /** The expected total, when known. */
  readonly total: number | undefined;
}

/**
 * Makes a {@link ByteCounter}: reports `{ done, total }` after every chunk and once more at the
 * end. Errors thrown by the callback are ignored (a progress display must not break a copy).
 *
 * @param onProgress - receives the reports; may be `undefined` to only count
 * @param total - the expected byte count, when known
 * @param options - learn the total from a size header
 * @returns the counter
 */
export function byteCounter(onProgress: ProgressCallback | undefined, total?: number, options: CountingStreamOptions = {}): ByteCounter {
  let done = 0;
  let expected = total;
  let header: Buffer | undefined = options.sizeHeader && total === undefined ? Buffer.alloc(0) : undefined;
  const report = (): void => reportProgress(onProgress, { done, total: expected });
  return {
    add(chunk: Uint8Array): void {
      done += chunk.length;
      if (header !== undefined) {
        header = Buffer.concat([header, chunk.subarray(0, SIZE_HEADER_BYTES - header.length)]);
        if (header.length === SIZE_HEADER_BYTES) {
          try {
            expected = SIZE_HEADER_BYTES + decodeSizeHeader(header);
          } catch {
            expected = undefined;
          }
          header = undefined;
        }
      }
      report();
    },
    end: report,
    get done() {
      return done;
    },
    get total() {
      return expected;
    },
  };
}

/**
 * Makes a pass-through stream that reports `{ done, total }` after every chunk and once more at
 * the end. Errors thrown by the callback are ignored (a progress display must not break a copy).
 *
 * @param onProgress - receives the reports; may be `undefined` to only count
 * @param total - the expected byte count, when known
 * @param options - learn the total from a size header
 * @example
 * ```ts
 * const counter = countingStream(({ done, total }) => console.log(done, total), undefined, { sizeHeader: true });
 * await pipeline(source, counter, target);
 * ```
 */
export function countingStream(onProgress: ProgressCallback | undefined, total?: number, options: CountingStreamOptions = {}): CountingStream {
  const counter = byteCounter(onProgress, total, options);
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      counter.add(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      counter.end();
      cb();
    },
  });
  Object.defineProperties(stream, {
    done: { get: () => counter.done, enumerable: true },
    total: { get: () => counter.total, enumerable: true },
  });
  return stream as CountingStream;
}

/** A writable forwarding into another stream, and how to finish it. */
export interface Forwarder {
  /** Write here. */
  readonly stream: Writable;
  /** Ends {@link Forwarder.stream} (not the target) once all was forwarded; resolves to the bytes forwarded. */
  finish(): Promise<number>;
}

/**
 * A writable that forwards every chunk into `output` with backpressure, counting bytes, and never
 * ends `output` (the caller may write more after it).
 *
 * @param output - the caller's stream
 * @param onProgress - reports `{ done, total }` with `offset` added to `done`
 * @param total - the total for progress reports
 * @param offset - bytes already written before (a size header)
 */
export function forwardInto(output: Writable, onProgress?: ProgressCallback, total?: number, offset = 0): Forwarder {
  let sent = 0;
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      sent += chunk.length;
      reportProgress(onProgress, { done: offset + sent, total });
      if (output.destroyed || output.writableEnded) {
        cb(closedOutput());
        return;
      }
      if (output.write(chunk)) {
        cb();
        return;
      }
      // wait for room, but not for ever: a stream closed or failed meanwhile never drains
      const settle = (e?: Error): void => {
        output.off('drain', onDrain);
        output.off('close', onClose);
        output.off('error', settle);
        cb(e);
      };
      const onDrain = (): void => settle();
      const onClose = (): void => settle(closedOutput());
      output.once('drain', onDrain);
      output.once('close', onClose);
      output.once('error', settle);
    },
  });
  return {
    stream,
    finish: () =>
      new Promise<number>((resolve, reject) => {
        stream.once('error', reject);
        stream.end(() => resolve(sent));
      }),
  };
}

function closedOutput(): Error {
  return Object.assign(new Error('the output stream was closed'), { code: 'ERR_STREAM_DESTROYED' });
}

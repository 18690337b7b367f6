/**
 * The `lvmthin-delta` stream: stowage's frame for the changed ranges of a thin snapshot, either
 * since a base snapshot the receiver has (an increment) or every mapped range (a full copy that
 * skips what was never written). Integers are little-endian.
 *
 * | part | bytes | fields |
 * |---|---|---|
 * | header | 32 | magic `STWDELTA` (8), version `1` (u32), block size in bytes (u32), volume size in bytes (u64), flags (u64: bit 0 set for an increment, other bits 0) |
 * | record head | 24 | type (u32: `1` data, `2` zero, `3` end), `0` (u32), offset in bytes (u64), length in bytes (u64) |
 * | data record | 24 + length | the head, then `length` bytes to write at `offset` |
 * | zero record | 24 | the head: the range reads as zeros afterwards (it was discarded) |
 * | end record | 24 + 32 | the head (offset: the number of data and zero records, length: the data bytes in all), then the SHA-256 of every byte before it, its own head included |
 *
 * Records come in increasing offset order, do not overlap, are not empty, and end within the
 * volume. Nothing follows the end record. The receiver applies the records to a copy of the base
 * (or to a new, empty volume) and keeps the result only when the end record and the checksum are
 * right: a truncated, corrupt or over-long stream is refused with `INVALID_ARGUMENT`
 * (`details.problem` says what was wrong).
 *
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { StorageError } from '@stowage/core';

/** The first 8 bytes of every stream. */
export const DELTA_MAGIC = 'STWDELTA';
/** The frame version this code writes and reads. */
export const DELTA_VERSION = 1;
/** Bytes of the header. */
export const DELTA_HEADER_BYTES = 32;
/** Bytes of a record head. */
export const DELTA_RECORD_BYTES = 24;
/** Bytes of the end record's SHA-256. */
export const DELTA_DIGEST_BYTES = 32;

const TYPE_DATA = 1;
const TYPE_ZERO = 2;
const TYPE_END = 3;
const FLAG_INCREMENTAL = 1n;

/** What the header says. */
export interface DeltaHeader {
  /** The volume's size in bytes, as of the snapshot sent. */
  readonly size: number;
  /** The thin pool's block (chunk) size in bytes; ranges are whole blocks but for the volume's last one. */
  readonly blockSize: number;
  /** `true` for an increment (applied onto the base snapshot), `false` for a full copy (onto an empty volume). */
  readonly incremental: boolean;
}

/** One changed range. */
export interface DeltaRange {
  /** `data`: its bytes travel; `zero`: it reads as zeros (discarded). */
  readonly kind: 'data' | 'zero';
  /** Offset in bytes. */
  readonly offset: number;
  /** Length in bytes. */
  readonly length: number;
}

/** What {@link readDelta} yields: the header first, then the records in order. */
export type DeltaEvent =
  | { readonly kind: 'header'; readonly header: DeltaHeader }
  /** A data record's head; its bytes follow as `bytes` events. */
  | { readonly kind: 'data'; readonly offset: number; readonly length: number }
  /** A piece of the current data record's bytes. */
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  | { readonly kind: 'zero'; readonly offset: number; readonly length: number };

/** What a whole stream held, checked against its end record. */
export interface DeltaSummary {
  /** Data and zero records. */
  readonly records: number;
  /** Data bytes. */
  readonly bytes: number;
}

function badStream(problem: string, message: string, details: Record<string, unknown> = {}): StorageError {
  return new StorageError('INVALID_ARGUMENT', `lvmthin-delta stream: ${message}`, { details: { problem, ...details } });
}

/**
 * Encodes the header.
 *
 * @param header - size, block size, increment or not
 * @returns the 32 header bytes
 */
export function encodeDeltaHeader(header: DeltaHeader): Buffer {
  const b = Buffer.alloc(DELTA_HEADER_BYTES);
  b.write(DELTA_MAGIC, 0, 'latin1');
  b.writeUInt32LE(DELTA_VERSION, 8);
  b.writeUInt32LE(header.blockSize, 12);
  b.writeBigUInt64LE(BigInt(header.size), 16);
  b.writeBigUInt64LE(header.incremental ? FLAG_INCREMENTAL : 0n, 24);
  return b;
}

function recordHead(type: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(DELTA_RECORD_BYTES);
  b.writeUInt32LE(type, 0);
  b.writeBigUInt64LE(BigInt(offset), 8);
  b.writeBigUInt64LE(BigInt(length), 16);
  return b;
}

/**
 * Checks that ranges can be framed: whole, non-empty, in order, not overlapping, within the volume.
 *
 * @param size - the volume's size
 * @param ranges - the ranges
 * @throws TypeError when they cannot (a bug in whoever computed them)
 */
export function assertDeltaRanges(size: number, ranges: readonly DeltaRange[]): void {
  let end = 0;
  for (const r of ranges) {
    if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.length <= 0 || r.offset < end || r.offset + r.length > size) {
      throw new TypeError(`delta range ${r.kind} ${r.offset}+${r.length} is empty, out of order or past the volume's ${size} bytes`);
    }
    end = r.offset + r.length;
  }
}

/**
 * A stream that frames a delta: it writes the header, and turns the data of the `data` ranges
 * (their bytes one after the other, as a reader of the device gives them) into records, with
 * the `zero` records between them and the end record after the last.
 *
 * @param header - size, block size, increment or not
 * @param ranges - the ranges, in order (see {@link assertDeltaRanges})
 * @returns a Transform: write the data bytes in, read the framed stream out; it fails with
 *   `CORRUPT` when the data given is shorter or longer than the data ranges
 * @example
 * ```ts
 * const framer = deltaEncoder({ size, blockSize: 65536, incremental: true }, ranges);
 * await ctx.run(readRangesArgs(device), { stdin: readRangesInput(ranges), stdout: framer });
 * ```
 */
export function deltaEncoder(header: DeltaHeader, ranges: readonly DeltaRange[]): Transform {
  assertDeltaRanges(header.size, ranges);
  const hash = createHash('sha256');
  let next = 0;
  let left = 0;
  let records = 0;
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      let at = 0;
      while (at < chunk.length) {
        if (left === 0) {
          const range = ranges[next];
          if (range === undefined) {
            callback(new StorageError('CORRUPT', `the device gave more than the ${bytes} bytes of the changed ranges`, { details: { bytes } }));
            return;
          }
          emit(recordHead(TYPE_DATA, range.offset, range.length));
          left = range.length;
        }
        const piece = chunk.subarray(at, at + left);
        emit(piece);
        at += piece.length;
        left -= piece.length;
        bytes += piece.length;
        if (left === 0) {
          next++;
          records++;
          zeros();
        }
      }
      callback();
    },
    flush(callback: TransformCallback) {
      if (next < ranges.length) {
        callback(new StorageError('CORRUPT', `the device gave ${bytes} bytes, the changed ranges hold more`, { details: { bytes } }));
        return;
      }
      emit(recordHead(TYPE_END, records, bytes));
      stream.push(hash.digest());
      callback();
    },
  });
  function emit(b: Buffer): void {
    hash.update(b);
    stream.push(b);
  }
  function zeros(): void {
    for (let r = ranges[next]; r?.kind === 'zero'; r = ranges[++next]) {
      emit(recordHead(TYPE_ZERO, r.offset, r.length));
      records++;
    }
  }
  emit(encodeDeltaHeader(header));
  zeros();
  return stream;
}

/** Exact reads from a stream of buffers, hashing what it hands out. */
class FrameReader {
  readonly #chunks: AsyncIterator<unknown>;
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;
  readonly hash: Hash = createHash('sha256');
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(input: AsyncIterable<unknown>) {
    this.#chunks = input[Symbol.asyncIterator]();
  }

  /** Fills the buffer with at least `n` bytes; `false` when the stream ends first. */
  async #fill(n: number): Promise<boolean> {
    while (this.#buffer.length < n && !this.#ended) {
      const next = await this.#chunks.next();
      if (next.done === true) this.#ended = true;
      else {
        const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
        this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      }
    }
    return this.#buffer.length >= n;
  }

  /** Exactly `n` bytes, hashed unless `hashed` is false; a stream that ends first is truncated. */
  async take(n: number, what: string, hashed = true): Promise<Buffer> {
    if (!(await this.#fill(n))) throw badStream('truncated', `truncated in ${what} (after ${this.consumed + this.#buffer.length} bytes)`, { received: this.consumed + this.#buffer.length });
    return this.#hand(n, hashed);
  }

  /** Between 1 and `n` bytes of what is buffered or comes next. */
  async some(n: number, what: string): Promise<Buffer> {
    if (!(await this.#fill(1))) throw badStream('truncated', `truncated in ${what} (after ${this.consumed} bytes)`, { received: this.consumed });
    return this.#hand(Math.min(n, this.#buffer.length), true);
  }

  /** Whether the stream has ended with nothing left. */
  async atEnd(): Promise<boolean> {
    return !(await this.#fill(1));
  }

  #hand(n: number, hashed: boolean): Buffer {
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    if (hashed) this.hash.update(out);
    this.consumed += n;
    return out;
  }
}

function u64(b: Buffer, at: number, what: string): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw badStream('malformed', `${what} ${v} is too large`, { [what]: String(v) });
  return Number(v);
}

function parseHeader(b: Buffer): DeltaHeader {
  if (b.toString('latin1', 0, 8) !== DELTA_MAGIC) throw badStream('malformed', 'does not start with STWDELTA');
  const version = b.readUInt32LE(8);
  if (version !== DELTA_VERSION) throw badStream('malformed', `version ${version} is not ${DELTA_VERSION}`, { version });
  const blockSize = b.readUInt32LE(12);
  const size = u64(b, 16, 'size');
  const flags = b.readBigUInt64LE(24);
  if (blockSize === 0 || blockSize % 512 !== 0) throw badStream('malformed', `block size ${blockSize} is not a multiple of 512`, { blockSize });
  if (size === 0) throw badStream('malformed', 'the volume size is 0');
  if ((flags & ~FLAG_INCREMENTAL) !== 0n) throw badStream('malformed', `unknown flags ${flags}`, { flags: String(flags) });
  return { size, blockSize, incremental: (flags & FLAG_INCREMENTAL) !== 0n };
}

/**
 * Reads an `lvmthin-delta` stream, checking it as it goes: yields the header, then each record
 * (a data record's bytes in pieces as they arrive), and returns once the end record, the
 * checksum and the end of the input are checked. A consumer applies what it is given to a
 * scratch copy, and keeps it only when the generator returns normally.
 *
 * @param input - the stream (a `Readable`, or any iterable of buffers)
 * @returns the generator; its return value is the count of records and data bytes
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` with
 *   `details.problem`: `truncated` (ends early), `malformed` (bad magic, version, flags, record
 *   type; a record that is empty, out of order, overlaps, or ends past the volume), `checksum`
 *   (end record or SHA-256 wrong), `over-long` (bytes after the end record)
 */
export async function* readDelta(input: AsyncIterable<unknown>): AsyncGenerator<DeltaEvent, DeltaSummary, undefined> {
  const reader = new FrameReader(input);
  const header = parseHeader(await reader.take(DELTA_HEADER_BYTES, 'the header'));
  yield { kind: 'header', header };
  let end = 0;
  let records = 0;
  let bytes = 0;
  for (;;) {
    const head = await reader.take(DELTA_RECORD_BYTES, 'a record head');
    const type = head.readUInt32LE(0);
    const offset = u64(head, 8, 'offset');
    const length = u64(head, 16, 'length');
    if (head.readUInt32LE(4) !== 0) throw badStream('malformed', 'a record head has a non-zero reserved field');
    if (type === TYPE_END) {
      const digest = await reader.take(DELTA_DIGEST_BYTES, 'the checksum', false);
      if (offset !== records || length !== bytes) {
        throw badStream('checksum', `the end record counts ${offset} records and ${length} bytes, the stream held ${records} and ${bytes}`, { records, bytes });
      }
      if (!digest.equals(reader.hash.digest())) throw badStream('checksum', 'the SHA-256 does not match the stream');
      if (!(await reader.atEnd())) throw badStream('over-long', 'bytes follow the end record', { received: reader.consumed });
      return { records, bytes };
    }
    if (type !== TYPE_DATA && type !== TYPE_ZERO) throw badStream('malformed', `unknown record type ${type}`, { type });
    if (length === 0 || offset < end || offset + length > header.size) {
      const problem = offset + length > header.size ? 'over-long' : 'malformed';
      throw badStream(problem, `record at ${offset}+${length} is empty, out of order, overlaps, or ends past the volume's ${header.size} bytes`, { offset, length, size: header.size });
    }
    end = offset + length;
    records++;
    if (type === TYPE_ZERO) {
      yield { kind: 'zero', offset, length };
      continue;
    }
    yield { kind: 'data', offset, length };
    for (let left = length; left > 0; ) {
      const piece = await reader.some(left, `the data of the record at ${offset}`);
      left -= piece.length;
      bytes += piece.length;
      yield { kind: 'bytes', bytes: piece };
    }
  }
}

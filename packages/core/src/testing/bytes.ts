/**
 * Byte helpers of the kit: test patterns, `raw+size` streams, and a sink that collects a stream.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { encodeSizeHeader } from '../transfer.js';

/**
 * A test image: mostly zeros (so sparse storages stay small) with random 64 KiB blocks at the
 * start, the middle and the end, so misplaced, dropped or zero-filled bytes all show.
 *
 * @param size - the length in bytes
 * @returns the bytes
 */
export function patternBytes(size: number): Buffer {
  const data = Buffer.alloc(size);
  const block = Math.min(64 * 1024, size);
  for (const offset of [0, Math.floor(size / 2 / 4096) * 4096, size - block]) randomBytes(block).copy(data, Math.max(0, offset));
  return data;
}

/**
 * A `raw+size` stream of some bytes, delivered in pieces of up to 1 MiB.
 *
 * @param data - the payload
 * @param announced - the size written in the header (defaults to the payload length; set it
 *   larger to make a truncated stream)
 * @returns a readable stream: 8-byte little-endian size, then the payload
 */
export function rawSizeStream(data: Buffer, announced = data.length): Readable {
  const pieces: Buffer[] = [encodeSizeHeader(announced)];
  for (let offset = 0; offset < data.length; offset += 1024 * 1024) pieces.push(data.subarray(offset, offset + 1024 * 1024));
  return Readable.from(pieces, { objectMode: false });
}

/** A writable that keeps everything written into it, and a way to read it back. */
export interface ByteSink {
  /** Where to write. */
  readonly stream: Writable;
  /** Everything written so far, as one buffer. */
  bytes(): Buffer;
}

/** Makes a {@link ByteSink}. */
export function byteSink(): ByteSink {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

/**
 * Describes where two buffers first differ, for failure messages (buffers are too big to print).
 *
 * @param actual - what came back
 * @param expected - what was written
 * @returns `undefined` when equal, else a sentence
 */
export function firstDifference(actual: Buffer, expected: Buffer): string | undefined {
  if (actual.equals(expected)) return undefined;
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  const hex = (b: Buffer): string => b.subarray(i, i + 16).toString('hex');
  return `lengths ${actual.length} vs ${expected.length} (expected); first difference at byte ${i}: ${hex(actual)} vs ${hex(expected)}`;
}

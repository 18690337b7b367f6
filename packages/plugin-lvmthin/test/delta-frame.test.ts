/**
 * The `lvmthin-delta` frame: what the encoder writes the decoder reads back, and every way a
 * stream can be wrong (truncated anywhere, corrupt, over-long, malformed) is refused with
 * `INVALID_ARGUMENT` and the problem named.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isStorageError, type StorageError } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import {
  DELTA_DIGEST_BYTES,
  DELTA_HEADER_BYTES,
  DELTA_RECORD_BYTES,
  deltaEncoder,
  readDelta,
  type DeltaEvent,
  type DeltaHeader,
  type DeltaRange,
} from '../src/delta-frame.js';

const KiB = 1024;
const header: DeltaHeader = { size: 1024 * KiB, blockSize: 64 * KiB, incremental: true };
const ranges: DeltaRange[] = [
  { kind: 'zero', offset: 0, length: 64 * KiB },
  { kind: 'data', offset: 128 * KiB, length: 128 * KiB },
  { kind: 'zero', offset: 320 * KiB, length: 64 * KiB },
  { kind: 'zero', offset: 384 * KiB, length: 64 * KiB },
  { kind: 'data', offset: 960 * KiB, length: 64 * KiB },
];
const data = randomBytes(192 * KiB);

/** Frames `data` for `ranges`, fed in pieces of `piece` bytes. */
async function encode(h = header, r = ranges, d = data, piece = 10_000): Promise<Buffer> {
  const out: Buffer[] = [];
  const pieces = Array.from({ length: Math.ceil(d.length / piece) }, (_, i) => d.subarray(i * piece, (i + 1) * piece));
  await pipeline(Readable.from(pieces), deltaEncoder(h, r), async (framed: AsyncIterable<Buffer>) => {
    for await (const c of framed) out.push(c);
  });
  return Buffer.concat(out);
}

/** Decodes a stream given in pieces; the events with data pieces joined, and the summary. */
async function decode(stream: Buffer, piece = 7_000): Promise<{ events: DeltaEvent[]; summary: unknown }> {
  const pieces = Array.from({ length: Math.ceil(stream.length / piece) }, (_, i) => stream.subarray(i * piece, (i + 1) * piece));
  const gen = readDelta(Readable.from(pieces));
  const events: DeltaEvent[] = [];
  for (;;) {
    const next = await gen.next();
    if (next.done === true) return { events, summary: next.value };
    const e = next.value;
    const last = events.at(-1);
    if (e.kind === 'bytes' && last?.kind === 'bytes') events[events.length - 1] = { kind: 'bytes', bytes: Buffer.concat([last.bytes, e.bytes]) };
    else events.push(e);
  }
}

async function problemOf(stream: Buffer): Promise<string | undefined> {
  try {
    await decode(stream);
  } catch (e) {
    expect(isStorageError(e, 'INVALID_ARGUMENT'), String(e)).toBe(true);
    return (e as StorageError).details['problem'] as string;
  }
  return undefined;
}

describe('lvmthin-delta frame', () => {
  it('reads back what it wrote: header, records in order, data, counts', async () => {
    const stream = await encode();
    expect(stream.length).toBe(DELTA_HEADER_BYTES + 6 * DELTA_RECORD_BYTES + data.length + DELTA_DIGEST_BYTES);
    const { events, summary } = await decode(stream);
    expect(events).toEqual([
      { kind: 'header', header },
      { kind: 'zero', offset: 0, length: 64 * KiB },
      { kind: 'data', offset: 128 * KiB, length: 128 * KiB },
      { kind: 'bytes', bytes: data.subarray(0, 128 * KiB) },
      { kind: 'zero', offset: 320 * KiB, length: 64 * KiB },
      { kind: 'zero', offset: 384 * KiB, length: 64 * KiB },
      { kind: 'data', offset: 960 * KiB, length: 64 * KiB },
      { kind: 'bytes', bytes: data.subarray(128 * KiB) },
    ]);
    expect(summary).toEqual({ records: 5, bytes: data.length });
  });

  it('frames a full copy and one with nothing changed', async () => {
    const full = { ...header, incremental: false };
    expect((await decode(await encode(full))).events[0]).toEqual({ kind: 'header', header: full });
    const empty = await encode(header, [], Buffer.alloc(0));
    expect(empty.length).toBe(DELTA_HEADER_BYTES + DELTA_RECORD_BYTES + DELTA_DIGEST_BYTES);
    expect(await decode(empty)).toEqual({ events: [{ kind: 'header', header }], summary: { records: 0, bytes: 0 } });
  });

  it('refuses data that does not fill the ranges, or overflows them (CORRUPT)', async () => {
    for (const d of [data.subarray(1), Buffer.concat([data, Buffer.alloc(1)])]) {
      const e = await encode(header, ranges, d).catch((x: unknown) => x);
      expect(isStorageError(e, 'CORRUPT'), String(e)).toBe(true);
    }
  });

  it('refuses ranges that are out of order, overlap, are empty or pass the end', () => {
    for (const bad of [
      [ranges[1]!, ranges[0]!],
      [{ kind: 'data', offset: 0, length: 10 }, { kind: 'zero', offset: 5, length: 10 }],
      [{ kind: 'data', offset: 0, length: 0 }],
      [{ kind: 'data', offset: header.size - 10, length: 11 }],
    ] as DeltaRange[][]) {
      expect(() => deltaEncoder(header, bad)).toThrow(TypeError);
    }
  });

  it('refuses a stream cut off anywhere as truncated', async () => {
    const stream = await encode();
    for (const at of [0, 5, DELTA_HEADER_BYTES, DELTA_HEADER_BYTES + 30, DELTA_HEADER_BYTES + 2 * DELTA_RECORD_BYTES + 100, stream.length - DELTA_DIGEST_BYTES - 1, stream.length - 1]) {
      expect(await problemOf(stream.subarray(0, at)), `cut at ${at}`).toBe('truncated');
    }
  });

  it('refuses a stream with a flipped data bit, a wrong count or a wrong digest (checksum)', async () => {
    const stream = await encode();
    const flipped = Buffer.from(stream);
    flipped[DELTA_HEADER_BYTES + 2 * DELTA_RECORD_BYTES + 1000]! ^= 1;
    expect(await problemOf(flipped)).toBe('checksum');
    const digest = Buffer.from(stream);
    digest[digest.length - 1]! ^= 0xff;
    expect(await problemOf(digest)).toBe('checksum');
    const count = Buffer.from(stream);
    count.writeBigUInt64LE(4n, stream.length - DELTA_DIGEST_BYTES - 16);
    expect(await problemOf(count)).toBe('checksum');
  });

  it('refuses bytes after the end record and a record past the volume as over-long', async () => {
    const stream = await encode();
    expect(await problemOf(Buffer.concat([stream, Buffer.from([0])]))).toBe('over-long');
    const past = await encode({ ...header, size: 1024 * KiB }, [{ kind: 'data', offset: 960 * KiB, length: 64 * KiB }], data.subarray(0, 64 * KiB));
    past.writeBigUInt64LE(BigInt(512 * KiB), 16); // the header now says the volume is half as large
    expect(await problemOf(past)).toBe('over-long');
  });

  it('refuses a bad magic, version, block size, flags, record type or reserved field as malformed', async () => {
    const stream = await encode();
    const patch = (at: number, write: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(stream);
      write(b.subarray(at));
      return b;
    };
    expect(await problemOf(patch(0, (b) => b.write('NOTDELTA')))).toBe('malformed');
    expect(await problemOf(patch(8, (b) => b.writeUInt32LE(2)))).toBe('malformed');
    expect(await problemOf(patch(12, (b) => b.writeUInt32LE(1000)))).toBe('malformed');
    expect(await problemOf(patch(24, (b) => b.writeBigUInt64LE(2n)))).toBe('malformed');
    expect(await problemOf(patch(DELTA_HEADER_BYTES, (b) => b.writeUInt32LE(7)))).toBe('malformed');
    expect(await problemOf(patch(DELTA_HEADER_BYTES + 4, (b) => b.writeUInt32LE(1)))).toBe('malformed');
  });

  it('refuses records out of order or empty as malformed', async () => {
    const second = DELTA_HEADER_BYTES + DELTA_RECORD_BYTES;
    const stream = await encode();
    const back = Buffer.from(stream);
    back.writeBigUInt64LE(0n, second + 8); // the data record now starts inside the zero record before it
    expect(await problemOf(back)).toBe('malformed');
    const empty = Buffer.from(stream);
    empty.writeBigUInt64LE(0n, DELTA_HEADER_BYTES + 16);
    expect(await problemOf(empty)).toBe('malformed');
  });
});

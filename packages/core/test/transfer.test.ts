import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  countingStream,
  decodeSizeHeader,
  encodeSizeHeader,
  forwardInto,
  negotiateFormat,
  readSizeHeader,
  SIZE_HEADER_BYTES,
  writeAll,
} from '@stowage/core/plugin';
import { isStorageError, type Progress } from '@stowage/core';
import { codeOf } from './support/failure.js';


function collect(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

describe('size header', () => {
  it('is 8 bytes, unsigned 64-bit little-endian', () => {
    expect(SIZE_HEADER_BYTES).toBe(8);
    expect(encodeSizeHeader(0x0102030405)).toEqual(Buffer.from([5, 4, 3, 2, 1, 0, 0, 0]));
    expect(decodeSizeHeader(encodeSizeHeader(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses sizes that cannot be encoded or decoded exactly', () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) {
      expect(() => encodeSizeHeader(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(() => decodeSizeHeader(Buffer.alloc(8, 0xff))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => decodeSizeHeader(Buffer.alloc(7))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('readSizeHeader consumes exactly 8 bytes and leaves the payload, even across chunk borders', async () => {
    const payload = Buffer.from('hello, volume');
    const header = encodeSizeHeader(payload.length);
    // Chunks split inside the header: 3 + 5 + rest.
    const input = Readable.from([header.subarray(0, 3), Buffer.concat([header.subarray(3), payload.subarray(0, 4)]), payload.subarray(4)], {
      objectMode: false,
    });
    expect(await readSizeHeader(input)).toBe(payload.length);
    const { sink, bytes } = collect();
    await pipeline(input, sink);
    expect(bytes().toString()).toBe('hello, volume');
  });

  it('works on object-mode streams with chunks smaller and larger than the header', async () => {
    const stream = Buffer.concat([encodeSizeHeader(5), Buffer.from('12345')]);
    for (const chunks of [[stream], [stream.subarray(0, 3), stream.subarray(3, 6), stream.subarray(6)]]) {
      const input = Readable.from(chunks); // object mode
      expect(await readSizeHeader(input)).toBe(5);
      const { sink, bytes } = collect();
      await pipeline(input, sink);
      expect(bytes().toString()).toBe('12345');
    }
  });

  it('works on a stream that is written later', async () => {
    const input = new PassThrough();
    const p = readSizeHeader(input);
    setImmediate(() => {
      input.write(encodeSizeHeader(3).subarray(0, 6));
      setImmediate(() => input.end(Buffer.concat([encodeSizeHeader(3).subarray(6), Buffer.from('abc')])));
    });
    expect(await p).toBe(3);
    const { sink, bytes } = collect();
    await pipeline(input, sink);
    expect(bytes().toString()).toBe('abc');
  });

  it('fails with INVALID_ARGUMENT on truncated streams (0 to 7 bytes)', async () => {
    for (let n = 0; n < 8; n++) {
      expect(await codeOf(readSizeHeader(Readable.from([Buffer.alloc(n, 1)].filter((b) => b.length > 0))))).toBe('INVALID_ARGUMENT');
    }
  });

  it('passes stream errors on and honours an abort signal', async () => {
    const broken = new PassThrough();
    const p = readSizeHeader(broken);
    broken.destroy(new Error('disk on fire'));
    await expect(p).rejects.toThrow('disk on fire');

    const stalled = new PassThrough();
    const ac = new AbortController();
    const q = readSizeHeader(stalled, ac.signal);
    ac.abort();
    expect(await codeOf(q)).toBe('ABORTED');
  });
});

describe('negotiateFormat', () => {
  it("picks the exporter's first format the importer accepts", () => {
    expect(negotiateFormat(['zfs', 'raw+size'], ['raw+size', 'zfs'])).toBe('zfs');
    expect(negotiateFormat(['qcow2+size', 'raw+size'], ['raw+size'])).toBe('raw+size');
  });

  it('fails with NOT_SUPPORTED and both lists when nothing matches', () => {
    try {
      negotiateFormat(['zfs'], ['raw+size']);
      expect.unreachable();
    } catch (e) {
      expect(isStorageError(e, 'NOT_SUPPORTED')).toBe(true);
      expect((e as { details: unknown }).details).toEqual({ exportFormats: ['zfs'], importFormats: ['raw+size'] });
    }
  });
});

describe('countingStream', () => {
  it('passes bytes through unchanged and reports done/total after each chunk and at the end', async () => {
    const reports: Progress[] = [];
    const data = [Buffer.alloc(1000, 1), Buffer.alloc(24, 2)];
    const counter = countingStream((p) => reports.push(p), 1024);
    const { sink, bytes } = collect();
    await pipeline(Readable.from(data), counter, sink);
    expect(bytes()).toEqual(Buffer.concat(data));
    expect(reports).toEqual([
      { done: 1000, total: 1024 },
      { done: 1024, total: 1024 },
      { done: 1024, total: 1024 },
    ]);
    expect(counter.done).toBe(1024);
  });

  it('learns the total from a size header split over chunks', async () => {
    const reports: Progress[] = [];
    const payload = Buffer.alloc(100, 7);
    const stream = Buffer.concat([encodeSizeHeader(payload.length), payload]);
    const counter = countingStream((p) => reports.push(p), undefined, { sizeHeader: true });
    await pipeline(Readable.from([stream.subarray(0, 5), stream.subarray(5)]), counter, collect().sink);
    expect(reports[0]).toEqual({ done: 5, total: undefined });
    expect(reports.at(-1)).toEqual({ done: 108, total: 108 });
  });

  it('keeps going when the progress callback throws', async () => {
    const counter = countingStream(() => {
      throw new Error('display broke');
    });
    const { sink, bytes } = collect();
    await pipeline(Readable.from([Buffer.from('abc')]), counter, sink);
    expect(bytes().toString()).toBe('abc');
  });
});

describe('forwardInto and writeAll', () => {
  it('forward every byte with progress, wait for a slow target, and never end it', async () => {
    const got: Buffer[] = [];
    const target = new Writable({
      highWaterMark: 4,
      write(chunk: Buffer, _enc, cb) {
        got.push(chunk);
        setTimeout(cb, 1);
      },
    });
    const progress: { done: number; total: number | undefined }[] = [];
    await writeAll(target, Buffer.from('HEADER!!'));
    const fwd = forwardInto(target, (p) => progress.push(p), 8 + 20, 8);
    for (let i = 0; i < 4; i++) fwd.stream.write(Buffer.alloc(5, 65 + i));
    expect(await fwd.finish()).toBe(20);
    expect(Buffer.concat(got).toString()).toBe('HEADER!!AAAAABBBBBCCCCCDDDDD');
    expect(progress.at(-1)).toEqual({ done: 28, total: 28 });
    expect(target.writableEnded).toBe(false);
  });

  it('fail, never hang, when the target is closed while full or before the write', async () => {
    // a target that takes nothing: the first write fills it
    const stuck = new Writable({ highWaterMark: 1, write() {} });
    const fwd = forwardInto(stuck);
    fwd.stream.on('error', () => undefined); // the write's callback reports it
    const written = new Promise<Error | null | undefined>((resolve) => fwd.stream.write(Buffer.alloc(64), resolve));
    stuck.destroy();
    expect(await written).toBeInstanceOf(Error);
    const late = forwardInto(stuck);
    late.stream.on('error', () => undefined);
    expect(await new Promise((resolve) => late.stream.write(Buffer.alloc(1), resolve))).toBeInstanceOf(Error);
  });
});

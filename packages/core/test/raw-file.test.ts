import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errnoOf, exportRawFile, fsError, importRawFile, readSizeHeader, writeSparseStream } from '../src/plugin.js';
import { consumesChunks, consumingSink } from '../src/consuming-sink.js';
import { codeOf } from './support/failure.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-raw-file-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function collect(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    sink: new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
    bytes: () => Buffer.concat(chunks),
  };
}


const data = Buffer.concat([Buffer.alloc(200_000, 7), Buffer.alloc(300_000), Buffer.from('tail')]);

describe('exportRawFile', () => {
  it('writes the size header then the bytes, leaves the output open, reports progress', async () => {
    const file = join(dir, 'a.raw');
    await writeFile(file, data);
    const { sink, bytes } = collect();
    let last = { done: 0, total: 0 as number | undefined };
    const n = await exportRawFile(file, sink, { onProgress: (p) => (last = p) });
    expect(n).toBe(8 + data.length);
    expect(bytes().readBigUInt64LE(0)).toBe(BigInt(data.length));
    expect(bytes().subarray(8).equals(data)).toBe(true);
    expect(sink.writableEnded).toBe(false);
    expect(last).toEqual({ done: 8 + data.length, total: 8 + data.length });
  });

  it('exports an empty file as a header alone', async () => {
    const file = join(dir, 'empty.raw');
    await writeFile(file, '');
    const { sink, bytes } = collect();
    expect(await exportRawFile(file, sink)).toBe(8);
    expect(bytes()).toEqual(Buffer.alloc(8));
  });

  it('maps a missing file to NOT_FOUND', async () => {
    expect(await codeOf(exportRawFile(join(dir, 'nope.raw'), collect().sink))).toBe('NOT_FOUND');
  });
});

describe('exportRawFile of an open file', () => {
  it('reads the file it was given from its start, not what the path names by then, and leaves it open', async () => {
    const file = join(dir, 'opened.raw');
    const data = randomBytes(3 * 1024 * 1024 + 5);
    await writeFile(file, data);
    const handle = await open(file, 'r');
    try {
      await handle.read(Buffer.alloc(100), 0, 100, null); // moves the file position
      await writeFile(join(dir, 'other.raw'), 'another file under the same name');
      await rename(join(dir, 'other.raw'), file);
      for (const consuming of [false, true]) {
        const out = collect();
        const chunks: Buffer[] = [];
        const sink = consuming ? consumingSink((c) => void chunks.push(Buffer.from(c))) : out.sink;
        expect(await exportRawFile(handle, sink)).toBe(8 + data.length);
        const bytes = consuming ? Buffer.concat(chunks) : out.bytes();
        expect(bytes.readBigUInt64LE(0)).toBe(BigInt(data.length));
        expect(bytes.subarray(8).equals(data)).toBe(true);
      }
      expect((await handle.stat()).size).toBe(data.length); // still open
    } finally {
      await handle.close();
    }
  });
});

describe('exportRawFile into a consuming sink', () => {
  // 5 MiB and a bit: several reads of the export's 1 MiB
  const big = Buffer.concat([randomBytes(5 * 1024 * 1024), Buffer.from('end')]);

  it('reads into two buffers it reuses, with the same bytes and progress as the stream path', async () => {
    const file = join(dir, 'big.raw');
    await writeFile(file, big);
    const hash = createHash('sha256');
    const memory = new Set<ArrayBufferLike>();
    let chunks = 0;
    const sink = consumingSink((chunk) => {
      hash.update(chunk);
      memory.add(chunk.buffer);
      chunks++;
    });
    expect(consumesChunks(sink)).toBe(true);
    const reports: { done: number; total: number | undefined }[] = [];
    const n = await exportRawFile(file, sink, { onProgress: (p) => reports.push(p) });
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(BigInt(big.length));
    expect(n).toBe(8 + big.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(header).update(big).digest('hex'));
    // the header's buffer and the two read buffers, for seven chunks of data
    expect(chunks).toBeGreaterThanOrEqual(7);
    expect(memory.size).toBeLessThanOrEqual(3);
    expect(reports.at(-1)).toEqual({ done: 8 + big.length, total: 8 + big.length });
    expect(reports.every((r, i) => i === 0 || r.done >= reports[i - 1]!.done)).toBe(true);
    expect(sink.writableEnded).toBe(false);
  });

  it('gives fresh memory to an output that may keep its chunks', async () => {
    const file = join(dir, 'big-kept.raw');
    await writeFile(file, big);
    const { sink, bytes } = collect();
    expect(consumesChunks(sink)).toBe(false);
    await exportRawFile(file, sink);
    expect(bytes().subarray(8).equals(big)).toBe(true);
  });

  it('stops with ABORTED, and with the error of a sink that fails', async () => {
    const file = join(dir, 'big-abort.raw');
    await writeFile(file, big);
    const stop = new AbortController();
    let seen = 0;
    const sink = consumingSink((chunk) => {
      seen += chunk.length;
      if (seen > 2 * 1024 * 1024) stop.abort();
    });
    expect(await codeOf(exportRawFile(file, sink, { signal: stop.signal }))).toBe('ABORTED');
    expect(seen).toBeLessThan(big.length);
    const failing = consumingSink(() => {
      throw new Error('sink broke');
    });
    await expect(exportRawFile(file, failing)).rejects.toThrow(/sink broke/);
  });

  it('exports an empty file as a header alone', async () => {
    const file = join(dir, 'empty-consumed.raw');
    await writeFile(file, '');
    const chunks: Buffer[] = [];
    expect(await exportRawFile(file, consumingSink((c) => chunks.push(Buffer.from(c))))).toBe(8);
    expect(Buffer.concat(chunks)).toEqual(Buffer.alloc(8));
  });
});

describe('importRawFile', () => {
  it('round-trips an export byte for byte, leaving the zero run as a hole', async () => {
    const file = join(dir, 'b.raw');
    await writeFile(file, data);
    const { sink, bytes } = collect();
    await exportRawFile(file, sink);
    const input = Readable.from([bytes()]);
    const size = await readSizeHeader(input);
    const target = join(dir, 'b-copy.raw');
    await importRawFile(input, target, size);
    expect((await readFile(target)).equals(data)).toBe(true);
    expect((await stat(target)).blocks * 512).toBeLessThan(data.length);
  });

  it('refuses a truncated stream and one longer than announced with INVALID_ARGUMENT', async () => {
    expect(await codeOf(importRawFile(Readable.from([Buffer.alloc(10, 1)]), join(dir, 'short.raw'), 20))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(importRawFile(Readable.from([Buffer.alloc(30, 1)]), join(dir, 'long.raw'), 20))).toBe('INVALID_ARGUMENT');
  });

  it('never overwrites: ALREADY_EXISTS', async () => {
    await writeFile(join(dir, 'taken.raw'), 'x');
    expect(await codeOf(importRawFile(Readable.from([Buffer.alloc(1)]), join(dir, 'taken.raw'), 1))).toBe('ALREADY_EXISTS');
    expect(await readFile(join(dir, 'taken.raw'), 'utf8')).toBe('x');
  });

  it('stops with ABORTED when the signal fires', async () => {
    const controller = new AbortController();
    const input = new Readable({ read() {} });
    input.push(Buffer.alloc(1000, 1));
    const p = importRawFile(input, join(dir, 'aborted.raw'), 1_000_000, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect(await codeOf(p)).toBe('ABORTED');
  });
});

describe('fsError', () => {
  it('maps errno names to codes and keeps the cause', () => {
    const enospc = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    const e = fsError(enospc, 'cannot write', { path: '/x' });
    expect(e.code).toBe('NO_SPACE');
    expect(e.cause).toBe(enospc);
    expect(e.details).toEqual({ path: '/x', errno: 'ENOSPC' });
    expect(fsError(new Error('plain'), 'x').code).toBe('INTERNAL');
    expect(fsError(e, 'again')).toBe(e);
    expect(errnoOf({ code: 'ERR_SOMETHING_NODE' })).toBeUndefined();
    expect(errnoOf(Object.assign(new Error(), { code: 'EACCES' }))).toBe('EACCES');
  });
});

describe('writeSparseStream', () => {
  it('writes chunks of any size across batches byte for byte, zero blocks staying holes, and returns the length', async () => {
    const MiB = 1024 * 1024;
    // 10 MiB: random data, a 3 MiB zero run that crosses chunk and batch boundaries, more data
    const whole = Buffer.concat([randomBytes(3 * MiB + 12_345), Buffer.alloc(3 * MiB), randomBytes(4 * MiB - 12_345)]);
    const chunks: Buffer[] = [];
    for (let off = 0; off < whole.length; off += 100_003) chunks.push(whole.subarray(off, off + 100_003));
    const file = join(dir, 'stream.raw');
    const handle = await open(file, 'wx');
    const written: number[] = [];
    try {
      expect(await writeSparseStream(handle, Readable.from(chunks), { onWritten: (n) => written.push(n) })).toBe(whole.length);
      await handle.truncate(whole.length);
    } finally {
      await handle.close();
    }
    expect((await readFile(file)).equals(whole)).toBe(true);
    expect((await stat(file)).blocks * 512).toBeLessThan(whole.length - 2 * MiB);
    expect(written.at(-1)).toBe(whole.length);
    expect(written.length).toBeGreaterThan(1);
  });

  it('finishes a short writev with plain writes', async () => {
    const file = join(dir, 'short-writev.raw');
    const real = await open(file, 'wx');
    // a file handle whose writev takes only the first 1000 bytes of each call (as a short write would)
    const short = Object.assign(Object.create(real) as typeof real, {
      writev: async (buffers: Buffer[], position: number) => real.write(Buffer.concat(buffers).subarray(0, 1000), 0, 1000, position),
      write: real.write.bind(real),
    });
    const whole = randomBytes(300_000);
    try {
      expect(await writeSparseStream(short, Readable.from([whole.subarray(0, 150_000), whole.subarray(150_000)]))).toBe(whole.length);
    } finally {
      await real.close();
    }
    expect((await readFile(file)).equals(whole)).toBe(true);
  });
});

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { Progress } from '@stowage/core';
import { exactLength, importRawFile, isAllZero, reportProgress, SPARSE_BLOCK, writeSparse } from '@stowage/core/plugin';
import { expectCode } from '@stowage/core/testing';

const dir = mkdtempSync(join(tmpdir(), 'stowage-exact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Pipes chunks through an exact-length stream; resolves with what came out. */
async function through(chunks: Buffer[], size: number, onProgress?: (p: Progress) => void): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    exactLength(size, { onProgress }),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

describe('exactLength', () => {
  it('passes exactly size bytes and reports progress', async () => {
    const seen: Progress[] = [];
    const out = await through([Buffer.from('abc'), Buffer.from('de')], 5, (p) => seen.push(p));
    expect(out.toString()).toBe('abcde');
    expect(seen.at(-1)).toEqual({ done: 5, total: 5 });
  });

  it('a short stream is INVALID_ARGUMENT with details { size, received }', async () => {
    const e = await expectCode(through([Buffer.from('abc')], 5), 'INVALID_ARGUMENT');
    expect(e.details).toEqual({ size: 5, received: 3 });
  });

  it('a long stream fails at the first byte too many, with the same details shape, and passes nothing past size', async () => {
    const out: Buffer[] = [];
    const e = await expectCode(
      pipeline(
        Readable.from([Buffer.from('abc'), Buffer.from('def')]),
        exactLength(5),
        new Writable({
          write(chunk: Buffer, _e, cb) {
            out.push(chunk);
            cb();
          },
        }),
      ),
      'INVALID_ARGUMENT',
    );
    expect(e.details).toEqual({ size: 5, received: 6 });
    expect(Buffer.concat(out).toString()).toBe('abc');
  });

  it('a progress callback that throws does not break the copy', async () => {
    const out = await through([Buffer.from('abc')], 3, () => {
      throw new Error('display broke');
    });
    expect(out.toString()).toBe('abc');
    expect(() => reportProgress(() => { throw new Error('x'); }, { done: 1, total: 1 })).not.toThrow();
  });

  it('importRawFile refuses a long stream with the same shape', async () => {
    const input = new PassThrough();
    input.end(Buffer.alloc(10, 1));
    const e = await expectCode(importRawFile(input, join(dir, 'long.raw'), 4), 'INVALID_ARGUMENT');
    expect(e.details).toMatchObject({ size: 4 });
    expect(Object.keys(e.details).sort()).toEqual(['received', 'size']);
  });
});

describe('writeSparse', () => {
  it('writes the data and leaves zero blocks as holes', async () => {
    const file = join(dir, 'sparse.raw');
    const data = Buffer.concat([Buffer.alloc(SPARSE_BLOCK, 7), Buffer.alloc(8 * SPARSE_BLOCK), Buffer.alloc(SPARSE_BLOCK, 9)]);
    const handle = await open(file, 'wx');
    try {
      await writeSparse(handle, data, 0);
      await handle.truncate(data.length);
    } finally {
      await handle.close();
    }
    expect(readFileSync(file).equals(data)).toBe(true);
    expect(statSync(file).blocks * 512).toBeLessThan(data.length);
    expect(isAllZero(Buffer.alloc(3 * SPARSE_BLOCK + 5))).toBe(true);
    expect(isAllZero(Buffer.from([0, 0, 1]))).toBe(false);
  });
});

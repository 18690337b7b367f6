import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { isStorageError, type Progress } from '@stowage/core';
import { LocalRunner, readSizeHeader, runWithExactInput, watchInput, encodeSizeHeader } from '@stowage/core/plugin';
import { expectCode, memoryConfigSchema, pluginContext } from '@stowage/core/testing';

const dir = mkdtempSync(join(tmpdir(), 'stowage-exact-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ctx = pluginContext({ config: memoryConfigSchema.parse({ type: 'memory', storage: 'exact' }), runner: new LocalRunner() });
const ddInto = (file: string) => ['dd', `of=${file}`, 'bs=64k', 'status=none'];

/** Feeds a `+size` stream into `dd` the way an import does. */
async function feed(stream: Readable, file: string, onProgress?: (p: Progress) => void): Promise<void> {
  const sender = watchInput(stream);
  const size = await readSizeHeader(stream);
  await runWithExactInput(ctx, ddInto(file), stream, size, { sender, onProgress });
}

describe('runWithExactInput', () => {
  it('feeds exactly the announced bytes into the command, reporting progress (a throwing callback changes nothing)', async () => {
    const file = join(dir, 'exact');
    const seen: Progress[] = [];
    const onProgress = (p: Progress) => {
      seen.push(p);
      throw new Error('a broken progress display');
    };
    await feed(Readable.from([encodeSizeHeader(6), Buffer.from('abc'), Buffer.from('def')]), file, onProgress);
    expect(readFileSync(file, 'utf8')).toBe('abcdef');
    expect(seen.at(-1)).toEqual({ done: 6, total: 6 });
  });

  it('a short stream is INVALID_ARGUMENT with details { size, received }', async () => {
    const e = await expectCode(feed(Readable.from([encodeSizeHeader(6), Buffer.from('abc')]), join(dir, 'short')), 'INVALID_ARGUMENT', 'a short stream');
    expect(e.details).toEqual({ size: 6, received: 3 });
  });

  it('a long stream is INVALID_ARGUMENT at the first byte too many', async () => {
    const e = await expectCode(feed(Readable.from([encodeSizeHeader(3), Buffer.from('abcdef')]), join(dir, 'long')), 'INVALID_ARGUMENT', 'a long stream');
    expect(e.details).toEqual({ size: 3, received: 6 });
  });

  it('a sender that breaks off stops the command, which would otherwise wait for more input', async () => {
    const input = new PassThrough();
    const sender = watchInput(input);
    input.write(encodeSizeHeader(1 << 20));
    const size = await readSizeHeader(input);
    const running = runWithExactInput(ctx, ddInto(join(dir, 'broken')), input, size, { sender });
    input.write(Buffer.alloc(1000, 1));
    setTimeout(() => input.destroy(new Error('the sender went away')), 50);
    const e = await running.then(() => undefined, (err: unknown) => err);
    expect(isStorageError(e)).toBe(true);
    expect(sender.signal.aborted).toBe(true);
  });
});

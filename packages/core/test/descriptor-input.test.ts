import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blockSource,
  checksumReadBack,
  DESCRIPTOR_BLOCK_BYTES,
  descriptorInput,
  encodeSizeHeader,
  FLUSH_BEHIND_BYTES,
  importRawFile,
  readBackRange,
  readSizeHeader,
  trackedReadBack,
  writeSparseBlocks,
  type BlockSource,
} from '../src/plugin.js';
import { codeOf } from './support/failure.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-descriptor-input-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));


/** A descriptor input whose stream opener counts its calls (a stream that must not be needed). */
function inputOf(fd: number): { input: Readable; opened: () => number } {
  let opened = 0;
  const input = descriptorInput(fd, () => {
    opened++;
    return new PassThrough();
  });
  return { input, opened: () => opened };
}

/** A file holding `header + payload`, opened for reading: what `stowage import - < file` reads. */
async function fileFd(name: string, bytes: Buffer): Promise<number> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return openSync(path, 'r');
}

/** A FIFO with a writer: the reading end (non-blocking, as a pipe that `process.stdin` touched) and the writing end. */
function fifo(name: string): { reader: number; writer: number } {
  const path = join(dir, name);
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  return { reader, writer };
}

describe('descriptorInput: an import reads standard input in blocks', () => {
  it('importRawFile reads a pipe written in small pieces through a few reused full blocks, never opening the stream', async () => {
    const payload = randomBytes(9 * DESCRIPTOR_BLOCK_BYTES + 12_345);
    const { reader, writer } = fifo('small-writes');
    const { input, opened } = inputOf(reader);
    const target = join(dir, 'small-writes.raw');
    const sizes: number[] = [];
    const importing = (async () => {
      const size = await readSizeHeader(input);
      const blocks = blockSource(input)!;
      // every block but the last full, whatever the writer's pieces were
      const next = blocks.next.bind(blocks);
      blocks.next = async (signal?: AbortSignal) => {
        const b = await next(signal);
        if (b) sizes.push(b.length);
        return b;
      };
      await importRawFile(input, target, size);
      return blocks;
    })();
    // the writer: 8 bytes of header, then 16 KiB pieces, as sshd hands a session's data on
    const bytes = Buffer.concat([encodeSizeHeader(payload.length), payload]);
    for (let off = 0; off < bytes.length; ) {
      try {
        off += writeSync(writer, bytes, off, Math.min(16 * 1024, bytes.length - off));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    closeSync(writer);
    const blocks = await importing;
    closeSync(reader);
    expect((await readFile(target)).equals(payload)).toBe(true);
    expect(opened()).toBe(0);
    // read in blocks, not as a stream (which copies each block into fresh memory)
    expect(input.readableDidRead).toBe(false);
    expect(blocks.buffersMade).toBe(4);
    expect(sizes.slice(0, -1).every((n, i) => n === (i === 0 ? DESCRIPTOR_BLOCK_BYTES - 8 : DESCRIPTOR_BLOCK_BYTES))).toBe(true);
  });

  it('holds the input to the length its header announced: shorter and longer fail with INVALID_ARGUMENT', async () => {
    const payload = randomBytes(3 * DESCRIPTOR_BLOCK_BYTES);
    const short = inputOf(await fileFd('short.in', Buffer.concat([encodeSizeHeader(payload.length + 1), payload])));
    expect(await codeOf((async () => importRawFile(short.input, join(dir, 'short.raw'), await readSizeHeader(short.input)))())).toBe('INVALID_ARGUMENT');
    const long = inputOf(await fileFd('long.in', Buffer.concat([encodeSizeHeader(payload.length - 1), payload])));
    expect(await codeOf((async () => importRawFile(long.input, join(dir, 'long.raw'), await readSizeHeader(long.input)))())).toBe('INVALID_ARGUMENT');
    expect(short.opened() + long.opened()).toBe(0);
  });

  it('an abort while the sender is silent ends the import with ABORTED at once', async () => {
    const { reader, writer } = fifo('silent');
    const { input } = inputOf(reader);
    writeSync(writer, Buffer.concat([encodeSizeHeader(64 * DESCRIPTOR_BLOCK_BYTES), Buffer.alloc(1000, 1)]));
    const controller = new AbortController();
    const { signal } = controller;
    // a block is handed on once full (or at the end): the header waits with the rest
    const importing = codeOf((async () => importRawFile(input, join(dir, 'silent.raw'), await readSizeHeader(input, signal), { signal }))());
    setTimeout(() => controller.abort(), 100);
    expect(await importing).toBe('ABORTED');
    closeSync(writer); // the worker's read ends
    closeSync(reader);
  });

  it('closed while a call waits for the silent sender, the call ends with the end of the input', async () => {
    const { reader, writer } = fifo('closed');
    const { input } = inputOf(reader);
    const blocks = blockSource(input)!;
    const waiting = blocks.next();
    setTimeout(() => blocks.close(), 50);
    expect(await waiting).toBeUndefined();
    closeSync(writer);
    closeSync(reader);
  });

  it('read as a stream after the header came in blocks, it gives the rest of the bytes', async () => {
    const payload = randomBytes(2 * DESCRIPTOR_BLOCK_BYTES + 77);
    const { input, opened } = inputOf(await fileFd('stream.in', Buffer.concat([encodeSizeHeader(payload.length), payload])));
    expect(await readSizeHeader(input)).toBe(payload.length);
    const chunks: Buffer[] = [];
    for await (const c of input) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    expect(opened()).toBe(0);
  });

  it('read as a stream first, it is the stream it opens, and has no blocks', async () => {
    const source = new PassThrough();
    const input = descriptorInput(await fileFd('first.in', Buffer.from('ignored')), () => source);
    source.end(Buffer.from('from the stream'));
    const chunks: Buffer[] = [];
    for await (const c of input) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('from the stream');
    expect(blockSource(input)).toBeUndefined();
  });

  it('a terminal or any other stream has no blocks', () => {
    expect(blockSource(new PassThrough())).toBeUndefined();
  });
});

describe('writeSparseBlocks flushBehind', () => {
  /** Blocks of zeros (holes: nothing written), `count` of them. */
  function zeros(count: number): BlockSource {
    const block = Buffer.alloc(DESCRIPTOR_BLOCK_BYTES);
    let left = count;
    return { next: async () => (left-- > 0 ? block : undefined), unread: () => undefined, close: () => undefined, buffersMade: 1 };
  }
  function fakeHandle(): { handle: FileHandle; syncs: () => number; running: () => number } {
    let syncs = 0;
    let running = 0;
    const handle = {
      write: async () => ({ bytesWritten: 0 }),
      datasync: async () => {
        syncs++;
        running++;
        await Promise.resolve();
        running--;
      },
    } as unknown as FileHandle;
    return { handle, syncs: () => syncs, running: () => running };
  }
  const blocks = (3 * FLUSH_BEHIND_BYTES) / DESCRIPTOR_BLOCK_BYTES + 1;

  it('flushes what was written as it goes, one flush at a time, none left running at the end', async () => {
    const h = fakeHandle();
    await writeSparseBlocks(h.handle, zeros(blocks), blocks * DESCRIPTOR_BLOCK_BYTES, { flushBehind: true });
    expect(h.syncs()).toBeGreaterThanOrEqual(2);
    expect(h.running()).toBe(0);
  });

  it('does not flush unless asked', async () => {
    const h = fakeHandle();
    await writeSparseBlocks(h.handle, zeros(blocks), blocks * DESCRIPTOR_BLOCK_BYTES);
    expect(h.syncs()).toBe(0);
  });
});

describe('writeSparseBlocks readBack', () => {
  it('hands each flushed part as the file holds it, read back after the flush, not as it arrived', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-readback-'));
    try {
      const count = (2 * FLUSH_BEHIND_BYTES) / DESCRIPTOR_BLOCK_BYTES + 3;
      const size = count * DESCRIPTOR_BLOCK_BYTES;
      let left = count;
      const block = Buffer.alloc(DESCRIPTOR_BLOCK_BYTES, 7);
      const source: BlockSource = { next: async () => (left-- > 0 ? block : undefined), unread: () => undefined, close: () => undefined, buffersMade: 1 };
      const real = await open(join(dir, 'file'), 'w+');
      // a storage that keeps something else than it was given: every write lands with its first byte changed
      const altered = new Proxy(real, {
        get(target, key) {
          if (key === 'write') {
            return (bytes: Buffer, offset: number, length: number, position: number) => {
              const copy = Buffer.from(bytes.subarray(offset, offset + length));
              copy[0] = 0xee;
              return target.write(copy, 0, length, position);
            };
          }
          if (key === 'writev') {
            return (buffers: Buffer[], position: number) => target.writev(buffers.map((b) => Object.assign(Buffer.from(b), { 0: 0xee })), position);
          }
          const value = Reflect.get(target, key) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const sum = checksumReadBack();
      const readBack = trackedReadBack(sum);
      await writeSparseBlocks(altered, source, size, { flushBehind: true, readBack });
      expect(readBack.done).toBeGreaterThan(0); // parts were read back during the writes
      expect(readBack.done).toBeLessThan(size);
      await real.sync();
      await readBackRange(real, readBack.done, size, readBack);
      await real.close();
      const held = await readFile(join(dir, 'file'));
      const sent = Buffer.alloc(size, 7);
      expect(held.equals(sent)).toBe(false);
      const sha = (data: Buffer): string => createHash('sha256').update(encodeSizeHeader(size)).update(data).digest('hex');
      expect(sum.result()).toEqual({ bytes: 8 + size, sha256: sha(held) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

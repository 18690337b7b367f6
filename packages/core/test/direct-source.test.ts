import { createHash } from 'node:crypto';
import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isStorageError, StorageError } from '@stowage/core';
import { directSource, isDirectSource, LocalRunner, sendInto, writeAll } from '@stowage/core/plugin';

const MiB = 1024 * 1024;

/** A fill that writes `count` chunks of `size` bytes from one buffer it overwrites after each write: chunk i is all byte i. */
function reusingFill(count: number, size: number, seen?: (sink: Writable) => void): (sink: Writable) => Promise<void> {
  return async (sink) => {
    seen?.(sink);
    const buffer = Buffer.alloc(size);
    for (let i = 0; i < count; i++) {
      buffer.fill(i & 0xff);
      await writeAll(sink, buffer);
    }
  };
}

function expectedHash(count: number, size: number): string {
  const hash = createHash('sha256');
  for (let i = 0; i < count; i++) hash.update(Buffer.alloc(size, i & 0xff));
  return hash.digest('hex');
}

async function hashOf(source: AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of source) hash.update(chunk);
  return hash.digest('hex');
}

describe('directSource', () => {
  it('read as a plain stream, gives copies: a producer that reuses its buffer after each write still arrives intact', async () => {
    // the reader holds every chunk before hashing: without copies all would be the last fill
    const chunks: Buffer[] = [];
    for await (const chunk of directSource(reusingFill(8, 64 * 1024))) chunks.push(chunk as Buffer);
    expect(await hashOf((async function* () { yield* chunks; })())).toBe(expectedHash(8, 64 * 1024));
  });

  it('sendInto hands the writable itself to the fill, once', async () => {
    let given: Writable | undefined;
    const source = directSource(reusingFill(3, 16, (s) => (given = s)));
    const received: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        received.push(Buffer.from(chunk));
        cb();
      },
    });
    expect(isDirectSource(source)).toBe(true);
    await sendInto(source, sink);
    expect(given).toBe(sink);
    expect(Buffer.concat(received)).toEqual(Buffer.concat([0, 1, 2].map((i) => Buffer.alloc(16, i))));
    // claimed: neither sent again nor read as a stream
    expect(isDirectSource(source)).toBe(false);
    await expect(hashOf(source)).rejects.toThrow(/already sent/);
  });

  it('a fill that fails destroys the readable with its error', async () => {
    const source = directSource(async (sink) => {
      await writeAll(sink, Buffer.from('partial'));
      throw new StorageError('CORRUPT', 'the source broke');
    });
    const e = await hashOf(source).then(() => undefined, (x: unknown) => x);
    expect(isStorageError(e, 'CORRUPT')).toBe(true);
  });

  it("destroying the readable fails the fill's waiting write, so the producer stops", async () => {
    let outcome: unknown = 'running';
    const source = directSource(async (sink) => {
      try {
        for (let i = 0; i < 1024; i++) await writeAll(sink, Buffer.alloc(MiB)); // far past the readable's buffer
        outcome = 'finished';
      } catch (e) {
        outcome = e;
        throw e;
      }
    });
    source.on('error', () => undefined);
    source.once('readable', () => setTimeout(() => source.destroy(new Error('the reader went away')), 10));
    await new Promise((resolve) => source.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(outcome).toBeInstanceOf(Error);
  });
});

describe('a direct source as a command input', () => {
  const runner = new LocalRunner();

  it("is written into the command's own standard input, not through a copying stream", async () => {
    let given: Writable | undefined;
    const r = await runner.run(['sha256sum'], { stdin: directSource(reusingFill(32, MiB, (s) => (given = s))) });
    expect(given).toBeInstanceOf(Socket);
    expect(r.stdout.split(' ')[0]).toBe(expectedHash(32, MiB));
  });

  it('a command that stops reading early is its own story, not an input failure', async () => {
    const r = await runner.run(['head', '-c', '10'], { stdin: directSource(reusingFill(64, MiB)) });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('\0'.repeat(10));
  });

  it("a source that fails kills the command with the source's error", async () => {
    const source = directSource(async (sink) => {
      await writeAll(sink, Buffer.alloc(1024)); // taken by the pipe though the command does not read
      throw new StorageError('INVALID_ARGUMENT', 'the stream was truncated');
    });
    const e = await runner.run(['sleep', '30'], { stdin: source }).then(() => undefined, (x: unknown) => x);
    expect(isStorageError(e, 'INVALID_ARGUMENT')).toBe(true);
  });
});

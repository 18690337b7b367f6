import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCommandError } from '../src/errors.js';
import { ddVolumeData, MemoryStore, MemoryToolError, memoryVolumeData } from '../src/testing/index.js';

const request = { volid: 'kit:x', format: 'raw' as const };

describe('ddVolumeData: the real dd on a local file', () => {
  let dir = '';
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes the bytes at the offset, leaving the rest and the length alone', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-dd-'));
    const file = join(dir, 'disk.raw');
    await writeFile(file, Buffer.alloc(3 * 1024 * 1024, 0x11));
    await ddVolumeData().fill({ ...request, path: file, offset: 1024 * 1024 + 512, length: 1536 * 1024, byte: 0xa5 });
    const expected = Buffer.alloc(3 * 1024 * 1024, 0x11).fill(0xa5, 1024 * 1024 + 512, 1024 * 1024 + 512 + 1536 * 1024);
    expect((await readFile(file)).equals(expected)).toBe(true);
  });

  it('rejects with a CommandError when dd cannot write', async () => {
    const e = await ddVolumeData()
      .fill({ ...request, path: join(dir, 'no', 'such', 'dir'), offset: 0, length: 512, byte: 1 })
      .catch((x: unknown) => x);
    expect(isCommandError(e)).toBe(true);
  });
});

describe('memoryVolumeData and MemoryStore.writeAt', () => {
  const store = new MemoryStore({ chunkSize: 4096 });
  store.create('p', 'vm-1-disk-0', 64 * 1024);
  const bytes = (snap?: string): Buffer => Buffer.concat([...store.read('p', 'vm-1-disk-0', snap)]);

  it('writes across chunk borders and leaves snapshots alone', async () => {
    store.snapshot('p', 'vm-1-disk-0', 's1');
    await memoryVolumeData(store).fill({ ...request, path: 'memory://p/vm-1-disk-0', offset: 4000, length: 5000, byte: 7 });
    expect(bytes().equals(Buffer.alloc(64 * 1024).fill(7, 4000, 9000))).toBe(true);
    expect(bytes('s1').equals(Buffer.alloc(64 * 1024))).toBe(true);
  });

  it('refuses writes past the end, into read-only volumes, and paths that are not a memory volume', async () => {
    expect(() => store.writeAt('p', 'vm-1-disk-0', 64 * 1024 - 10, Buffer.alloc(11))).toThrow(MemoryToolError);
    store.setProp('p', 'vm-1-disk-0', 'readonly', '1');
    expect(() => store.writeAt('p', 'vm-1-disk-0', 0, Buffer.alloc(1, 1))).toThrow(MemoryToolError);
    store.setProp('p', 'vm-1-disk-0', 'readonly', undefined);
    const fill = memoryVolumeData(store).fill;
    await expect(fill({ ...request, path: '/dev/sda', offset: 0, length: 1, byte: 1 })).rejects.toThrow(/not the path of a memory volume/);
    await expect(fill({ ...request, path: 'memory://p/vm-1-disk-0@s1', offset: 0, length: 1, byte: 1 })).rejects.toThrow(/not the path/);
    expect(bytes().subarray(0, 1)[0]).toBe(0);
  });
});

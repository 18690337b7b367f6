/**
 * FileConfigStore on the real filesystem: compare-and-swap, atomic replacement, the lock beside
 * the file, refusal of paths that are not files (issue 11 item 13), and the watch.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileConfigStore, MemoryConfigStore, type ConfigSnapshot } from '@stowage/core';
import { failure } from './support/failure.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Replaces a file the way a careful writer does (another process's FileConfigStore, say). */
async function replace(file: string, text: string): Promise<void> {
  await writeFile(`${file}.new`, text);
  await rename(`${file}.new`, file);
}

describe('FileConfigStore', () => {
  it('reads a missing file as empty, writes with the revision it read, and refuses a stale revision', async () => {
    const file = join(dir, 'storage.cfg');
    const store = new FileConfigStore(file);
    const empty = await store.read();
    expect(empty.text).toBe('');
    const r1 = await store.write('dir: a\n\tpath /a\n', empty.revision);
    expect(r1).toBeDefined();
    expect(await store.read()).toEqual({ text: 'dir: a\n\tpath /a\n', revision: r1 });
    // Another writer's change in between: the stale write is refused and changes nothing.
    await writeFile(file, 'dir: b\n\tpath /b\n');
    expect(await store.write('dir: a\n\tpath /changed\n', r1!)).toBeUndefined();
    expect(await readFile(file, 'utf8')).toBe('dir: b\n\tpath /b\n');
    // The revision follows the bytes: the same text read twice has the same revision.
    expect((await store.read()).revision).toBe((await new FileConfigStore(file).read()).revision);
  });

  it('replaces the file atomically, keeps its mode, and leaves no temporary file or lock behind', async () => {
    const file = join(dir, 'storage.cfg');
    await writeFile(file, 'dir: a\n\tpath /a\n', { mode: 0o600 });
    const store = new FileConfigStore(file);
    const { revision } = await store.read();
    const before = (await stat(file)).ino;
    await store.write('dir: a\n\tpath /a\n\ndir: b\n\tpath /b\n', revision);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(file)).ino).not.toBe(before);
    expect(await readdir(dir)).toEqual(['storage.cfg']);
  });

  it('waits for the lock beside the file, and fails with LOCK_TIMEOUT naming the file when it is held too long', async () => {
    const file = join(dir, 'storage.cfg');
    const store = new FileConfigStore(file, { lockTimeoutMs: 300 });
    const { revision } = await store.read();
    // A live holder: a fresh lock directory (as another process's lock is).
    await mkdir(join(dir, '.storage.cfg.lock'));
    const e = await failure(store.write('dir: a\n\tpath /a\n', revision));
    expect(e.code).toBe('LOCK_TIMEOUT');
    expect(e.message).toContain(file);
    expect(await readdir(dir)).toEqual(['.storage.cfg.lock']);
  });

  it('stops waiting for the lock, refusing the write, once another writer changed the file', async () => {
    const file = join(dir, 'storage.cfg');
    const store = new FileConfigStore(file, { lockTimeoutMs: 60_000 });
    const { revision } = await store.read();
    await mkdir(join(dir, '.storage.cfg.lock'));
    const pending = store.write('dir: a\n\tpath /a\n', revision);
    await writeFile(file, 'dir: other\n\tpath /o\n');
    expect(await pending).toBeUndefined();
    expect(await readFile(file, 'utf8')).toBe('dir: other\n\tpath /o\n');
  });

  it('refuses a directory or a FIFO as the config with CONFIG_INVALID naming the path, without blocking', async () => {
    const e = await failure(new FileConfigStore(dir).read());
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain(dir);
    const fifo = join(dir, 'fifo.cfg');
    execFileSync('mkfifo', [fifo]);
    expect((await failure(new FileConfigStore(fifo).read())).code).toBe('CONFIG_INVALID');
    const through = await failure(new FileConfigStore(join(fifo, 'storage.cfg')).read());
    expect(through.code).toBe('CONFIG_INVALID');
  });

  it('says UNAVAILABLE when the file\'s directory does not exist', async () => {
    const store = new FileConfigStore(join(dir, 'missing', 'storage.cfg'));
    expect((await failure(store.write('x', (await store.read()).revision))).code).toBe('UNAVAILABLE');
  });

  it('watches the file: another writer\'s change is reported once with its new revision', async () => {
    const file = join(dir, 'storage.cfg');
    await writeFile(file, 'dir: a\n\tpath /a\n');
    const store = new FileConfigStore(file);
    const seen: ConfigSnapshot[] = [];
    const stop = store.watch((s) => seen.push(s));
    try {
      await vi.waitFor(async () => {
        // Write until the watcher (set up asynchronously) reports it.
        await replace(file, 'dir: b\n\tpath /b\n');
        expect(seen.at(-1)?.text).toBe('dir: b\n\tpath /b\n');
      }, 10_000);
      expect(seen.at(-1)?.revision).toBe((await store.read()).revision);
      await writeFile(join(dir, 'unrelated'), 'x');
      const count = seen.length;
      await replace(file, 'dir: c\n\tpath /c\n');
      await vi.waitFor(() => expect(seen.at(-1)?.text).toBe('dir: c\n\tpath /c\n'), 10_000);
      expect(seen.length).toBe(count + 1);
    } finally {
      stop();
    }
  });
});

describe('MemoryConfigStore', () => {
  it('counts writes as revisions, refuses a stale one, and tells watchers', async () => {
    const store = new MemoryConfigStore('a');
    const seen: string[] = [];
    const stop = store.watch((s) => seen.push(s.text));
    const { revision } = await store.read();
    expect(await store.write('b', revision)).toBe('1');
    expect(await store.write('c', revision)).toBeUndefined();
    // Writing the same text again is still a write, with a new revision.
    expect(await store.write('b', '1')).toBe('2');
    stop();
    expect(seen).toEqual(['b', 'b']);
  });
});

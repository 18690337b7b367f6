/**
 * createDirs (issue 11 item 11): `mkdir -p` that stops at the first error, under /proc too,
 * and leaves nothing behind when it fails.
 */
import { mkdir, mkdtemp, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDirs, MAX_CREATED_DIRS, removeCreatedDirs, type DirOps } from '@stowage/core/plugin';
import { failure } from './support/failure.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-dirs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createDirs', () => {
  it('makes the missing levels and says which, outermost first; an existing directory makes nothing', async () => {
    const made = await createDirs(join(dir, 'a', 'b', 'c'), { mode: 0o750 });
    expect(made).toEqual([join(dir, 'a'), join(dir, 'a', 'b'), join(dir, 'a', 'b', 'c')]);
    expect((await stat(join(dir, 'a', 'b', 'c'))).isDirectory()).toBe(true);
    expect(await createDirs(join(dir, 'a', 'b'))).toEqual([]);
  });

  it('fails at once under /proc, where a recursive mkdir spins', async () => {
    const e = await failure(createDirs('/proc/x/y'));
    expect(e.message).toContain('/proc/x/y');
    expect(e.details['failed']).toBe('/proc/x');
  });

  it('refuses a path through a file, making nothing', async () => {
    await writeFile(join(dir, 'file'), 'x');
    const e = await failure(createDirs(join(dir, 'file', 'sub', 'deeper')));
    expect(e.details['failed']).toBe(join(dir, 'file'));
    expect(await readdir(dir)).toEqual(['file']);
  });

  it('removes what it made when a deeper level fails, and keeps what was there', async () => {
    await mkdir(join(dir, 'kept'));
    const real: DirOps = { stat, mkdir: (p, mode) => mkdir(p, { mode }), rmdir };
    const failing: DirOps = {
      ...real,
      mkdir: (p, mode) => (p.endsWith('three') ? Promise.reject(Object.assign(new Error('no space'), { code: 'ENOSPC' })) : real.mkdir(p, mode)),
    };
    const e = await failure(createDirs(join(dir, 'kept', 'one', 'two', 'three'), { ops: failing }));
    expect(e.code).toBe('NO_SPACE');
    expect(await readdir(join(dir, 'kept'))).toEqual([]);
  });

  it(`refuses more than ${MAX_CREATED_DIRS} missing levels before making any`, async () => {
    const deep = join(dir, ...Array.from({ length: MAX_CREATED_DIRS + 1 }, () => 'd'));
    expect((await failure(createDirs(deep))).code).toBe('INVALID_ARGUMENT');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('removeCreatedDirs', () => {
  it('removes innermost first and stops at a directory someone else put something in', async () => {
    const made = await createDirs(join(dir, 'x', 'y', 'z'));
    await writeFile(join(dir, 'x', 'theirs'), 'x');
    await removeCreatedDirs(made);
    expect(await readdir(join(dir, 'x'))).toEqual(['theirs']);
  });
});

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjectingRunner, memoryConfigSchema, pluginContext } from '@stowage/core/testing';
import { isCommandError, StorageError } from '@stowage/core';
import { fsError, LocalRunner, localFileSystem } from '@stowage/core/plugin';

describe('FaultInjectingRunner', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-fault-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails the k-th command without running it, and runs the others', async () => {
    const faulty = new FaultInjectingRunner(new LocalRunner(), { failAt: 2 });
    await faulty.run(['touch', join(dir, 'one')]);
    const e = await faulty.run(['touch', join(dir, 'two')]).catch((x: unknown) => x);
    await faulty.run(['touch', join(dir, 'three')]);
    expect(isCommandError(e)).toBe(true);
    expect((e as StorageError).code).toBe('COMMAND_FAILED');
    expect((e as StorageError).details).toMatchObject({ injected: true, index: 2, argv: ['touch', join(dir, 'two')] });
    expect((await readdir(dir)).sort()).toEqual(['one', 'three']);
    expect(faulty.count).toBe(3);
    expect(faulty.injected).toBe(1);
    expect(faulty.commands.map((a) => a[1])).toEqual([join(dir, 'one'), join(dir, 'two'), join(dir, 'three')]);
    expect(faulty.description).toBe('faulty local');
  });

  it('counts again from 1 after reset, and can be re-aimed', async () => {
    const faulty = new FaultInjectingRunner(new LocalRunner());
    await faulty.run(['true']);
    await faulty.run(['true']);
    expect(faulty.count).toBe(2);
    faulty.reset();
    faulty.failAt = 1;
    await expect(faulty.run(['true'])).rejects.toBeInstanceOf(StorageError);
    expect(faulty.count).toBe(1);
    await faulty.run(['true']);
  });

  it('fails by predicate and throws the given error', async () => {
    const custom = new StorageError('NO_SPACE', 'pool full');
    const faulty = new FaultInjectingRunner(new LocalRunner(), {
      failAt: (argv, index) => argv[0] === 'false' || index === 3,
      error: custom,
    });
    await expect(faulty.run(['false'])).rejects.toBe(custom);
    await faulty.run(['true']);
    await expect(faulty.run(['true'])).rejects.toBe(custom);
    const made = new FaultInjectingRunner(new LocalRunner(), {
      failAt: 1,
      error: (argv, i) => new StorageError('BUSY', `${argv[0]} #${i}`),
    });
    await expect(made.run(['true'])).rejects.toMatchObject({ code: 'BUSY', message: 'true #1' });
  });

  it('with fs, counts the calls of its file system as steps and fails the chosen one with EIO, without making it', async () => {
    const faulty = new FaultInjectingRunner(new LocalRunner(), { fs: true });
    const fs = faulty.fs!;
    faulty.failAt = 2;
    await fs.mkdir(join(dir, 'a'));
    const e = await fs.mkdir(join(dir, 'b')).catch((x: unknown) => x);
    await faulty.run(['touch', join(dir, 'a', 'f')]);
    expect(e).toMatchObject({ code: 'EIO', syscall: 'mkdir', path: join(dir, 'b'), injected: true });
    expect(fsError(e, 'cannot create').code).toBe('UNAVAILABLE');
    expect((await readdir(dir)).filter((n) => n === 'a' || n === 'b')).toEqual(['a']);
    expect(faulty.commands).toEqual([['fs.mkdir', join(dir, 'a')], ['fs.mkdir', join(dir, 'b')], ['touch', join(dir, 'a', 'f')]]);
    expect(faulty.injected).toBe(1);
  });

  it('without fs, leaves the file system of the inner runner alone and counts commands only', async () => {
    const faulty = new FaultInjectingRunner(new LocalRunner(), { failAt: 1 });
    expect(faulty.fs).toBeUndefined();
    const ctx = pluginContext({ config: memoryConfigSchema.parse({ type: 'memory', storage: 'faults' }), runner: faulty });
    expect(ctx.fs).toBe(localFileSystem);
    const withFs = new FaultInjectingRunner(new LocalRunner(), { fs: true });
    expect(pluginContext({ config: memoryConfigSchema.parse({ type: 'memory', storage: 'faults' }), runner: withFs }).fs).toBe(withFs.fs);
  });
});

import { mkdtemp, readdir, rm, rmdir, truncate, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeSizeHeader } from '@stowage/core/plugin';
import { StorageManager } from '@stowage/core';
import { outcomeOf, pluginContext } from '@stowage/core/testing';
import { DirPlugin } from '@stowage/plugin-dir';
import { dirConfigSchema } from '@stowage/plugin-dir/config-schema';
import { dirEnv, type DirEnv } from '../src/exec.js';
import { asyncFs } from '../src/fs-ops.js';
import { reserveVolume, undoNewVolume } from '../src/new-volume.js';
import { MemoryLog } from './helpers.js';

const MiB = 1024 * 1024;
let root: string;
let manager: StorageManager;

const code = (p: Promise<unknown>) => outcomeOf(p, 'the call');

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-reserve-'));
  await mkdir(join(root, 'store'));
  manager = await StorageManager.open({
    plugins: [DirPlugin],
    config: [{ type: 'dir', storage: 'store', path: join(root, 'store'), content: 'images' }],
    lockDir: join(root, 'locks'),
    lockTimeoutMs: 3000,
    node: 'localhost',
    log: new MemoryLog(),
  });
});
afterEach(async () => {
  await manager.close();
  await rm(root, { recursive: true, force: true });
});

/** Waits until the guest directory holds an entry (the import's reservation). */
async function reservation(vmid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await readdir(join(root, 'store', 'images', String(vmid))).catch(() => [])).length > 0) return;
    await sleep(10);
  }
  throw new Error('the import reserved nothing');
}

const names = async (vmid: number) => (await manager.listImages('store', { vmid })).map((i) => i.volid);

describe('the manager gives the lock back once the plugin has reserved the name', () => {
  it('an alloc during an import (whose sender has not started) gets another name at once, and the import\'s failure does not touch it', async () => {
    const input = new PassThrough();
    const importing = manager.volumeImport('store:100/vm-100-disk-0.raw', { format: 'raw+size', input });
    await reservation(100);
    const other = await manager.allocImage('store', { vmid: 100, size: MiB, format: 'raw' });
    expect(other).toBe('store:100/vm-100-disk-1.raw');
    input.destroy(new Error('the sender died'));
    await expect(importing).rejects.toThrow('the sender died');
    expect(await names(100)).toEqual([other]);
    expect((await readdir(join(root, 'store', 'images', '100'))).sort()).toEqual(['vm-100-disk-1.raw']);
  });

  it('an alloc during a copy gets another name while the copy runs, and aborting the copy does not touch it', async () => {
    const source = await manager.allocImage('store', { vmid: 200, size: MiB, format: 'raw' });
    await truncate(join(root, 'store', 'images', '200', 'vm-200-disk-0.raw'), 2048 * MiB);
    const stop = new AbortController();
    let alloc: Promise<string> | undefined;
    const copying = manager.copyVolume(source, 'store', {
      vmid: 100,
      signal: stop.signal,
      onProgress: () => {
        alloc ??= manager.allocImage('store', { vmid: 100, size: MiB, format: 'raw' }).finally(() => stop.abort());
      },
    });
    expect(await code(copying)).toBe('ABORTED');
    expect(await alloc).toBe('store:100/vm-100-disk-1.raw');
    expect(await names(100)).toEqual(['store:100/vm-100-disk-1.raw']);
    expect(await readdir(join(root, 'store', 'images', '100'))).toEqual(['vm-100-disk-1.raw']);
  });

  it('an import into a name another import is writing is ALREADY_EXISTS, and does not disturb it', async () => {
    const first = new PassThrough();
    const importing = manager.volumeImport('store:100/vm-100-disk-0.raw', { format: 'raw+size', input: first });
    await reservation(100);
    const second = new PassThrough();
    second.end(Buffer.concat([encodeSizeHeader(MiB), Buffer.alloc(MiB, 2)]));
    expect(await code(manager.volumeImport('store:100/vm-100-disk-0.raw', { format: 'raw+size', input: second }))).toBe('ALREADY_EXISTS');
    first.end(Buffer.concat([encodeSizeHeader(MiB), Buffer.alloc(MiB, 1)]));
    expect(await importing).toBe('store:100/vm-100-disk-0.raw');
  });
});

describe('a guest directory removed under a reservation', () => {
  it('is made again: an empty guest directory removed by a failed import\'s clean-up (which runs without the lock) between mkdir and the temporary does not fail the allocation', async () => {
    const config = dirConfigSchema.parse({ type: 'dir', storage: 'store', path: join(root, 'store'), content: 'images' });
    const ctx = pluginContext({ config, node: 'localhost' });
    const env = await dirEnv(ctx);
    let removals = 0;
    const racing: DirEnv = {
      ...env,
      fs: {
        ...asyncFs,
        // the directory exists when mkdir returns, and is gone before the temporary is created,
        // as when another operation's undo runs its removeDirIfEmpty in between
        mkdirs: async (p, mode) => {
          const made = await asyncFs.mkdirs(p, mode);
          if (removals++ === 0) await rmdir(p);
          return made;
        },
      },
    };
    const volume = await reserveVolume(racing, 100, 'vm-100-disk-0.raw', '100/vm-100-disk-0.raw');
    expect(removals).toBe(2);
    expect((await readdir(join(root, 'store', 'images', '100'))).length).toBe(1);
    await undoNewVolume(racing, volume);
    expect(await readdir(join(root, 'store', 'images')).catch(() => [])).toEqual([]);
  });
});

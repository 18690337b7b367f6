import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isStorageError, StorageError, type ImageInfo } from '@stowage/core';
import { OperationCache, type AllocImageRequest, type FindFreeDisknameRequest, type ListImagesRequest, type PluginContext } from '@stowage/core/plugin';
import { NAME_ATTEMPTS } from '../src/manager/free-names.js';
import { ExclusiveFilePlugin, FilePlugin, type FileConfig } from './support/file-plugin.js';
import { openFileManager, type FileManagerFixture } from './support/file-manager.js';

const KiB = 1024;
let fx: FileManagerFixture;

afterEach(async () => {
  await fx?.close();
});

/** Counts the directory reads of a storage's plugin that happen while its lock is held. */
function listingsUnderLock(storeId: string): () => number {
  let n = 0;
  fx.plugin(storeId).onLoad = () => {
    if (fx.held.has(storeId)) n++;
  };
  return () => n;
}

/** Every create that needs a free name: allocations, clones of a base, a rename, a copy. */
async function createEverything(storeId: string): Promise<string[]> {
  const m = fx.manager;
  const made = [await m.allocImage(storeId, { vmid: 100, size: KiB }), await m.allocImage(storeId, { vmid: 100, size: KiB })];
  const base = await m.createBase(await m.allocImage(storeId, { vmid: 200, size: 2 * KiB }));
  made.push(await m.cloneImage(base, { vmid: 100 }), await m.cloneImage(base, { vmid: 100 }));
  made.push(await m.renameVolume(await m.allocImage(storeId, { vmid: 300, size: KiB }), 100));
  made.push(await m.copyVolume(made[0]!, storeId, { vmid: 100 }));
  return made;
}

describe('choosing a free name for a plugin whose creates refuse taken names (exclusiveCreate)', () => {
  it('lists nothing under the storage lock, where a plugin without it lists before every create', async () => {
    fx = await openFileManager(['st', 'testfilex-x'], { extra: [ExclusiveFilePlugin] });
    const control = listingsUnderLock('st');
    const exclusive = listingsUnderLock('testfilex-x');
    const names = (ids: string[]) => ids.map((v) => v.slice(v.indexOf(':') + 1));
    const expected = ['vm-100-disk-0', 'vm-100-disk-1', 'base-200-disk-0/vm-100-disk-2', 'base-200-disk-0/vm-100-disk-3', 'vm-100-disk-4', 'vm-100-disk-5'];
    expect(names(await createEverything('st')), 'names without exclusiveCreate').toEqual(expected);
    expect(names(await createEverything('testfilex-x')), 'names with exclusiveCreate').toEqual(expected);
    expect(control(), 'directory reads under the lock without exclusiveCreate').toBeGreaterThanOrEqual(7);
    expect(exclusive(), 'directory reads under the lock with exclusiveCreate').toBe(0);
  });

  it("neither fails nor reuses a name taken behind the manager's back: the create refuses it, one listing, the next free name", async () => {
    fx = await openFileManager(['testfilex-x'], { extra: [ExclusiveFilePlugin] });
    const id = 'testfilex-x';
    const under = listingsUnderLock(id);
    expect(await fx.manager.allocImage(id, { vmid: 100, size: KiB })).toBe(`${id}:vm-100-disk-0`);
    // made by another program: the manager's listing does not show it
    await writeFile(join(fx.dirs[id]!, 'vm-100-disk-1'), 'theirs');
    const calls = fx.plugin(id).calls;
    calls.length = 0;
    expect(await fx.manager.allocImage(id, { vmid: 100, size: KiB })).toBe(`${id}:vm-100-disk-2`);
    expect(calls.filter((c) => c.startsWith('allocImage')), 'creates tried').toEqual(['allocImage vm-100-disk-1', 'allocImage vm-100-disk-2']);
    expect(await readFile(join(fx.dirs[id]!, 'vm-100-disk-1'), 'utf8'), 'their file').toBe('theirs');
    expect(under(), 'listings under the lock: one, after the refused create').toBe(1);
    // the listing read then shows it: the next allocation does not try it again
    calls.length = 0;
    expect(await fx.manager.allocImage(id, { vmid: 100, size: KiB })).toBe(`${id}:vm-100-disk-3`);
    expect(calls.filter((c) => c.startsWith('allocImage')), 'creates tried').toEqual(['allocImage vm-100-disk-3']);
  });

  it('an import into a chosen name that was taken meanwhile is renamed by the plugin, not refused', async () => {
    fx = await openFileManager(['testfilex-x'], { extra: [ExclusiveFilePlugin] });
    const id = 'testfilex-x';
    const source = await fx.manager.allocImage(id, { vmid: 100, size: KiB });
    await fx.manager.listImages(id);
    await writeFile(join(fx.dirs[id]!, 'vm-101-disk-0'), 'theirs');
    expect(await fx.manager.copyVolume(source, id, { vmid: 101 })).toBe(`${id}:vm-101-disk-1`);
    expect(await readFile(join(fx.dirs[id]!, 'vm-101-disk-0'), 'utf8'), 'their file').toBe('theirs');
  });

  it('gives concurrent callers in one process the lowest distinct names, without listing under the lock', async () => {
    fx = await openFileManager(['testfilex-x'], { extra: [ExclusiveFilePlugin] });
    const id = 'testfilex-x';
    const under = listingsUnderLock(id);
    const volids = await Promise.all(Array.from({ length: 20 }, () => fx.manager.allocImage(id, { vmid: 7, size: 4096 })));
    expect([...volids].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `${id}:vm-7-disk-${i}`).sort());
    expect(under(), 'listings under the lock').toBe(0);
  });

  it(`gives up after ${NAME_ATTEMPTS} refused names with ALREADY_EXISTS naming them in details.tried`, async () => {
    class AlwaysTaken extends ExclusiveFilePlugin {
      override async allocImage(ctx: PluginContext<FileConfig>, request: AllocImageRequest): Promise<string> {
        void ctx;
        throw new StorageError('ALREADY_EXISTS', `'${request.name}' is taken`, { details: { name: request.name } });
      }
    }
    fx = await openFileManager(['testfilex-x'], { extra: [AlwaysTaken] });
    const e = await fx.manager.allocImage('testfilex-x', { vmid: 100, size: KiB }).catch((x: unknown) => x);
    if (!isStorageError(e, 'ALREADY_EXISTS')) throw new Error(`expected ALREADY_EXISTS, got ${String(e)}`);
    const tried: readonly string[] | undefined = e.details.tried;
    expect(tried).toEqual(Array.from({ length: NAME_ATTEMPTS }, (_, i) => `vm-100-disk-${i}`));
    expect(await fx.files('testfilex-x'), 'nothing made').toEqual([]);
  });

  it('stops at once when the plugin offers again a name it was told is taken', async () => {
    class IgnoresTaken extends ExclusiveFilePlugin {
      override findFreeDiskname(ctx: PluginContext<FileConfig>, request: FindFreeDisknameRequest): Promise<string> {
        return super.findFreeDiskname(ctx, { ...request, taken: undefined });
      }
      override async allocImage(ctx: PluginContext<FileConfig>, request: AllocImageRequest): Promise<string> {
        void ctx;
        throw new StorageError('ALREADY_EXISTS', `'${request.name}' is taken`, { details: { name: request.name } });
      }
    }
    fx = await openFileManager(['testfilex-x'], { extra: [IgnoresTaken] });
    const e = await fx.manager.allocImage('testfilex-x', { vmid: 100, size: KiB }).catch((x: unknown) => x);
    expect(isStorageError(e, 'ALREADY_EXISTS') && e.details.tried).toEqual(['vm-100-disk-0']);
  });

  it('takes the lock again for the next name when the plugin had given it back before refusing', async () => {
    class RefusesLate extends ExclusiveFilePlugin {
      override async allocImage(ctx: PluginContext<FileConfig>, request: AllocImageRequest): Promise<string> {
        ctx.nameReserved();
        if (request.name === 'vm-100-disk-0') throw new StorageError('ALREADY_EXISTS', 'taken while the data was written', { details: { name: request.name } });
        return super.allocImage(ctx, request);
      }
    }
    fx = await openFileManager(['testfilex-x'], { extra: [RefusesLate] });
    expect(await fx.manager.allocImage('testfilex-x', { vmid: 100, size: KiB })).toBe('testfilex-x:vm-100-disk-1');
    expect(fx.lockLog.map((l) => l.storeId), 'locks taken').toEqual(['testfilex-x', 'testfilex-x']);
  });

  it("chooses under the lock, from a fresh listing, for a plugin that reads its listing past the caches (dir's readdir)", async () => {
    class ReadsPastTheCaches extends ExclusiveFilePlugin {
      override listImages(ctx: PluginContext<FileConfig>, request: ListImagesRequest): Promise<ImageInfo[]> {
        return super.listImages({ ...ctx, cache: new OperationCache() }, request);
      }
    }
    fx = await openFileManager(['testfilex-x'], { extra: [ReadsPastTheCaches] });
    const id = 'testfilex-x';
    let outside = 0;
    let under = 0;
    fx.plugin(id).onLoad = () => void (fx.held.has(id) ? under++ : outside++);
    expect(await fx.manager.allocImage(id, { vmid: 100, size: KiB })).toBe(`${id}:vm-100-disk-0`);
    expect([outside, under], 'the first search, before the lock, shows the listing is not cached; then once more under it').toEqual([1, 1]);
    await writeFile(join(fx.dirs[id]!, 'vm-100-disk-1'), 'theirs');
    const calls = fx.plugin(id).calls;
    calls.length = 0;
    expect(await fx.manager.allocImage(id, { vmid: 100, size: KiB })).toBe(`${id}:vm-100-disk-2`);
    expect(calls.filter((c) => c.startsWith('allocImage')), 'creates tried: the fresh listing shows their file').toEqual(['allocImage vm-100-disk-2']);
    expect([outside, under], 'listings: one more, under the lock').toEqual([1, 2]);
  });

  it('keeps the fresh listing under the lock for a plugin without the capability', async () => {
    fx = await openFileManager(['st']);
    await fx.manager.allocImage('st', { vmid: 100, size: KiB });
    await writeFile(join(fx.dirs['st']!, 'vm-100-disk-1'), 'theirs');
    const calls = fx.plugin('st').calls;
    calls.length = 0;
    expect(await fx.manager.allocImage('st', { vmid: 100, size: KiB })).toBe('st:vm-100-disk-2');
    expect(calls.filter((c) => c.startsWith('allocImage')), 'creates tried').toEqual(['allocImage vm-100-disk-2']);
    expect(FilePlugin.capabilities.exclusiveCreate).toBeUndefined();
  });
});

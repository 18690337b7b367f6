import { describe, expect, it } from 'vitest';
import { OperationCache } from '../src/cache.js';
import { localFileSystem } from '../src/file-system.js';
import { imageContent } from '../src/guests.js';
import type { PluginContext } from '../src/plugin-types.js';
import type { MemoryConfig } from '../src/testing/memory/config.js';
import { MemoryPlugin, MemoryRunner } from './support/memory-plugin.js';

const silent = { debug() {}, info() {}, warn() {} };

describe('imageContent', () => {
  it('is rootdir for a container, images for a VM, an unknown guest or no guest list', () => {
    expect(imageContent(101, { 100: 'qemu', 101: 'lxc' })).toBe('rootdir');
    expect(imageContent(100, { 100: 'qemu', 101: 'lxc' })).toBe('images');
    expect(imageContent(102, { 100: 'qemu', 101: 'lxc' })).toBe('images');
    expect(imageContent(101, undefined)).toBe('images');
  });
});

describe('the default listVolumes', () => {
  it('lists the images of containers as rootdir when given the guest list, and filters by content', async () => {
    const plugin = new MemoryPlugin();
    const runner = new MemoryRunner({ chunkSize: 4096 });
    const ctx: PluginContext<MemoryConfig> = {
      storeId: 'mem',
      config: { type: 'memory', storage: 'mem' },
      cache: new OperationCache(),
      runner,
      run: (argv, options) => runner.run(argv, options),
      signal: undefined,
      fs: localFileSystem,
      log: silent,
      node: 'test',
      nameReserved: () => undefined,
    };
    await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: 4096 });
    await plugin.allocImage(ctx, { vmid: 101, format: 'raw', name: 'vm-101-disk-0', size: 4096 });
    const guests = { 100: 'qemu', 101: 'lxc' } as const;
    const rows = async (content?: ('images' | 'rootdir' | 'iso')[]) =>
      (await plugin.listVolumes(ctx, { content, guests })).map((e) => [e.volid, e.content]).sort();
    expect(await rows()).toEqual([
      ['mem:vm-100-disk-0', 'images'],
      ['mem:vm-101-disk-0', 'rootdir'],
    ]);
    expect(await rows(['rootdir'])).toEqual([['mem:vm-101-disk-0', 'rootdir']]);
    expect(await rows(['images'])).toEqual([['mem:vm-100-disk-0', 'images']]);
    expect(await rows(['iso'])).toEqual([]);
    expect((await plugin.listVolumes(ctx, { content: ['rootdir'] })).length).toBe(0);
  });

  it('gives each image what listImages knows of it: a listing of every volume needs no second listing', async () => {
    const plugin = new MemoryPlugin();
    const runner = new MemoryRunner({ chunkSize: 4096 });
    // a fresh context per call, as the manager makes one per operation
    const ctx = (): PluginContext<MemoryConfig> => ({
      storeId: 'mem',
      config: { type: 'memory', storage: 'mem' },
      cache: new OperationCache(),
      runner,
      run: (argv, options) => runner.run(argv, options),
      signal: undefined,
      log: silent,
      node: 'test',
      nameReserved: () => undefined,
    });
    await plugin.allocImage(ctx(), { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: 4096 });
    const base = await plugin.createBase(ctx(), { volume: plugin.parseVolname('vm-100-disk-0') });
    await plugin.cloneImage(ctx(), { volume: plugin.parseVolname(base), vmid: 101, name: 'vm-101-disk-0' });
    const images = await plugin.listImages(ctx(), {});
    const listed = await plugin.listVolumes(ctx(), {});
    expect(listed.map((e) => [e.volid, e.image])).toEqual(images.map((i) => [i.volid, { used: i.used, isBase: i.isBase, parent: i.parent, backingFile: i.backingFile }]));
    expect(listed.find((e) => e.image?.isBase)?.volid).toBe(`mem:${base}`);
    expect(listed.some((e) => e.image?.parent === `mem:${base}`)).toBe(true);
  });
});

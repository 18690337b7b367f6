import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStorageError, StorageManager, type ImageInfo } from '@stowage/core';
import { FilePlugin } from './support/file-plugin.js';
import { codeOf, openFileManager, type FileManagerFixture } from './support/file-manager.js';

const MiB = 1024 * 1024;
let fx: FileManagerFixture;

afterEach(async () => {
  await fx?.close();
});

describe('StorageManager: allocation', () => {
  beforeEach(async () => {
    fx = await openFileManager(['st']);
  });

  it('chooses the lowest free name, counting base- names, and allocates under the storage lock', async () => {
    const plugin = fx.plugin('st');
    const heldDuring: boolean[] = [];
    const alloc = plugin.allocImage.bind(plugin);
    plugin.allocImage = async (ctx, req) => {
      heldDuring.push(fx.held.has('st'));
      return alloc(ctx, req);
    };
    await writeFile(join(fx.dirs['st']!, 'base-100-disk-1'), '');
    expect(await fx.manager.allocImage('st', { vmid: 100, size: MiB })).toBe('st:vm-100-disk-0');
    expect(await fx.manager.allocImage('st', { vmid: 100, size: MiB })).toBe('st:vm-100-disk-2');
    expect(await fx.manager.allocImage('st', { vmid: 100, size: MiB, name: 'vm-100-cloudinit' })).toBe('st:vm-100-cloudinit');
    expect(heldDuring).toEqual([true, true, true]);
    expect(fx.lockLog.map((l) => l.storeId)).toEqual(['st', 'st', 'st']);
    const images = await fx.manager.listImages('st', { vmid: 100 });
    expect(images.map((i) => [i.volid, i.size])).toEqual([
      ['st:base-100-disk-1', 0],
      ['st:vm-100-cloudinit', MiB],
      ['st:vm-100-disk-0', MiB],
      ['st:vm-100-disk-2', MiB],
    ]);
  });

  it('gives concurrent callers in one process distinct names', async () => {
    const volids = await Promise.all(Array.from({ length: 20 }, () => fx.manager.allocImage('st', { vmid: 7, size: 4096 })));
    expect(new Set(volids).size).toBe(20);
    expect((await fx.manager.listImages('st')).length).toBe(20);
  });

  it('refuses bad input with stable codes and changes nothing', async () => {
    await fx.manager.allocImage('st', { vmid: 100, size: MiB });
    const before = await fx.files('st');
    const m = fx.manager;
    const cases: [() => Promise<unknown>, string][] = [
      [() => m.allocImage('st', { vmid: 0, size: MiB }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: -1, size: MiB }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: 1.5, size: MiB }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: 1e10, size: MiB }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: 100, size: 0 }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: 100, size: -MiB }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: 100, size: 1.5 }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: 100, size: 2 ** 60 }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: 100, size: Number.NaN }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: 100, size: Infinity }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: 100, size: MiB, name: '../vm-100-disk-9' }), 'INVALID_VOLUME_ID'],
      [() => m.allocImage('st', { vmid: 100, size: MiB, name: 'vm-100-disk-9; rm -rf /' }), 'INVALID_VOLUME_ID'],
      [() => m.allocImage('st', { vmid: 100, size: MiB, name: 'vm-100-$(id)' }), 'INVALID_VOLUME_ID'],
      [() => m.allocImage('st', { vmid: 100, size: MiB, name: 'vm-100-dïsk' }), 'INVALID_VOLUME_ID'],
      [() => m.allocImage('st', { vmid: 100, size: MiB, name: '' }), 'INVALID_VOLUME_ID'],
      [() => m.allocImage('st', { vmid: 100, size: MiB, name: 'vm-101-disk-0' }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: 100, size: MiB, name: 'x/vm-100-disk-9' }), 'INVALID_ARGUMENT'],
      [() => m.allocImage('st', { vmid: 100, size: MiB, format: 'qcow2' }), 'NOT_SUPPORTED'],
      [() => m.allocImage('st', { vmid: 100, size: MiB, name: 'vm-100-disk-0' }), 'ALREADY_EXISTS'],
      [() => m.allocImage('nope', { vmid: 100, size: MiB }), 'NOT_FOUND'],
      [() => m.freeImage('st:../etc/passwd'), 'INVALID_VOLUME_ID'],
      [() => m.freeImage('st:vm-100-disk-0 '), 'INVALID_VOLUME_ID'],
      [() => m.freeImage('no-colon'), 'INVALID_VOLUME_ID'],
      [() => m.freeImage('st:iso/x.iso'), 'INVALID_VOLUME_ID'],
      [() => m.freeImage('nope:vm-100-disk-0'), 'NOT_FOUND'],
      [() => m.volumeResize('st:vm-100-disk-0', -1), 'INVALID_ARGUMENT'],
      [() => m.volumeSnapshot('st:vm-100-disk-0', '1starts-with-digit'), 'INVALID_ARGUMENT'],
      [() => m.volumeSnapshot('st:vm-100-disk-0', 'has space'), 'INVALID_ARGUMENT'],
      [() => m.volumeSnapshot('st:vm-100-disk-0', 'x'.repeat(41)), 'INVALID_ARGUMENT'],
      [() => m.volumeSnapshot('st:vm-100-disk-0', '__base__'), 'INVALID_ARGUMENT'],
      [() => m.cloneImage('st:vm-100-disk-0', { vmid: 0 }), 'INVALID_ARGUMENT'],
      [() => m.renameVolume('st:vm-100-disk-0', 100, { targetName: 'vm-200-disk-0' }), 'INVALID_ARGUMENT'],
      [() => m.volumeHasFeature('st:vm-100-disk-0', 'teleport' as never), 'INVALID_ARGUMENT'],
      [() => m.updateVolumeAttribute('st:vm-100-disk-0', 'protected', 'yes'), 'INVALID_ARGUMENT'],
      [() => m.updateVolumeAttribute('st:vm-100-disk-0', 'notes', 'hello'), 'NOT_SUPPORTED'],
      [() => m.listImages('st', { volids: ['sb:vm-100-disk-0'] }), 'INVALID_ARGUMENT'],
      [() => m.listImages('st', { vmid: -3 }), 'INVALID_ARGUMENT'],
    ];
    for (const [p, code] of cases) expect(await codeOf(p)).toBe(code);
    expect(await fx.files('st')).toEqual(before);
  });
});

describe('StorageManager: the largest size of a format (capabilities.maxSize)', () => {
  /** FilePlugin whose raw images hold at most 8 MiB. */
  class SmallFilePlugin extends FilePlugin {
    static override readonly capabilities = { ...FilePlugin.capabilities, maxSize: { raw: 8 * MiB } };
  }

  it('alloc and resize past it are INVALID_ARGUMENT before the plugin is called; up to it is fine', async () => {
    fx = await openFileManager(['st']);
    const m = await StorageManager.open({ plugins: [SmallFilePlugin], config: [{ type: 'testfile', storage: 'st', path: fx.dirs['st']! }], lockDir: fx.lockDir });
    try {
      const calls: string[] = [];
      const plugin = m.pluginFor('st') as SmallFilePlugin;
      for (const name of ['allocImage', 'volumeResize'] as const) {
        const original = plugin[name].bind(plugin) as (...a: unknown[]) => Promise<unknown>;
        (plugin as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => (calls.push(name), original(...a));
      }
      expect(await codeOf(() => m.allocImage('st', { vmid: 100, size: 8 * MiB + 512 }))).toBe('INVALID_ARGUMENT');
      expect(calls).toEqual([]);
      const volid = await m.allocImage('st', { vmid: 100, size: 8 * MiB });
      expect(await codeOf(() => m.volumeResize(volid, 9 * MiB))).toBe('INVALID_ARGUMENT');
      expect(calls).toEqual(['allocImage']);
      expect((await m.volumeSizeInfo(volid)).size).toBe(8 * MiB);
    } finally {
      await m.close();
    }
  });

  it('a malformed maxSize is refused at register()', async () => {
    class BadMax extends FilePlugin {
      static override readonly capabilities = { ...FilePlugin.capabilities, maxSize: { raw: -1 } };
    }
    expect(await codeOf(() => StorageManager.open({ plugins: [BadMax], config: [] }))).toBe('INVALID_ARGUMENT');
  });
});

describe('StorageManager: bases, clones, protection', () => {
  beforeEach(async () => {
    fx = await openFileManager(['st']);
  });

  it('refuses to free a base that still has linked clones, naming them', async () => {
    const vol = await fx.manager.allocImage('st', { vmid: 100, size: MiB });
    const base = await fx.manager.createBase(vol);
    expect(base).toBe('st:base-100-disk-0');
    const c1 = await fx.manager.cloneImage(base, { vmid: 101 });
    const c2 = await fx.manager.cloneImage(base, { vmid: 101 });
    expect([c1, c2]).toEqual(['st:base-100-disk-0/vm-101-disk-0', 'st:base-100-disk-0/vm-101-disk-1']);
    const e = await fx.manager.freeImage(base).catch((x: unknown) => x);
    expect(isStorageError(e, 'IN_USE')).toBe(true);
    expect((e as { details: { clones: string[] } }).details.clones).toEqual([c1, c2]);
    expect(await fx.files('st')).toContain('base-100-disk-0');
    // Also found through the listed parent when the volname does not say it.
    await fx.manager.freeImage(c1);
    await fx.manager.freeImage(c2);
    await fx.manager.freeImage(base);
    expect(await fx.files('st')).toEqual([]);
    expect(fx.lockLog.length).toBe(8); // alloc, createBase, 2 clones, 4 frees (the refused one took the lock too)
  });

  it('refuses base-only operations on the wrong kind of volume', async () => {
    const vol = await fx.manager.allocImage('st', { vmid: 100, size: MiB });
    expect(await codeOf(fx.manager.cloneImage(vol, { vmid: 101 }))).toBe('NOT_SUPPORTED');
    const base = await fx.manager.createBase(vol);
    expect(await codeOf(fx.manager.createBase(base))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(fx.manager.cloneImage(base, { vmid: 101, snapshot: 's1' }))).toBe('NOT_SUPPORTED');
  });

  it('refuses to free a protected volume', async () => {
    const vol = await fx.manager.allocImage('st', { vmid: 100, size: MiB });
    await fx.manager.updateVolumeAttribute(vol, 'protected', true);
    expect(await fx.manager.getVolumeAttribute(vol, 'protected')).toBe(true);
    expect(await codeOf(fx.manager.freeImage(vol))).toBe('PROTECTED');
    expect(await fx.files('st')).toContain('vm-100-disk-0');
    await fx.manager.updateVolumeAttribute(vol, 'protected', false);
    await fx.manager.freeImage(vol);
    expect(await fx.files('st')).toEqual([]);
  });

  it('renames under the lock and returns the new volid', async () => {
    const vol = await fx.manager.allocImage('st', { vmid: 100, size: MiB });
    await fx.manager.allocImage('st', { vmid: 200, size: MiB });
    expect(await fx.manager.renameVolume(vol, 200)).toBe('st:vm-200-disk-1');
    expect(await fx.manager.renameVolume('st:vm-200-disk-1', 300, { targetName: 'vm-300-data' })).toBe('st:vm-300-data');
    expect(fx.lockLog.length).toBe(4);
    expect(await fx.files('st')).toEqual(['vm-200-disk-0', 'vm-300-data']);
  });
});

describe('StorageManager: snapshots and size', () => {
  let vol: string;
  beforeEach(async () => {
    fx = await openFileManager(['st']);
    vol = await fx.manager.allocImage('st', { vmid: 100, size: MiB });
  });

  it('refuses a rollback past newer snapshots with SNAPSHOT_BLOCKERS, naming them, without calling the plugin', async () => {
    for (const s of ['s1', 's2', 's3']) await fx.manager.volumeSnapshot(vol, s);
    expect((await fx.manager.volumeSnapshotInfo(vol)).map((s) => s.name)).toEqual(['s1', 's2', 's3']);
    expect(await fx.manager.volumeRollbackIsPossible(vol, 's1')).toEqual(['s2', 's3']);
    expect(await fx.manager.volumeRollbackIsPossible(vol, 's3')).toEqual([]);
    const e = await fx.manager.volumeSnapshotRollback(vol, 's1').catch((x: unknown) => x);
    expect(isStorageError(e, 'SNAPSHOT_BLOCKERS')).toBe(true);
    expect((e as { details: { blockers: string[] } }).details.blockers).toEqual(['s2', 's3']);
    expect(fx.plugin('st').calls.filter((c) => c.startsWith('rollback'))).toEqual([]);
    await fx.manager.volumeSnapshotRollback(vol, 's1', { destroyBlockers: true });
    expect(fx.plugin('st').calls.filter((c) => c.startsWith('rollback'))).toEqual(['rollback s1 destroy=true']);
    expect((await fx.manager.volumeSnapshotInfo(vol)).map((s) => s.name)).toEqual(['s1']);
    expect(await codeOf(fx.manager.volumeSnapshotRollback(vol, 'gone'))).toBe('NOT_FOUND');
    await fx.manager.volumeSnapshotDelete(vol, 's1');
    expect(await fx.manager.volumeSnapshotInfo(vol)).toEqual([]);
  });

  it('grows volumes and refuses to shrink them before the plugin is asked', async () => {
    await fx.manager.volumeResize(vol, 2 * MiB);
    expect((await fx.manager.volumeSizeInfo(vol)).size).toBe(2 * MiB);
    expect(await codeOf(fx.manager.volumeResize(vol, MiB))).toBe('CANNOT_SHRINK');
    expect((await fx.manager.volumeSizeInfo(vol)).size).toBe(2 * MiB);
  });

  it('answers path and feature questions from the plugin', async () => {
    expect((await fx.manager.path(vol)).path).toBe(join(fx.dirs['st']!, 'vm-100-disk-0'));
    expect(await fx.manager.volumeHasFeature(vol, 'snapshot')).toBe(true);
    expect(await fx.manager.volumeHasFeature(vol, 'clone')).toBe(false);
  });
});

describe('StorageManager: caching', () => {
  beforeEach(async () => {
    fx = await openFileManager(['st'], { open: { cacheTtlMs: 60_000 } });
  });

  it('shares listings between calls and clears them after every write', async () => {
    const plugin = fx.plugin('st');
    await fx.manager.listImages('st');
    await fx.manager.listImages('st');
    expect(plugin.loads).toBe(1);
    // A file made behind the manager's back is not seen while the listing is fresh...
    await writeFile(join(fx.dirs['st']!, 'vm-9-disk-0'), '');
    expect((await fx.manager.listImages('st')).map((i: ImageInfo) => i.volid)).toEqual([]);
    // ...but every write clears the cache, and the free-name search under the lock never uses it.
    const vol = await fx.manager.allocImage('st', { vmid: 9, size: 4096 });
    expect(vol).toBe('st:vm-9-disk-1');
    const loadsAfterAlloc = plugin.loads;
    expect((await fx.manager.listImages('st')).map((i) => i.volid)).toEqual(['st:vm-9-disk-0', 'st:vm-9-disk-1']);
    expect(plugin.loads).toBe(loadsAfterAlloc + 1);
    await fx.manager.volumeSnapshot(vol, 'snap');
    await fx.manager.listImages('st');
    expect(plugin.loads).toBe(loadsAfterAlloc + 2);
    // A failed write clears it too.
    await fx.manager.volumeSnapshot(vol, 'snap').catch(() => undefined);
    await fx.manager.listImages('st');
    expect(plugin.loads).toBe(loadsAfterAlloc + 3);
  });
});

describe('StorageManager: availability', () => {
  it('refuses disabled storages and storages of other nodes with UNAVAILABLE', async () => {
    fx = await openFileManager(['on', 'off', 'elsewhere', 'here'], {
      overrides: { off: { disable: '1' }, elsewhere: { nodes: 'other1,other2' }, here: { nodes: 'testnode' } },
    });
    expect(await codeOf(fx.manager.allocImage('off', { vmid: 1, size: 4096 }))).toBe('UNAVAILABLE');
    expect(await codeOf(fx.manager.listImages('elsewhere'))).toBe('UNAVAILABLE');
    expect(await codeOf(fx.manager.status('off'))).toBe('UNAVAILABLE');
    expect(await codeOf(fx.manager.freeImage('off:vm-1-disk-0'))).toBe('UNAVAILABLE');
    expect(await fx.manager.allocImage('here', { vmid: 1, size: 4096 })).toBe('here:vm-1-disk-0');
    const st = await fx.manager.status('on');
    expect(st.active).toBe(true);
    expect(st.total).toBeGreaterThanOrEqual(st.used);
  });

  it('does not add a storage that cannot be activated, and reports an added one that broke as inactive', async () => {
    fx = await openFileManager(['st']);
    expect(await codeOf(fx.manager.addStorage({ type: 'testfile', storage: 'later', path: join(fx.root, 'later') }))).toBe('UNAVAILABLE');
    expect(fx.manager.storageIds()).toEqual(['st']);
    await rm(fx.dirs['st']!, { recursive: true });
    expect(await fx.manager.status('st')).toMatchObject({ active: false, total: 0, details: { error: { code: 'UNAVAILABLE' } } });
    expect(fx.warnings.some((w) => w.includes("storage 'st' is not active"))).toBe(true);
  });

  it('fails every call after close with UNAVAILABLE', async () => {
    fx = await openFileManager(['st']);
    await fx.manager.close();
    expect(await codeOf(fx.manager.listImages('st'))).toBe('UNAVAILABLE');
    expect(await codeOf(fx.manager.addStorage({ type: 'testfile', storage: 'sb', path: '/tmp' }))).toBe('UNAVAILABLE');
  });
});

describe('StorageManager.open and storage config changes', () => {
  it('needs exactly one of config and configFile, and reports bad files with lines', async () => {
    expect(await codeOf(StorageManager.open({ plugins: [FilePlugin] }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(StorageManager.open({ plugins: [FilePlugin], config: [], configFile: '/x' }))).toBe('INVALID_ARGUMENT');
    fx = await openFileManager(['st']);
    const file = join(fx.root, 'storage.cfg');
    await writeFile(file, 'testfile: one\n\tpath /srv/one\n\tcolour blue\n\ndir: two\n\tpath /x\n\ntestfile: three\n\tpath /y\n');
    const e = await StorageManager.open({ plugins: [FilePlugin], configFile: file }).catch((x: unknown) => x);
    expect(isStorageError(e, 'CONFIG_INVALID')).toBe(true);
    const issues = (e as { issues: { line?: number; message: string }[] }).issues;
    expect(issues.map((i) => i.line)).toEqual([3, 5]);
    // A storage id given twice in a config array.
    const twice = [{ type: 'testfile', storage: 'one', path: '/a' }, { type: 'testfile', storage: 'one', path: '/b' }];
    expect(await codeOf(StorageManager.open({ plugins: [FilePlugin], config: twice }))).toBe('CONFIG_INVALID');
  });

  it('refuses a shared storage without a shared lock directory', async () => {
    const e = await StorageManager.open({ plugins: [FilePlugin], config: [{ type: 'testfile', storage: 'sh', path: '/srv', shared: true }] }).catch(
      (x: unknown) => x,
    );
    expect(isStorageError(e, 'CONFIG_INVALID')).toBe(true);
  });

  it('adds, updates and removes storages with hooks, writing storage.cfg each time', async () => {
    fx = await openFileManager(['st']);
    const file = join(fx.root, 'storage.cfg');
    await writeFile(file, `# hand-written\ntestfile: st\n\tpath ${fx.dirs['st']}\n\tcontent images\n`);
    const m = await StorageManager.open({ plugins: [FilePlugin], configFile: file, lockDir: fx.lockDir, node: 'testnode' });
    try {
      expect(m.storageIds()).toEqual(['st']);
      await mkdir(join(fx.root, 'sb'));
      await m.addStorage({ type: 'testfile', storage: 'sb', path: join(fx.root, 'sb'), shared: false });
      expect((m.pluginFor('sb') as FilePlugin).calls).toEqual(['onAddHook sb', 'activateStorage']);
      expect(await readFile(file, 'utf8')).toBe(`testfile: st\n\tpath ${fx.dirs['st']}\n\tcontent images\n\ntestfile: sb\n\tpath ${join(fx.root, 'sb')}\n\tshared 0\n\n`);

      await m.updateStorage('sb', { comment: 'scratch' }, ['shared']);
      expect((m.pluginFor('sb') as FilePlugin).calls.at(-1)).toBe('onUpdateHook sb undefined -> scratch');
      expect(m.storageConfig('sb')).toMatchObject({ comment: 'scratch' });
      const written = await readFile(file, 'utf8');
      expect(written).toContain('testfile: sb\n\tpath ');
      expect(written).toContain('\tcomment scratch\n');
      expect(written).not.toContain('shared');

      // Refusals change nothing: a fixed option, a hook veto, a duplicate id, an unknown type.
      expect(await codeOf(m.updateStorage('sb', { path: '/elsewhere' }))).toBe('CONFIG_INVALID');
      expect(await codeOf(m.updateStorage('sb', { comment: 'refuse' }))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(m.addStorage({ type: 'testfile', storage: 'st', path: '/srv' }))).toBe('ALREADY_EXISTS');
      expect(await codeOf(m.addStorage({ type: 'nosuch', storage: 'sc', path: '/srv' }))).toBe('CONFIG_INVALID');
      expect(await codeOf(m.addStorage({ type: 'testfile', storage: 'sc', path: join(fx.root, 'sb'), comment: 'refuse' }))).toBe('INVALID_ARGUMENT');
      expect(await readFile(file, 'utf8')).toBe(written);
      expect(m.storageConfig('sb')).toMatchObject({ comment: 'scratch' });

      await m.removeStorage('sb');
      expect(m.storageIds()).toEqual(['st']);
      expect(await readFile(file, 'utf8')).toBe(`testfile: st\n\tpath ${fx.dirs['st']}\n\tcontent images\n\n`);
      expect(await codeOf(m.listImages('sb'))).toBe('NOT_FOUND');
    } finally {
      await m.close();
    }
  });
});

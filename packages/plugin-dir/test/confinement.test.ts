import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStorageError } from '@stowage/core';
import { type PluginContext } from '@stowage/core/plugin';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { code, dirContext, MemoryLog, releaseImmutable, sh } from './helpers.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;

let base: string;
let root: string;
let outside: string;
let ctx: PluginContext<DirConfig>;
let log: MemoryLog;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-confine-'));
  root = join(base, 'store');
  outside = join(base, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'secret.raw'), 'do not touch');
  log = new MemoryLog();
  ctx = dirContext({ path: root, content: 'images,iso,backup' }, undefined, log);
  await plugin.activateStorage(ctx);
});
afterEach(async () => {
  await releaseImmutable(base);
  await rm(base, { recursive: true, force: true });
});

async function outsideUntouched(): Promise<void> {
  expect(await readdir(outside)).toEqual(['secret.raw']);
  expect(await readFile(join(outside, 'secret.raw'), 'utf8')).toBe('do not touch');
}

describe('a guest directory that is a symlink to outside the storage', () => {
  beforeEach(async () => {
    await symlink(outside, join(root, 'images/100'));
  });

  it('alloc, free, path, size info, attributes and rename refuse it with INVALID_VOLUME_ID; nothing outside changes', async () => {
    expect(await code(plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB }))).toBe('INVALID_VOLUME_ID');
    expect(await code(plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-1.qcow2', size: MiB }))).toBe('INVALID_VOLUME_ID');
    await writeFile(join(outside, 'vm-100-disk-7.raw'), 'outside image');
    const v = vol('100/vm-100-disk-7.raw');
    for (const p of [
      plugin.freeImage(ctx, { volume: v }),
      plugin.path(ctx, { volume: v }),
      plugin.volumeSizeInfo(ctx, { volume: v }),
      plugin.getVolumeAttribute(ctx, { volume: v, attribute: 'notes' }),
      plugin.updateVolumeAttribute(ctx, { volume: v, attribute: 'protected', value: true }),
      plugin.renameVolume(ctx, { volume: v, targetVmid: 101, targetName: 'vm-101-disk-0.raw' }),
      plugin.volumeResize(ctx, { volume: v, size: 2 * MiB }),
      plugin.activateVolume(ctx, { volume: v }),
    ]) {
      expect(await code(p)).toBe('INVALID_VOLUME_ID');
    }
    expect(await readFile(join(outside, 'vm-100-disk-7.raw'), 'utf8')).toBe('outside image');
    expect((await readdir(outside)).sort()).toEqual(['secret.raw', 'vm-100-disk-7.raw']);
  });

  it('listImages skips it (with a warning) and lists the rest', async () => {
    await writeFile(join(outside, 'vm-100-disk-0.raw'), 'x');
    await plugin.allocImage(ctx, { vmid: 200, format: 'raw', name: 'vm-200-disk-0.raw', size: MiB });
    expect((await plugin.listImages(ctx, {})).map((i) => i.volname)).toEqual(['200/vm-200-disk-0.raw']);
    expect(await plugin.listImages(ctx, { volnames: ['100/vm-100-disk-0.raw'] })).toEqual([]);
    expect(log.lines.some((l) => l.level === 'warn' && /outside the storage/.test(l.message))).toBe(true);
  });
});

describe('an image file that is a symlink', () => {
  it('to outside: refused everywhere, never followed; free removes the link itself, never its target', async () => {
    await mkdir(join(root, 'images/100'));
    await symlink(join(outside, 'secret.raw'), join(root, 'images/100/vm-100-disk-0.raw'));
    const v = vol('100/vm-100-disk-0.raw');
    expect(await code(plugin.path(ctx, { volume: v }))).toBe('INVALID_VOLUME_ID');
    expect(await code(plugin.createBase(ctx, { volume: v }))).toBe('INVALID_VOLUME_ID');
    expect(await code(plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB }))).toBe('INVALID_VOLUME_ID');
    expect(await plugin.listImages(ctx, {})).toEqual([]);
    expect(await code(plugin.freeImage(ctx, { volume: v }))).toBe('ok');
    expect(await readdir(join(root, 'images'))).toEqual([]);
    await outsideUntouched();
  });

  it('to outside, on a shared storage (thread-pool calls): refused the same way', async () => {
    const shared = dirContext({ path: root, shared: '1' }, undefined, log);
    await mkdir(join(root, 'images/100'));
    await symlink(join(outside, 'secret.raw'), join(root, 'images/100/vm-100-disk-0.raw'));
    const v = vol('100/vm-100-disk-0.raw');
    expect(await code(plugin.volumeSizeInfo(shared, { volume: v }))).toBe('INVALID_VOLUME_ID');
    expect(await code(plugin.freeImage(shared, { volume: v }))).toBe('ok');
    expect(await code(plugin.allocImage(shared, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB }))).toBe('ok');
    expect(await plugin.listImages(shared, {})).toHaveLength(1);
    await outsideUntouched();
  });

  it('dangling: refused, since where it points cannot be checked; free removes the link', async () => {
    await mkdir(join(root, 'images/100'));
    await symlink(join(outside, 'not-yet.raw'), join(root, 'images/100/vm-100-disk-0.raw'));
    expect(await code(plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB }))).toBe('INVALID_VOLUME_ID');
    expect(await code(plugin.path(ctx, { volume: vol('100/vm-100-disk-0.raw') }))).toBe('INVALID_VOLUME_ID');
    expect(await code(plugin.freeImage(ctx, { volume: vol('100/vm-100-disk-0.raw') }))).toBe('ok');
    await outsideUntouched();
  });

  it('notes that are a symlink to outside are never read', async () => {
    await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB });
    await symlink(join(outside, 'secret.raw'), join(root, 'images/100/vm-100-disk-0.raw.notes'));
    expect(await code(plugin.getVolumeAttribute(ctx, { volume: vol('100/vm-100-disk-0.raw'), attribute: 'notes' }))).toBe('INVALID_VOLUME_ID');
    await outsideUntouched();
  });

  it('inside the storage: followed', async () => {
    await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB });
    await mkdir(join(root, 'images/101'));
    await symlink(join(root, 'images/100/vm-100-disk-0.raw'), join(root, 'images/101/vm-101-disk-0.raw'));
    expect((await plugin.listImages(ctx, {})).map((i) => [i.volname, i.size])).toEqual([
      ['100/vm-100-disk-0.raw', MiB],
      ['101/vm-101-disk-0.raw', MiB],
    ]);
    expect((await plugin.volumeSizeInfo(ctx, { volume: vol('101/vm-101-disk-0.raw') })).size).toBe(MiB);
  });
});

describe('other escapes', () => {
  it('the images directory itself leading outside makes listing fail with INVALID_VOLUME_ID', async () => {
    await rm(join(root, 'images'), { recursive: true });
    await symlink(outside, join(root, 'images'));
    expect(await code(plugin.listImages(ctx, {}))).toBe('INVALID_VOLUME_ID');
    expect(await code(plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB }))).toBe('INVALID_VOLUME_ID');
    await outsideUntouched();
  });

  it('an ISO that is a symlink to outside is not listed; freeing it removes the link, not its target', async () => {
    await symlink(join(outside, 'secret.raw'), join(root, 'template/iso/x.iso'));
    expect(await plugin.listVolumes(ctx, { content: ['iso'] })).toEqual([]);
    expect(await code(plugin.path(ctx, { volume: vol('iso/x.iso') }))).toBe('INVALID_VOLUME_ID');
    expect(await code(plugin.freeImage(ctx, { volume: vol('iso/x.iso') }))).toBe('ok');
    expect(await readdir(join(root, 'template/iso'))).toEqual([]);
    await outsideUntouched();
  });

  it('a storage path that is itself a symlink works (only leaving it from inside is refused)', async () => {
    const link = join(base, 'link-to-store');
    await symlink(root, link);
    const c = dirContext({ path: link });
    expect(await plugin.allocImage(c, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB })).toBe('100/vm-100-disk-0.raw');
    expect((await stat(join(root, 'images/100/vm-100-disk-0.raw'))).size).toBe(MiB);
    expect(await plugin.listImages(c, {})).toHaveLength(1);
  });

  it('content-dirs cannot point outside', () => {
    expect(() => dirContext({ path: root, 'content-dirs': 'iso=../outside' })).toThrow();
    expect(() => dirContext({ path: root, 'content-dirs': 'iso=/etc' })).toThrow();
  });
});

describe('images on the storage that refer outside it (adoption checks)', () => {
  it('a qcow2 whose backing file is outside: not listed as a clone, refused for use and for cloning', async () => {
    await mkdir(join(root, 'images/100'));
    await sh('qemu-img', ['create', '-q', '-f', 'raw', join(outside, 'base.raw'), '1M']);
    const img = join(root, 'images/100/vm-100-disk-0.qcow2');
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', join(outside, 'base.raw'), img]);
    const [listed] = await plugin.listImages(ctx, {});
    expect(listed).toMatchObject({ volname: '100/vm-100-disk-0.qcow2', parent: undefined, format: 'qcow2' });
    const v = vol('100/vm-100-disk-0.qcow2');
    const err = await plugin.activateVolume(ctx, { volume: v }).catch((e: unknown) => e);
    expect(isStorageError(err, 'CORRUPT')).toBe(true);
    expect(String((err as { details: { problems: string[] } }).details.problems)).toMatch(/backing file .* outside/);
    expect(await code(plugin.createBase(ctx, { volume: v }))).toBe('CORRUPT');
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', join(outside, 'base.raw'), join(root, 'images/100/base-100-disk-1.qcow2')]);
    expect(await code(plugin.cloneImage(ctx, { volume: vol('100/base-100-disk-1.qcow2'), vmid: 101, name: 'vm-101-disk-0.qcow2' }))).toBe('CORRUPT');
    expect(await readdir(join(root, 'images'))).toEqual(['100']);
  });

  it('a vmdk with an extent outside is refused for use; a data file and extents inside the storage are accepted', async () => {
    await mkdir(join(root, 'images/100'));
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${join(root, 'images/100/vm-100-disk-0.data')}`, join(root, 'images/100/vm-100-disk-0.qcow2'), '1M']);
    await writeFile(
      join(root, 'images/100/vm-100-disk-1.vmdk'),
      `# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 2048 FLAT "${join(outside, 'secret.raw')}" 0\n`,
    );
    await sh('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', join(root, 'images/100/vm-100-disk-2.vmdk'), '3G']);
    expect(await code(plugin.activateVolume(ctx, { volume: vol('100/vm-100-disk-1.vmdk') }))).toBe('CORRUPT');
    for (const name of ['vm-100-disk-0.qcow2', 'vm-100-disk-2.vmdk']) expect(await code(plugin.activateVolume(ctx, { volume: vol(`100/${name}`) }))).toBe('ok');
    // listing reads only the descriptor inside the storage; sizes come from it
    const sizes = Object.fromEntries((await plugin.listImages(ctx, {})).map((i) => [i.volname, i.size]));
    expect(sizes['100/vm-100-disk-1.vmdk']).toBe(MiB);
    expect(sizes['100/vm-100-disk-2.vmdk']).toBe(3 * 1024 * MiB);
    await outsideUntouched();
  });
});

import { lstat, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultInjectingRunner } from '@stowage/core/testing';
import { LocalRunner, type PluginContext } from '@stowage/core/plugin';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { code, dirContext, MemoryLog, releaseImmutable, sh } from './helpers.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;

async function qemuInfo(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await sh('qemu-img', ['info', '--output=json', '-U', path])) as Record<string, unknown>;
}

let root: string;
let ctx: PluginContext<DirConfig>;
let log: MemoryLog;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-dir-'));
  log = new MemoryLog();
  ctx = dirContext({ path: root }, new LocalRunner(), log);
  await plugin.activateStorage(ctx);
});
afterEach(async () => {
  await releaseImmutable(root);
  await rm(root, { recursive: true, force: true });
});

describe('allocImage', () => {
  it('makes raw natively as a sparse file, qcow2 and vmdk with qemu-img, sizes rounded up to KiB', async () => {
    expect(await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: 10 * MiB + 1 })).toBe('100/vm-100-disk-0.raw');
    const raw = await stat(join(root, 'images/100/vm-100-disk-0.raw'));
    expect(raw.size).toBe(10 * MiB + 1024);
    expect(raw.blocks).toBe(0);
    expect(await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-1.qcow2', size: 64 * MiB })).toBe('100/vm-100-disk-1.qcow2');
    const q = await qemuInfo(join(root, 'images/100/vm-100-disk-1.qcow2'));
    expect(q).toMatchObject({ format: 'qcow2', 'virtual-size': 64 * MiB });
    expect(await plugin.allocImage(ctx, { vmid: 100, format: 'vmdk', name: 'vm-100-disk-2.vmdk', size: 3 * MiB })).toBe('100/vm-100-disk-2.vmdk');
    const images = await plugin.listImages(ctx, {});
    expect(images.map((i) => [i.volid, i.format, i.size, i.vmid, i.isBase, i.parent])).toEqual([
      ['test:100/vm-100-disk-0.raw', 'raw', 10 * MiB + 1024, 100, false, undefined],
      ['test:100/vm-100-disk-1.qcow2', 'qcow2', 64 * MiB, 100, false, undefined],
      ['test:100/vm-100-disk-2.vmdk', 'vmdk', 3 * MiB, 100, false, undefined],
    ]);
  });

  it('uses qemu-img with preallocation for raw when asked (falloc allocates the blocks)', async () => {
    const c = dirContext({ path: root, preallocation: 'falloc' });
    await plugin.allocImage(c, { vmid: 101, format: 'raw', name: 'vm-101-disk-0.raw', size: 4 * MiB });
    expect((await stat(join(root, 'images/101/vm-101-disk-0.raw'))).blocks * 512).toBeGreaterThanOrEqual(4 * MiB);
  });

  it('refuses a taken name, a foreign or mismatched name, and a bad size; nothing is left', async () => {
    await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB });
    expect(await code(plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB }))).toBe('ALREADY_EXISTS');
    expect(await code(plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-1.raw', size: MiB }))).toBe('INVALID_ARGUMENT');
    expect(await code(plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-101-disk-1.raw', size: MiB }))).toBe('INVALID_ARGUMENT');
    expect(await code(plugin.allocImage(ctx, { vmid: 102, format: 'raw', name: 'vm-102-disk-0.raw', size: -5 }))).toBe('INVALID_ARGUMENT');
    expect(await code(plugin.allocImage(ctx, { vmid: 102, format: 'raw', name: '../vm-102-disk-0.raw', size: MiB }))).toBe('INVALID_ARGUMENT');
    expect(await readdir(join(root, 'images'))).toEqual(['100']);
    expect(await readdir(join(root, 'images/100'))).toEqual(['vm-100-disk-0.raw']);
  });
});

describe('freeImage', () => {
  it('removes the file, its notes and the empty guest directory; a missing file is NOT_FOUND', async () => {
    const volname = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB });
    await plugin.updateVolumeAttribute(ctx, { volume: vol(volname), attribute: 'notes', value: 'hello' });
    await plugin.freeImage(ctx, { volume: vol(volname) });
    expect(await readdir(join(root, 'images'))).toEqual([]);
    expect(await code(plugin.freeImage(ctx, { volume: vol(volname) }))).toBe('NOT_FOUND');
  });

  it('refuses a protected volume with PROTECTED and keeps it', async () => {
    const volname = await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB });
    await plugin.updateVolumeAttribute(ctx, { volume: vol(volname), attribute: 'protected', value: true });
    expect(await code(plugin.freeImage(ctx, { volume: vol(volname) }))).toBe('PROTECTED');
    await lstat(join(root, 'images/100/vm-100-disk-0.raw'));
    await plugin.updateVolumeAttribute(ctx, { volume: vol(volname), attribute: 'protected', value: false });
    await plugin.freeImage(ctx, { volume: vol(volname) });
  });

  it('frees other content types too', async () => {
    await writeFile(join(root, 'template/iso/x.iso'), 'iso').catch(async () => {
      await sh('mkdir', ['-p', join(root, 'template/iso')]);
      await writeFile(join(root, 'template/iso/x.iso'), 'iso');
    });
    await plugin.freeImage(ctx, { volume: vol('iso/x.iso') });
    expect(await readdir(join(root, 'template/iso'))).toEqual([]);
  });
});

describe('createBase and cloneImage', () => {
  it('renames to base-, makes it read-only and immutable; clones are qcow2 overlays with a relative backing file', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: 8 * MiB });
    const base = await plugin.createBase(ctx, { volume: vol(v) });
    expect(base).toBe('100/base-100-disk-0.raw');
    const basePath = join(root, 'images/100/base-100-disk-0.raw');
    expect((await stat(basePath)).mode & 0o777).toBe(0o444);
    expect(await sh('lsattr', [basePath])).toMatch(/^\S*i\S* /);

    const clone = await plugin.cloneImage(ctx, { volume: vol(base), vmid: 101, name: 'vm-101-disk-0.qcow2' });
    expect(clone).toBe('100/base-100-disk-0.raw/101/vm-101-disk-0.qcow2');
    const info = await qemuInfo(join(root, 'images/101/vm-101-disk-0.qcow2'));
    expect(info).toMatchObject({ 'backing-filename': '../100/base-100-disk-0.raw', 'backing-filename-format': 'raw', 'virtual-size': 8 * MiB });
    expect((info['format-specific'] as { data: Record<string, unknown> }).data['extended-l2']).toBe(true);
    expect(info['cluster-size']).toBe(128 * 1024);

    // a base made from a clone, and a clone of that
    const base2 = await plugin.createBase(ctx, { volume: vol(clone) });
    expect(base2).toBe('100/base-100-disk-0.raw/101/base-101-disk-0.qcow2');
    const clone2 = await plugin.cloneImage(ctx, { volume: vol(base2), vmid: 102, name: 'vm-102-disk-0.qcow2' });
    expect(clone2).toBe('101/base-101-disk-0.qcow2/102/vm-102-disk-0.qcow2');

    const images = await plugin.listImages(ctx, {});
    expect(images.map((i) => [i.volname, i.isBase, i.parent])).toEqual([
      ['100/base-100-disk-0.raw', true, undefined],
      ['100/base-100-disk-0.raw/101/base-101-disk-0.qcow2', true, 'test:100/base-100-disk-0.raw'],
      ['101/base-101-disk-0.qcow2/102/vm-102-disk-0.qcow2', false, 'test:100/base-100-disk-0.raw/101/base-101-disk-0.qcow2'],
    ]);
    expect((await plugin.volumeSizeInfo(ctx, { volume: vol(clone2) })).parent).toBe('test:100/base-100-disk-0.raw/101/base-101-disk-0.qcow2');
    expect((await plugin.listImages(ctx, { vmid: 102 }))[0]?.parent).toBe('test:100/base-100-disk-0.raw/101/base-101-disk-0.qcow2');
    expect((await plugin.listImages(ctx, { volnames: [clone2, '100/base-100-disk-0.raw', '100/nope-1.raw'] })).map((i) => i.volname)).toEqual([
      '100/base-100-disk-0.raw',
      clone2,
    ]);

    // freeing a base clears the immutable flag first
    await plugin.freeImage(ctx, { volume: vol(clone2) });
    await plugin.freeImage(ctx, { volume: vol(base2) });
    await plugin.freeImage(ctx, { volume: vol(base) });
    expect(await readdir(join(root, 'images'))).toEqual([]);
  });

  it('warns but succeeds when the filesystem has no immutable flag', async () => {
    const runner = new FaultInjectingRunner(new LocalRunner(), { failAt: (argv) => argv[0] === 'chattr' });
    const c = dirContext({ path: root }, runner, log);
    const v = await plugin.allocImage(c, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB });
    const base = await plugin.createBase(c, { volume: vol(v) });
    expect(log.lines.some((l) => l.level === 'warn' && /immutable/.test(l.message))).toBe(true);
    await plugin.freeImage(c, { volume: vol(base) });
  });

  it('refuses: base of a base, clone of a non-base, clone from a snapshot, a clone whose header names another base', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB });
    expect(await code(plugin.cloneImage(ctx, { volume: vol(v), vmid: 101, name: 'vm-101-disk-0.qcow2' }))).toBe('INVALID_ARGUMENT');
    const base = await plugin.createBase(ctx, { volume: vol(v) });
    expect(await code(plugin.createBase(ctx, { volume: vol(base) }))).toBe('INVALID_ARGUMENT');
    expect(await code(plugin.cloneImage(ctx, { volume: vol(base), vmid: 101, name: 'vm-101-disk-0.qcow2', snapshot: 's' }))).toBe('NOT_SUPPORTED');
    expect(await code(plugin.cloneImage(ctx, { volume: vol(base), vmid: 101, name: 'vm-101-disk-0.raw' }))).toBe('INVALID_ARGUMENT');
    await plugin.allocImage(ctx, { vmid: 101, format: 'qcow2', name: 'vm-101-disk-5.qcow2', size: MiB });
    expect(await code(plugin.createBase(ctx, { volume: vol('100/base-100-disk-0.qcow2/101/vm-101-disk-5.qcow2') }))).toBe('INVALID_ARGUMENT');
    expect(await code(plugin.createBase(ctx, { volume: vol('100/vm-100-disk-9.qcow2') }))).toBe('NOT_FOUND');
  });
});

describe('snapshots', () => {
  it('create, list with time, roll back to an older one (newer kept), delete', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 4 * MiB });
    const path = join(root, 'images/100/vm-100-disk-0.qcow2');
    const volume = vol(v);
    await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x11 0 64k', path]);
    await plugin.volumeSnapshot(ctx, { volume, snapshot: 'one' });
    await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x22 0 64k', path]);
    await plugin.volumeSnapshot(ctx, { volume, snapshot: 'two' });
    await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x33 0 64k', path]);
    expect(await code(plugin.volumeSnapshot(ctx, { volume, snapshot: 'one' }))).toBe('ALREADY_EXISTS');
    const snaps = await plugin.volumeSnapshotInfo(ctx, { volume });
    expect(snaps.map((s) => s.name)).toEqual(['one', 'two']);
    expect(snaps.every((s) => typeof s.timestamp === 'number' && Math.abs(s.timestamp - Date.now() / 1000) < 3600)).toBe(true);
    expect(await plugin.volumeRollbackIsPossible(ctx, { volume, snapshot: 'one' })).toEqual([]);
    await plugin.volumeSnapshotRollback(ctx, { volume, snapshot: 'one' });
    expect(await sh('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0x11 0 64k', path])).toMatch(/read 65536/);
    expect((await plugin.volumeSnapshotInfo(ctx, { volume })).map((s) => s.name)).toEqual(['one', 'two']);
    await plugin.volumeSnapshotDelete(ctx, { volume, snapshot: 'two' });
    expect(await code(plugin.volumeSnapshotDelete(ctx, { volume, snapshot: 'two' }))).toBe('NOT_FOUND');
    expect(await code(plugin.volumeSnapshotRollback(ctx, { volume, snapshot: 'nope' }))).toBe('NOT_FOUND');
    expect((await plugin.volumeSnapshotInfo(ctx, { volume })).map((s) => s.name)).toEqual(['one']);
  });

  it('raw and vmdk have none: NOT_SUPPORTED; a missing image: NOT_FOUND', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB });
    expect(await code(plugin.volumeSnapshot(ctx, { volume: vol(v), snapshot: 's' }))).toBe('NOT_SUPPORTED');
    expect(await code(plugin.path(ctx, { volume: vol(v), snapshot: 's' }))).toBe('NOT_SUPPORTED');
    expect(await code(plugin.volumeSnapshotInfo(ctx, { volume: vol('100/vm-100-disk-1.qcow2') }))).toBe('NOT_FOUND');
  });
});

describe('resize, rename, size info, path, status', () => {
  it('grows raw and qcow2, refuses to shrink with CANNOT_SHRINK, refuses vmdk', async () => {
    const raw = vol(await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: 2 * MiB }));
    const q = vol(await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-1.qcow2', size: 2 * MiB }));
    const k = vol(await plugin.allocImage(ctx, { vmid: 100, format: 'vmdk', name: 'vm-100-disk-2.vmdk', size: 2 * MiB }));
    await plugin.volumeResize(ctx, { volume: raw, size: 3 * MiB });
    await plugin.volumeResize(ctx, { volume: q, size: 5 * MiB + 7 });
    expect((await plugin.volumeSizeInfo(ctx, { volume: raw })).size).toBe(3 * MiB);
    expect((await plugin.volumeSizeInfo(ctx, { volume: q })).size).toBe(5 * MiB + 1024);
    expect(await code(plugin.volumeResize(ctx, { volume: q, size: MiB }))).toBe('CANNOT_SHRINK');
    expect(await code(plugin.volumeResize(ctx, { volume: k, size: 4 * MiB }))).toBe('NOT_SUPPORTED');
    expect((await plugin.volumeSizeInfo(ctx, { volume: q })).size).toBe(5 * MiB + 1024);
  });

  it('renames to another guest, keeping a clone\'s base prefix, moving attributes; never overwrites', async () => {
    const base = await plugin.createBase(ctx, { volume: vol(await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB })) });
    const clone = await plugin.cloneImage(ctx, { volume: vol(base), vmid: 101, name: 'vm-101-disk-0.qcow2' });
    await plugin.updateVolumeAttribute(ctx, { volume: vol(clone), attribute: 'notes', value: 'moved along' });
    const renamed = await plugin.renameVolume(ctx, { volume: vol(clone), targetVmid: 205, targetName: 'vm-205-disk-3.qcow2' });
    expect(renamed).toBe('100/base-100-disk-0.qcow2/205/vm-205-disk-3.qcow2');
    expect(await qemuInfo(join(root, 'images/205/vm-205-disk-3.qcow2'))).toMatchObject({ 'backing-filename': '../100/base-100-disk-0.qcow2' });
    expect(await plugin.getVolumeAttribute(ctx, { volume: vol(renamed), attribute: 'notes' })).toBe('moved along');
    expect(await readdir(join(root, 'images'))).toEqual(['100', '205']);
    const other = await plugin.allocImage(ctx, { vmid: 205, format: 'raw', name: 'vm-205-disk-0.raw', size: MiB });
    await plugin.allocImage(ctx, { vmid: 206, format: 'raw', name: 'vm-206-disk-0.raw', size: MiB });
    expect(await code(plugin.renameVolume(ctx, { volume: vol(other), targetVmid: 206, targetName: 'vm-206-disk-0.raw' }))).toBe('ALREADY_EXISTS');
    expect(await code(plugin.renameVolume(ctx, { volume: vol(base), targetVmid: 206, targetName: 'vm-206-disk-1.qcow2' }))).toBe('NOT_SUPPORTED');
    expect(await code(plugin.renameVolume(ctx, { volume: vol('300/vm-300-disk-0.raw'), targetVmid: 301, targetName: 'vm-301-disk-0.raw' }))).toBe('NOT_FOUND');
    expect(await readdir(join(root, 'images'))).toEqual(['100', '205', '206']);
  });

  it('reports path and status', async () => {
    const v = vol(await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB }));
    expect(await plugin.path(ctx, { volume: v, snapshot: 'any' })).toEqual({ path: join(root, 'images/100/vm-100-disk-0.qcow2'), vmid: 100, vtype: 'images' });
    expect(await plugin.path(ctx, { volume: vol('iso/x.iso') })).toEqual({ path: join(root, 'template/iso/x.iso'), vmid: undefined, vtype: 'iso' });
    const s = await plugin.status(ctx);
    expect(s.active).toBe(true);
    expect(s.total).toBeGreaterThan(s.available);
    expect(s.used).toBeGreaterThan(0);
    expect(await plugin.status(dirContext({ path: join(root, 'missing') }))).toEqual({ total: 0, available: 0, used: 0, active: false });
    expect(await plugin.status(dirContext({ path: root, is_mountpoint: 'yes' }))).toMatchObject({ active: false });
  });
});

describe('attributes and listVolumes', () => {
  it('notes round-trip and clear; protected is a boolean; a missing volume is NOT_FOUND', async () => {
    const v = vol(await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB }));
    expect(await plugin.getVolumeAttribute(ctx, { volume: v, attribute: 'notes' })).toBeUndefined();
    await plugin.updateVolumeAttribute(ctx, { volume: v, attribute: 'notes', value: 'grüße\nline 2' });
    expect(await plugin.getVolumeAttribute(ctx, { volume: v, attribute: 'notes' })).toBe('grüße\nline 2');
    await plugin.updateVolumeAttribute(ctx, { volume: v, attribute: 'notes', value: '' });
    expect(await plugin.getVolumeAttribute(ctx, { volume: v, attribute: 'notes' })).toBeUndefined();
    expect(await plugin.getVolumeAttribute(ctx, { volume: v, attribute: 'protected' })).toBe(false);
    expect(await code(plugin.updateVolumeAttribute(ctx, { volume: v, attribute: 'protected', value: 'yes' }))).toBe('INVALID_ARGUMENT');
    expect(await code(plugin.getVolumeAttribute(ctx, { volume: vol('100/vm-100-disk-9.raw'), attribute: 'notes' }))).toBe('NOT_FOUND');
    expect(await plugin.listImages(ctx, {})).toHaveLength(1);
  });

  it('limits protected backups per guest with max-protected-backups', async () => {
    const c = dirContext({ path: root, 'max-protected-backups': '1', content: 'images,backup' });
    await plugin.activateStorage(c);
    await writeFile(join(root, 'dump/vzdump-qemu-100-2025_01_01-00_00_00.vma.zst'), 'a');
    await writeFile(join(root, 'dump/vzdump-qemu-100-2025_01_02-00_00_00.vma.zst'), 'b');
    await plugin.updateVolumeAttribute(c, { volume: vol('backup/vzdump-qemu-100-2025_01_01-00_00_00.vma.zst'), attribute: 'protected', value: true });
    expect(await code(plugin.updateVolumeAttribute(c, { volume: vol('backup/vzdump-qemu-100-2025_01_02-00_00_00.vma.zst'), attribute: 'protected', value: true }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('lists every content type from its own directory', async () => {
    const c = dirContext({ path: root, content: 'images,iso,vztmpl,backup,snippets,import' });
    await plugin.activateStorage(c);
    await plugin.allocImage(c, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB });
    const files: Record<string, string> = {
      'template/iso/a.iso': 'iso!',
      'template/iso/readme.txt': 'not listed',
      'template/cache/debian.tar.zst': 'tmpl',
      'dump/vzdump-qemu-100-2025_01_01-00_00_00.vma.zst': 'b1',
      'dump/vzdump-lxc-200-2025_01_01-00_00_00.tar.gz': 'b2',
      'dump/vzdump-qemu-100-2025_01_01-00_00_00.vma.zst.notes': 'sidecar, not listed',
      'snippets/user.yaml': 'x',
      'import/disk.vmdk': 'y',
      'import/bad name.qcow2': 'space: skipped',
    };
    for (const [p, text] of Object.entries(files)) await writeFile(join(root, p), text);
    const all = await plugin.listVolumes(c, {});
    expect(all.map((e) => [e.volid, e.content, e.format, e.size, e.vmid])).toEqual([
      ['test:100/vm-100-disk-0.raw', 'images', 'raw', MiB, 100],
      ['test:backup/vzdump-lxc-200-2025_01_01-00_00_00.tar.gz', 'backup', 'tar.gz', 2, 200],
      ['test:backup/vzdump-qemu-100-2025_01_01-00_00_00.vma.zst', 'backup', 'vma.zst', 2, 100],
      ['test:import/disk.vmdk', 'import', 'vmdk', 1, undefined],
      ['test:iso/a.iso', 'iso', 'iso', 4, undefined],
      ['test:snippets/user.yaml', 'snippets', 'snippet', 1, undefined],
      ['test:vztmpl/debian.tar.zst', 'vztmpl', 'tzst', 4, undefined],
    ]);
    const forGuest = await plugin.listVolumes(c, { vmid: 100, content: ['images', 'backup', 'iso'] });
    expect(forGuest.map((e) => e.volid)).toEqual(['test:100/vm-100-disk-0.raw', 'test:backup/vzdump-qemu-100-2025_01_01-00_00_00.vma.zst']);
  });

  it('activateStorage creates the content directories and refuses two content types in one', async () => {
    const fresh = join(root, 'fresh');
    await plugin.activateStorage(dirContext({ path: fresh, content: 'images,iso,rootdir' }));
    expect((await readdir(fresh)).sort()).toEqual(['dump', 'images', 'private', 'template']);
    expect(await code(plugin.activateStorage(dirContext({ path: fresh, content: 'images,iso', 'content-dirs': 'iso=images' })))).toBe('CONFIG_INVALID');
    expect(await code(plugin.activateStorage(dirContext({ path: join(root, 'nope'), 'create-base-path': '0' })))).toBe('UNAVAILABLE');
  });
});

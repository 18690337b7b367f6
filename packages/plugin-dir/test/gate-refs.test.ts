/**
 * Issue 11, item 1: images in the storage whose backing file, data file or vmdk extent lies
 * outside it. Every operation that opens such an image or hands it to qemu-img refuses it with
 * CORRUPT, and nothing outside is read (no byte of it reaches an export) or changed.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStorageError, StorageManager } from '@stowage/core';
import { type PluginContext } from '@stowage/core/plugin';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { code, dirContext, releaseImmutable, sh } from './helpers.js';
import { Collect, vmdkDescriptor } from './hostile.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;
const SECRET = Buffer.from('SECRET-OUTSIDE-THE-STORAGE;'.repeat(64));

let base: string;
let root: string;
let outside: string;
let secretPath: string;
let ctx: PluginContext<DirConfig>;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-gate-'));
  root = join(base, 'store');
  outside = join(base, 'outside');
  secretPath = join(outside, 'x.raw');
  await mkdir(outside);
  ctx = dirContext({ path: root });
  await plugin.activateStorage(ctx);
  await mkdir(join(root, 'images/100'));
});
afterEach(async () => {
  await releaseImmutable(base);
  await rm(base, { recursive: true, force: true });
});

async function writeSecret(): Promise<void> {
  const b = Buffer.alloc(MiB);
  SECRET.copy(b);
  await writeFile(secretPath, b);
}

async function secretUntouched(): Promise<void> {
  expect(await readdir(outside)).toEqual(['x.raw']);
  const b = await readFile(secretPath);
  expect(b.length).toBe(MiB);
  expect(b.subarray(0, SECRET.length).equals(SECRET)).toBe(true);
}

/** The hostile images of item 1, by volname. */
async function makeHostileImages(): Promise<Record<string, string>> {
  const dir = join(root, 'images/100');
  await writeSecret();
  await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', secretPath, join(dir, 'vm-100-disk-0.qcow2')]);
  // qemu-img create makes the data file afresh: the secret goes in afterwards
  await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${secretPath},data_file_raw=on`, join(dir, 'vm-100-disk-1.qcow2'), '1M']);
  await writeSecret();
  await writeFile(join(dir, 'vm-100-disk-2.vmdk'), vmdkDescriptor([`RW 2048 FLAT "${secretPath}" 0`]));
  await writeFile(join(dir, 'vm-100-disk-3.vmdk'), vmdkDescriptor(['RW 2048 FLAT "../../../outside/x.raw" 0']));
  return {
    backing: '100/vm-100-disk-0.qcow2',
    dataFile: '100/vm-100-disk-1.qcow2',
    extentAbsolute: '100/vm-100-disk-2.vmdk',
    extentRelative: '100/vm-100-disk-3.vmdk',
  };
}

describe('an image referring outside the storage (backing file, data file, vmdk extent)', () => {
  it('export refuses it with CORRUPT and writes no byte of the outside file', async () => {
    const images = await makeHostileImages();
    for (const volname of Object.values(images)) {
      const out = new Collect();
      expect(await code(plugin.volumeExport(ctx, { volume: vol(volname), format: 'raw+size', output: out })), volname).toBe('CORRUPT');
      expect(out.data.includes(SECRET.subarray(0, 27)), volname).toBe(false);
    }
    await secretUntouched();
  });

  it('copy to another storage refuses it with CORRUPT and leaves nothing on the target', async () => {
    const images = await makeHostileImages();
    const target = join(base, 'target');
    const storages = await StorageManager.open({
      plugins: [DirPlugin],
      config: [
        { type: 'dir', storage: 'src', path: root },
        { type: 'dir', storage: 'dst', path: target, 'create-base-path': true },
      ],
      lockDir: join(base, 'locks'),
    });
    try {
      for (const volname of Object.values(images)) {
        expect(await code(storages.copyVolume(`src:${volname}`, 'dst')), volname).toBe('CORRUPT');
      }
      expect(await storages.listImages('dst')).toEqual([]);
    } finally {
      await storages.close();
    }
    await secretUntouched();
  });

  it('resize, snapshot (create, rollback, delete, list), template, path, activate, size info: CORRUPT, nothing outside changes', async () => {
    const images = await makeHostileImages();
    for (const [what, volname] of Object.entries(images)) {
      const volume = vol(volname);
      // one at a time: each call is made only when the previous one has settled
      const calls: Record<string, () => Promise<unknown>> = {
        resize: () => plugin.volumeResize(ctx, { volume, size: 2 * MiB }),
        template: () => plugin.createBase(ctx, { volume }),
        path: () => plugin.path(ctx, { volume }),
        activate: () => plugin.activateVolume(ctx, { volume }),
        sizeInfo: () => plugin.volumeSizeInfo(ctx, { volume }),
      };
      if (volume.format === 'qcow2') {
        Object.assign(calls, {
          snapshot: () => plugin.volumeSnapshot(ctx, { volume, snapshot: 's1' }),
          rollback: () => plugin.volumeSnapshotRollback(ctx, { volume, snapshot: 's1' }),
          snapshotDelete: () => plugin.volumeSnapshotDelete(ctx, { volume, snapshot: 's1' }),
          snapshotInfo: () => plugin.volumeSnapshotInfo(ctx, { volume }),
        });
      }
      for (const [verb, call] of Object.entries(calls)) {
        // vmdk resize is NOT_SUPPORTED before anything is opened: that is fine too
        const expected = verb === 'resize' && volume.format === 'vmdk' ? 'NOT_SUPPORTED' : 'CORRUPT';
        expect(await code(call()), `${verb} of ${what}`).toBe(expected);
      }
    }
    expect((await readdir(join(root, 'images/100'))).filter((n) => n.startsWith('base-'))).toEqual([]);
    await secretUntouched();
  });

  it('clone of a base whose backing file is outside: CORRUPT, no clone made', async () => {
    await writeSecret();
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', secretPath, join(root, 'images/100/base-100-disk-0.qcow2')]);
    const e = await plugin.cloneImage(ctx, { volume: vol('100/base-100-disk-0.qcow2'), vmid: 101, name: 'vm-101-disk-0.qcow2' }).catch((x: unknown) => x);
    expect(isStorageError(e, 'CORRUPT')).toBe(true);
    expect(String((e as { details: { problems: string[] } }).details.problems)).toMatch(/backing file .*outside the storage/);
    expect(await readdir(join(root, 'images'))).toEqual(['100']);
    await secretUntouched();
  });

  it('a backing file that stays inside by its text but leaves through a symlinked guest directory is refused (resolved as the kernel does)', async () => {
    // images/101 -> <root>/a; from images/101, '../../outside/x.raw' is <root>/outside/x.raw by
    // text, but the kernel takes '..' of <root>/a, which is <root>: the file read is <base>/outside/x.raw
    await writeSecret();
    await mkdir(join(root, 'a'));
    await symlink(join(root, 'a'), join(root, 'images/101'));
    const img = join(root, 'images/101/vm-101-disk-0.qcow2');
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '../../outside/x.raw', '-u', img, '1M']);
    const info = JSON.parse(await sh('qemu-img', ['info', '--output=json', '--backing-chain', img])) as { filename: string; 'virtual-size': number }[];
    expect(info[1]?.['virtual-size']).toBe(MiB); // qemu really reaches the outside file
    const volume = vol('101/vm-101-disk-0.qcow2');
    expect(await code(plugin.activateVolume(ctx, { volume }))).toBe('CORRUPT');
    const out = new Collect();
    expect(await code(plugin.volumeExport(ctx, { volume, format: 'raw+size', output: out }))).toBe('CORRUPT');
    expect(out.data.includes(SECRET.subarray(0, 27))).toBe(false);
    await secretUntouched();
  });

  it('resize of a qcow2 whose data file is outside never grows the outside file', async () => {
    const images = await makeHostileImages();
    expect(await code(plugin.volumeResize(ctx, { volume: vol(images.dataFile ?? ''), size: 2 * MiB }))).toBe('CORRUPT');
    expect((await stat(secretPath)).size).toBe(MiB);
  });
});

describe('references inside the storage are followed and accepted', () => {
  it('a linked clone, a data file inside, a vmdk with extents inside: export works', async () => {
    const storages = await StorageManager.open({ plugins: [DirPlugin], config: [{ type: 'dir', storage: 'local', path: root }], lockDir: join(base, 'locks') });
    try {
      const disk = await storages.allocImage('local', { vmid: 100, size: MiB, format: 'qcow2' });
      const tmpl = await storages.createBase(disk);
      const clone = await storages.cloneImage(tmpl, { vmid: 101 });
      await storages.activateVolume(clone);
      const dir = join(root, 'images/100');
      await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'data-of-disk-5')}`, join(dir, 'vm-100-disk-5.qcow2'), '1M']);
      await writeFile(join(dir, 'flat-extent'), Buffer.alloc(MiB, 7));
      await writeFile(join(dir, 'vm-100-disk-6.vmdk'), vmdkDescriptor(['RW 2048 FLAT "flat-extent" 0']));
      for (const volname of ['100/vm-100-disk-5.qcow2', '100/vm-100-disk-6.vmdk', clone.slice('local:'.length)]) {
        const out = new Collect();
        await plugin.volumeExport(ctx, { volume: vol(volname), format: 'raw+size', output: out });
        expect(out.data.length, volname).toBe(8 + MiB);
      }
    } finally {
      await storages.close();
    }
  });
});

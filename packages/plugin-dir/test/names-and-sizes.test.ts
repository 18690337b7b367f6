/**
 * Issue 11, item 14: the free-name search counts every directory entry named like a disk (even
 * those the listing skips), `free` removes a symlink entry itself and never its target, templates
 * whose backing files point at each other can be freed, and sizes past a format's limit are
 * refused before anything is made.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageManager } from '@stowage/core';
import { DirPlugin, dirCapabilities } from '@stowage/plugin-dir';
import { code, sh } from './helpers.js';
import { mkfifo } from './hostile.js';

const KiB = 1024;
const PiB = 2 ** 50;
const TiB = 2 ** 40;

let base: string;
let root: string;
let outside: string;
let storages: StorageManager;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-names-'));
  root = join(base, 'store');
  outside = join(base, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'x.raw'), 'outside');
  storages = await StorageManager.open({ plugins: [DirPlugin], config: [{ type: 'dir', storage: 'local', path: root, 'create-base-path': true }], lockDir: join(base, 'locks') });
});
afterEach(async () => {
  await storages.close();
  await rm(base, { recursive: true, force: true });
});

/** The guest directories of the storage (none when the images directory is not made yet). */
async function guestDirs(): Promise<string[]> {
  return readdir(join(root, 'images')).catch(() => []);
}

describe('the free-name search', () => {
  it('skips every index taken by an entry named like a disk, whatever the listing makes of it', async () => {
    const dir = join(root, 'images/200');
    await mkdir(dir, { recursive: true });
    await symlink(join(outside, 'x.raw'), join(dir, 'vm-200-disk-0.raw')); // leads outside: not listed
    await mkdir(join(dir, 'vm-200-disk-1.qcow2')); // a directory
    await mkfifo(join(dir, 'base-200-disk-2.vmdk')); // a FIFO
    await writeFile(join(dir, 'vm-200-disk-3.weird-extension'), ''); // not an image extension
    await writeFile(join(dir, 'vm-200-disk-4'), ''); // no extension
    await writeFile(join(dir, 'vm-200-disk-5.raw.notes'), 'a stray attribute file');
    expect(await storages.listImages('local', { vmid: 200 })).toEqual([]);
    expect(await storages.allocImage('local', { vmid: 200, size: KiB, format: 'raw' })).toBe('local:200/vm-200-disk-6.raw');
    expect(await storages.allocImage('local', { vmid: 200, size: KiB, format: 'qcow2' })).toBe('local:200/vm-200-disk-7.qcow2');
    // other guests' names and names of another vmid in this directory do not count
    await writeFile(join(dir, 'vm-201-disk-8.raw'), '');
    expect(await storages.allocImage('local', { vmid: 200, size: KiB, format: 'raw' })).toBe('local:200/vm-200-disk-8.raw');
    expect(await readFile(join(outside, 'x.raw'), 'utf8')).toBe('outside');
  });

  it('finds index 0 in a guest directory that does not exist yet', async () => {
    expect(await storages.allocImage('local', { vmid: 400, size: KiB, format: 'raw' })).toBe('local:400/vm-400-disk-0.raw');
  });
});

describe('freeing a symlink entry', () => {
  it('removes the link itself, never its target: inside the storage, leading outside, or dangling', async () => {
    const target = await storages.allocImage('local', { vmid: 100, size: KiB, format: 'raw' });
    const dir = join(root, 'images/200');
    await mkdir(dir);
    await symlink('../100/vm-100-disk-0.raw', join(dir, 'vm-200-disk-0.raw'));
    await symlink(join(outside, 'x.raw'), join(dir, 'vm-200-disk-1.raw'));
    await symlink(join(outside, 'gone.raw'), join(dir, 'vm-200-disk-2.raw'));
    await storages.freeImage('local:200/vm-200-disk-0.raw');
    await storages.freeImage('local:200/vm-200-disk-1.raw');
    await storages.freeImage('local:200/vm-200-disk-2.raw');
    expect(await readdir(join(root, 'images'))).toEqual(['100']); // the emptied guest directory went too
    expect((await storages.listImages('local')).map((i) => i.volid)).toEqual([target]);
    expect(await readdir(outside)).toEqual(['x.raw']);
    expect(await readFile(join(outside, 'x.raw'), 'utf8')).toBe('outside');
  });

  it('a guest directory that leads outside is still refused (its entries are not the storage\'s)', async () => {
    await mkdir(join(root, 'images'), { recursive: true });
    await symlink(outside, join(root, 'images/200'));
    await symlink('x.raw', join(outside, 'vm-200-disk-0.raw'));
    expect(await code(storages.freeImage('local:200/vm-200-disk-0.raw'))).toBe('INVALID_VOLUME_ID');
    expect((await lstat(join(outside, 'vm-200-disk-0.raw'))).isSymbolicLink()).toBe(true);
  });
});

describe('templates whose backing files point at each other', () => {
  it('are listed as corrupt without a parent, and both can be freed', async () => {
    await mkdir(join(root, 'images/100'), { recursive: true });
    await mkdir(join(root, 'images/101'));
    const a = join(root, 'images/100/base-100-disk-0.qcow2');
    const b = join(root, 'images/101/base-101-disk-0.qcow2');
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', '../101/base-101-disk-0.qcow2', '-u', a, '1M']);
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', '../100/base-100-disk-0.qcow2', '-u', b, '1M']);
    const listed = await storages.listImages('local');
    expect(listed.map((i) => [i.volid, i.format, i.parent])).toEqual([
      ['local:100/base-100-disk-0.qcow2', 'invalid', undefined],
      ['local:101/base-101-disk-0.qcow2', 'invalid', undefined],
    ]);
    expect(await code(storages.activateVolume('local:100/base-100-disk-0.qcow2'))).toBe('CORRUPT');
    await storages.freeImage('local:100/base-100-disk-0.qcow2');
    await storages.freeImage('local:101/base-101-disk-0.qcow2');
    expect(await storages.listImages('local')).toEqual([]);
  });

  it('a clone whose chain runs into the loop is corrupt too and keeps no template in use', async () => {
    await mkdir(join(root, 'images/100'), { recursive: true });
    await mkdir(join(root, 'images/101'));
    await mkdir(join(root, 'images/102'));
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', '../101/base-101-disk-0.qcow2', '-u', join(root, 'images/100/base-100-disk-0.qcow2'), '1M']);
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', '../100/base-100-disk-0.qcow2', '-u', join(root, 'images/101/base-101-disk-0.qcow2'), '1M']);
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', '../100/base-100-disk-0.qcow2', '-u', join(root, 'images/102/vm-102-disk-0.qcow2'), '1M']);
    expect((await storages.listImages('local', { vmid: 102 })).map((i) => [i.volid, i.format])).toEqual([['local:102/vm-102-disk-0.qcow2', 'invalid']]);
    await storages.freeImage('local:100/base-100-disk-0.qcow2');
    expect(await code(storages.freeImage('local:101/base-101-disk-0.qcow2'))).toBe('ok');
  });
});

describe('sizes past what a format can hold', () => {
  it('the limits are data in the capabilities', () => {
    expect(dirCapabilities.maxSize).toEqual({ qcow2: 2 * PiB, vmdk: PiB });
  });

  it('alloc refuses them with INVALID_ARGUMENT before anything is made; the limit itself is fine', async () => {
    expect(await code(storages.allocImage('local', { vmid: 100, size: 7 * PiB, format: 'vmdk' }))).toBe('INVALID_ARGUMENT');
    expect(await code(storages.allocImage('local', { vmid: 100, size: PiB + KiB, format: 'vmdk' }))).toBe('INVALID_ARGUMENT');
    expect(await code(storages.allocImage('local', { vmid: 100, size: 2 * PiB + KiB, format: 'qcow2' }))).toBe('INVALID_ARGUMENT');
    expect(await guestDirs()).toEqual([]);
    const vmdk = await storages.allocImage('local', { vmid: 100, size: PiB, format: 'vmdk' });
    expect(JSON.parse(await sh('qemu-img', ['info', '--output=json', join(root, 'images/100/vm-100-disk-0.vmdk')]))).toMatchObject({ 'virtual-size': PiB });
    expect((await storages.volumeSizeInfo(vmdk)).size).toBe(PiB);
  });

  it('resize refuses a size past the format\'s limit with INVALID_ARGUMENT', async () => {
    const volid = await storages.allocImage('local', { vmid: 100, size: KiB * KiB, format: 'qcow2' });
    expect(await code(storages.volumeResize(volid, 2 * PiB + KiB))).toBe('INVALID_ARGUMENT');
    expect((await storages.volumeSizeInfo(volid)).size).toBe(KiB * KiB);
  });

  it('raw past the filesystem\'s largest file: INVALID_ARGUMENT (EFBIG), nothing left', async () => {
    const probe = join(base, 'efbig-probe');
    await writeFile(probe, '');
    const refused = await truncate(probe, 17 * TiB).then(
      () => false,
      (e: NodeJS.ErrnoException) => e.code === 'EFBIG',
    );
    await rm(probe);
    if (!refused) return; // this filesystem holds 17 TiB files: nothing to test here
    expect(await code(storages.allocImage('local', { vmid: 100, size: 17 * TiB, format: 'raw' }))).toBe('INVALID_ARGUMENT');
    expect(await guestDirs()).toEqual([]);
  });
});

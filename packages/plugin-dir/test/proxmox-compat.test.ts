/**
 * What a Proxmox directory storage holds, listed and named as Proxmox VE 9.1 does. Each tree is
 * made here the way Proxmox's own `list_volumes_test.pm` and `path_to_volume_id_test.pm` make
 * theirs (files from the real `qemu-img create`, backing files with `-u -b`), and the expected
 * answers are what `PVE::Storage` returns for them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageManager, type VolumeListEntry } from '@stowage/core';
import { DirPlugin } from '@stowage/plugin-dir';
import { code, releaseImmutable, sh } from './helpers.js';

const SIZE = 131072;

let base: string;
let root: string;
let storages: StorageManager;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-pvecompat-'));
  root = join(base, 'store');
  await mkdir(root);
  storages = await StorageManager.open({
    plugins: [DirPlugin],
    config: [{ type: 'dir', storage: 'local', path: root, content: 'images,rootdir,iso,vztmpl,backup,snippets,import' }],
    lockDir: join(base, 'locks'),
  });
});
afterEach(async () => {
  await storages.close();
  await releaseImmutable(base);
  await rm(base, { recursive: true, force: true });
});

/** Makes an image with the real qemu-img, as Proxmox's test does (`-u -b <backing> -F <fmt>` for an overlay). */
async function image(rel: string, backing?: string): Promise<void> {
  const path = join(root, rel);
  await mkdir(dirname(path), { recursive: true });
  const format = rel.slice(rel.lastIndexOf('.') + 1);
  await sh('qemu-img', ['create', '-q', '-f', format, ...(backing ? ['-u', '-b', backing, '-F', format] : []), path, String(SIZE)]);
}

/** Makes a plain file (backups, templates, ...). */
async function file(rel: string): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), 'x');
}

const pick = (entries: readonly VolumeListEntry[]) => entries.map((e) => [e.volid, e.content, e.format, e.vmid]);

describe('container volumes as content rootdir (point 1)', () => {
  // Proxmox's list_volumes_test: 16110 is a VM, 16112 a container (its vmlist), each with a disk.
  const guests = { 16110: 'qemu', 16112: 'lxc' } as const;
  beforeEach(async () => {
    await image('images/16110/vm-16110-disk-0.qcow2');
    await image('images/16112/vm-16112-disk-0.raw');
    await image('images/16113/vm-16113-disk-0.raw');
  });

  it('lists a container guest\'s images as rootdir when the guest list says lxc, the others as images', async () => {
    expect(pick(await storages.listVolumes('local', { content: ['images', 'rootdir'], guests }))).toEqual([
      ['local:16110/vm-16110-disk-0.qcow2', 'images', 'qcow2', 16110],
      ['local:16112/vm-16112-disk-0.raw', 'rootdir', 'raw', 16112],
      ['local:16113/vm-16113-disk-0.raw', 'images', 'raw', 16113],
    ]);
  });

  it('filters by content type: rootdir alone gives the containers\' images, images alone the others', async () => {
    expect(pick(await storages.listVolumes('local', { content: ['rootdir'], guests }))).toEqual([['local:16112/vm-16112-disk-0.raw', 'rootdir', 'raw', 16112]]);
    expect(pick(await storages.listVolumes('local', { content: ['images'], guests })).map((e) => e[0])).toEqual([
      'local:16110/vm-16110-disk-0.qcow2',
      'local:16113/vm-16113-disk-0.raw',
    ]);
    expect(pick(await storages.listVolumes('local', { vmid: 16112, guests }))).toEqual([['local:16112/vm-16112-disk-0.raw', 'rootdir', 'raw', 16112]]);
  });

  it('without a guest list, every image is content images (the documented default)', async () => {
    expect((await storages.listVolumes('local', { content: ['images', 'rootdir'] })).map((e) => e.content)).toEqual(['images', 'images', 'images']);
    expect(await storages.listVolumes('local', { content: ['rootdir'] })).toEqual([]);
  });

  it('refuses a guest list with a bad vmid or type (INVALID_ARGUMENT)', async () => {
    expect(await code(storages.listVolumes('local', { guests: { 0: 'lxc' } }))).toBe('INVALID_ARGUMENT');
    expect(await code(storages.listVolumes('local', { guests: { 100: 'openvz' as 'lxc' } }))).toBe('INVALID_ARGUMENT');
  });
});

/**
 * What a Proxmox directory storage holds, listed and named as Proxmox VE 9.1 does. Each tree is
 * made here the way Proxmox's own `list_volumes_test.pm` and `path_to_volume_id_test.pm` make
 * theirs (files from the real `qemu-img create`, backing files with `-u -b`), and the expected
 * answers are what `PVE::Storage` returns for them.
 */
import { mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StorageManager, type VolumeListEntry } from '@stowage/core';
import { DirPlugin } from '@stowage/plugin-dir';
import { parseBackupName } from '../src/backup-name.js';
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

describe('container subvolumes: subvol-<vmid>-disk-<n>.subvol directories (point 2)', () => {
  const SUBVOL = 'images/1234/subvol-1234-disk-0.subvol';
  beforeEach(async () => {
    // a container's root filesystem, as pct makes it on a directory storage for size 0
    await mkdir(join(root, SUBVOL, 'etc'), { recursive: true });
    await writeFile(join(root, SUBVOL, 'etc/hostname'), 'ct1234\n');
    // Proxmox's test tree also has one under private/: not an image directory, not listed
    await mkdir(join(root, 'private/1234/subvol-1234-disk-0.subvol'), { recursive: true });
    // a file and a symlink under a subvol name are not subvolumes
    await writeFile(join(root, 'images/1234/subvol-1234-disk-1.subvol'), 'not a directory');
    await symlink(join(root, SUBVOL), join(root, 'images/1234/subvol-1234-disk-2.subvol'));
  });

  it('lists it with format subvol and size 0, as content rootdir for a container', async () => {
    const [img, ...rest] = await storages.listImages('local', { vmid: 1234 });
    expect(rest).toEqual([]);
    expect(img).toMatchObject({ volid: 'local:1234/subvol-1234-disk-0.subvol', format: 'subvol', size: 0, used: 0, vmid: 1234, isBase: false, parent: undefined });
    expect(img?.ctime).toBe(Math.floor((await stat(join(root, SUBVOL))).ctimeMs / 1000));
    expect(pick(await storages.listVolumes('local', { content: ['rootdir'], guests: { 1234: 'lxc' } }))).toEqual([
      ['local:1234/subvol-1234-disk-0.subvol', 'rootdir', 'subvol', 1234],
    ]);
  });

  it('resolves its path, and refuses a symlink or a file under a subvol name', async () => {
    expect((await storages.path('local:1234/subvol-1234-disk-0.subvol')).path).toBe(join(root, SUBVOL));
    expect(await code(storages.path('local:1234/subvol-1234-disk-1.subvol'))).toBe('CORRUPT');
    expect(await code(storages.path('local:1234/subvol-1234-disk-2.subvol'))).toBe('CORRUPT');
    expect(await code(storages.path('local:1234/subvol-1234-disk-9.subvol'))).toBe('NOT_FOUND');
  });

  it('frees it with its content; a symlink inside is removed, not followed', async () => {
    const outside = join(base, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep'), 'x');
    await symlink(outside, join(root, SUBVOL, 'link-out'));
    await storages.freeImage('local:1234/subvol-1234-disk-0.subvol');
    expect((await readdir(join(root, 'images/1234'))).sort()).toEqual(['subvol-1234-disk-1.subvol', 'subvol-1234-disk-2.subvol']);
    expect(await readdir(outside)).toEqual(['keep']);
    expect(await code(storages.freeImage('local:1234/subvol-1234-disk-0.subvol'))).toBe('NOT_FOUND');
    expect(await code(storages.freeImage('local:1234/subvol-1234-disk-1.subvol'))).toBe('CORRUPT');
  });

  it('allocates one as a directory with size 0 (no quota), sharing the disk indexes', async () => {
    const volid = await storages.allocImage('local', { vmid: 1234, size: 0, format: 'subvol' });
    expect(volid).toBe('local:1234/subvol-1234-disk-3.subvol');
    expect((await stat(join(root, 'images/1234/subvol-1234-disk-3.subvol'))).isDirectory()).toBe(true);
    expect(await storages.allocImage('local', { vmid: 1234, size: SIZE, format: 'raw' })).toBe('local:1234/vm-1234-disk-4.raw');
    expect(await code(storages.allocImage('local', { vmid: 1234, size: 1024 * 1024, format: 'subvol' }))).toBe('NOT_SUPPORTED');
    expect(await code(storages.allocImage('local', { vmid: 1234, size: 0, format: 'raw' }))).toBe('INVALID_ARGUMENT');
  });

  it('does not allocate one when the storage\'s content has no rootdir', async () => {
    await storages.updateStorage('local', { content: 'images' });
    expect(await code(storages.allocImage('local', { vmid: 1234, size: 0, format: 'subvol' }))).toBe('NOT_SUPPORTED');
    expect(await readdir(join(root, 'images/1234'))).toHaveLength(3);
  });
});

describe('backing files that are not ../<vmid>/<image> keep their link (point 3)', () => {
  it('reports the backing file as stored beside parent, for every form of reference (Proxmox\'s cases)', async () => {
    // list_volumes_test: a linked clone of 9004's template, and a clone whose backing file names
    // a directory that is no guest's ('../ssss/...'): Proxmox lists the latter without a base in
    // its volid and with the reference as its parent
    await image('images/9004/base-9004-disk-0.qcow2');
    await image('images/16114/vm-16114-disk-0.qcow2', '../9004/base-9004-disk-0.qcow2');
    await image('images/1234/vm-1234-disk-0.qcow2', '../ssss/base-4321-disk-0.qcow2');
    const rows = (await storages.listImages('local')).map((i) => [i.volid, i.parent, i.backingFile]);
    expect(rows).toEqual([
      ['local:1234/vm-1234-disk-0.qcow2', undefined, '../ssss/base-4321-disk-0.qcow2'],
      ['local:9004/base-9004-disk-0.qcow2', undefined, undefined],
      ['local:9004/base-9004-disk-0.qcow2/16114/vm-16114-disk-0.qcow2', 'local:9004/base-9004-disk-0.qcow2', '../9004/base-9004-disk-0.qcow2'],
    ]);
    expect(await storages.volumeSizeInfo('local:1234/vm-1234-disk-0.qcow2').catch((e: Error) => e.message)).toMatch(/backing file '..\/ssss\/base-4321-disk-0.qcow2' does not exist/);
  });

  it('a base that a clone reaches by another form of reference is still in use', async () => {
    await image('images/9004/base-9004-disk-0.qcow2');
    await image('images/16115/vm-16115-disk-0.qcow2', join(root, 'images/9004/base-9004-disk-0.qcow2'));
    await image('images/16116/vm-16116-disk-0.qcow2', '../../images/9004/./base-9004-disk-0.qcow2');
    const listed = await storages.listImages('local');
    expect(listed.map((i) => [i.volid, i.parent, i.backingFile])).toEqual([
      ['local:16115/vm-16115-disk-0.qcow2', 'local:9004/base-9004-disk-0.qcow2', join(root, 'images/9004/base-9004-disk-0.qcow2')],
      ['local:16116/vm-16116-disk-0.qcow2', 'local:9004/base-9004-disk-0.qcow2', '../../images/9004/./base-9004-disk-0.qcow2'],
      ['local:9004/base-9004-disk-0.qcow2', undefined, undefined],
    ]);
    expect(await storages.volumeSizeInfo('local:16115/vm-16115-disk-0.qcow2')).toMatchObject({
      parent: 'local:9004/base-9004-disk-0.qcow2',
      backingFile: join(root, 'images/9004/base-9004-disk-0.qcow2'),
    });
    const refused = await storages.freeImage('local:9004/base-9004-disk-0.qcow2').catch((e: unknown) => e as { code: string; details: { clones: string[] } });
    expect(refused).toMatchObject({ code: 'IN_USE', details: { clones: ['local:16115/vm-16115-disk-0.qcow2', 'local:16116/vm-16116-disk-0.qcow2'] } });
    expect((await stat(join(root, 'images/9004/base-9004-disk-0.qcow2'))).isFile()).toBe(true);
  });
});

describe('backups: ctime from the vzdump name, subtype (point 4)', () => {
  // Proxmox's tests run with TZ=UTC (archive_info reads the name as local time, vzdump writes it so)
  const tz = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'UTC';
  });
  afterAll(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  it('lists each backup with the time in its name and the guest type, as list_volumes_test expects', async () => {
    for (const name of [
      'vzdump-qemu-16110-2020_03_30-21_11_40.vma.gz',
      'vzdump-qemu-16110-2020_03_30-21_13_55.vma.zst',
      'vzdump-lxc-16112-2020_03_30-21_39_30.tar.lzo',
      'vzdump-lxc-16112-2020_03_30-21_59_30.tgz',
      'vzdump-openvz-16112-2020_03_30-21_39_30.tar.bz2',
      'vzdump-lxc-19254-2019_01_21-19_29_19.tar',
      'vzdump-qemu-16110-not-a-date.vma', // a vzdump name without the standard time: the file's ctime
      'vzdump-qemu-16110-2020_13_30-21_11_40.vma', // no month 13: archive_info fails, so Proxmox says unknown
      'manual-copy.vma.zst', // not a vzdump name
    ]) {
      await file(`dump/${name}`);
    }
    const fileCtime = Math.floor((await stat(join(root, 'dump/manual-copy.vma.zst'))).ctimeMs / 1000);
    const rows = (await storages.listVolumes('local', { content: ['backup'] })).map((e) => [e.volid.slice('local:backup/'.length), e.format, e.vmid, e.ctime, e.subtype]);
    expect(rows).toEqual([
      ['manual-copy.vma.zst', 'vma.zst', undefined, fileCtime, 'unknown'],
      ['vzdump-lxc-16112-2020_03_30-21_39_30.tar.lzo', 'tar.lzo', 16112, 1585604370, 'lxc'],
      ['vzdump-lxc-16112-2020_03_30-21_59_30.tgz', 'tgz', 16112, 1585605570, 'lxc'],
      ['vzdump-lxc-19254-2019_01_21-19_29_19.tar', 'tar', 19254, 1548098959, 'lxc'],
      ['vzdump-openvz-16112-2020_03_30-21_39_30.tar.bz2', 'tar.bz2', 16112, 1585604370, 'openvz'],
      ['vzdump-qemu-16110-2020_03_30-21_11_40.vma.gz', 'vma.gz', 16110, 1585602700, 'qemu'],
      ['vzdump-qemu-16110-2020_03_30-21_13_55.vma.zst', 'vma.zst', 16110, 1585602835, 'qemu'],
      ['vzdump-qemu-16110-2020_13_30-21_11_40.vma', 'vma', 16110, fileCtime, 'unknown'],
      ['vzdump-qemu-16110-not-a-date.vma', 'vma', 16110, fileCtime, 'qemu'],
    ]);
    // other content types have no subtype
    await file('snippets/hookscript.pl');
    expect((await storages.listVolumes('local', { content: ['snippets'] }))[0]?.subtype).toBeUndefined();
  });

  it('reads the name as archive_info does: far future, the epoch, the node\'s local time', () => {
    expect(parseBackupName('vzdump-lxc-16110-3070_01_01-00_00_00.tgz')).toEqual({ subtype: 'lxc', ctime: 60 * 60 * 24 * (365 * 1100 + 267) });
    expect(parseBackupName('vzdump-lxc-16110-1970_01_01-02_00_30.tgz')).toEqual({ subtype: 'lxc', ctime: 60 * 60 * 2 + 30 });
    expect(parseBackupName('vzdump-qemu-16110-2020_02_30-00_00_00.vma').subtype).toBe('unknown');
    expect(parseBackupName('vzdump-qemu-99-2020_03_30-21_11_40.vma')).toEqual({ subtype: 'qemu', ctime: undefined });
    process.env.TZ = 'Europe/Vienna'; // CEST, UTC+2, on 2020-03-30
    expect(parseBackupName('vzdump-lxc-16112-2020_03_30-21_39_30.tar.lzo').ctime).toBe(1585604370 - 2 * 3600);
    process.env.TZ = 'UTC';
  });
});

describe('names of import sources: = and, inside an OVA, spaces (point 5)', () => {
  it('lists an import file with = and resolves the path of a disk with spaces inside an OVA', async () => {
    await file('import/w2k=v1.ova');
    await file('import/my appliance.ova'); // Proxmox's listing takes no whitespace: not listed
    await file('import/disk.qcow2');
    expect((await storages.listVolumes('local', { content: ['import'] })).map((e) => [e.volid, e.format])).toEqual([
      ['local:import/disk.qcow2', 'qcow2'],
      ['local:import/w2k=v1.ova', 'ova'],
    ]);
    expect((await storages.parseVolume('local:import/w2k=v1.ova/OS disk 1.vmdk')).volume).toMatchObject({ vtype: 'import', name: 'w2k=v1.ova/OS disk 1.vmdk', format: 'ova+vmdk' });
    expect((await storages.path('local:import/w2k=v1.ova/OS disk 1.vmdk')).path).toBe(join(root, 'import/w2k=v1.ova/OS disk 1.vmdk'));
  });

  it('still refuses traversal, control characters and an archive that leads outside', async () => {
    const outside = join(base, 'elsewhere.ova');
    await writeFile(outside, 'x');
    await mkdir(join(root, 'import'), { recursive: true });
    await symlink(outside, join(root, 'import/out.ova'));
    expect(await code(storages.path('local:import/out.ova/OS disk.vmdk'))).toBe('INVALID_VOLUME_ID');
    for (const volid of ['local:import/x.ova/../../etc/passwd.vmdk', 'local:import/x.ova/a\tb.vmdk', 'local:import/x.ova/a\u0000b.vmdk', 'local:import/x.ova/$(id).vmdk']) {
      expect(await code(storages.path(volid)), volid).toBe('INVALID_VOLUME_ID');
    }
  });
});

describe('pathToVolumeId: from a path back to the volume (point 6)', () => {
  it('maps the paths of path_to_volume_id_test to the same volids and content types', async () => {
    await image('images/16110/vm-16110-disk-0.qcow2');
    await image('images/16112/vm-16112-disk-0.raw');
    await image('images/9004/base-9004-disk-0.qcow2');
    await image('images/16114/vm-16114-disk-0.qcow2', '../9004/base-9004-disk-0.qcow2');
    await mkdir(join(root, 'images/1234/subvol-1234-disk-0.subvol'), { recursive: true });
    const hits: [string, string, string][] = [
      ['images/16110/vm-16110-disk-0.qcow2', 'images', 'local:16110/vm-16110-disk-0.qcow2'],
      ['images/16112/vm-16112-disk-0.raw', 'images', 'local:16112/vm-16112-disk-0.raw'],
      ['images/9004/base-9004-disk-0.qcow2', 'images', 'local:9004/base-9004-disk-0.qcow2'],
      ['images/16114/vm-16114-disk-0.qcow2', 'images', 'local:9004/base-9004-disk-0.qcow2/16114/vm-16114-disk-0.qcow2'],
      ['images/1234/subvol-1234-disk-0.subvol/', 'images', 'local:1234/subvol-1234-disk-0.subvol'],
      ['dump/vzdump-qemu-16110-2020_03_30-21_11_40.vma.gz', 'backup', 'local:backup/vzdump-qemu-16110-2020_03_30-21_11_40.vma.gz'],
      ['dump/vzdump-lxc-16112-2020_03_30-21_39_30.tar.lzo', 'backup', 'local:backup/vzdump-lxc-16112-2020_03_30-21_39_30.tar.lzo'],
      ['dump/vzdump-openvz-16112-2020_03_30-21_39_30.tar.bz2', 'backup', 'local:backup/vzdump-openvz-16112-2020_03_30-21_39_30.tar.bz2'],
      ['template/iso/yet-again-a-installation-disk.iso', 'iso', 'local:iso/yet-again-a-installation-disk.iso'],
      ['template/cache/debian-10.0-standard_10.0-1_amd64.tar.gz', 'vztmpl', 'local:vztmpl/debian-10.0-standard_10.0-1_amd64.tar.gz'],
      ['template/cache/debian-10.0-standard_10.0-1_amd64.tar.xz', 'vztmpl', 'local:vztmpl/debian-10.0-standard_10.0-1_amd64.tar.xz'],
      ['snippets/userconfig.yaml', 'snippets', 'local:snippets/userconfig.yaml'],
      ['snippets/hookscript.pl', 'snippets', 'local:snippets/hookscript.pl'],
      ['import/import.ova', 'import', 'local:import/import.ova'],
      ['import/import.ovf', 'import', 'local:import/import.ovf'],
    ];
    const misses = [
      'images/ssss/base-4321-disk-0.raw',
      'images/ssss/vm-1234-disk-0.qcow2',
      'template/iso/yet-again-a-installation-disk.dvd',
      'template/cache/debian-10.0-standard_10.0-1_amd64.zip.gz',
      'dump/vzdump-openvz-16112-2020_03_30-21_39_30.zip.gz',
      'dump/vzdump-openvz-16112-2020_03_30-21_39_30.tgz.lzo',
      'dump/vzdump-qemu-16110-2020_03_30-21_12_40.vma.xz',
      'dump/vzdump-qemu-16110-2020_03_30-21_12_40.vms.gz',
      'import/test.foo',
      'images/16110/vm-16110-disk-7.qcow2', // no such image
    ];
    for (const [rel] of hits) if (!rel.startsWith('images/')) await file(rel);
    for (const rel of misses) if (!rel.startsWith('images/16110')) await file(rel);
    for (const [rel, vtype, volid] of hits) expect(await storages.pathToVolumeId(join(root, rel)), rel).toEqual({ volid, vtype });
    for (const rel of misses) expect(await storages.pathToVolumeId(join(root, rel)), rel).toBeUndefined();
  });

  it('follows symlinks to the storage (as abs_path), returns a volid as it is, and refuses a relative path', async () => {
    await image('images/16110/vm-16110-disk-0.qcow2');
    await symlink(root, join(base, 'vz'));
    expect(await storages.pathToVolumeId(join(base, 'vz/images/16110/vm-16110-disk-0.qcow2'))).toEqual({ volid: 'local:16110/vm-16110-disk-0.qcow2', vtype: 'images' });
    expect(await storages.pathToVolumeId(join(base, 'vz/images/16110/../16110/vm-16110-disk-0.qcow2'))).toEqual({ volid: 'local:16110/vm-16110-disk-0.qcow2', vtype: 'images' });
    expect(await storages.pathToVolumeId('local:iso/x.iso')).toEqual({ volid: 'local:iso/x.iso', vtype: 'iso' });
    expect(await storages.pathToVolumeId('/etc/passwd')).toBeUndefined();
    expect(await code(storages.pathToVolumeId('images/16110/vm-16110-disk-0.qcow2'))).toBe('INVALID_ARGUMENT');
    expect(await code(storages.pathToVolumeId('local:../x'))).toBe('INVALID_VOLUME_ID');
  });
});

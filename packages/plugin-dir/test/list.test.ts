import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirPlugin } from '@stowage/plugin-dir';
import { dirContext, releaseImmutable, sh } from './helpers.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-list-'));
  const ctx = dirContext({ path: root });
  await plugin.activateStorage(ctx);
  const base = await plugin.createBase(ctx, { volume: vol(await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 2 * MiB })) });
  await plugin.cloneImage(ctx, { volume: vol(base), vmid: 101, name: 'vm-101-disk-0.qcow2' });
  await plugin.allocImage(ctx, { vmid: 101, format: 'raw', name: 'vm-101-disk-1.raw', size: 3 * MiB });
  await plugin.allocImage(ctx, { vmid: 102, format: 'vmdk', name: 'vm-102-disk-0.vmdk', size: 4 * MiB });
  // broken and foreign files
  await plugin.allocImage(ctx, { vmid: 102, format: 'qcow2', name: 'vm-102-disk-1.qcow2', size: 5 * MiB });
  await truncate(join(root, 'images/102/vm-102-disk-1.qcow2'), 50);
  await writeFile(join(root, 'images/102/vm-102-disk-2.qcow2'), 'plain text, not an image');
  await writeFile(join(root, 'images/102/vm-102-disk-3.vmdk'), Buffer.alloc(300, 1));
  await writeFile(join(root, 'images/102/vm-102-disk-4.qcow2'), '');
  // names and entries a listing skips
  await writeFile(join(root, 'images/102/notes.txt'), 'x');
  await writeFile(join(root, 'images/102/disk.qcow2'), 'no vm- prefix');
  await writeFile(join(root, 'images/102/vm-102-disk-0.vmdk.notes'), 'a sidecar');
  await mkdir(join(root, 'images/102/vm-102-disk-9.qcow2'));
  await mkdir(join(root, 'images/lost+found'));
  await writeFile(join(root, 'images/103'), 'a file where a guest directory would be');
});
afterAll(async () => {
  await releaseImmutable(root);
  await rm(root, { recursive: true, force: true });
});

describe('listImages', () => {
  const expected = [
    ['100/base-100-disk-0.qcow2', 'qcow2', 2 * MiB, 100, true, undefined],
    ['100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2', 'qcow2', 2 * MiB, 101, false, 'test:100/base-100-disk-0.qcow2'],
    ['101/vm-101-disk-1.raw', 'raw', 3 * MiB, 101, false, undefined],
    ['102/vm-102-disk-0.vmdk', 'vmdk', 4 * MiB, 102, false, undefined],
    ['102/vm-102-disk-1.qcow2', 'invalid', 50, 102, false, undefined],
    ['102/vm-102-disk-2.qcow2', 'invalid', 24, 102, false, undefined],
    ['102/vm-102-disk-3.vmdk', 'invalid', 300, 102, false, undefined],
    ['102/vm-102-disk-4.qcow2', 'invalid', 0, 102, false, undefined],
  ];

  it.each([
    ['a local directory (synchronous batches)', {}],
    ['a shared storage (thread pool)', { shared: '1' }],
  ])('on %s: every image with format, size, owner, base flag and parent; broken files as invalid', async (_label, extra) => {
    const images = await plugin.listImages(dirContext({ path: root, ...extra }), {});
    expect(images.map((i) => [i.volname, i.format, i.size, i.vmid, i.isBase, i.parent])).toEqual(expected);
    for (const i of images) {
      expect(i.volid).toBe(`test:${i.volname}`);
      expect(i.ctime).toBeGreaterThan(1_600_000_000);
      expect(i.used).toBeGreaterThanOrEqual(0);
    }
  });

  it('agrees with qemu-img info on size and backing file for every valid image', async () => {
    for (const i of await plugin.listImages(dirContext({ path: root }), {})) {
      if (i.format === 'invalid') continue;
      const file = join(root, 'images', String(i.vmid), i.volname.split('/').at(-1) ?? '');
      const info = JSON.parse(await sh('qemu-img', ['info', '--output=json', '-U', '-f', i.format, file])) as Record<string, unknown>;
      expect(i.size).toBe(info['virtual-size']);
      expect(i.parent !== undefined).toBe(info['backing-filename'] !== undefined);
    }
  });

  it('filters by guest and by volname', async () => {
    const ctx = dirContext({ path: root });
    expect((await plugin.listImages(ctx, { vmid: 101 })).map((i) => i.volname)).toEqual(['100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2', '101/vm-101-disk-1.raw']);
    expect(await plugin.listImages(ctx, { vmid: 999 })).toEqual([]);
    // a clone is found only under its full volname
    expect((await plugin.listImages(ctx, { volnames: ['101/vm-101-disk-0.qcow2'] })).length).toBe(0);
    expect((await plugin.listImages(ctx, { volnames: ['100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2', 'iso/x.iso', 'garbage'] })).length).toBe(1);
  });

  it('finds free disk names past every vm- and base- index of the guest', async () => {
    const ctx = dirContext({ path: root });
    expect(await plugin.findFreeDiskname(ctx, { vmid: 100, format: 'qcow2' })).toBe('vm-100-disk-1.qcow2');
    expect(await plugin.findFreeDiskname(ctx, { vmid: 102, format: 'raw' })).toBe('vm-102-disk-5.raw');
    expect(await plugin.findFreeDiskname(ctx, { vmid: 104, format: 'vmdk' })).toBe('vm-104-disk-0.vmdk');
  });

  it('volumeSizeInfo reports what the listing reports', async () => {
    const ctx = dirContext({ path: root });
    for (const i of await plugin.listImages(ctx, {})) {
      const s = await plugin.volumeSizeInfo(ctx, { volume: vol(i.volname) });
      expect([s.size, s.format, s.parent, s.used, s.ctime]).toEqual([i.size, i.format, i.parent, i.used, i.ctime]);
    }
    expect((await readFile(join(root, 'images/102/vm-102-disk-2.qcow2'), 'utf8')).length).toBe(24);
  });
});

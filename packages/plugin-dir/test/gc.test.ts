import { link, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentOwner, formatOwner, type PluginContext } from '@stowage/core/plugin';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { dirContext } from './helpers.js';

const plugin = new DirPlugin();
let root: string;
let ctx: PluginContext<DirConfig>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-gc-'));
  ctx = dirContext({ path: root, content: 'images,backup' });
  await plugin.activateStorage(ctx);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const self = currentOwner('localhost');
const ALIVE = formatOwner(self);
const DEAD_BOOT = formatOwner({ ...self, boot: self.boot === '00000001' ? '00000002' : '00000001' });
const DEAD_PID = formatOwner({ ...self, start: self.start + 1 }); // this pid, but another start time: a reused pid
const OTHER_NODE = formatOwner({ ...self, node: 'elsewhere' });

describe('collectGarbage', () => {
  it('removes the temporaries of dead owners, keeps those of live ones and of other nodes, and reports both; dryRun removes nothing', async () => {
    const img = join(root, 'images', '100');
    const dump = join(root, 'dump');
    await mkdir(img, { recursive: true });
    const files: Record<string, string> = {
      [`images/100/.stowage-new~vm-100-disk-0.raw~${DEAD_BOOT}~a1b2c3`]: 'half',
      [`images/100/.stowage-conv~vm-100-disk-1.qcow2~${DEAD_PID}~a1b2c3`]: 'raw data',
      [`images/100/.stowage-attr~vm-100-disk-2.raw.notes~${DEAD_PID}~a1b2c3`]: 'note',
      [`dump/.stowage-attr~vzdump-qemu-100-2024_01_01-00_00_00.vma.zst.protected~${DEAD_BOOT}~a1b2c3`]: '',
      [`images/100/.stowage-new~vm-100-disk-3.raw~${ALIVE}~a1b2c3`]: 'being written',
      [`images/100/.stowage-new~vm-100-disk-4.raw~${OTHER_NODE}~a1b2c3`]: 'another node',
      'images/100/vm-100-disk-2.raw': 'a volume',
      'images/100/.stowage-import-a1b2c3d4e5f6.tmp': 'not ours to judge',
      'dump/.hidden': 'someone else',
    };
    for (const [name, data] of Object.entries(files)) await writeFile(join(root, name), data);
    // a crash between publishing (link) and removing the temporary name: the volume is whole
    await writeFile(join(img, 'vm-100-disk-5.raw'), 'published');
    const both = `images/100/.stowage-new~vm-100-disk-5.raw~${DEAD_BOOT}~d0d0d0`;
    await link(join(img, 'vm-100-disk-5.raw'), join(root, both));
    const inode = (await lstat(join(img, 'vm-100-disk-5.raw'))).ino;

    const dead = [...Object.keys(files).slice(0, 4), both].sort();
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
    const expected = {
      removed: dead.map((name) => expect.objectContaining({ name, reason: 'owner-dead' })),
      kept: [
        { name: Object.keys(files)[4], owner: ALIVE, reason: 'owner-alive' },
        { name: Object.keys(files)[5], owner: OTHER_NODE, reason: 'owner-unknown' },
      ],
    };
    const before = (await readdir(img)).length + (await readdir(dump)).length;
    const dry = await plugin.collectGarbage(ctx, { dryRun: true });
    expect({ removed: [...dry.removed].sort(byName), kept: [...dry.kept].sort(byName) }).toEqual(expected);
    expect((await readdir(img)).length + (await readdir(dump)).length).toBe(before);

    const report = await plugin.collectGarbage(ctx, {});
    expect({ removed: [...report.removed].sort(byName), kept: [...report.kept].sort(byName) }).toEqual(expected);
    expect((await readdir(img)).sort()).toEqual(
      [Object.keys(files)[4], Object.keys(files)[5], 'images/100/vm-100-disk-2.raw', 'images/100/.stowage-import-a1b2c3d4e5f6.tmp', 'images/100/vm-100-disk-5.raw']
        .map((n) => n!.replace('images/100/', ''))
        .sort(),
    );
    expect(await readdir(dump)).toEqual(['.hidden']);
    expect(await readFile(join(img, 'vm-100-disk-5.raw'), 'utf8')).toBe('published');
    expect((await lstat(join(img, 'vm-100-disk-5.raw'))).nlink).toBe(1);
    expect((await lstat(join(img, 'vm-100-disk-5.raw'))).ino).toBe(inode);
    expect((await plugin.collectGarbage(ctx, {})).removed).toEqual([]);
  });

  it('leaves a directory that is named like a temporary alone', async () => {
    const dir = join(root, 'images', '100', `.stowage-new~vm-100-disk-0.raw~${DEAD_BOOT}~a1b2c3`);
    await mkdir(dir, { recursive: true });
    expect(await plugin.collectGarbage(ctx, {})).toEqual({ removed: [], kept: [] });
    expect((await lstat(dir)).isDirectory()).toBe(true);
  });
});

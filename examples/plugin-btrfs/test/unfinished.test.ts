/**
 * Unfinished volumes on a real btrfs: a volume is made in a hidden subvolume marked with its
 * owner and moved into place when whole; a failure removes only the subvolume it made (same
 * subvolume id); `collectGarbage` removes dead owners' leftovers and keeps the others.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentOwner, encodeSizeHeader, formatOwner, LocalRunner, type PluginContext } from '@stowage/core/plugin';
import { pluginContext } from '@stowage/core/testing';
import { BtrfsPlugin, type BtrfsConfig } from '../src/index.js';
import { btrfsConfigSchema } from '../src/config-schema.js';
import { loopBtrfsUnavailable, makeLoopBtrfs, type LoopBtrfs } from './loop-btrfs.js';

const run = promisify(execFile);
const unavailable = await loopBtrfsUnavailable();
const MiB = 1024 * 1024;
const NODE = 'node-t';
const plugin = new BtrfsPlugin();
const vol = (volname: string) => plugin.parseVolname(volname);
let fs: LoopBtrfs | undefined;
let path = '';

function ctx(nameReserved: () => void = () => undefined): PluginContext<BtrfsConfig> {
  const config = btrfsConfigSchema.parse({ type: 'btrfs', storage: 'bt', path });
  return pluginContext({ config, runner: new LocalRunner(), node: NODE, nameReserved });
}

const entries = async (vmid: number): Promise<string[]> => (await readdir(join(path, 'images', String(vmid))).catch(() => [])).sort();
const subvolume = (p: string) => run('btrfs', ['-q', 'subvolume', 'create', p]);

describe.skipIf(unavailable)('unfinished btrfs volumes', () => {
  beforeAll(async () => {
    fs = await makeLoopBtrfs();
    path = join(fs.mountpoint, 'stowage');
    await mkdir(path);
  });
  afterAll(() => fs?.remove());

  it('an import builds in a hidden, owner-marked subvolume that no listing shows, and moves it into place when whole', async () => {
    const input = new PassThrough();
    let reserved: () => void = () => undefined;
    const reservedNow = new Promise<void>((resolve) => (reserved = resolve));
    const importing = plugin.volumeImport(ctx(reserved), { volume: vol('30/vm-30-disk-0.raw'), format: 'raw+size', input });
    input.write(encodeSizeHeader(2 * MiB));
    input.write(Buffer.alloc(MiB, 3));
    await reservedNow;
    expect(await entries(30), 'entries while the import runs').toEqual([`.vm-30-disk-0.tmp-${formatOwner(currentOwner(NODE))}`]);
    expect(await plugin.listImages(ctx(), {}), 'listed while the import runs').toEqual([]);
    expect(await plugin.findFreeDiskname(ctx(), { vmid: 30 }), 'free name while the import runs').toBe('vm-30-disk-1.raw');
    await expect(plugin.freeImage(ctx(), { volume: vol('30/vm-30-disk-0.raw') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(plugin.allocImage(ctx(), { vmid: 30, format: 'raw', name: 'vm-30-disk-0.raw', size: MiB })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    input.end(Buffer.alloc(MiB, 3));
    expect(await importing).toBe('30/vm-30-disk-0.raw');
    expect(await entries(30)).toEqual(['vm-30-disk-0']);
    expect((await plugin.listImages(ctx(), {})).map((i) => [i.volname, i.size])).toEqual([['30/vm-30-disk-0.raw', 2 * MiB]]);
    await plugin.freeImage(ctx(), { volume: vol('30/vm-30-disk-0.raw') });
  });

  it('a failed import removes its own subvolume, and not another one that took its place', async () => {
    const input = new PassThrough();
    input.on('error', () => undefined);
    let hidden = '';
    let reserved: () => void = () => undefined;
    const reservedNow = new Promise<void>((resolve) => (reserved = resolve));
    const importing = plugin.volumeImport(ctx(reserved), { volume: vol('31/vm-31-disk-0.raw'), format: 'raw+size', input });
    importing.catch(() => undefined);
    input.write(encodeSizeHeader(2 * MiB));
    await reservedNow;
    hidden = join(path, 'images', '31', (await entries(31))[0]!);
    // someone removes the hidden subvolume and makes another at the same path
    await run('btrfs', ['-q', 'subvolume', 'delete', hidden]);
    await subvolume(hidden);
    input.destroy(new Error('the sender died'));
    await expect(importing).rejects.toThrow();
    expect(await entries(31), 'the other subvolume is left alone').toEqual([hidden.split('/').pop()]);
    await run('btrfs', ['-q', 'subvolume', 'delete', hidden]);
  });

  it('collectGarbage removes the hidden subvolumes of dead owners, and keeps live and foreign ones', async () => {
    const self = currentOwner(NODE);
    const dead = formatOwner({ ...self, boot: (self.boot[0] === 'f' ? '0' : 'f') + self.boot.slice(1) });
    const dir = join(path, 'images', '32');
    await mkdir(dir, { recursive: true });
    await subvolume(join(dir, `.vm-32-disk-0.tmp-${dead}`));
    await subvolume(join(dir, `.vm-32-disk-1.tmp-${formatOwner(self)}`));
    await subvolume(join(dir, `.vm-32-disk-2.tmp-${formatOwner({ ...self, node: 'elsewhere' })}`));
    await mkdir(join(dir, `.vm-32-disk-3.tmp-${dead}`)); // not a subvolume: not ours
    await plugin.allocImage(ctx(), { vmid: 32, format: 'raw', name: 'vm-32-disk-4.raw', size: MiB });
    const dry = await plugin.collectGarbage(ctx(), { dryRun: true });
    expect(dry.removed.map((i) => [i.name, i.reason])).toEqual([[`32/.vm-32-disk-0.tmp-${dead}`, 'owner-dead']]);
    expect((await entries(32)).length, 'after the dry run').toBe(5);
    const report = await plugin.collectGarbage(ctx(), {});
    expect(report.removed.map((i) => i.name)).toEqual([`32/.vm-32-disk-0.tmp-${dead}`]);
    expect(report.kept.map((i) => i.reason).sort()).toEqual(['owner-alive', 'owner-unknown']);
    expect(await entries(32)).toEqual([
      `.vm-32-disk-1.tmp-${formatOwner(self)}`,
      `.vm-32-disk-2.tmp-${formatOwner({ ...self, node: 'elsewhere' })}`,
      `.vm-32-disk-3.tmp-${dead}`,
      'vm-32-disk-4',
    ]);
  });

  it('freeing a volume that does not exist is NOT_FOUND', async () => {
    await expect(plugin.freeImage(ctx(), { volume: vol('33/vm-33-disk-0.raw') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

if (unavailable) {
  describe('unfinished btrfs volumes', () => {
    it.skip(`needs a real btrfs: ${unavailable}`, () => undefined);
  });
}

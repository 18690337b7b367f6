/**
 * Flattening and the hidden attribute on a real btrfs (issue 18): the states a process killed
 * part-way through a flatten leaves (made here step by step with a dead owner's token), and what
 * `collectGarbage` makes of each: the volume as before the flatten, or as after.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentOwner, formatOwner, LocalRunner, type PluginContext } from '@stowage/core/plugin';
import { pluginContext } from '@stowage/core/testing';
import { BtrfsPlugin, type BtrfsConfig } from '../src/index.js';
import { btrfsConfigSchema } from '../src/config-schema.js';
import { loopBtrfsUnavailable, makeLoopBtrfs, type LoopBtrfs } from './loop-btrfs.js';

const run = promisify(execFile);
const unavailable = await loopBtrfsUnavailable();
const MiB = 1024 * 1024;
const NODE = 'node-f';
const plugin = new BtrfsPlugin();
const vol = (volname: string) => plugin.parseVolname(volname);
let fs: LoopBtrfs | undefined;
let path = '';

function ctx(): PluginContext<BtrfsConfig> {
  const config = btrfsConfigSchema.parse({ type: 'btrfs', storage: 'bt', path });
  return pluginContext({ config, runner: new LocalRunner(), node: NODE });
}

const self = currentOwner(NODE);
const dead = formatOwner({ ...self, boot: (self.boot[0] === 'f' ? '0' : 'f') + self.boot.slice(1) });
const dir = (vmid: number) => join(path, 'images', String(vmid));
const entries = async (vmid: number): Promise<string[]> => (await readdir(dir(vmid)).catch(() => [])).sort();
const disk = (vmid: number, sub: string) => readFile(join(dir(vmid), sub, 'disk.raw'));
const snapshot = (from: string, to: string) => run('btrfs', ['-q', 'subvolume', 'snapshot', from, to]);

/** A volume of 1 MiB of `1`, snapshot `a`, then 2 MiB of `2` and snapshot `b`, then 3 MiB of `3`. */
async function volumeWithSnapshots(vmid: number): Promise<string> {
  const volname = await plugin.allocImage(ctx(), { vmid, format: 'raw', name: `vm-${vmid}-disk-0.raw`, size: MiB });
  const file = join(dir(vmid), `vm-${vmid}-disk-0`, 'disk.raw');
  await writeFile(file, Buffer.alloc(MiB, 1));
  await plugin.volumeSnapshot(ctx(), { volume: vol(volname), snapshot: 'a' });
  await writeFile(file, Buffer.alloc(2 * MiB, 2));
  await plugin.volumeSnapshot(ctx(), { volume: vol(volname), snapshot: 'b' });
  await writeFile(file, Buffer.alloc(3 * MiB, 3));
  return volname;
}

describe.skipIf(unavailable)('flatten on btrfs', () => {
  beforeAll(async () => {
    fs = await makeLoopBtrfs();
    path = join(fs.mountpoint, 'stowage');
    await mkdir(path);
  });
  afterAll(() => fs?.remove());

  it('volumeSnapshotFlatten: the snapshot bytes, no snapshots, no hidden entry left', async () => {
    const volname = await volumeWithSnapshots(40);
    await plugin.volumeSnapshotFlatten(ctx(), { volume: vol(volname), snapshot: 'a' });
    expect((await disk(40, 'vm-40-disk-0')).equals(Buffer.alloc(MiB, 1))).toBe(true);
    expect(await entries(40)).toEqual(['vm-40-disk-0']);
    expect(await plugin.volumeSnapshotInfo(ctx(), { volume: vol(volname) })).toEqual([]);
  });

  it('flattenImage: the clone loses its parent, keeps its bytes and snapshots', async () => {
    const v = await plugin.allocImage(ctx(), { vmid: 41, format: 'raw', name: 'vm-41-disk-0.raw', size: MiB });
    await writeFile(join(dir(41), 'vm-41-disk-0', 'disk.raw'), Buffer.alloc(MiB, 7));
    const base = await plugin.createBase(ctx(), { volume: vol(v) });
    const clone = await plugin.cloneImage(ctx(), { volume: vol(base), vmid: 42, name: 'vm-42-disk-0.raw' });
    await plugin.volumeSnapshot(ctx(), { volume: vol(clone), snapshot: 's' });
    expect((await plugin.listImages(ctx(), { vmid: 42 }))[0]?.parent).toBe(`bt:${base}`);
    expect(await plugin.flattenImage(ctx(), { volume: vol(clone) })).toBe(clone);
    expect((await plugin.listImages(ctx(), { vmid: 42 }))[0]?.parent).toBeUndefined();
    expect((await disk(42, 'vm-42-disk-0')).equals(Buffer.alloc(MiB, 7))).toBe(true);
    expect((await plugin.volumeSnapshotInfo(ctx(), { volume: vol(clone) })).map((s) => s.name)).toEqual(['s']);
    expect(await entries(42)).toEqual(['vm-42-disk-0', 'vm-42-disk-0@s']);
  });

  it('killed before the commit point (new content made, snapshots renamed away): gc gives the volume back as it was', async () => {
    const volname = await volumeWithSnapshots(43);
    const d = dir(43);
    await snapshot(join(d, 'vm-43-disk-0@a'), join(d, `.vm-43-disk-0.flat-${dead}`));
    await rename(join(d, 'vm-43-disk-0@a'), join(d, `.vm-43-disk-0@a.drop-${dead}`));
    const report = await plugin.collectGarbage(ctx(), {});
    expect(report.removed.map((r) => r.name).sort()).toEqual([`43/.vm-43-disk-0.flat-${dead}`, `43/.vm-43-disk-0@a.drop-${dead}`]);
    expect(await entries(43)).toEqual(['vm-43-disk-0', 'vm-43-disk-0@a', 'vm-43-disk-0@b']);
    expect((await disk(43, 'vm-43-disk-0')).equals(Buffer.alloc(3 * MiB, 3))).toBe(true);
    expect((await plugin.volumeSnapshotInfo(ctx(), { volume: vol(volname) })).map((s) => s.name)).toEqual(['a', 'b']);
  });

  it('killed after the commit point (the volume renamed away, not yet replaced): gc finishes the flatten', async () => {
    const volname = await volumeWithSnapshots(44);
    const d = dir(44);
    await snapshot(join(d, 'vm-44-disk-0@a'), join(d, `.vm-44-disk-0.flat-${dead}`));
    await rename(join(d, 'vm-44-disk-0@a'), join(d, `.vm-44-disk-0@a.drop-${dead}`));
    await rename(join(d, 'vm-44-disk-0@b'), join(d, `.vm-44-disk-0@b.drop-${dead}`));
    await rename(join(d, 'vm-44-disk-0'), join(d, `.vm-44-disk-0.olds-${dead}`));
    expect(await plugin.listImages(ctx(), { vmid: 44 })).toEqual([]);
    const dry = await plugin.collectGarbage(ctx(), { dryRun: true });
    expect(dry.removed).toHaveLength(4);
    expect(await entries(44)).toHaveLength(4);
    await plugin.collectGarbage(ctx(), {});
    expect(await entries(44)).toEqual(['vm-44-disk-0']);
    expect((await disk(44, 'vm-44-disk-0')).equals(Buffer.alloc(MiB, 1))).toBe(true);
    expect(await plugin.volumeSnapshotInfo(ctx(), { volume: vol(volname) })).toEqual([]);
  });

  it('killed while deleting what was replaced: gc deletes the rest; a live owner\'s entries are kept', async () => {
    await volumeWithSnapshots(45);
    const d = dir(45);
    const live = formatOwner(self);
    await snapshot(join(d, 'vm-45-disk-0@b'), join(d, `.vm-45-disk-0.flat-${dead}`));
    await rename(join(d, 'vm-45-disk-0@a'), join(d, `.vm-45-disk-0@a.drop-${dead}`));
    await rename(join(d, 'vm-45-disk-0@b'), join(d, `.vm-45-disk-0@b.drop-${dead}`));
    await rename(join(d, 'vm-45-disk-0'), join(d, `.vm-45-disk-0.olds-${dead}`));
    await rename(join(d, `.vm-45-disk-0.flat-${dead}`), join(d, 'vm-45-disk-0'));
    await snapshot(join(d, 'vm-45-disk-0'), join(d, `.vm-45-disk-0.flat-${live}`));
    const report = await plugin.collectGarbage(ctx(), {});
    expect(report.kept.map((k) => [k.name, k.reason])).toEqual([[`45/.vm-45-disk-0.flat-${live}`, 'owner-alive']]);
    expect(await entries(45)).toEqual([`.vm-45-disk-0.flat-${live}`, 'vm-45-disk-0']);
    expect((await disk(45, 'vm-45-disk-0')).equals(Buffer.alloc(2 * MiB, 2))).toBe(true);
  });

  it('hidden: a marker next to the subvolume, listed, moved by createBase, removed by freeImage', async () => {
    const v = await plugin.allocImage(ctx(), { vmid: 46, format: 'raw', name: 'vm-46-disk-0.raw', size: MiB });
    await plugin.updateVolumeAttribute(ctx(), { volume: vol(v), attribute: 'hidden', value: true });
    await plugin.updateVolumeAttribute(ctx(), { volume: vol(v), attribute: 'hidden', value: true });
    expect(await plugin.getVolumeAttribute(ctx(), { volume: vol(v), attribute: 'hidden' })).toBe(true);
    expect((await plugin.listImages(ctx(), { vmid: 46 })).map((i) => i.hidden)).toEqual([true]);
    const base = await plugin.createBase(ctx(), { volume: vol(v) });
    expect(await entries(46)).toEqual(['.base-46-disk-0.hidden', 'base-46-disk-0']);
    expect((await plugin.listImages(ctx(), { vmid: 46 })).map((i) => [i.volname, i.hidden])).toEqual([[base, true]]);
    await plugin.updateVolumeAttribute(ctx(), { volume: vol(base), attribute: 'hidden', value: false });
    expect((await plugin.listImages(ctx(), { vmid: 46 })).map((i) => i.hidden)).toEqual([undefined]);
    await plugin.updateVolumeAttribute(ctx(), { volume: vol(base), attribute: 'hidden', value: true });
    await plugin.freeImage(ctx(), { volume: vol(base) });
    expect(await entries(46)).toEqual([]);
  });
});

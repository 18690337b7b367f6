/**
 * The `hidden` attribute on a directory storage (issue 18): a `<file>.hidden` marker next to the
 * image, reported by listImages from the same directory read, moved and removed with the image.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PluginContext } from '@stowage/core/plugin';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { code, dirContext, releaseImmutable } from './helpers.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;

let root: string;
let ctx: PluginContext<DirConfig>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-hidden-'));
  ctx = dirContext({ path: root });
  await plugin.activateStorage(ctx);
});
afterEach(async () => {
  await releaseImmutable(root);
  await rm(root, { recursive: true, force: true });
});

const hiddenOf = async () => (await plugin.listImages(dirContext({ path: root }), {})).map((i) => [i.volname, i.hidden]);

describe('the hidden attribute', () => {
  it('is listed in the capabilities', () => {
    expect(DirPlugin.capabilities.attributes).toContain('hidden');
  });

  it('set, read, listed with the image (also in filtered listings), cleared', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB });
    const base = await plugin.createBase(ctx, { volume: vol(v) });
    const other = await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-1.raw', size: MiB });
    expect(await plugin.getVolumeAttribute(ctx, { volume: vol(base), attribute: 'hidden' })).toBe(false);
    await plugin.updateVolumeAttribute(ctx, { volume: vol(base), attribute: 'hidden', value: true });
    await plugin.updateVolumeAttribute(ctx, { volume: vol(base), attribute: 'hidden', value: true });
    expect(await plugin.getVolumeAttribute(ctx, { volume: vol(base), attribute: 'hidden' })).toBe(true);
    expect(await readdir(join(root, 'images/100'))).toContain('base-100-disk-0.qcow2.hidden');
    expect(await hiddenOf()).toEqual([
      [base, true],
      [other, undefined],
    ]);
    expect((await plugin.listImages(ctx, { volnames: [base] })).map((i) => i.hidden)).toEqual([true]);
    expect((await plugin.listImages(ctx, { vmid: 100 })).map((i) => i.hidden)).toEqual([true, undefined]);
    await plugin.updateVolumeAttribute(ctx, { volume: vol(base), attribute: 'hidden', value: false });
    expect(await hiddenOf()).toEqual([
      [base, undefined],
      [other, undefined],
    ]);
  });

  it('moves with the image (template, rename) and goes with it (free)', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB });
    await plugin.updateVolumeAttribute(ctx, { volume: vol(v), attribute: 'hidden', value: true });
    const renamed = await plugin.renameVolume(ctx, { volume: vol(v), targetVmid: 200, targetName: 'vm-200-disk-0.raw' });
    expect(await hiddenOf()).toEqual([[renamed, true]]);
    const base = await plugin.createBase(ctx, { volume: vol(renamed) });
    expect(await hiddenOf()).toEqual([[base, true]]);
    await releaseImmutable(root);
    await plugin.freeImage(ctx, { volume: vol(base) });
    expect(await readdir(join(root, 'images'))).toEqual([]);
  });

  it('a value that is not a boolean is INVALID_ARGUMENT; a missing volume NOT_FOUND', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB });
    expect(await code(plugin.updateVolumeAttribute(ctx, { volume: vol(v), attribute: 'hidden', value: 'yes' as never }))).toBe('INVALID_ARGUMENT');
    expect(await code(plugin.getVolumeAttribute(ctx, { volume: vol('100/vm-100-disk-9.raw'), attribute: 'hidden' }))).toBe('NOT_FOUND');
  });
});

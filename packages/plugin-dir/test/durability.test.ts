/**
 * What a power cut can do to a directory storage: a file's data reaches the disk when the kernel
 * writes it back, a new name when the filesystem commits its journal, often sooner. So every
 * volume the plugin makes or replaces is flushed (`ctx.fs.sync`) before it takes its final
 * name, and its directory after: the order of the file-system calls is what these tests check,
 * on the real filesystem, for each operation that names data.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeSizeHeader, LocalRunner, type PluginContext } from '@stowage/core/plugin';
import { FaultInjectingRunner } from '@stowage/core/testing';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { code, dirContext, MemoryLog, releaseImmutable, sh } from './helpers.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;

let root: string;
let steps: FaultInjectingRunner;
let ctx: PluginContext<DirConfig>;
let log: MemoryLog;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-durable-'));
  steps = new FaultInjectingRunner(new LocalRunner(), { fs: true });
  log = new MemoryLog();
  ctx = dirContext({ path: root }, steps, log);
  await plugin.activateStorage(ctx);
  steps.reset();
});
afterEach(async () => {
  await releaseImmutable(root);
  await rm(root, { recursive: true, force: true });
});

const file = (volname: string) => join(root, 'images', `${vol(volname).vmid}/${vol(volname).name}`);
const guestDir = (vmid: number) => join(root, 'images', String(vmid));

/** The index of the first recorded step that matches, or -1. */
function stepIndex(match: (step: readonly string[]) => boolean): number {
  return steps.commands.findIndex(match);
}

/**
 * Checks the recorded steps: `path` flushed before the step that names it (`naming`), and the
 * directory flushed after that step.
 */
function expectFlushedAroundNaming(naming: (step: readonly string[]) => boolean, dir: string): void {
  const named = stepIndex(naming);
  expect(named, `a naming step in ${JSON.stringify(steps.commands)}`).toBeGreaterThanOrEqual(0);
  const data = steps.commands[named]![1]!;
  const flushedData = stepIndex((s) => s[0] === 'fs.sync' && s[1] === data);
  expect(flushedData, `fs.sync ${data} in ${JSON.stringify(steps.commands)}`).toBeGreaterThanOrEqual(0);
  expect(flushedData).toBeLessThan(named);
  const flushedDir = steps.commands.findIndex((s, i) => i > named && s[0] === 'fs.sync' && s[1] === dir);
  expect(flushedDir, `fs.sync ${dir} after step ${named} in ${JSON.stringify(steps.commands)}`).toBeGreaterThan(named);
}

const isTemp = (p: string | undefined) => p?.includes('/.stowage-') === true;

describe('the dir plugin flushes data before naming it, and the name after', () => {
  it('allocImage: the new image is flushed before it takes its name, the directory after', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 8 * MiB });
    expectFlushedAroundNaming((s) => s[0] === 'fs.link' && isTemp(s[1]) && s[2] === file(v), guestDir(100));
  });

  it('volumeImport: the imported data is flushed before it becomes the volume', async () => {
    const data = Buffer.alloc(MiB, 7);
    const input = Readable.from([encodeSizeHeader(data.length), data]);
    const v = await plugin.volumeImport(ctx, { volume: vol('101/vm-101-disk-0.raw'), format: 'raw+size', input });
    expectFlushedAroundNaming((s) => s[0] === 'fs.link' && isTemp(s[1]) && s[2] === file(v), guestDir(101));
  });

  it('flattenImage: the flattened content is flushed before it replaces the clone', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 8 * MiB });
    await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 1 0 1M', file(v)]);
    const base = await plugin.createBase(ctx, { volume: vol(v) });
    const clone = await plugin.cloneImage(ctx, { volume: vol(base), vmid: 101, name: 'vm-101-disk-0.qcow2' });
    steps.reset();
    const flat = await plugin.flattenImage(ctx, { volume: vol(clone) });
    expectFlushedAroundNaming((s) => s[0] === 'fs.rename' && isTemp(s[1]) && s[2] === file(flat), guestDir(101));
  });

  it('createBase: the directory is flushed after the rename (the clones to come name the base)', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 8 * MiB });
    steps.reset();
    const base = await plugin.createBase(ctx, { volume: vol(v) });
    const named = stepIndex((s) => s[0] === 'fs.link' && s[1] === file(v) && s[2] === file(base));
    expect(named).toBeGreaterThanOrEqual(0);
    expect(steps.commands.findIndex((s, i) => i > named && s[0] === 'fs.sync' && s[1] === guestDir(100))).toBeGreaterThan(named);
  });

  it('an attribute (protected) is flushed, renamed into place, and its directory flushed', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 8 * MiB });
    steps.reset();
    await plugin.updateVolumeAttribute(ctx, { volume: vol(v), attribute: 'protected', value: true });
    const named = stepIndex((s) => s[0] === 'fs.rename' && isTemp(s[1]));
    expect(named).toBeGreaterThanOrEqual(0);
    expect(steps.commands.findIndex((s, i) => i > named && s[0] === 'fs.sync' && s[1] === guestDir(100))).toBeGreaterThan(named);
  });

  it('a failed flush of the data publishes nothing and leaves no temporary; a failed flush of the directory is logged, the volume is made', async () => {
    steps.failAt = (s) => s[0] === 'fs.sync' && isTemp(s[1]);
    expect(await code(plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 8 * MiB }))).toBe('UNAVAILABLE');
    expect(await readdir(join(root, 'images'))).toEqual([]);
    steps.failAt = (s) => s[0] === 'fs.sync' && s[1] === guestDir(100);
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 8 * MiB });
    expect(await readdir(guestDir(100))).toEqual(['vm-100-disk-0.qcow2']);
    expect(vol(v).name).toBe('vm-100-disk-0.qcow2');
    expect(JSON.stringify(log.lines)).toContain('could not flush the names');
  });
});

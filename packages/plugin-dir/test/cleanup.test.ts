import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeSizeHeader, LocalRunner, type PluginContext } from '@stowage/core/plugin';
import { FaultInjectingRunner } from '@stowage/core/testing';
import { isStorageError } from '@stowage/core';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { dirContext, releaseImmutable, sh } from './helpers.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;

/** Every file and directory under `dir`, as relative paths, sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(relative(dir, p) + (e.isDirectory() ? '/' : ''));
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

let root: string;
let runner: FaultInjectingRunner;
let ctx: PluginContext<DirConfig>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-cleanup-'));
  runner = new FaultInjectingRunner(new LocalRunner());
  ctx = dirContext({ path: root }, runner);
  await plugin.activateStorage(ctx);
});
afterEach(async () => {
  await releaseImmutable(root);
  await rm(root, { recursive: true, force: true });
});

/**
 * Runs `op` once to count its commands (then undoes it with `undo`), and again failing each
 * command in turn: every failure must leave the storage exactly as it was.
 */
async function failEachStep(op: () => Promise<unknown>, undo: (result: unknown) => Promise<void>): Promise<number> {
  const before = await tree(root);
  runner.failAt = 0;
  runner.reset();
  const result = await op();
  const steps = runner.count;
  await undo(result);
  expect(await tree(root)).toEqual(before);
  expect(steps).toBeGreaterThan(0);
  for (let k = 1; k <= steps; k++) {
    runner.reset();
    runner.failAt = k;
    const err = await op().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStorageError(err), `step ${k} of ${steps} must fail`).toBe(true);
    expect(await tree(root), `after failing step ${k} of ${steps}`).toEqual(before);
  }
  runner.failAt = 0;
  return steps;
}

const free = async (volname: unknown): Promise<void> => plugin.freeImage(ctx, { volume: vol(volname as string) });

describe('a failure at any step leaves no file and no empty directory', () => {
  it('allocImage qcow2, in a new guest directory and in one that has other images', async () => {
    await failEachStep(() => plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB }), free);
    await plugin.allocImage(ctx, { vmid: 101, format: 'raw', name: 'vm-101-disk-0.raw', size: MiB });
    await failEachStep(() => plugin.allocImage(ctx, { vmid: 101, format: 'qcow2', name: 'vm-101-disk-1.qcow2', size: MiB }), free);
  });

  it('allocImage raw with preallocation (qemu-img) and vmdk', async () => {
    const c = dirContext({ path: root, preallocation: 'full' }, runner);
    await failEachStep(() => plugin.allocImage(c, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB }), free);
    await failEachStep(() => plugin.allocImage(ctx, { vmid: 100, format: 'vmdk', name: 'vm-100-disk-1.vmdk', size: MiB }), free);
  });

  it('allocImage raw made natively, when the filesystem refuses the size', async () => {
    const before = await tree(root);
    const err = await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: 2 ** 50 }).catch((e: unknown) => e);
    expect(isStorageError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect(await tree(root)).toEqual(before);
  });

  it('cloneImage', async () => {
    const base = await plugin.createBase(ctx, { volume: vol(await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB })) });
    await failEachStep(() => plugin.cloneImage(ctx, { volume: vol(base), vmid: 101, name: 'vm-101-disk-0.qcow2' }), free);
  });

  it('volumeImport raw+size into qcow2 (through a temporary file and qemu-img convert)', async () => {
    const data = Buffer.alloc(2 * MiB, 7);
    const steps = await failEachStep(
      () => plugin.volumeImport(ctx, { volume: vol('100/vm-100-disk-0.qcow2'), format: 'raw+size', input: Readable.from([encodeSizeHeader(data.length), data]) }),
      free,
    );
    expect(steps).toBe(1);
  });

  it('volumeImport qcow2+size (checked by qemu-img check)', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'stowage-cleanup-src-'));
    try {
      await sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(scratch, 'a.qcow2'), '4M']);
      const bytes = await readFile(join(scratch, 'a.qcow2'));
      await failEachStep(
        () =>
          plugin.volumeImport(ctx, {
            volume: vol('100/vm-100-disk-0.qcow2'),
            format: 'qcow2+size',
            withSnapshots: true,
            input: Readable.from([encodeSizeHeader(4 * MiB), bytes]),
          }),
        free,
      );
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('volumeExport of qcow2 as raw+size removes its temporary file when the conversion fails', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB });
    const before = await tree(root);
    runner.reset();
    runner.failAt = 1;
    const { PassThrough } = await import('node:stream');
    const err = await plugin.volumeExport(ctx, { volume: vol(v), format: 'raw+size', output: new PassThrough() }).catch((e: unknown) => e);
    expect(isStorageError(err, 'COMMAND_FAILED')).toBe(true);
    expect(await tree(root)).toEqual(before);
  });
});

describe('a failure at any step, a file-system call included, leaves the storage as it was', () => {
  it('renameVolume of an image with notes: its attribute files move with it, or nothing moves', async () => {
    const faulty = new FaultInjectingRunner(new LocalRunner(), { fs: true });
    const c = dirContext({ path: root }, faulty);
    const volname = await plugin.allocImage(c, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB });
    await plugin.updateVolumeAttribute(c, { volume: vol(volname), attribute: 'notes', value: 'kept with the image' });
    const before = await tree(root);
    const rename = () => plugin.renameVolume(c, { volume: vol(volname), targetVmid: 101, targetName: 'vm-101-disk-0.qcow2' });
    faulty.failAt = 0;
    faulty.reset();
    const renamed = await rename();
    const steps = faulty.count;
    expect(steps).toBeGreaterThan(0);
    await plugin.renameVolume(c, { volume: vol(renamed), targetVmid: 100, targetName: 'vm-100-disk-0.qcow2' });
    expect(await tree(root)).toEqual(before);
    for (let k = 1; k <= steps; k++) {
      faulty.reset();
      faulty.failAt = k;
      const outcome = await rename().then(
        (v) => ({ renamed: v }),
        (e: unknown) => ({ error: e }),
      );
      faulty.failAt = 0;
      // a failed step the plugin may tolerate (removing the emptied guest directory): the rename is done
      if ('renamed' in outcome) await plugin.renameVolume(c, { volume: vol(outcome.renamed), targetVmid: 100, targetName: 'vm-100-disk-0.qcow2' });
      else expect(isStorageError(outcome.error), `step ${k} of ${steps} fails with a StorageError`).toBe(true);
      expect(await tree(root), `after failing step ${k} of ${steps}`).toEqual(before);
    }
  });
});
